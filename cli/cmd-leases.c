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

static void expiry_text(long long expiry, long long now, char *buf, size_t size) {
        struct tm tm;
        time_t t = (time_t)expiry;
        char when[32] = "?";

        if (expiry == 0) {
                snprintf(buf, size, "never");
                return;
        }
        if (localtime_r(&t, &tm))
                strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
        if (expiry > now)
                snprintf(buf, size, "%s (in %lld s)", when, expiry - now);
        else
                snprintf(buf, size, "%s (expired)", when);
}

/* One profile's leases: appended to arr (--json) or printed. */
static int profile_leases(struct cli *c, const struct vnc_profile *p, json_t *arr, size_t *count) {
        struct vnc_leases l;
        unsigned line = 0;
        long long now = (long long)time(NULL);
        char ip[16], exp[64];

        int r = vnc_leases_read(c->state_dir, p->name, &l, &line);
        if (r == -EBADMSG)
                return vnc_error_set(&c->err, VNC_ERR_RUNTIME, r, "%s/dnsmasq/%s.leases:%u: not a dnsmasq lease line",
                                     c->state_dir, p->name, line);
        if (r < 0)
                return vnc_error_set(&c->err, VNC_ERR_RUNTIME, r, "could not read the leases of \"%s\"", p->name);
        for (size_t i = 0; i < l.n; i++) {
                const struct vnc_lease *le = &l.leases[i];
                const struct vnc_network *n = network_of(p, le->ip);
                vnc_ipv4_str(le->ip, ip);
                if (c->json) {
                        json_t *o = json_pack("{s:s, s:s?, s:s?, s:s, s:s, s:s?}", "profile", p->name, "network",
                                              n ? n->name : NULL, "bridge", n ? n->bridge : NULL, "mac", le->mac,
                                              "ip", ip, "hostname", le->hostname);
                        json_object_set_new(o, "expiry", le->expiry ? json_integer(le->expiry) : json_null());
                        json_object_set_new(o, "expires_in",
                                            le->expiry ? json_integer(le->expiry > now ? le->expiry - now : 0)
                                                       : json_null());
                        json_object_set_new(o, "client_id", le->client_id ? json_string(le->client_id) : json_null());
                        json_array_append_new(arr, o);
                } else {
                        if (*count == 0)
                                printf("%-12s %-12s %-15s %-17s %-16s %s\n", "PROFILE", "NETWORK", "IP", "MAC",
                                       "HOSTNAME", "EXPIRES");
                        expiry_text(le->expiry, now, exp, sizeof(exp));
                        printf("%-12s %-12s %-15s %-17s %-16s %s\n", p->name, n ? n->name : "-", ip, le->mac,
                               le->hostname ? le->hostname : "-", exp);
                }
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

        json_t *arr = json_array();
        for (size_t i = 0; i < n_names && r >= 0; i++) {
                struct vnc_profile *p = NULL;
                r = vnc_engine_load_applied(&eng, names[i], &p, &c->err);
                if (r >= 0 && !p && argc == 2)
                        r = vnc_error_set(&c->err, VNC_ERR_USAGE, -ENOENT, "\"%s\": no applied profile of that name",
                                          names[i]);
                if (r >= 0 && p)
                        r = profile_leases(c, p, arr, &count);
                vnc_profile_free(p);
        }
        vnc_strv_free(names, n_names);
        if (r < 0) {
                json_decref(arr);
                return cli_fail(c);
        }
        if (c->json)
                cli_json_emit(json_pack("{s:o}", "leases", arr));
        else {
                json_decref(arr);
                if (count == 0 && c->verbosity >= 0)
                        printf("no leases\n");
        }
        return EXIT_OK;
}
