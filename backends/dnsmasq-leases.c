/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dnsmasq-leases.h"
#include "model.h"
#include "util.h"

void vnc_leases_done(struct vnc_leases *l) {
        if (!l)
                return;
        for (size_t i = 0; i < l->n; i++) {
                free(l->leases[i].hostname);
                free(l->leases[i].client_id);
        }
        free(l->leases);
        *l = (struct vnc_leases){0};
}

static bool mac_valid(const char *s) {
        /* dnsmasq writes the hardware address as hex bytes joined by ':' (6 for Ethernet). */
        if (strlen(s) != 17)
                return false;
        for (size_t i = 0; i < 17; i++) {
                if (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char)s[i]))
                        return false;
        }
        return true;
}

static int parse_line(char *line, struct vnc_lease *ret) {
        char *save = NULL, *f[5] = {0};
        size_t n = 0;

        for (char *t = strtok_r(line, " \t\n", &save); t && n < ELEMENTSOF(f); t = strtok_r(NULL, " \t\n", &save))
                f[n++] = t;
        if (n == 0)
                return 0; /* empty line */
        if (streq(f[0], "duid"))
                return 0; /* the DHCPv6 server's DUID */
        if (n < 4)
                return -EBADMSG;
        if (strchr(f[2], ':'))
                return 0; /* a DHCPv6 lease */
        char *end;
        errno = 0;
        long long expiry = strtoll(f[0], &end, 10);
        if (errno || end == f[0] || *end || expiry < 0)
                return -EBADMSG;
        uint32_t ip;
        if (vnc_ipv4_parse(f[2], &ip) < 0 || !mac_valid(f[1]))
                return -EBADMSG;
        *ret = (struct vnc_lease){.expiry = expiry, .ip = ip};
        for (size_t i = 0; i < 17; i++)
                ret->mac[i] = (char)tolower((unsigned char)f[1][i]);
        if (!streq(f[3], "*") && !(ret->hostname = strdup(f[3])))
                return -ENOMEM;
        if (n > 4 && !streq(f[4], "*") && !(ret->client_id = strdup(f[4]))) {
                free(ret->hostname);
                return -ENOMEM;
        }
        return 1;
}

int vnc_leases_parse(FILE *f, struct vnc_leases *ret, unsigned *ret_line) {
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;
        unsigned lineno = 0;

        *ret = (struct vnc_leases){0};
        while (getline(&line, &cap, f) >= 0) {
                struct vnc_lease l;
                lineno++;
                int r = parse_line(line, &l);
                if (r == 0)
                        continue;
                if (r < 0 || VNC_GROW(ret->leases, ret->alloc, ret->n + 1) < 0) {
                        if (r > 0) {
                                free(l.hostname);
                                free(l.client_id);
                                r = -ENOMEM;
                        }
                        if (ret_line)
                                *ret_line = lineno;
                        vnc_leases_done(ret);
                        return r;
                }
                ret->leases[ret->n++] = l;
        }
        return 0;
}

char *vnc_dnsmasq_lease_path(const char *state_dir, const char *profile) {
        return vnc_strdup_printf("%s/dnsmasq/%s.leases", state_dir, profile);
}

int vnc_leases_read(const char *state_dir, const char *profile, struct vnc_leases *ret, unsigned *ret_line) {
        _cleanup_free_ char *path = vnc_dnsmasq_lease_path(state_dir, profile);

        *ret = (struct vnc_leases){0};
        if (!path)
                return -ENOMEM;
        FILE *f = fopen(path, "re");
        if (!f)
                return errno == ENOENT ? 0 : -errno;
        int r = vnc_leases_parse(f, ret, ret_line);
        fclose(f);
        return r;
}
