/* SPDX-License-Identifier: MIT */
#include <stdio.h>

#include "verify-vlan.h"

#define VLAN_ECHO_TRIES 2
#define VLAN_ANSWER_MS 1000  /* must answer: 1 s per echo, one retry */
#define VLAN_SILENCE_MS 500  /* must not answer: two requests within 1 s */
#define VLAN_ARP_WAIT_MS 200
#define VLAN_CANDIDATES 8

struct vprobe {
        const struct vnc_network *n;
        struct vnc_probe *probe;
        uint32_t addr; /* 0: none could be placed */
};

static bool taken(const struct vnc_network *n, uint32_t a) {
        if (a == n->ipv4.addr)
                return true;
        if (n->has_dhcp && a >= n->dhcp.start && a <= n->dhcp.end)
                return true;
        for (size_t i = 0; n->has_dhcp && i < n->dhcp.n_hosts; i++)
                if (n->dhcp.hosts[i].ip == a)
                        return true;
        for (size_t i = 0; i < n->n_routes; i++)
                if (n->routes[i].via == a)
                        return true;
        return false;
}

/* The highest addresses of the subnet nobody uses or answers ARP for; the first free one. */
static int place(const struct vnc_host_ops *host, struct vprobe *v, struct vnc_error *e) {
        const struct vnc_network *n = v->n;
        uint32_t mask = vnc_prefix_mask(n->ipv4.prefix), net = n->ipv4.addr & mask, cands[VLAN_CANDIDATES];
        bool free_[VLAN_CANDIDATES];
        size_t nc = 0;
        int r;

        if (n->ipv4.prefix >= 31)
                return 0;
        for (uint32_t a = (net | ~mask) - 1; a > net && nc < VLAN_CANDIDATES; a--)
                if (!taken(n, a))
                        cands[nc++] = a;
        if (nc == 0)
                return 0;
        r = host->probe_arp_free(v->probe, cands, nc, VLAN_ARP_WAIT_MS, free_, e);
        if (r < 0)
                return r;
        for (size_t i = 0; i < nc && !v->addr; i++)
                if (free_[i])
                        v->addr = cands[i];
        if (!v->addr)
                return 0;
        r = host->probe_set_ipv4(v->probe, v->addr, n->ipv4.prefix, n->ipv4.addr, false, e);
        if (r < 0)
                return r;
        /* One echo to the host first: its ARP request makes the host learn this probe's MAC (the
         * host may remember another MAC for this address from an earlier probe). */
        struct vnc_probe_echo hello = {.from_probe = true, .family = AF_INET, .dst4 = n->ipv4.addr,
                                       .tries = VLAN_ECHO_TRIES, .interval_ms = VLAN_ANSWER_MS};
        return host->probe_echo(v->probe, &hello, 1, e);
}

static bool routed(const struct vnc_network *n) {
        return n->has_vlan && n->vlan.routed && n->has_ipv4;
}

/* From a's probe to every other probe at once; one check per pair. */
static int cross(const struct vnc_host_ops *host, struct vprobe *vs, size_t nv, size_t a, struct vnc_verify_result *res, struct vnc_error *e) {
        _cleanup_free_ struct vnc_probe_echo *xs = calloc(nv, sizeof(*xs));
        _cleanup_free_ size_t *to = calloc(nv, sizeof(*to));
        size_t nx = 0;
        char b1[16];
        int r;

        if (!xs || !to)
                return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
        for (size_t b = 0; b < nv; b++) {
                if (b == a || !vs[b].addr)
                        continue;
                bool must = routed(vs[a].n) && routed(vs[b].n);
                xs[nx] = (struct vnc_probe_echo){.from_probe = true,
                                                 .family = AF_INET,
                                                 .dst4 = vs[b].addr,
                                                 .tries = VLAN_ECHO_TRIES,
                                                 .interval_ms = must ? VLAN_ANSWER_MS : VLAN_SILENCE_MS};
                to[nx++] = b;
        }
        if (nx > 0 && (r = host->probe_echo(vs[a].probe, xs, nx, e)) < 0)
                return r;
        for (size_t k = 0; k < nx; k++) {
                const struct vnc_network *from = vs[a].n, *dst = vs[to[k]].n;
                bool must = routed(from) && routed(dst);
                const struct vnc_probe_echo *x = &xs[k];
                char *name = must ? vnc_strdup_printf("VLAN %u -> VLAN %u probe %s answers (both routed)",
                                                      from->vlan.id, dst->vlan.id, vnc_ipv4_str(x->dst4, b1))
                                  : vnc_strdup_printf("VLAN %u -> VLAN %u probe %s must not answer (%s not routed)",
                                                      from->vlan.id, dst->vlan.id, vnc_ipv4_str(x->dst4, b1),
                                                      routed(from) ? dst->name : from->name);
                char *detail = NULL;
                bool pass = must ? x->answered : !x->answered;
                if (must && !x->answered)
                        detail = vnc_probe_echo_describe_error(x);
                else if (!must && x->answered)
                        detail = vnc_strdup_printf("answered in %.1f ms: the host forwards between these VLANs", x->ms);
                r = vnc_verify_add(res, from->name, VNC_CHECK_VLAN_ISOLATION, pass, x->answered ? x->ms : -1, name,
                                   detail);
                if (r < 0)
                        return vnc_error_set(e, VNC_ERR_RUNTIME, r, "out of memory");
        }
        return 0;
}

int vnc_verify_vlan(const struct vnc_host_ops *host, const struct vnc_profile *p, struct vnc_verify_result *res,
                    struct vnc_error *e) {
        _cleanup_free_ struct vprobe *vs = calloc(p->n_networks ? p->n_networks : 1, sizeof(*vs));
        size_t nv = 0;
        int r = 0;

        if (!vs)
                return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
        for (size_t i = 0; i < p->n_networks; i++)
                if (p->networks[i].mode == VNC_MODE_VLAN && p->networks[i].has_ipv4)
                        vs[nv++].n = &p->networks[i];
        if (nv < 2)
                return 0;
        for (size_t i = 0; i < nv && r >= 0; i++) {
                r = host->probe_new(vs[i].n->bridge, p->name, vs[i].n->name, &vs[i].probe, e);
                if (r == -ENODEV) { /* reported by the network's own checks */
                        vnc_error_clear(e);
                        r = 0;
                        continue;
                }
                if (r >= 0)
                        r = place(host, &vs[i], e);
        }
        for (size_t a = 0; a < nv && r >= 0; a++)
                if (vs[a].addr)
                        r = cross(host, vs, nv, a, res, e);
        for (size_t i = 0; i < nv; i++)
                host->probe_free(vs[i].probe);
        return r;
}
