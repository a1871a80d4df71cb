/* SPDX-License-Identifier: MIT */
/*
 * The profile rules that relate values to each other (SPEC section 2):
 * what each mode requires and forbids, addresses against their subnet,
 * uniqueness across the profile. profile.c has already checked keys,
 * types, syntax and ranges; nothing here needs host state.
 */
#include <stdarg.h>
#include <stdio.h>

#include "model.h"
#include "profile-internal.h"

struct vctx {
        const struct vnc_profile *p;
        struct vnc_error *e;
};

/* Error at a path built from fmt; the message comes from a second format. */
static int verr_path(struct vctx *c, bool key, const char *path, const char *fmt, ...) _printf_(4, 5);
static int verr_path(struct vctx *c, bool key, const char *path, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        return vnc_profile_error(c->p, c->e, VNC_ERR_PROFILE, key, path, "%s", msg ? msg : "out of memory");
}

/* Path helpers: every error path is built only when an error is reported. */
#define NPATH(i, suffix) vnc_strdup_printf("networks[%zu]%s", (i), (suffix))

static char *q_ip(struct vctx *c, const char *path, uint32_t ip) {
        char b[16], fb[20];
        snprintf(fb, sizeof(fb), "\"%s\"", vnc_ipv4_str(ip, b));
        return vnc_profile_quote(c->p, path, fb);
}

static char *q_prefix(struct vctx *c, const char *path, const struct vnc_ipv4_prefix *pfx) {
        char b[16], fb[24];
        snprintf(fb, sizeof(fb), "\"%s/%u\"", vnc_ipv4_str(pfx->addr, b), pfx->prefix);
        return vnc_profile_quote(c->p, path, fb);
}

static char *q_str(struct vctx *c, const char *path, const char *s) {
        _cleanup_free_ char *fb = vnc_strdup_printf("\"%s\"", s);
        return vnc_profile_quote(c->p, path, fb);
}

static char *q_mac(struct vctx *c, const char *path, const uint8_t m[6]) {
        char fb[24];
        snprintf(fb, sizeof(fb), "\"%02x:%02x:%02x:%02x:%02x:%02x\"", m[0], m[1], m[2], m[3], m[4], m[5]);
        return vnc_profile_quote(c->p, path, fb);
}

static const char *pfx_str(const struct vnc_ipv4_prefix *p, char buf[static 20]) {
        char b[16];
        snprintf(buf, 20, "%s/%u", vnc_ipv4_str(p->addr, b), p->prefix);
        return buf;
}

static struct vnc_ipv4_prefix subnet_of(const struct vnc_ipv4_prefix *p) {
        return (struct vnc_ipv4_prefix){.addr = p->addr & vnc_prefix_mask(p->prefix), .prefix = p->prefix};
}

static uint32_t broadcast_of(const struct vnc_ipv4_prefix *p) {
        return (p->addr & vnc_prefix_mask(p->prefix)) | ~vnc_prefix_mask(p->prefix);
}

/* Why ip cannot be a host's unicast address at all, or NULL. */
static const char *special_address(uint32_t ip) {
        if ((ip >> 24) == 0)
                return "is in 0.0.0.0/8 (\"this network\")";
        if ((ip >> 24) == 127)
                return "is a loopback address";
        if ((ip >> 28) == 0xe)
                return "is a multicast address";
        if (ip == UINT32_MAX)
                return "is the limited broadcast address";
        if ((ip >> 28) == 0xf)
                return "is in the reserved range 240.0.0.0/4";
        return NULL;
}

/* Why ip cannot be a host on subnet net (the network or broadcast address), or NULL. */
static const char *not_a_host_on(uint32_t ip, const struct vnc_ipv4_prefix *net) {
        if (net->prefix >= 31)
                return NULL;
        if (ip == (net->addr & vnc_prefix_mask(net->prefix)))
                return "is the network address of the subnet, not a host address";
        if (ip == broadcast_of(net))
                return "is the broadcast address of the subnet, not a host address";
        return NULL;
}

/*
 * An address on the network's subnet that stands for a guest (or a gateway):
 * inside the subnet, a host address, not the bridge's own address.
 */
