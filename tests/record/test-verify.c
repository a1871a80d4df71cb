/* SPDX-License-Identifier: MIT */
/*
 * verify's judgement, offline: vnc_verify_profile runs against a host-ops table
 * whose probes answer from a recorded host state (a file), not from probe
 * namespaces on the kernel. No root. Each tests/record/verify/<case>/ holds
 *   profile.json   the applied profile verify checks
 *   host.txt       how the host answers the probes (format below)
 *   expected       verify's checks, one a line: PASS|FAIL network kind "name" detail
 * VNC_REGENERATE=1 rewrites expected from the current output: review every diff.
 *
 * host.txt lines (default: no bridge; on a bridge, everything answers in 0.5 ms):
 *   bridge NAME [mtu N] [ipv4 A.B.C.D]      a bridge probes can be made on (others: "bridge missing")
 *   taken A.B.C.D                           ARP finds this address in use
 *   dhcp BRIDGE offer A.B.C.D server A.B.C.D   dnsmasq's offer (none: silent)
 *   drop BRIDGE icmp|tcp|udp|dns [DST[:PORT]] [from-host]   no answer
 *   reject BRIDGE icmp|tcp|udp|dns [DST[:PORT]] TYPE CODE FROM   an ICMP error instead of an answer
 *   refuse BRIDGE tcp [DST[:PORT]]          a TCP RST
 *   pmtu BRIDGE N                           echoes with DF larger than N: EMSGSIZE (path MTU N)
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "host.h"
#include "verify.h"
#include "../unit/live-fixture.h"

/* ---- the recorded host ---- */

enum rule_kind { RULE_DROP, RULE_REJECT, RULE_REFUSE };

struct rule {
        enum rule_kind kind;
        char bridge[16];
        char proto[8];      /* icmp tcp udp dns */
        uint32_t dst;       /* 0: any */
        uint16_t port;      /* 0: any */
        bool from_host;
        uint8_t type, code;
        uint32_t from;
};

struct fbridge {
        char name[16];
        uint32_t mtu, ipv4, pmtu;
        uint32_t offer, server;
};

static struct fixture {
        struct fbridge bridges[16];
        size_t n_bridges;
        uint32_t taken[16];
        size_t n_taken;
        struct rule rules[32];
        size_t n_rules;
} fx;

static uint32_t ip(const char *s) {
        uint32_t a = 0;
        assert_int_equal(vnc_ipv4_parse(s, &a), 0);
        return a;
}

static struct fbridge *fbridge(const char *name) {
        for (size_t i = 0; i < fx.n_bridges; i++)
                if (streq(fx.bridges[i].name, name))
                        return &fx.bridges[i];
        return NULL;
}

/* "A.B.C.D[:PORT]" or a word that is not one (then 0, not consumed). */
static bool parse_dst(const char *w, uint32_t *ret_dst, uint16_t *ret_port) {
        char buf[32];
        snprintf(buf, sizeof(buf), "%s", w);
        char *colon = strchr(buf, ':');
        if (colon)
                *colon = 0;
        if (vnc_ipv4_parse(buf, ret_dst) < 0)
                return false;
        *ret_port = colon ? (uint16_t)atoi(colon + 1) : 0;
        return true;
}

