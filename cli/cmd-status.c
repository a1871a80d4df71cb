/* SPDX-License-Identifier: MIT */
#include <time.h>

#include "cli.h"

/* One object: a line of text or one JSON element. Returns whether it is missing. */
static bool object(struct cli *c, json_t *arr, const struct vnc_live *live, const char *kind, const char *name) {
        const struct vnc_live_link *l = vnc_live_link_by_name(live, name);
        const char *state = !l ? "missing" : l->admin_up ? "up" : "down";

        if (c->json) {
                json_t *o = json_pack("{s:s, s:s, s:s}", "kind", kind, "name", name, "state", state);
                if (l)
                        json_object_set_new(o, "mtu", json_integer(l->mtu));
                json_array_append_new(arr, o);
        } else if (l)
                printf("    %-6s %-15s %s, mtu %u\n", kind, name, state, l->mtu);
        else
                printf("    %-6s %-15s %s\n", kind, name, state);
        return !l;
}

int cmd_status(struct cli *c, int argc, char **argv) {
        struct vnc_status *st = NULL;
        struct vnc_engine eng;
        bool drift_any = false;
        char ip[16];

        if (argc > 2)
                return cli_usage_error(c, "status", "expected at most one NAME");
        if (argc == 2 && !vnc_name_valid(argv[1]))
                return cli_usage_error(c, "status", "\"%s\": not a profile name", argv[1]);
        cli_engine(c, &eng);
        if (vnc_engine_status(&eng, argc == 2 ? argv[1] : NULL, &st, &c->err) < 0)
                return cli_fail(c);

        json_t *profiles = json_array();
        if (!c->json && st->n_entries == 0)
                printf("no applied profiles\n");
        for (size_t i = 0; i < st->n_entries; i++) {
                const struct vnc_status_entry *en = &st->entries[i];
                const char *state = en->interrupted ? "interrupted" : en->drift.n_actions ? "drift" : "ok";
                json_t *nets = json_array();
                size_t missing = 0;

                drift_any |= en->drift.n_actions > 0 || en->interrupted;
                if (!c->json) {
                        printf("%s: generation %u, %s\n", en->name, en->generation, state);
                        if (en->interrupted)
                                printf("  an apply was interrupted; run \"vnetcfg rollback %s\" to undo it\n", en->name);
                }
                for (size_t k = 0; en->applied && k < en->applied->n_networks; k++) {
                        const struct vnc_network *n = &en->applied->networks[k];
                        json_t *objs = json_array();
                        if (!c->json) {
                                printf("  network %s (%s)", n->name, vnc_mode_to_string(n->mode));
                                if (n->has_ipv4)
                                        printf(" %s/%u", vnc_ipv4_str(n->ipv4.addr, ip), n->ipv4.prefix);
                                printf("\n");
                        }
                        missing += object(c, objs, st->live, "bridge", n->bridge);
                        for (size_t t = 0; t < n->n_taps; t++)
                                missing += object(c, objs, st->live, "tap", n->taps[t].name);
                        json_t *jn = json_pack("{s:s, s:s, s:s, s:o}", "name", n->name, "mode",
                                               vnc_mode_to_string(n->mode), "bridge", n->bridge, "objects", objs);
                        if (n->has_ipv4)
                                json_object_set_new(jn, "ipv4",
                                                    json_sprintf("%s/%u", vnc_ipv4_str(n->ipv4.addr, ip), n->ipv4.prefix));
                        json_array_append_new(nets, jn);
                }
                bool has_dhcp = false;
                for (size_t k = 0; en->applied && k < en->applied->n_networks; k++)
                        has_dhcp |= en->applied->networks[k].has_dhcp;
                /* After a reboot every object is missing and the state dir still names them. */
                if (!c->json && missing)
                        printf("  %zu object%s missing (deleted, or the host rebooted): \"vnetcfg apply\" re-creates "
                               "them\n",
                               missing, missing == 1 ? " is" : "s are");
                if (!c->json && has_dhcp)
                        printf("  dnsmasq: %s\n", en->dhcp_running ? "running" : "not running (apply restarts it)");
                if (!c->json && en->pending) {
                        char when[64] = "?";
                        time_t t = (time_t)en->confirm.deadline;
                        struct tm tm;
                        if (localtime_r(&t, &tm))
                                strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
                        printf("  awaiting confirmation: generation %u is rolled back at %s (in %lld s) unless "
                               "\"vnetcfg confirm %s\"%s\n",
                               en->confirm.gen, when, en->confirm.deadline - (long long)time(NULL), en->name,
                               en->watcher_alive ? "" : "; its watcher is gone: run confirm or rollback");
                }
                if (!c->json)
                        cli_firewall_print(stdout, &en->drift, "  ");
                cli_status_libvirt(c, NULL, en);
                if (!c->json && en->drift.n_actions) {
                        printf("  drift: apply would do %zu action%s:\n", en->drift.n_actions,
                               en->drift.n_actions == 1 ? "" : "s");
                        cli_plan_print(stdout, &en->drift, "    ");
                }
                json_t *jp = json_pack("{s:s, s:i, s:s, s:o, s:o}", "name", en->name, "generation",
                                       (int)en->generation, "state", state, "networks", nets, "drift",
                                       cli_plan_json(&en->drift));
                json_object_set_new(jp, "firewall", cli_firewall_json(&en->drift));
                cli_status_libvirt(c, jp, en);
                json_object_set_new(jp, "dnsmasq",
                                    has_dhcp ? json_string(en->dhcp_running ? "running" : "not running") : json_null());
                json_object_set_new(jp, "confirm",
                                    en->pending ? json_pack("{s:i, s:I, s:i, s:b}", "generation", (int)en->confirm.gen,
                                                            "deadline", (json_int_t)en->confirm.deadline, "watcher",
                                                            en->confirm.watcher, "watcher_alive", en->watcher_alive)
                                                : json_null());
                json_array_append_new(profiles, jp);
        }
        if (c->json)
                cli_json_emit(json_pack("{s:o}", "profiles", profiles));
        else
                json_decref(profiles);
        vnc_status_free(st);
        return EXIT_OK;
}