static int check_guest_address(struct vctx *c, const struct vnc_network *n, const char *path, uint32_t ip,
                               const char *what) {
        char sb[20], b[16];
        struct vnc_ipv4_prefix net = subnet_of(&n->ipv4);
        const char *why;

        if (!vnc_ipv4_in(ip, &net)) {
                _cleanup_free_ char *q = q_ip(c, path, ip);
                return verr_path(c, false, path, "%s: %s is outside the subnet %s", q, what, pfx_str(&net, sb));
        }
        why = not_a_host_on(ip, &n->ipv4);
        if (why) {
                _cleanup_free_ char *q = q_ip(c, path, ip);
                return verr_path(c, false, path, "%s: %s", q, why);
        }
        if (ip == n->ipv4.addr) {
                _cleanup_free_ char *q = q_ip(c, path, ip);
                return verr_path(c, false, path, "%s: is the bridge's own address (%s)", q,
                                 vnc_ipv4_str(n->ipv4.addr, b));
        }
        return 0;
}

static bool mode_forbids_ipv4(enum vnc_mode m) {
        return m == VNC_MODE_BRIDGED || m == VNC_MODE_ISOLATED;
}

/* "dhcp", "routes" and friends need ipv4.address. */
static int need_ipv4(struct vctx *c, size_t i, const struct vnc_network *n, const char *key) {
        _cleanup_free_ char *path = NULL;
        if (n->has_ipv4)
                return 0;
        path = vnc_strdup_printf("networks[%zu].%s", i, key);
        if (mode_forbids_ipv4(n->mode))
                return verr_path(c, false, path, "not allowed with mode \"%s\" (it has no host address)",
                                 vnc_mode_to_string(n->mode));
        return verr_path(c, false, path, "requires \"ipv4\": {\"address\": \"A.B.C.D/N\"}");
}

static int check_mode(struct vctx *c, size_t i, const struct vnc_network *n) {
        const char *mode = vnc_mode_to_string(n->mode);
        _cleanup_free_ char *mpath = NPATH(i, ".mode");
        int r;

        if ((n->mode == VNC_MODE_NAT || n->mode == VNC_MODE_HOST_ONLY || n->mode == VNC_MODE_ROUTED) &&
            !n->has_ipv4)
                return verr_path(c, false, mpath, "\"%s\": requires \"ipv4\": {\"address\": \"A.B.C.D/N\"}", mode);
        if (mode_forbids_ipv4(n->mode) && n->has_ipv4) {
                _cleanup_free_ char *path = NPATH(i, ".ipv4");
                return verr_path(c, false, path, "not allowed with mode \"%s\" (%s)", mode,
                                 n->mode == VNC_MODE_BRIDGED ? "the bridge takes over the uplink's addresses"
                                                             : "an isolated bridge has no host address");
        }
        if (n->mode == VNC_MODE_BRIDGED && !n->uplink[0])
                return verr_path(c, false, mpath, "\"bridged\": requires \"uplink\" (the interface to enslave)");
        if (n->mode != VNC_MODE_BRIDGED && n->uplink[0]) {
                _cleanup_free_ char *path = NPATH(i, ".uplink");
                if (n->mode == VNC_MODE_NAT)
                        return verr_path(c, true, path,
                                         "only allowed with mode \"bridged\"; for NAT use \"nat\": {\"uplink\": ...}");
                return verr_path(c, true, path, "only allowed with mode \"bridged\", not \"%s\"", mode);
        }
        if (n->mode == VNC_MODE_VLAN && !n->has_vlan)
                return verr_path(c, false, mpath, "\"vlan\": requires \"vlan\": {\"id\": 1..4094}");
        if (n->mode != VNC_MODE_VLAN && n->has_vlan) {
                _cleanup_free_ char *path = NPATH(i, ".vlan");
                return verr_path(c, true, path, "only allowed with mode \"vlan\", not \"%s\"", mode);
        }
        if (n->mode != VNC_MODE_NAT && n->has_nat) {
                _cleanup_free_ char *path = NPATH(i, ".nat");
                return verr_path(c, true, path, "only allowed with mode \"nat\", not \"%s\"", mode);
        }
        if (n->has_dhcp && (r = need_ipv4(c, i, n, "dhcp")) < 0)
                return r;
        if (n->n_routes > 0 && (r = need_ipv4(c, i, n, "routes")) < 0)
                return r;
        if (n->has_vlan && n->vlan.routed && !n->has_ipv4) {
                _cleanup_free_ char *path = NPATH(i, ".vlan.routed");
                return verr_path(c, false, path, "true: a routed VLAN requires \"ipv4\" (the host routes through its address)");
        }
        return 0;
}

