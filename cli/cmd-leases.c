/* SPDX-License-Identifier: MIT */
#include <time.h>

#include "cli.h"
#include "dnsmasq-leases.h"

/* The DHCP network of p whose subnet holds ip, or NULL (a lease of a network since removed). */
static const struct vnc_network *network_of(const struct vnc_profile *p, uint32_t ip) {
        for (size_t i = 0; i < p->n_networks; i++) {
                const struct vnc_network *n = &p->networks[i];
                uint32_t mask = n->ipv4.prefix ? ~0u << (32 - n->ipv4.prefix) : 0;
                if (n->has_dhcp && n->has_ipv4 && (ip & mask) == (n->ipv4.addr & mask))
                        return n;
        }
        return NULL;
}

/* One profile's leases, a line (an object) each; the first line of all is preceded by the heading. */
static int profile_leases(struct cli *c, const struct vnc_profile *p, size_t *count) {
        struct vnc_leases l;
        unsigned line = 0;
        long long now = (long long)time(NULL);
        char ip[16];

        int r = vnc_leases_read(c->state_dir, p->name, &l, &line);
        if (r == -EBADMSG)
                return vnc_error_set(&c->err, VNC_ERR_RUNTIME, r, "%s/dnsmasq/%s.leases:%u: not a dnsmasq lease line",
                                     c->state_dir, p->name, line);
        if (r < 0)
                return vnc_error_set(&c->err, VNC_ERR_RUNTIME, r, "could not read the leases of \"%s\"", p->name);
        for (size_t i = 0; i < l.n; i++) {
                const struct vnc_lease *le = &l.leases[i];
                const struct vnc_network *n = network_of(p, le->ip);
                if (*count == 0)
                        print_text("%-12s %-12s %-15s %-15s %-17s %-16s %-20s %s\n", "PROFILE", "NETWORK", "BRIDGE", "IP",
                                   "MAC", "HOSTNAME", "CLIENT-ID", "EXPIRES");
                print_open_object(NULL);
                print_string(PRINT_ANY, "profile", "%-12s ", p->name);
                /* null when no DHCP network of the profile holds the address any more */
                print_string_or(PRINT_ANY, "network", "%-12s ", n ? n->name : NULL, "-");
                print_string_or(PRINT_ANY, "bridge", "%-15s ", n ? n->bridge : NULL, "-");
                print_string(PRINT_ANY, "ip", "%-15s ", vnc_ipv4_str(le->ip, ip));
                print_string(PRINT_ANY, "mac", "%-17s ", le->mac);
                print_string_or(PRINT_ANY, "hostname", "%-16s ", le->hostname, "-");
                print_string_or(PRINT_ANY, "client_id", "%-20s ", le->client_id, "-");
                if (le->expiry == 0) {
                        print_null(PRINT_ANY, "expiry", "%s", "never");
                        print_null(PRINT_ANY, "expires_in", NULL, NULL); /* never: said above */
                } else {
                        print_time(PRINT_ANY, "expiry", "%s", le->expiry);
                        if (le->expiry > now)
                                print_int(PRINT_ANY, "expires_in", " (in %lld s)", le->expiry - now);
                        else {
                                print_int(PRINT_JSON, "expires_in", NULL, 0); /* 0 once expired: the text says so */
                                print_text(" (expired)");
                        }
                }
                print_text("\n");
                print_close_object();
                (*count)++;
        }
        vnc_leases_done(&l);
        return 0;
}

int cmd_leases(struct cli *c, int argc, char **argv) {
        struct vnc_engine eng;
        char **names = NULL;
        size_t n_names = 0, count = 0;
        int r = 0;

        if (argc > 2)
                return cli_usage_error(c, "leases", "expected at most one NAME");
        if (argc == 2 && !vnc_name_valid(argv[1]))
                return cli_usage_error(c, "leases", "\"%s\": not a profile name", argv[1]);
        cli_engine(c, &eng);
        if (argc == 2) {
                names = calloc(1, sizeof(char *));
                if (!names || !(names[0] = strdup(argv[1]))) {
                        free(names);
                        return vnc_error_set(&c->err, VNC_ERR_RUNTIME, -ENOMEM, "out of memory"), cli_fail(c);
                }
                n_names = 1;
        } else {
                struct vnc_state s = {.dir_fd = -1, .lock_fd = -1};
                if (vnc_state_open(c->state_dir, &s, &c->err) < 0)
                        return cli_fail(c);
                r = vnc_state_profiles(&s, &names, &n_names);
                vnc_state_close(&s);
                if (r < 0)
                        return vnc_error_set(&c->err, VNC_ERR_RUNTIME, r, "could not list the applied profiles"),
                               cli_fail(c);
        }

        print_start(stdout, c->json);
        print_open_array("leases");
        for (size_t i = 0; i < n_names && r >= 0; i++) {
                struct vnc_profile *p = NULL;
                r = vnc_engine_load_applied(&eng, names[i], &p, &c->err);
                if (r >= 0 && !p && argc == 2)
                        r = vnc_error_set(&c->err, VNC_ERR_USAGE, -ENOENT, "\"%s\": no applied profile of that name",
                                          names[i]);
                if (r >= 0 && p)
                        r = profile_leases(c, p, &count);
                vnc_profile_free(p);
        }
        vnc_strv_free(names, n_names);
        if (r < 0) {
                print_discard();
                return cli_fail(c);
        }
        print_close_array();
        if (count == 0 && c->verbosity >= 0)
                print_text("no leases\n");
        return cli_print_end(EXIT_OK);
}