static void load_fixture(const char *path) {
        FILE *f = fopen(path, "re");
        char line[512];

        memset(&fx, 0, sizeof(fx));
        assert_non_null(f);
        while (fgets(line, sizeof(line), f)) {
                char *save = NULL, *w = strtok_r(line, " \t\n", &save);
                if (!w || w[0] == '#')
                        continue;
                if (streq(w, "bridge")) {
                        struct fbridge *b = &fx.bridges[fx.n_bridges++];
                        snprintf(b->name, sizeof(b->name), "%s", strtok_r(NULL, " \t\n", &save));
                        b->mtu = 1500;
                        while ((w = strtok_r(NULL, " \t\n", &save))) {
                                if (streq(w, "mtu"))
                                        b->mtu = (uint32_t)atoi(strtok_r(NULL, " \t\n", &save));
                                else if (streq(w, "ipv4"))
                                        b->ipv4 = ip(strtok_r(NULL, " \t\n", &save));
                                else
                                        fail_msg("%s: unknown bridge attribute %s", path, w);
                        }
                } else if (streq(w, "taken")) {
                        fx.taken[fx.n_taken++] = ip(strtok_r(NULL, " \t\n", &save));
                } else if (streq(w, "dhcp")) {
                        struct fbridge *b = fbridge(strtok_r(NULL, " \t\n", &save));
                        assert_non_null(b);
                        assert_string_equal(strtok_r(NULL, " \t\n", &save), "offer");
                        b->offer = ip(strtok_r(NULL, " \t\n", &save));
                        assert_string_equal(strtok_r(NULL, " \t\n", &save), "server");
                        b->server = ip(strtok_r(NULL, " \t\n", &save));
                } else if (streq(w, "pmtu")) {
                        struct fbridge *b = fbridge(strtok_r(NULL, " \t\n", &save));
                        assert_non_null(b);
                        b->pmtu = (uint32_t)atoi(strtok_r(NULL, " \t\n", &save));
                } else if (streq(w, "drop") || streq(w, "reject") || streq(w, "refuse")) {
                        struct rule *r = &fx.rules[fx.n_rules++];
                        r->kind = streq(w, "drop") ? RULE_DROP : streq(w, "reject") ? RULE_REJECT : RULE_REFUSE;
                        snprintf(r->bridge, sizeof(r->bridge), "%s", strtok_r(NULL, " \t\n", &save));
                        snprintf(r->proto, sizeof(r->proto), "%s", strtok_r(NULL, " \t\n", &save));
                        w = strtok_r(NULL, " \t\n", &save);
                        if (w && parse_dst(w, &r->dst, &r->port))
                                w = strtok_r(NULL, " \t\n", &save);
                        if (w && streq(w, "from-host")) {
                                r->from_host = true;
                                w = strtok_r(NULL, " \t\n", &save);
                        }
                        if (r->kind == RULE_REJECT) {
                                assert_non_null(w);
                                r->type = (uint8_t)atoi(w);
                                r->code = (uint8_t)atoi(strtok_r(NULL, " \t\n", &save));
                                r->from = ip(strtok_r(NULL, " \t\n", &save));
                        }
                } else
                        fail_msg("%s: unknown line %s", path, w);
        }
        fclose(f);
}

/* ---- the host-ops table answering from it ---- */

struct vnc_probe {
        const struct fbridge *b;
        uint32_t addr;
};

struct vnc_probe_set {
        struct vnc_probe *probes; /* b NULL: no bridge */
        size_t n;
};

static int f_cleanup_stale(unsigned *ret_removed, struct vnc_error *e) {
        if (ret_removed)
                *ret_removed = 0;
        return 0;
}

static int f_set_new(const char *profile, size_t n, struct vnc_probe_set **ret, struct vnc_error *e) {
        struct vnc_probe_set *s = calloc(1, sizeof(*s));
        assert_non_null(s);
        s->probes = calloc(n ? n : 1, sizeof(*s->probes));
        assert_non_null(s->probes);
        s->n = n;
        *ret = s;
        return 0;
}

static int f_set_prepare(struct vnc_probe_set *s, size_t i, const char *bridge, const char *network,
                         const uint32_t *cands, size_t n_cands, int wait_ms, bool *ret_free, struct vnc_error *e) {
        s->probes[i].b = fbridge(bridge);
        if (!s->probes[i].b)
                return vnc_error_set(e, VNC_ERR_RUNTIME, -ENODEV, "bridge \"%s\" is missing", bridge);
        for (size_t k = 0; k < n_cands; k++) {
                ret_free[k] = true;
                for (size_t t = 0; t < fx.n_taken; t++)
                        if (fx.taken[t] == cands[k])
                                ret_free[k] = false;
        }
        return 0;
}

static int f_set_link(struct vnc_probe_set *s, struct vnc_error *e) {
        return 0;
}

static int f_set_get(struct vnc_probe_set *s, size_t i, struct vnc_probe **ret, struct vnc_error *e) {
        if (!s->probes[i].b)
                return vnc_error_set(e, VNC_ERR_RUNTIME, -ENODEV, "bridge missing");
        *ret = &s->probes[i];
        return 0;
}

static int f_set_arp_wait(struct vnc_probe_set *s, size_t i, struct vnc_error *e) {
        (void)s, (void)i, (void)e;
        return 0; /* f_set_prepare() answered already */
}

static void f_set_free(struct vnc_probe_set *s) {
        if (!s)
                return;
        free(s->probes);
        free(s);
}

static uint32_t f_bridge_mtu(const struct vnc_probe *p) {
        return p->b->mtu;
}

static int f_set_ipv4(struct vnc_probe *p, uint32_t addr, uint8_t prefix, uint32_t gateway, bool default_onlink,
                      struct vnc_error *e) {
        p->addr = addr;
        return 0;
}

static int f_dhcp_offer(struct vnc_probe *p, int tries, int interval_ms, uint32_t *ret_offer, uint32_t *ret_server,
                        double *ret_ms, struct vnc_error *e) {
        *ret_offer = p->b->offer;
        *ret_server = p->b->server;
        *ret_ms = p->b->offer ? 3.0 : -1;
        return 0;
}

