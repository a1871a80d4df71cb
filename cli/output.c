/* SPDX-License-Identifier: MIT */
#include "cli.h"

/* The firewall backend a plan is for and why (SPEC section 4). */
void cli_firewall_print(const struct vnc_plan *p, const char *indent) {
        if (p->fw_backend == VNC_FW_AUTO) {
                print_null(PRINT_ANY, "firewall", NULL, NULL); /* none chosen (nothing left to firewall): no line */
                return;
        }
        print_open_object("firewall");
        print_text("%sfirewall: ", indent);
        print_string(PRINT_ANY, "backend", "%s ", vnc_fw_backend_to_string(p->fw_backend));
        print_string(PRINT_ANY, "reason", "(%s)\n", p->fw_reason);
        print_close_object();
}

/*
 * A verify result: "pass"/"FAIL", then one line per check. "status" is JSON
 * only: it is "ok" spelled as a word for JSON consumers, and the text prints
 * "ok" itself as that word.
 */
void cli_verify_print(const struct vnc_verify_result *v) {
        print_string(PRINT_JSON, "status", NULL, v->ok ? "pass" : "fail");
        print_bool_word(PRINT_ANY, "ok", "%s\n", v->ok, "pass", "FAIL");
        print_open_array("checks");
        for (size_t i = 0; i < v->n_checks; i++) {
                const struct vnc_check *k = &v->checks[i];
                print_open_object(NULL);
                print_text("  ");
                print_bool_word(PRINT_ANY, "pass", "%s  ", k->pass, "pass", "FAIL");
                print_string(PRINT_ANY, "network", "%-10s ", k->network);
                print_string(PRINT_ANY, "kind", "%-14s ", vnc_check_kind_to_string(k->kind));
                print_string(PRINT_ANY, "name", "%-40s ", k->name ? k->name : "");
                print_ms(PRINT_ANY, "ms", "%6.1f ms", k->ms, "%9s");
                print_string(PRINT_ANY, "detail", "  %s", k->detail);
                print_text("\n");
                print_close_object();
        }
        print_close_array();
}

/*
 * One line per action: "create bridge  vn-lab  mtu 1500  (network lab)".
 * t is PRINT_JSON where the text lists the actions only with -v.
 */
void cli_actions_print(enum print_type t, const char *key, const struct vnc_plan *p, const char *indent) {
        print_open_array(key);
        for (size_t i = 0; i < p->n_actions; i++) {
                const struct vnc_action *a = &p->actions[i];
                _cleanup_free_ char *name = vnc_action_name(a);
                _cleanup_free_ char *detail = vnc_action_detail(a);
                print_open_object(NULL);
                if (t & PRINT_TEXT)
                        print_text("%s", indent);
                print_string(t, "op", "%-6s ", vnc_action_op_to_string(a->op));
                print_string(t, "kind", "%-7s ", vnc_action_kind_to_string(a->kind));
                print_string(t, "name", "%s", name ? name : "");
                print_string(t, "detail", detail && *detail ? "  %s" : "%s", detail ? detail : "");
                /* A profile-wide action serves no network: "" in JSON, nothing in the text. */
                print_string(t, "network", *a->network ? "  (network %s)" : NULL, a->network);
                if (t & PRINT_TEXT)
                        print_text("\n");
                print_close_object();
        }
        print_close_array();
}

/* What the plan leaves out and why: "notes" in JSON (only when there are any), a "note:" line each. */
void cli_notes_print(const struct vnc_plan *p, const char *indent) {
        if (p->n_notes == 0)
                return;
        print_open_array("notes");
        for (size_t i = 0; i < p->n_notes; i++) {
                print_text("%snote: ", indent);
                print_string(PRINT_ANY, NULL, "%s\n", p->notes[i]);
        }
        print_close_array();
}

int cli_print_end(int rc) {
        if (print_end() < 0) {
                fprintf(stderr, "vnetcfg: out of memory: the output is incomplete\n");
                return EXIT_RUNTIME;
        }
        return rc;
}