static int check_ipv4(struct vctx *c, size_t i, const struct vnc_network *n) {
        _cleanup_free_ char *path = NPATH(i, ".ipv4.address");
        const char *why;

        if (!path)
                return vnc_error_set(c->e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
        if (n->ipv4.prefix < 8) {
                _cleanup_free_ char *q = q_prefix(c, path, &n->ipv4);
                return verr_path(c, false, path, "%s: prefix length /%u is too short for a network (at least /8)", q,
                                 n->ipv4.prefix);
        }
        why = special_address(n->ipv4.addr);
        if (!why)
                why = not_a_host_on(n->ipv4.addr, &n->ipv4);
        if (why) {
                _cleanup_free_ char *q = q_prefix(c, path, &n->ipv4);
                return verr_path(c, false, path, "%s: %s", q, why);
        }
        return 0;
}

/* A DNS label sequence, as dnsmasq accepts for a dhcp-host name. */
static bool hostname_valid(const char *s) {
        size_t n = strlen(s), label = 0;

        if (n == 0 || n > 253)
                return false;
        for (size_t k = 0; k < n; k++) {
                char ch = s[k];
                if (ch == '.') {
                        if (label == 0 || s[k - 1] == '-')
                                return false;
                        label = 0;
                        continue;
                }
                if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-'))
                        return false;
                if (ch == '-' && label == 0)
                        return false;
                if (++label > 63)
                        return false;
        }
        return label > 0 && s[n - 1] != '-';
}

static int check_unicast_mac(struct vctx *c, const char *path, const uint8_t m[6]) {
        static const uint8_t zero[6] = {0};
        if (m[0] & 1) {
                _cleanup_free_ char *q = q_mac(c, path, m);
                return verr_path(c, false, path, "%s: is a multicast MAC address (the first octet must be even)", q);
        }
        if (memcmp(m, zero, 6) == 0) {
                _cleanup_free_ char *q = q_mac(c, path, m);
                return verr_path(c, false, path, "%s: is not a usable MAC address", q);
        }
        return 0;
}

static int check_dhcp(struct vctx *c, size_t i, const struct vnc_network *n) {
        const struct vnc_dhcp *d = &n->dhcp;
        char b[16];
        int r;

        if (!n->has_dhcp)
                return 0;
        {
                _cleanup_free_ char *ps = NPATH(i, ".dhcp.start"), *pe = NPATH(i, ".dhcp.end");
                if ((r = check_guest_address(c, n, ps, d->start, "DHCP range start")) < 0 ||
                    (r = check_guest_address(c, n, pe, d->end, "DHCP range end")) < 0)
                        return r;
                if (d->start > d->end) {
                        _cleanup_free_ char *q = q_ip(c, pe, d->end);
                        return verr_path(c, false, pe, "%s: DHCP range end is before its start %s", q,
                                         vnc_ipv4_str(d->start, b));
                }
                if (n->ipv4.addr >= d->start && n->ipv4.addr <= d->end) {
                        _cleanup_free_ char *q = q_ip(c, ps, d->start);
                        return verr_path(c, false, ps, "%s: DHCP range contains the bridge's own address %s", q,
                                         vnc_ipv4_str(n->ipv4.addr, b));
                }
        }
        for (size_t j = 0; j < d->n_hosts; j++) {
                const struct vnc_dhcp_host *h = &d->hosts[j];
                _cleanup_free_ char *pm = vnc_strdup_printf("networks[%zu].dhcp.hosts[%zu].mac", i, j);
                _cleanup_free_ char *pi = vnc_strdup_printf("networks[%zu].dhcp.hosts[%zu].ip", i, j);
                _cleanup_free_ char *pn = vnc_strdup_printf("networks[%zu].dhcp.hosts[%zu].name", i, j);

                if ((r = check_unicast_mac(c, pm, h->mac)) < 0 ||
                    (r = check_guest_address(c, n, pi, h->ip, "address")) < 0)
                        return r;
                if (h->name && !hostname_valid(h->name)) {
                        _cleanup_free_ char *q = q_str(c, pn, h->name);
                        return verr_path(c, false, pn, "%s: not a valid host name (letters, digits, '-', dots between labels)", q);
                }
                for (size_t k = 0; k < j; k++) {
                        const struct vnc_dhcp_host *o = &d->hosts[k];
                        if (memcmp(o->mac, h->mac, 6) == 0) {
                                _cleanup_free_ char *q = q_mac(c, pm, h->mac);
                                return verr_path(c, false, pm, "%s: MAC address already used by dhcp.hosts[%zu]", q, k);
                        }
                        if (o->ip == h->ip) {
                                _cleanup_free_ char *q = q_ip(c, pi, h->ip);
                                return verr_path(c, false, pi, "%s: address already given to dhcp.hosts[%zu]", q, k);
                        }
                        if (h->name && o->name && strcasecmp(o->name, h->name) == 0) {
                                _cleanup_free_ char *q = q_str(c, pn, h->name);
                                return verr_path(c, false, pn, "%s: host name already used by dhcp.hosts[%zu]", q, k);
                        }
                }
        }
        return 0;
}

static int check_forwards(struct vctx *c, size_t i, const struct vnc_network *n) {
        for (size_t j = 0; j < n->nat.n_forwards; j++) {
                const struct vnc_port_forward *f = &n->nat.forwards[j];
                _cleanup_free_ char *pg = vnc_strdup_printf("networks[%zu].nat.port_forwards[%zu].guest", i, j);
                _cleanup_free_ char *ph = vnc_strdup_printf("networks[%zu].nat.port_forwards[%zu].host_address", i, j);
                const char *why;
                int r;

                if ((r = check_guest_address(c, n, pg, f->guest, "guest")) < 0)
                        return r;
                if (f->has_host_address) {
                        why = f->host_address == 0 ? "omit \"host_address\" to forward on every address"
                                                   : special_address(f->host_address);
                        if (why) {
                                _cleanup_free_ char *q = q_ip(c, ph, f->host_address);
                                return verr_path(c, false, ph, "%s: %s", q, why);
                        }
                }
        }
        return 0;
}

static int check_routes(struct vctx *c, size_t i, const struct vnc_network *n) {
        char sb[20], b[16];

        for (size_t j = 0; j < n->n_routes; j++) {
                const struct vnc_route *rt = &n->routes[j];
                _cleanup_free_ char *pt = vnc_strdup_printf("networks[%zu].routes[%zu].to", i, j);
                _cleanup_free_ char *pv = vnc_strdup_printf("networks[%zu].routes[%zu].via", i, j);
                struct vnc_ipv4_prefix net = subnet_of(&rt->to), own = subnet_of(&n->ipv4);
                int r;

                if (net.addr != rt->to.addr) {
                        _cleanup_free_ char *q = q_prefix(c, pt, &rt->to);
                        return verr_path(c, false, pt, "%s: host bits set; did you mean \"%s\"?", q, pfx_str(&net, sb));
                }
                if (vnc_prefix_overlap(&rt->to, &own)) {
                        _cleanup_free_ char *q = q_prefix(c, pt, &rt->to);
                        return verr_path(c, false, pt, "%s: overlaps the network's own subnet %s", q, pfx_str(&own, sb));
                }
                if ((r = check_guest_address(c, n, pv, rt->via, "gateway")) < 0)
                        return r;
                (void)b;
        }
        return 0;
}

static int check_taps(struct vctx *c, size_t i, const struct vnc_network *n) {
        for (size_t j = 0; j < n->n_taps; j++) {
                const struct vnc_tap *t = &n->taps[j];
                _cleanup_free_ char *pm = vnc_strdup_printf("networks[%zu].taps[%zu].mac", i, j);
                int r;

                if (!t->has_mac)
                        continue;
                if ((r = check_unicast_mac(c, pm, t->mac)) < 0)
                        return r;
                /* SPEC: a tap's mac is its host-side address, never the guest's. */
                for (size_t k = 0; k < n->dhcp.n_hosts; k++)
                        if (memcmp(n->dhcp.hosts[k].mac, t->mac, 6) == 0) {
                                _cleanup_free_ char *q = q_mac(c, pm, t->mac);
                                return verr_path(c, false, pm,
                                                 "%s: is the guest MAC of dhcp.hosts[%zu]; a tap's mac is its host-side "
                                                 "address, never the guest's",
                                                 q, k);
                        }
        }
        return 0;
}

static int check_verify(struct vctx *c, size_t i, const struct vnc_network *n) {
        const struct vnc_verify_spec *v = &n->verify;
        const char *why;

        for (int list = 0; list < 2; list++) {
                const uint32_t *a = list ? v->unreachable : v->targets;
                size_t cnt = list ? v->n_unreachable : v->n_targets;
                for (size_t j = 0; j < cnt; j++) {
                        why = special_address(a[j]);
                        if (why) {
                                _cleanup_free_ char *path = vnc_strdup_printf(
                                        "networks[%zu].verify.%s[%zu]", i, list ? "unreachable" : "targets", j);
                                _cleanup_free_ char *q = q_ip(c, path, a[j]);
                                return verr_path(c, false, path, "%s: %s", q, why);
                        }
                }
        }
        if (v->has_probe_address) {
                _cleanup_free_ char *path = NPATH(i, ".verify.probe_address");
                char sb[20];

                why = special_address(v->probe_address.addr);
                if (!why)
                        why = not_a_host_on(v->probe_address.addr, &v->probe_address);
                if (why) {
                        _cleanup_free_ char *q = q_prefix(c, path, &v->probe_address);
                        return verr_path(c, false, path, "%s: %s", q, why);
                }
                if (n->has_ipv4) {
                        struct vnc_ipv4_prefix own = subnet_of(&n->ipv4);
                        if (v->probe_address.prefix != n->ipv4.prefix || !vnc_ipv4_in(v->probe_address.addr, &own)) {
                                _cleanup_free_ char *q = q_prefix(c, path, &v->probe_address);
                                return verr_path(c, false, path, "%s: must be an address in the network's subnet %s",
                                                 q, pfx_str(&own, sb));
                        }
                        if (v->probe_address.addr == n->ipv4.addr) {
                                _cleanup_free_ char *q = q_prefix(c, path, &v->probe_address);
                                return verr_path(c, false, path, "%s: is the bridge's own address", q);
                        }
                }
        }
        return 0;
}

/* ------------------------------------------------------- across networks */

enum ifkind { IF_BRIDGE, IF_VLAN, IF_TAP, IF_TRUNK_TAP, IF_SUBIF };

struct ifname_use {
        const char *name;
        enum ifkind kind;
        size_t net, idx; /* idx: tap index */
        size_t seq;      /* order of appearance */
};

static int ifname_cmp(const void *a, const void *b) {
        const struct ifname_use *x = a, *y = b;
        int r = strcmp(x->name, y->name);
        if (r != 0)
                return r;
        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static char *use_path(const struct ifname_use *u) {
        switch (u->kind) {
        case IF_BRIDGE:
                return vnc_strdup_printf("networks[%zu].bridge", u->net);
        case IF_VLAN:
                return vnc_strdup_printf("networks[%zu].vlan.interface", u->net);
        case IF_TRUNK_TAP:
                return vnc_strdup_printf("trunk_taps[%zu].name", u->net);
        case IF_SUBIF:
                return vnc_strdup_printf("trunk_taps[%zu].vlans[%zu]", u->net, u->idx);
        case IF_TAP:
        default:
                return vnc_strdup_printf("networks[%zu].taps[%zu].name", u->net, u->idx);
        }
}

static char *use_describe(const struct ifname_use *u) {
        switch (u->kind) {
        case IF_BRIDGE:
                return vnc_strdup_printf("the bridge of networks[%zu]", u->net);
        case IF_VLAN:
                return vnc_strdup_printf("the VLAN interface of networks[%zu]", u->net);
        case IF_TRUNK_TAP:
                return vnc_strdup_printf("trunk tap trunk_taps[%zu]", u->net);
        case IF_SUBIF:
                return vnc_strdup_printf("the sub-interface of trunk_taps[%zu].vlans[%zu]", u->net, u->idx);
        case IF_TAP:
        default:
                return vnc_strdup_printf("tap networks[%zu].taps[%zu]", u->net, u->idx);
        }
}

/* Interfaces the profile creates (bridges, VLAN interfaces, taps) are unique; report the later one. */
static int check_created_names(struct vctx *c) {
        const struct vnc_profile *p = c->p;
        _cleanup_free_ struct ifname_use *u = NULL;
        size_t n = 0, total = 0;
        const struct ifname_use *worst_dup = NULL, *worst_first = NULL;

        for (size_t i = 0; i < p->n_networks; i++)
                total += 2 + p->networks[i].n_taps;
        for (size_t i = 0; i < p->n_trunk_taps; i++)
                total += 1 + p->trunk_taps[i].n_vlans;
        u = calloc(total, sizeof(*u));
        if (!u)
                return vnc_error_set(c->e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
        for (size_t i = 0; i < p->n_networks; i++) {
                const struct vnc_network *nw = &p->networks[i];
                u[n] = (struct ifname_use){.name = nw->bridge, .kind = IF_BRIDGE, .net = i, .seq = n};
                n++;
                if (nw->has_vlan && nw->vlan.interface[0]) {
                        u[n] = (struct ifname_use){.name = nw->vlan.interface, .kind = IF_VLAN, .net = i, .seq = n};
                        n++;
                }
                for (size_t j = 0; j < nw->n_taps; j++) {
                        u[n] = (struct ifname_use){.name = nw->taps[j].name, .kind = IF_TAP, .net = i, .idx = j, .seq = n};
                        n++;
                }
        }
        for (size_t i = 0; i < p->n_trunk_taps; i++) {
                const struct vnc_trunk_tap *tt = &p->trunk_taps[i];
                u[n] = (struct ifname_use){.name = tt->tap.name, .kind = IF_TRUNK_TAP, .net = i, .seq = n};
                n++;
                for (size_t k = 0; k < tt->n_vlans; k++)
                        if (tt->subifs[k][0]) {
                                u[n] = (struct ifname_use){.name = tt->subifs[k], .kind = IF_SUBIF, .net = i, .idx = k,
                                                           .seq = n};
                                n++;
                        }
        }
        qsort(u, n, sizeof(*u), ifname_cmp);
        for (size_t k = 1; k < n; k++) {
                if (!streq(u[k].name, u[k - 1].name))
                        continue;
                /* u[k] repeats a name; the first of its group is the earlier use. */
                size_t first = k - 1;
                while (first > 0 && streq(u[first - 1].name, u[k].name))
                        first--;
                if (!worst_dup || u[k].seq < worst_dup->seq) {
                        worst_dup = &u[k];
                        worst_first = &u[first];
                }
        }
        if (worst_dup) {
                _cleanup_free_ char *path = use_path(worst_dup), *other = use_describe(worst_first);
                _cleanup_free_ char *q = q_str(c, path, worst_dup->name);
                return verr_path(c, false, path, "%s: interface name already used as %s", q, other ? other : "?");
        }
        return 0;
}

/* Is name an interface this profile creates? Describes the first such use. */
static char *created_by_profile(const struct vnc_profile *p, const char *name) {
        for (size_t i = 0; i < p->n_networks; i++) {
                const struct vnc_network *nw = &p->networks[i];
                if (streq(nw->bridge, name))
                        return vnc_strdup_printf("the bridge of networks[%zu]", i);
                if (nw->has_vlan && nw->vlan.interface[0] && streq(nw->vlan.interface, name))
                        return vnc_strdup_printf("the VLAN interface of networks[%zu]", i);
                for (size_t j = 0; j < nw->n_taps; j++)
                        if (streq(nw->taps[j].name, name))
                                return vnc_strdup_printf("tap networks[%zu].taps[%zu]", i, j);
        }
        for (size_t i = 0; i < p->n_trunk_taps; i++)
                if (streq(p->trunk_taps[i].tap.name, name))
                        return vnc_strdup_printf("trunk tap trunk_taps[%zu] (list the network in its \"vlans\")", i);
        return NULL;
}

/* Uplinks and trunks name existing interfaces: not one this profile creates, not claimed twice. */
static int check_existing_names(struct vctx *c) {
        const struct vnc_profile *p = c->p;

        for (size_t i = 0; i < p->n_networks; i++) {
                const struct vnc_network *n = &p->networks[i];

                if (n->mode == VNC_MODE_BRIDGED) {
                        _cleanup_free_ char *path = NPATH(i, ".uplink");
                        _cleanup_free_ char *by = created_by_profile(p, n->uplink);
                        if (by) {
                                _cleanup_free_ char *q = q_str(c, path, n->uplink);
                                return verr_path(c, false, path, "%s: is %s; an uplink must be an existing interface", q,
                                                 by);
                        }
                        for (size_t k = 0; k < i; k++)
                                if (p->networks[k].mode == VNC_MODE_BRIDGED && streq(p->networks[k].uplink, n->uplink)) {
                                        _cleanup_free_ char *q = q_str(c, path, n->uplink);
                                        return verr_path(c, false, path, "%s: already the uplink of networks[%zu]", q, k);
                                }
                }
                if (n->has_vlan && n->vlan.trunk[0]) {
                        _cleanup_free_ char *path = NPATH(i, ".vlan.trunk");
                        _cleanup_free_ char *by = created_by_profile(p, n->vlan.trunk);
                        if (by) {
                                _cleanup_free_ char *q = q_str(c, path, n->vlan.trunk);
                                return verr_path(c, false, path, "%s: is %s; a trunk must be an existing interface", q, by);
                        }
                        for (size_t k = 0; k < i; k++) {
                                const struct vnc_network *o = &p->networks[k];
                                if (o->has_vlan && o->vlan.id == n->vlan.id && streq(o->vlan.trunk, n->vlan.trunk)) {
                                        _cleanup_free_ char *pid = NPATH(i, ".vlan.id");
                                        return verr_path(c, false, pid, "%u: VLAN %u on \"%s\" is already networks[%zu]",
                                                         n->vlan.id, n->vlan.id, n->vlan.trunk, k);
                                }
                        }
                }
                if (n->has_nat && n->nat.uplink[0]) {
                        _cleanup_free_ char *path = NPATH(i, ".nat.uplink");
                        _cleanup_free_ char *by = created_by_profile(p, n->nat.uplink);
                        bool ok = true;
                        /* The bridge of a bridged network carries the LAN: masquerading out of it is fine. */
                        for (size_t k = 0; k < p->n_networks; k++)
                                if (streq(p->networks[k].bridge, n->nat.uplink))
                                        ok = p->networks[k].mode == VNC_MODE_BRIDGED;
                        if (by && !ok) {
                                _cleanup_free_ char *q = q_str(c, path, n->nat.uplink);
                                return verr_path(c, false, path, "%s: is %s, not a way out of the host", q, by);
                        }
                        if (by && ok && strncmp(by, "the bridge", 10) != 0) {
                                _cleanup_free_ char *q = q_str(c, path, n->nat.uplink);
                                return verr_path(c, false, path, "%s: is %s, not a way out of the host", q, by);
                        }
                        for (size_t k = 0; k < p->n_networks; k++)
                                if (p->networks[k].mode == VNC_MODE_BRIDGED && streq(p->networks[k].uplink, n->nat.uplink)) {
                                        _cleanup_free_ char *q = q_str(c, path, n->nat.uplink);
                                        return verr_path(c, false, path,
                                                         "%s: is enslaved to bridge \"%s\" of networks[%zu]; use the bridge",
                                                         q, p->networks[k].bridge, k);
                                }
                }
        }
        return 0;
}

static int check_names(struct vctx *c) {
        const struct vnc_profile *p = c->p;
        for (size_t i = 0; i < p->n_networks; i++)
                for (size_t k = 0; k < i; k++)
                        if (streq(p->networks[k].name, p->networks[i].name)) {
                                _cleanup_free_ char *path = NPATH(i, ".name");
                                _cleanup_free_ char *q = q_str(c, path, p->networks[i].name);
                                return verr_path(c, false, path, "%s: network name already used by networks[%zu]", q, k);
                        }
        return 0;
}

static int check_subnets(struct vctx *c) {
        const struct vnc_profile *p = c->p;
        char sb[20], ob[20];

        for (size_t i = 0; i < p->n_networks; i++) {
                const struct vnc_network *n = &p->networks[i];
                if (!n->has_ipv4)
                        continue;
                for (size_t k = 0; k < i; k++) {
                        const struct vnc_network *o = &p->networks[k];
                        if (!o->has_ipv4 || !vnc_prefix_overlap(&n->ipv4, &o->ipv4))
                                continue;
                        _cleanup_free_ char *path = NPATH(i, ".ipv4.address");
                        _cleanup_free_ char *q = q_prefix(c, path, &n->ipv4);
                        struct vnc_ipv4_prefix a = subnet_of(&n->ipv4), b = subnet_of(&o->ipv4);
                        return verr_path(c, false, path, "%s: subnet %s overlaps %s of networks[%zu]", q, pfx_str(&a, sb),
                                         pfx_str(&b, ob), k);
                }
        }
        /* Static routes: not into a subnet the profile attaches elsewhere, not the same destination twice. */
        for (size_t i = 0; i < p->n_networks; i++)
                for (size_t j = 0; j < p->networks[i].n_routes; j++) {
                        const struct vnc_route *rt = &p->networks[i].routes[j];
                        _cleanup_free_ char *path = vnc_strdup_printf("networks[%zu].routes[%zu].to", i, j);
                        for (size_t k = 0; k < p->n_networks; k++) {
                                const struct vnc_network *o = &p->networks[k];
                                if (k == i || !o->has_ipv4 || !vnc_prefix_overlap(&rt->to, &o->ipv4))
                                        continue;
                                _cleanup_free_ char *q = q_prefix(c, path, &rt->to);
                                struct vnc_ipv4_prefix b = subnet_of(&o->ipv4);
                                return verr_path(c, false, path, "%s: overlaps the subnet %s of networks[%zu]", q,
                                                 pfx_str(&b, ob), k);
                        }
                        for (size_t k = 0; k <= i; k++)
                                for (size_t l = 0; l < (k == i ? j : p->networks[k].n_routes); l++) {
                                        const struct vnc_route *o = &p->networks[k].routes[l];
                                        if (o->to.addr == rt->to.addr && o->to.prefix == rt->to.prefix) {
                                                _cleanup_free_ char *q = q_prefix(c, path, &rt->to);
                                                return verr_path(c, false, path,
                                                                 "%s: already routed by networks[%zu].routes[%zu]", q, k, l);
                                        }
                                }
                }
        return 0;
}

/* No two forwards share (proto, host_port, host_address); a forward without host_address takes every address. */
static int check_forward_clash(struct vctx *c) {
        const struct vnc_profile *p = c->p;

        for (size_t i = 0; i < p->n_networks; i++)
                for (size_t j = 0; j < p->networks[i].nat.n_forwards; j++) {
                        const struct vnc_port_forward *f = &p->networks[i].nat.forwards[j];
                        for (size_t k = 0; k <= i; k++)
                                for (size_t l = 0; l < (k == i ? j : p->networks[k].nat.n_forwards); l++) {
                                        const struct vnc_port_forward *o = &p->networks[k].nat.forwards[l];
                                        char b[16];

                                        if (o->proto != f->proto || o->host_port != f->host_port)
                                                continue;
                                        if (o->has_host_address && f->has_host_address &&
                                            o->host_address != f->host_address)
                                                continue;
                                        _cleanup_free_ char *path = vnc_strdup_printf(
                                                "networks[%zu].nat.port_forwards[%zu].host_port", i, j);
                                        return verr_path(c, false, path,
                                                         "%u: %s port %u%s%s already forwarded by "
                                                         "networks[%zu].nat.port_forwards[%zu]",
                                                         f->host_port, f->proto == VNC_PROTO_TCP ? "tcp" : "udp",
                                                         f->host_port, f->has_host_address ? " on " : "",
                                                         f->has_host_address ? vnc_ipv4_str(f->host_address, b) : "",
                                                         k, l);
                                }
                }
        return 0;
}

/* trunk_taps: each listed network exists, is of mode vlan, appears once; "<tap>.<id>" fits in 15 bytes. */
static int check_trunk_taps(struct vctx *c) {
        const struct vnc_profile *p = c->p;

        for (size_t i = 0; i < p->n_trunk_taps; i++) {
                const struct vnc_trunk_tap *tt = &p->trunk_taps[i];
                if (tt->tap.has_mac) {
                        _cleanup_free_ char *pm = vnc_strdup_printf("trunk_taps[%zu].mac", i);
                        int r = check_unicast_mac(c, pm, tt->tap.mac);
                        if (r < 0)
                                return r;
                }
                for (size_t k = 0; k < tt->n_vlans; k++) {
                        _cleanup_free_ char *path = vnc_strdup_printf("trunk_taps[%zu].vlans[%zu]", i, k);
                        size_t n = tt->vlans[k];
                        if (n == SIZE_MAX) {
                                _cleanup_free_ char *q = q_str(c, path, tt->vlan_names[k]);
                                return verr_path(c, false, path, "%s: no network of that name in this profile", q);
                        }
                        if (p->networks[n].mode != VNC_MODE_VLAN) {
                                _cleanup_free_ char *q = q_str(c, path, tt->vlan_names[k]);
                                return verr_path(c, false, path,
                                                 "%s: mode \"%s\"; a trunk tap carries only networks of mode \"vlan\"",
                                                 q, vnc_mode_to_string(p->networks[n].mode));
                        }
                        for (size_t l = 0; l < k; l++)
                                if (tt->vlans[l] == n) {
                                        _cleanup_free_ char *q = q_str(c, path, tt->vlan_names[k]);
                                        return verr_path(c, false, path, "%s: already listed as vlans[%zu]", q, l);
                                }
                        if (!tt->subifs[k][0]) {
                                _cleanup_free_ char *q = q_str(c, path, tt->vlan_names[k]);
                                return verr_path(c, false, path,
                                                 "%s: the sub-interface name \"%s.%u\" is longer than 15 bytes; "
                                                 "choose a shorter trunk_taps[%zu].name",
                                                 q, tt->tap.name, p->networks[n].vlan.id, i);
                        }
                }
        }
        return 0;
}

int vnc_profile_validate(const struct vnc_profile *p, struct vnc_error *e) {
        struct vctx c = {.p = p, .e = e};
        int r;

        if (!p)
                return -EINVAL;
        for (size_t i = 0; i < p->n_networks; i++) {
                const struct vnc_network *n = &p->networks[i];
                if ((r = check_mode(&c, i, n)) < 0)
                        return r;
                if (n->has_ipv4 && (r = check_ipv4(&c, i, n)) < 0)
                        return r;
                if ((r = check_dhcp(&c, i, n)) < 0 || (r = check_forwards(&c, i, n)) < 0 ||
                    (r = check_routes(&c, i, n)) < 0 || (r = check_taps(&c, i, n)) < 0 ||
                    (r = check_verify(&c, i, n)) < 0)
                        return r;
        }
        if ((r = check_names(&c)) < 0 || (r = check_trunk_taps(&c)) < 0 || (r = check_existing_names(&c)) < 0 ||
            (r = check_created_names(&c)) < 0 ||
            (r = check_subnets(&c)) < 0 || (r = check_forward_clash(&c)) < 0)
                return r;
        return 0;
}
