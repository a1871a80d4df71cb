/* SPDX-License-Identifier: MIT */
#include <time.h>

#include "cli.h"

/* One object of a network: kind, name, state and MTU, a line each. Returns whether it is missing. */
static bool object(const struct vnc_live *live, const char *kind, const char *name) {
        const struct vnc_live_link *l = vnc_live_link_by_name(live, name);

        print_open_object(NULL);
        print_string(PRINT_ANY, "kind", "    %-6s ", kind);
        print_string(PRINT_ANY, "name", "%-15s ", name);
        print_string(PRINT_ANY, "state", "%s", !l ? "missing" : l->admin_up ? "up" : "down");
        if (l)
                print_uint(PRINT_ANY, "mtu", ", mtu %u", l->mtu);
        print_text("\n");
        print_close_object();
        return !l;
}

/* A pending --confirm-timeout: null when there is none. */
static void confirm(const struct vnc_status_entry *en) {
        if (!en->pending) {
                print_null(PRINT_ANY, "confirm", NULL, NULL); /* nothing pending, nothing to say */
                return;
        }
        print_open_object("confirm");
        print_uint(PRINT_ANY, "generation", "  awaiting confirmation: generation %u is rolled back at ", en->confirm.gen);
        print_time(PRINT_ANY, "deadline", "%s", en->confirm.deadline);
        print_text(" (in %lld s) unless \"vnetcfg confirm %s\"", en->confirm.deadline - (long long)time(NULL),
                   en->name);
        print_int(PRINT_ANY, "watcher", "; its watcher (pid %lld)", en->confirm.watcher);
        print_bool_word(PRINT_ANY, "watcher_alive", " %s\n", en->watcher_alive, "waits for the deadline",
                        "is gone: run confirm or rollback");
        print_close_object();
}

static void entry(const struct vnc_status_entry *en, const struct vnc_live *live) {
        const char *state = en->interrupted ? "interrupted" : en->drift.n_actions ? "drift" : "ok";
        bool has_dhcp = false;
        size_t missing = 0;
        char ip[16];

        print_open_object(NULL);
        print_string(PRINT_ANY, "name", "%s: ", en->name);
        print_uint(PRINT_ANY, "generation", "generation %u, ", en->generation);
        print_string(PRINT_ANY, "state", "%s\n", state);
        if (en->interrupted)
                print_text("  an apply was interrupted; run \"vnetcfg rollback %s\" to undo it\n", en->name);
        print_open_array("networks");
        for (size_t k = 0; en->applied && k < en->applied->n_networks; k++) {
                const struct vnc_network *n = &en->applied->networks[k];
                print_open_object(NULL);
                print_string(PRINT_ANY, "name", "  network %s ", n->name);
                print_string(PRINT_ANY, "mode", "(%s)", vnc_mode_to_string(n->mode));
                print_string(PRINT_JSON, "bridge", NULL, n->bridge); /* the text names it on the object line below */
                if (n->has_ipv4) {
                        _cleanup_free_ char *cidr = vnc_strdup_printf("%s/%u", vnc_ipv4_str(n->ipv4.addr, ip),
                                                                      n->ipv4.prefix);
                        print_string(PRINT_ANY, "ipv4", " %s", cidr);
                }
                print_text("\n");
                print_open_array("objects");
                missing += object(live, "bridge", n->bridge);
                for (size_t t = 0; t < n->n_taps; t++)
                        missing += object(live, "tap", n->taps[t].name);
                print_close_array();
                print_close_object();
                has_dhcp |= n->has_dhcp;
        }
        print_close_array();
        /* After a reboot every object is missing and the state dir still names them. */
        if (missing)
                print_text("  %zu object%s missing (deleted, or the host rebooted): \"vnetcfg apply\" re-creates them\n",
                           missing, missing == 1 ? " is" : "s are");
        /* null without DHCP: no dnsmasq to speak of. */
        print_string(PRINT_ANY, "dnsmasq", en->dhcp_running ? "  dnsmasq: %s\n" : "  dnsmasq: %s (apply restarts it)\n",
                     !has_dhcp ? NULL : en->dhcp_running ? "running" : "not running");
        confirm(en);
        cli_firewall_print(&en->drift, "  ");
        cli_status_libvirt(en);
        if (en->drift.n_actions)
                print_text("  drift: apply would do %zu action%s:\n", en->drift.n_actions,
                           en->drift.n_actions == 1 ? "" : "s");
        cli_actions_print(PRINT_ANY, "drift", &en->drift, "    ");
        cli_notes_print(&en->drift, "  "); /* what a repair would leave alone, and why */
        print_close_object();
}

int cmd_status(struct cli *c, int argc, char **argv) {
        struct vnc_status *st = NULL;
        struct vnc_engine eng;

        if (argc > 2)
                return cli_usage_error(c, "status", "expected at most one NAME");
        if (argc == 2 && !vnc_name_valid(argv[1]))
                return cli_usage_error(c, "status", "\"%s\": not a profile name", argv[1]);
        cli_engine(c, &eng);
        if (vnc_engine_status(&eng, argc == 2 ? argv[1] : NULL, &st, &c->err) < 0)
                return cli_fail(c);

        print_start(stdout, c->json);
        print_open_array("profiles");
        if (st->n_entries == 0)
                print_text("no applied profiles\n");
        for (size_t i = 0; i < st->n_entries; i++)
                entry(&st->entries[i], st->live);
        print_close_array();
        vnc_status_free(st);
        return cli_print_end(EXIT_OK);
}