static int f_ipv6_ll(struct vnc_probe *p, bool probe_side, struct in6_addr *ret, struct vnc_error *e) {
        assert_int_equal(inet_pton(AF_INET6, probe_side ? "fe80::2" : "fe80::1", ret), 1);
        return 0;
}

static int f_bridge_ipv4(struct vnc_probe *p, uint32_t *ret, struct vnc_error *e) {
        if (!p->b->ipv4)
                return vnc_error_set(e, VNC_ERR_RUNTIME, -EADDRNOTAVAIL, "the bridge has no IPv4 address");
        *ret = p->b->ipv4;
        return 0;
}

static const char *proto_name(const struct vnc_probe_echo *x) {
        switch (x->proto) {
        case VNC_PROBE_TCP_SYN: return "tcp";
        case VNC_PROBE_UDP: return "udp";
        case VNC_PROBE_DNS: return "dns";
        default: return "icmp";
        }
}

static int f_echo(struct vnc_probe *p, struct vnc_probe_echo *xs, size_t n, struct vnc_error *e) {
        for (size_t i = 0; i < n; i++) {
                struct vnc_probe_echo *x = &xs[i];
                const struct rule *hit = NULL;
                for (size_t k = 0; k < fx.n_rules && !hit; k++) {
                        const struct rule *r = &fx.rules[k];
                        if (streq(r->bridge, p->b->name) && streq(r->proto, proto_name(x)) &&
                            (!r->dst || (x->family == AF_INET && r->dst == x->dst4)) &&
                            (!r->port || r->port == x->port) && r->from_host == !x->from_probe)
                                hit = r;
                }
                x->answered = true;
                x->ms = 0.5;
                if (x->dont_fragment && p->b->pmtu && x->payload + (x->family == AF_INET6 ? 48 : 28) > p->b->pmtu) {
                        x->answered = false;
                        x->ms = -1;
                        x->error = -EMSGSIZE;
                        x->mtu = p->b->pmtu;
                        continue;
                }
                if (!hit) {
                        if (x->proto == VNC_PROBE_UDP)
                                x->forwarded = true;
                        continue;
                }
                if (hit->kind == RULE_REFUSE) {
                        x->refused = true;
                        continue;
                }
                x->answered = false;
                x->ms = -1;
                if (hit->kind == RULE_REJECT) {
                        uint32_t be = htonl(hit->from);
                        x->icmp_error = true;
                        x->icmp_type = hit->type;
                        x->icmp_code = hit->code;
                        x->icmp_family = AF_INET;
                        memcpy(x->icmp_from, &be, 4);
                }
        }
        return 0;
}

static const struct vnc_host_ops recorded_host = {
        .probe_cleanup_stale = f_cleanup_stale,
        .probe_set_new = f_set_new,
        .probe_set_prepare = f_set_prepare,
        .probe_set_link = f_set_link,
        .probe_set_get = f_set_get,
        .probe_set_arp_wait = f_set_arp_wait,
        .probe_set_free = f_set_free,
        .probe_bridge_mtu = f_bridge_mtu,
        .probe_set_ipv4 = f_set_ipv4,
        .probe_dhcp_offer = f_dhcp_offer,
        .probe_ipv6_ll = f_ipv6_ll,
        .probe_bridge_ipv4 = f_bridge_ipv4,
        .probe_echo = f_echo,
};

/* ---- the cases ---- */

static void print_result(FILE *f, const void *result) {
        const struct vnc_verify_result *res = result;

        for (size_t i = 0; i < res->n_checks; i++) {
                const struct vnc_check *c = &res->checks[i];
                fprintf(f, "%s %s %s \"%s\"%s%s\n", c->pass ? "PASS" : "FAIL", c->network,
                        vnc_check_kind_to_string(c->kind), c->name, c->detail ? " " : "", c->detail ? c->detail : "");
        }
        fprintf(f, "verify: %s\n", res->ok ? "ok" : "failed");
}

static void run_case(const char *dir) {
        char path[1024];
        struct vnc_profile *p = load_profile(dir, "profile.json");
        struct vnc_verify_result res = {0};
        struct vnc_error e = {0};

        assert_non_null(p);
        snprintf(path, sizeof(path), "%s/host.txt", dir);
        load_fixture(path);
        int r = vnc_verify_profile(&recorded_host, p, &res, &e);
        compare_case(dir, r, &e, print_result, &res, NULL);
        vnc_verify_result_done(&res);
        vnc_error_clear(&e);
        vnc_profile_free(p);
}

int main(void) {
        return run_cases_main("tests/record/verify", 5, run_case);
}
