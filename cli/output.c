/* SPDX-License-Identifier: MIT */
#include "cli.h"

json_t *cli_plan_json(const struct vnc_plan *p) {
        json_t *arr = json_array();

        for (size_t i = 0; i < p->n_actions; i++) {
                const struct vnc_action *a = &p->actions[i];
                _cleanup_free_ char *name = vnc_action_name(a);
                _cleanup_free_ char *detail = vnc_action_detail(a);
                json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s}", "op", vnc_action_op_to_string(a->op),
                                                     "kind", vnc_action_kind_to_string(a->kind), "name",
                                                     name ? name : "", "detail", detail ? detail : "", "network",
                                                     a->network));
        }
        return arr;
}

void cli_plan_print(FILE *f, const struct vnc_plan *p, const char *indent) {
        for (size_t i = 0; i < p->n_actions; i++) {
                const struct vnc_action *a = &p->actions[i];
                _cleanup_free_ char *name = vnc_action_name(a);
                _cleanup_free_ char *detail = vnc_action_detail(a);
                fprintf(f, "%s%-6s %-7s %s%s%s\n", indent, vnc_action_op_to_string(a->op),
                        vnc_action_kind_to_string(a->kind), name ? name : "", detail && *detail ? "  " : "",
                        detail ? detail : "");
        }
}

json_t *cli_firewall_json(const struct vnc_plan *p) {
        if (p->fw_backend == VNC_FW_AUTO)
                return json_null();
        return json_pack("{s:s, s:s}", "backend", vnc_fw_backend_to_string(p->fw_backend), "reason", p->fw_reason);
}

void cli_firewall_print(FILE *f, const struct vnc_plan *p, const char *indent) {
        if (p->fw_backend != VNC_FW_AUTO)
                fprintf(f, "%sfirewall: %s (%s)\n", indent, vnc_fw_backend_to_string(p->fw_backend), p->fw_reason);
}

void cli_json_emit(json_t *doc) {
        json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        json_decref(doc);
}

json_t *cli_verify_json(const struct vnc_verify_result *v) {
        json_t *checks = json_array();

        for (size_t i = 0; i < v->n_checks; i++) {
                const struct vnc_check *k = &v->checks[i];
                json_t *o = json_pack("{s:s, s:s, s:s, s:b}", "network", k->network, "kind",
                                      vnc_check_kind_to_string(k->kind), "name", k->name ? k->name : "", "pass",
                                      k->pass);
                json_object_set_new(o, "ms", k->ms >= 0 ? json_real(k->ms) : json_null());
                json_object_set_new(o, "detail", k->detail ? json_string(k->detail) : json_null());
                json_array_append_new(checks, o);
        }
        return json_pack("{s:s, s:b, s:o}", "status", v->ok ? "pass" : "fail", "ok", v->ok, "checks", checks);
}

void cli_verify_print(FILE *f, const struct vnc_verify_result *v) {
        for (size_t i = 0; i < v->n_checks; i++) {
                const struct vnc_check *k = &v->checks[i];
                char ms[32] = "";
                if (k->ms >= 0)
                        snprintf(ms, sizeof(ms), "%.1f ms", k->ms);
                fprintf(f, "  %s  %-10s %-40s %9s%s%s\n", k->pass ? "pass" : "FAIL", k->network, k->name ? k->name : "",
                        ms, k->detail ? "  " : "", k->detail ? k->detail : "");
        }
}

/* What the plan leaves out and why ("libvirt: no daemon answers ..."). */
void cli_plan_notes_print(FILE *f, const struct vnc_plan *p, const char *indent) {
        for (size_t i = 0; i < p->n_notes; i++)
                fprintf(f, "%snote: %s\n", indent, p->notes[i]);
}

void cli_plan_notes_json(json_t *doc, const struct vnc_plan *p) {
        if (p->n_notes == 0)
                return;
        json_t *arr = json_array();
        for (size_t i = 0; i < p->n_notes; i++)
                json_array_append_new(arr, json_string(p->notes[i]));
        json_object_set_new(doc, "notes", arr);
}
