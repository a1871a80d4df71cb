/* SPDX-License-Identifier: MIT */
/*
 * vnetcfg doctor (SPEC section 6): read the host, reason over what was seen,
 * report findings with their evidence and a command that fixes each. Changes
 * nothing; the only packets sent are bounded ARP probes on a network's
 * bridge and, with --target, ICMP echo to that guest (doctor-guest.c).
 *
 * Per network (or bare bridge) the checks follow the path a frame takes:
 *   bridge  exists, up, ports, MTUs, MACs            (bridge-*, no-ports, port-down, mtu-mismatch, mac-conflict)
 *   guest   layer 2 on the bridge                     (ip-conflict, neigh-failed)
 *           with --target, its own side (doctor-guest.c) (guest-gateway, guest-no-route, guest-firewall, guest-subnet)
 *   host    routing, sysctls, INPUT/OUTPUT/FORWARD    (forward-disabled, rp-filter, no-route, subnet-overlap,
 *                                                      icmp-blocked, input-blocked, br-netfilter, dhcp-down,
 *                                                      dns-port-taken)
 *   uplink  the way out                               (forward-blocked, no-masquerade, no-route, mtu-mismatch)
 * Every finding is tagged with its network and hop, so --target's walk is
 * the same facts read in path order, never a second opinion.
 *
 * Firewall findings come from one read of both rule sets per run, judged per
 * flow (fwverdict.h): the rule or policy that decides, its owner, and the fix
 * in that owner's tool.
 */
#include <arpa/inet.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/socket.h>

#include "doctor.h"
#include "doctor-guest.h"
#include "doctor-vlan.h"
#include "fwverdict.h"

#define ARP_PROBE_MS 300
#define ICMP_ECHO_REQUEST 8

static const char *const severity_names[] = {
        [VNC_SEV_INFO] = "info",
        [VNC_SEV_WARNING] = "warning",
        [VNC_SEV_ERROR] = "error",
};

const char *vnc_severity_to_string(enum vnc_severity s) {
        if ((size_t)s >= ELEMENTSOF(severity_names))
                return NULL;
        return severity_names[s];
}

void vnc_doctor_report_done(struct vnc_doctor_report *r) {
        if (!r)
                return;
        for (size_t i = 0; i < r->n_findings; i++) {
                free(r->findings[i].code);
                free(r->findings[i].network);
                free(r->findings[i].evidence);
                free(r->findings[i].fix);
        }
        free(r->findings);
        for (size_t i = 0; i < r->n_hops; i++) {
                free(r->hops[i].name);
                free(r->hops[i].detail);
        }
        free(r->hops);
        *r = (struct vnc_doctor_report){0};
}

int vnc_doctor_add(struct vnc_doctor_report *r, const char *code, enum vnc_severity sev, const char *network,
                   char *evidence, char *fix) {
        _cleanup_free_ char *ev = evidence, *fx = fix, *c = NULL, *net = NULL;

        if (VNC_GROW(r->findings, r->alloc_findings, r->n_findings + 1) < 0)
                return -ENOMEM;
        c = strdup(code);
        if (!c || (network && !(net = strdup(network))))
                return -ENOMEM;
        r->findings[r->n_findings++] = (struct vnc_finding){
                .code = TAKE_PTR(c), .severity = sev, .network = TAKE_PTR(net),
                .evidence = TAKE_PTR(ev), .fix = TAKE_PTR(fx)};
        return 0;
}

bool vnc_doctor_has_errors(const struct vnc_doctor_report *r) {
        for (size_t i = 0; i < r->n_findings; i++)
                if (r->findings[i].severity == VNC_SEV_ERROR)
                        return true;
        return false;
}

/* ------------------------------------------------------------------ model */

enum hop { HOP_GUEST, HOP_BRIDGE, HOP_HOST, HOP_UPLINK, _HOP_MAX };

struct net {
        const struct vnc_network *n; /* NULL for a bare bridge */
        const char *label;           /* network name, or the bridge's */
        const char *bridge;
        const struct vnc_live_link *br; /* NULL when missing (or not a bridge) */
        bool has_subnet;
        struct vnc_ipv4_prefix subnet; /* host bits clear */
        uint32_t host;                 /* host address on the bridge (0 with no subnet) */
        bool host_on_bridge;
        bool forwards;       /* guests are meant to reach beyond the host */
        bool forwards_known; /* the profile says so (bare bridges: only a target says so) */
        bool nat;
        bool allow_icmp;
        bool has_peer;
        uint32_t peer;       /* a guest address to reason with: the target, a neighbour, a likely one */
        bool has_upstream;
        uint32_t upstream;   /* an address beyond the uplink */
        int up_oif;          /* the interface the route to upstream leaves through */
        char up_name[VNC_IFNAMSIZ];
        bool layer2_ok;      /* bridge exists and is up, with a port up */
        bool target_answered; /* the target (a guest of this network) answered ARP */
        size_t probe_host, probe_target; /* indexes into doc.probes, SIZE_MAX when none */
        char *notes[_HOP_MAX]; /* what was checked and found fine, per hop */
};

struct doc {
        const struct vnc_doctor_input *in;
        struct vnc_doctor_report *rep;
        struct vnc_live *live;
        struct vnc_neigh_table neigh;
        int ip_forward; /* -1 unknown */
        int brnf;       /* net.bridge.bridge-nf-call-iptables, -1 when absent */
        bool dhcp_known, dhcp_running;
        struct tag {
                size_t net;
                enum hop hop;
        } *tags;
        size_t n_tags, alloc_tags;
        struct net *nets;
        size_t n_nets;
        struct vnc_arp_probe *probes;
        size_t n_probes, alloc_probes;
        struct vnc_fw_rulesets *fw; /* both rule sets, read once per run (on the first flow judged) */
};

static uint32_t addr4(const uint8_t a[16]) {
        return (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
}

static int sappend(char **s, const char *fmt, ...) _printf_(2, 3);
static int sappend(char **s, const char *fmt, ...) {
        _cleanup_free_ char *add = NULL;
        va_list ap;
        int k;

        va_start(ap, fmt);
        k = vasprintf(&add, fmt, ap);
        va_end(ap);
        if (k < 0) {
                add = NULL;
                return -ENOMEM;
        }
        char *n = *s ? vnc_strdup_printf("%s; %s", *s, add) : strdup(add);
        if (!n)
                return -ENOMEM;
        free(*s);
        *s = n;
        return 0;
}

static int note(struct net *n, enum hop h, const char *fmt, ...) _printf_(3, 4);
static int note(struct net *n, enum hop h, const char *fmt, ...) {
        _cleanup_free_ char *add = NULL;
        va_list ap;
        int k;

        va_start(ap, fmt);
        k = vasprintf(&add, fmt, ap);
        va_end(ap);
        if (k < 0) {
                add = NULL;
                return -ENOMEM;
        }
        return sappend(&n->notes[h], "%s", add);
}

/* Add a finding (fix taken, may be NULL) tagged with its network and hop. */
static int finding(struct doc *d, struct net *n, enum hop h, const char *code, enum vnc_severity sev, char *fix,
                   const char *fmt, ...) _printf_(7, 8);
static int finding(struct doc *d, struct net *n, enum hop h, const char *code, enum vnc_severity sev, char *fix,
                   const char *fmt, ...) {
        _cleanup_free_ char *fx = fix, *ev = NULL;
        va_list ap;
        int k, r;

        va_start(ap, fmt);
        k = vasprintf(&ev, fmt, ap);
        va_end(ap);
        if (k < 0) {
                ev = NULL;
                return -ENOMEM;
        }
        if (VNC_GROW(d->tags, d->alloc_tags, d->rep->n_findings + 1) < 0)
                return -ENOMEM;
        r = vnc_doctor_add(d->rep, code, sev, n ? n->label : NULL, TAKE_PTR(ev), TAKE_PTR(fx));
        if (r < 0)
                return r;
        d->tags[d->rep->n_findings - 1] = (struct tag){.net = n ? (size_t)(n - d->nets) : SIZE_MAX, .hop = h};
        return 0;
}

#define FIX(...) vnc_strdup_printf(__VA_ARGS__)

static const char *ifname_of(const struct doc *d, int ifindex, char buf[static 16]) {
        const struct vnc_live_link *l = vnc_live_link_by_index(d->live, ifindex);
        if (l)
                return l->name;
        snprintf(buf, 16, "if%d", ifindex);
        return buf;
}

/* The command that re-applies the profile. */
static char *fix_apply(const struct doc *d) {
        const struct vnc_profile *p = d->in->profile;
        if (p && p->file && !streq(p->file, "-"))
                return FIX("vnetcfg apply %s", p->file);
        return FIX("vnetcfg apply %s.json", p ? p->name : "PROFILE");
}

/* ------------------------------------------------------- firewall verdicts */

static void flow_ifname(char dst[16], const char *name) { snprintf(dst, 16, "%s", name ? name : ""); }

/*
 * Judge one flow against the rule sets read once for this run. Returns < 0
 * only for out of memory; an evaluator that cannot answer is a note on the
 * hop (its text kept), not a finding.
 */
static int verdict(struct doc *d, const struct vnc_flow *f, struct vnc_verdict_result *ret) {
        struct vnc_error err = {0};
        int r = 0;

        *ret = (struct vnc_verdict_result){.verdict = VNC_VERDICT_UNKNOWN};
        if (!d->in->fw && !d->fw)
                r = d->in->host->fw_rulesets_read(&d->fw, &err);
        if (r >= 0)
                r = d->in->host->fw_judge(d->in->fw ? d->in->fw : d->fw, f, ret, &err);
        if (r < 0) {
                _cleanup_free_ char *msg = vnc_error_format(&err);
                vnc_error_clear(&err);
                vnc_verdict_result_done(ret);
                ret->verdict = VNC_VERDICT_UNKNOWN;
                ret->evidence = vnc_strdup_printf("the firewall could not be evaluated: %s",
                                                  msg ? msg : strerror(-r));
                return ret->evidence ? 0 : -ENOMEM;
        }
        return 0;
}

/* Move a verdict result (its strings) out of v. */
#define TAKE_STRUCT_VERDICT(v)                                                                                         \
        ({                                                                                                             \
                struct vnc_verdict_result _t = (v);                                                                    \
                (v) = (struct vnc_verdict_result){0};                                                                  \
                _t;                                                                                                    \
        })

static char *fw_fix(struct vnc_verdict_result *v, const char *fallback_fmt, ...) _printf_(2, 3);
static char *fw_fix(struct vnc_verdict_result *v, const char *fallback_fmt, ...) {
        if (v->fix)
                return TAKE_PTR(v->fix);
        char *s = NULL;
        va_list ap;
        va_start(ap, fallback_fmt);
        if (vasprintf(&s, fallback_fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        return s;
}

static const char *ev_or(const struct vnc_verdict_result *v, const char *s) {
        return v->evidence && *v->evidence ? v->evidence : s;
}

/* ------------------------------------------------------------- the checks */

static int check_bridge(struct doc *d, struct net *n) {
        const struct vnc_live_link *l = vnc_live_link_by_name(d->live, n->bridge);
        char mac[18], mac2[18];
        int r;

        if (!l)
                return finding(d, n, HOP_BRIDGE, "bridge-missing", VNC_SEV_ERROR,
                               d->in->profile ? fix_apply(d) : FIX("ip link add %s type bridge", n->bridge),
                               "no link named \"%s\" exists", n->bridge);
        if (!streq(l->kind, "bridge"))
                return finding(d, n, HOP_BRIDGE, "bridge-missing", VNC_SEV_ERROR,
                               d->in->profile ? fix_apply(d) : FIX("ip -d link show %s", n->bridge),
                               "\"%s\" exists but is a %s link, not a bridge", n->bridge,
                               l->kind[0] ? l->kind : "physical");
        n->br = l;

        /* Ports, and which of them carry frames. A tap without carrier has no VM on it yet: not a fault. */
        size_t n_ports = 0, n_carrier = 0, n_idle_taps = 0, n_down = 0;
        _cleanup_free_ char *down = NULL, *idle = NULL;
        const struct vnc_live_link *first_admin_down = NULL, *first_down = NULL;
        for (size_t i = 0; i < d->live->n_links; i++) {
                const struct vnc_live_link *p = &d->live->links[i];
                if (p->master != l->ifindex)
                        continue;
                n_ports++;
                if (p->admin_up && p->oper_up) {
                        n_carrier++;
                        continue;
                }
                if (p->admin_up && streq(p->kind, "tun")) {
                        n_idle_taps++;
                        if (sappend(&idle, "%s", p->name) < 0)
                                return -ENOMEM;
                        continue;
                }
                n_down++;
                if (!first_down)
                        first_down = p;
                if (!p->admin_up && !first_admin_down)
                        first_admin_down = p;
                if (sappend(&down, "%s %s", p->name, p->admin_up ? "up without carrier (its other end is down)"
                                                                  : "administratively down") < 0)
                        return -ENOMEM;
        }

        if (!l->admin_up) {
                r = finding(d, n, HOP_BRIDGE, "bridge-down", VNC_SEV_ERROR, FIX("ip link set %s up", l->name),
                            "bridge %s is administratively down (flags without UP)", l->name);
                if (r < 0)
                        return r;
        }

        if (n_ports == 0) {
                r = finding(d, n, HOP_BRIDGE, "no-ports", VNC_SEV_WARNING,
                            FIX("ip link set DEV master %s  (or start a guest attached to %s)", l->name, l->name),
                            "bridge %s has no ports: no guest is attached yet", l->name);
                if (r < 0)
                        return r;
        } else if (n_down > 0) {
                bool all = n_carrier == 0 && n_idle_taps == 0;
                const struct vnc_live_link *p = first_admin_down ? first_admin_down : first_down;
                r = finding(d, n, HOP_BRIDGE, "port-down", all ? VNC_SEV_ERROR : VNC_SEV_WARNING,
                            first_admin_down ? FIX("ip link set %s up", p->name)
                                             : FIX("bring up the other end of %s (its guest's interface, e.g. "
                                                   "ip -n NS link set eth0 up)",
                                                   p->name),
                            "%zu of %zu port(s) of %s down: %s", n_down, n_ports, l->name, down);
                if (r < 0)
                        return r;
        } else if (n_carrier == 0 && n_idle_taps > 0) {
                r = note(n, HOP_BRIDGE, "taps without a VM attached: %s", idle);
                if (r < 0)
                        return r;
        }
        n->layer2_ok = l->admin_up && n_carrier > 0;

        /* MTUs: the bridge against the profile, every port against the bridge. */
        if (n->n && n->n->mtu && l->mtu != n->n->mtu) {
                r = finding(d, n, HOP_BRIDGE, "mtu-mismatch", VNC_SEV_ERROR, FIX("ip link set %s mtu %u", l->name,
                                                                                 n->n->mtu),
                            "bridge %s mtu %u, profile mtu %u", l->name, l->mtu, n->n->mtu);
                if (r < 0)
                        return r;
        }
        /* Without a profile MTU, the ports' most common MTU (the larger on a tie) is the one meant: a bridge
         * whose MTU was never pinned follows its smallest port, so its own MTU proves nothing. */
        uint32_t want = n->n && n->n->mtu ? n->n->mtu : 0;
        if (!want) {
                size_t best = 0;
                for (size_t i = 0; i < d->live->n_links; i++) {
                        const struct vnc_live_link *p = &d->live->links[i];
                        size_t c = 0;
                        if (p->master != l->ifindex)
                                continue;
                        for (size_t j = 0; j < d->live->n_links; j++)
                                c += d->live->links[j].master == l->ifindex && d->live->links[j].mtu == p->mtu;
                        if (c > best || (c == best && p->mtu > want)) {
                                best = c;
                                want = p->mtu;
                        }
                }
                if (!want)
                        want = l->mtu;
        }
        for (size_t i = 0; i < d->live->n_links; i++) {
                const struct vnc_live_link *p = &d->live->links[i];
                if (p->master != l->ifindex || p->mtu == want)
                        continue;
                char prof[40];
                if (n->n && n->n->mtu)
                        snprintf(prof, sizeof(prof), ", profile mtu %u", n->n->mtu);
                else
                        snprintf(prof, sizeof(prof), ", the other ports mtu %u", want);
                r = finding(d, n, HOP_BRIDGE, "mtu-mismatch", VNC_SEV_ERROR, FIX("ip link set %s mtu %u", p->name, want),
                            "port %s mtu %u, bridge %s mtu %u%s", p->name, p->mtu, l->name, l->mtu, prof);
                if (r < 0)
                        return r;
        }

        /* MACs: two ports with one MAC, or a port with the bridge's MAC when that was set by hand (a bridge
         * whose address was never set adopts its lowest port's MAC: that is normal). */
        int assign = -1;
        (void)d->in->host->diag_addr_assign_type(l->name, &assign);
        for (size_t i = 0; i < d->live->n_links; i++) {
                const struct vnc_live_link *p = &d->live->links[i];
                if (p->master != l->ifindex || !p->has_mac)
                        continue;
                /* A bridged network's bridge carries its uplink's MAC on purpose. */
                bool own_uplink = n->n && n->n->mode == VNC_MODE_BRIDGED && streq(p->name, n->n->uplink);
                if (assign == 3 && !own_uplink && l->has_mac && memcmp(p->mac, l->mac, 6) == 0) {
                        r = finding(d, n, HOP_BRIDGE, "mac-conflict", VNC_SEV_ERROR,
                                    FIX("ip link set %s address fe:54:00:%02x:%02x:%02x", p->name,
                                        (unsigned)(p->ifindex >> 16) & 0xff, (unsigned)(p->ifindex >> 8) & 0xff,
                                        (unsigned)p->ifindex & 0xff),
                                    "port %s has MAC %s, the address set on bridge %s", p->name,
                                    vnc_diag_mac_str(p->mac, mac), l->name);
                        if (r < 0)
                                return r;
                }
                for (size_t j = i + 1; j < d->live->n_links; j++) {
                        const struct vnc_live_link *q = &d->live->links[j];
                        if (q->master != l->ifindex || !q->has_mac || memcmp(p->mac, q->mac, 6) != 0)
                                continue;
                        r = finding(d, n, HOP_BRIDGE, "mac-conflict", VNC_SEV_ERROR,
                                    FIX("ip link set %s address fe:54:00:%02x:%02x:%02x", q->name,
                                        (unsigned)(q->ifindex >> 16) & 0xff, (unsigned)(q->ifindex >> 8) & 0xff,
                                        (unsigned)q->ifindex & 0xff),
                                    "ports %s and %s of %s both have MAC %s", p->name, q->name, l->name,
                                    vnc_diag_mac_str(q->mac, mac2));
                        if (r < 0)
                                return r;
                }
        }
        return note(n, HOP_BRIDGE, "%s %s, %zu port(s) (%zu with carrier), mtu %u", l->name,
                    l->admin_up ? "up" : "down", n_ports, n_carrier, l->mtu);
}

/* The subnet: the profile's, or (bare, bridged, vlan without ipv4) the bridge's first global IPv4 address. */
static void resolve_subnet(struct doc *d, struct net *n) {
        if (n->n && n->n->has_ipv4) {
                n->has_subnet = true;
                n->host = n->n->ipv4.addr;
                n->subnet.prefix = n->n->ipv4.prefix;
                n->subnet.addr = n->host & vnc_prefix_mask(n->subnet.prefix);
                for (size_t i = 0; n->br && i < d->live->n_addrs; i++) {
                        const struct vnc_live_addr *a = &d->live->addrs[i];
                        if (a->family == AF_INET && a->ifindex == n->br->ifindex && addr4(a->addr) == n->host)
                                n->host_on_bridge = true;
                }
                return;
        }
        if (n->n && n->n->mode == VNC_MODE_ISOLATED)
                return;
        for (size_t i = 0; n->br && i < d->live->n_addrs; i++) {
                const struct vnc_live_addr *a = &d->live->addrs[i];
                if (a->family != AF_INET || a->ifindex != n->br->ifindex || a->scope != RT_SCOPE_UNIVERSE)
                        continue;
                n->has_subnet = true;
                n->host = addr4(a->addr);
                n->host_on_bridge = true;
                n->subnet.prefix = a->prefix;
                n->subnet.addr = n->host & vnc_prefix_mask(a->prefix);
                return;
        }
}

/* A guest address to reason with: the target, a live neighbour, a configured guest, a likely one. */
static void pick_peer(struct doc *d, struct net *n) {
        if (!n->has_subnet)
                return;
        if (d->in->has_target && vnc_ipv4_in(d->in->target, &n->subnet) && d->in->target != n->host) {
                n->has_peer = true;
                n->peer = d->in->target;
                return;
        }
        for (size_t i = 0; n->br && i < d->neigh.n; i++) {
                const struct vnc_neigh *x = &d->neigh.v[i];
                if (x->ifindex == n->br->ifindex && vnc_neigh_state_valid(x->state) && x->ip != n->host &&
                    vnc_ipv4_in(x->ip, &n->subnet)) {
                        n->has_peer = true;
                        n->peer = x->ip;
                        return;
                }
        }
        if (n->n && n->n->has_dhcp) {
                n->has_peer = true;
                n->peer = n->n->dhcp.n_hosts > 0 ? n->n->dhcp.hosts[0].ip : n->n->dhcp.start;
                return;
        }
        if (n->subnet.prefix <= 30) {
                n->has_peer = true;
                n->peer = n->subnet.addr + 1 != n->host ? n->subnet.addr + 1 : n->subnet.addr + 2;
        }
}

/* The live route that decided a lookup (longest prefix on that interface), or NULL. */
static const struct vnc_live_route *deciding_route(const struct doc *d, uint32_t dst, int oif) {
        const struct vnc_live_route *best = NULL;
        for (size_t i = 0; i < d->live->n_routes; i++) {
                const struct vnc_live_route *rt = &d->live->routes[i];
                struct vnc_ipv4_prefix p = {.addr = addr4(rt->dst), .prefix = rt->dst_len};
                if (rt->family != AF_INET || rt->oif != oif || rt->table == RT_TABLE_LOCAL ||
                    rt->type != RTN_UNICAST || !vnc_ipv4_in(dst, &p))
                        continue;
                if (!best || rt->dst_len > best->dst_len)
                        best = rt;
        }
        return best;
}

static int check_overlap(struct doc *d, struct net *n) {
        char a[16], b[16], ifn[16];
        int r;

        if (!n->has_subnet)
                return 0;
        int br = n->br ? n->br->ifindex : 0;
        for (size_t i = 0; i < d->live->n_addrs; i++) {
                const struct vnc_live_addr *x = &d->live->addrs[i];
                struct vnc_ipv4_prefix p = {.addr = addr4(x->addr), .prefix = x->prefix};
                if (x->family != AF_INET || x->ifindex == br || !vnc_prefix_overlap(&p, &n->subnet))
                        continue;
                const char *ifname = ifname_of(d, x->ifindex, ifn);
                r = finding(d, n, HOP_HOST, "subnet-overlap", VNC_SEV_ERROR,
                            FIX("ip addr del %s/%u dev %s", vnc_ipv4_str(p.addr, a), p.prefix, ifname),
                            "address %s/%u on %s overlaps %s/%u of %s", vnc_ipv4_str(p.addr, a), p.prefix, ifname,
                            vnc_ipv4_str(n->subnet.addr, b), n->subnet.prefix, n->bridge);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < d->live->n_routes; i++) {
                const struct vnc_live_route *x = &d->live->routes[i];
                struct vnc_ipv4_prefix p = {.addr = addr4(x->dst), .prefix = x->dst_len};
                if (x->family != AF_INET || x->dst_len == 0 || x->oif == br || x->table == RT_TABLE_LOCAL ||
                    x->type != RTN_UNICAST || !vnc_prefix_overlap(&p, &n->subnet))
                        continue;
                /* The connected route of an overlapping address was reported with the address. */
                bool connected = false;
                for (size_t j = 0; j < d->live->n_addrs; j++) {
                        const struct vnc_live_addr *y = &d->live->addrs[j];
                        connected = connected || (y->family == AF_INET && y->ifindex == x->oif &&
                                                  y->prefix == x->dst_len &&
                                                  (addr4(y->addr) & vnc_prefix_mask(y->prefix)) == p.addr);
                }
                if (connected)
                        continue;
                const char *ifname = ifname_of(d, x->oif, ifn);
                r = finding(d, n, HOP_HOST, "subnet-overlap", VNC_SEV_ERROR,
                            FIX("ip route del %s/%u dev %s table %u", vnc_ipv4_str(p.addr, a), p.prefix, ifname,
                                x->table),
                            "route %s/%u dev %s (table %u) overlaps %s/%u of %s", vnc_ipv4_str(p.addr, a), p.prefix,
                            ifname, x->table, vnc_ipv4_str(n->subnet.addr, b), n->subnet.prefix, n->bridge);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int rp_effective(const struct vnc_host_ops *host, const char *ifname, int *ret_all, int *ret_if) {
        int all = 0, dev = 0;
        if (host->diag_conf_int("all", "rp_filter", &all) < 0)
                all = 0;
        if (host->diag_conf_int(ifname, "rp_filter", &dev) < 0)
                dev = 0;
        *ret_all = all;
        *ret_if = dev;
        return all > dev ? all : dev;
}

/* Routing on the guest side: the host address, the route back to the peer, rp_filter. */
static int check_routing(struct doc *d, struct net *n) {
        char a[16], b[16], h[16], ifn[16];
        struct vnc_error err = {0};
        struct vnc_route_lookup lk;
        int r;

        if (!n->has_subnet || !n->br)
                return 0;
        if (n->n && n->n->has_ipv4 && !n->host_on_bridge) {
                r = finding(d, n, HOP_HOST, "no-route", VNC_SEV_ERROR,
                            FIX("ip addr add %s/%u dev %s", vnc_ipv4_str(n->host, h), n->subnet.prefix, n->bridge),
                            "host address %s/%u is not on %s: guests have no gateway and no route leads to them",
                            vnc_ipv4_str(n->host, h), n->subnet.prefix, n->bridge);
                if (r < 0)
                        return r;
        }
        if (!n->has_peer)
                return 0;
        r = d->in->host->diag_route_get(n->peer, &lk, &err);
        if (r < 0) {
                _cleanup_free_ char *msg = vnc_error_format(&err);
                vnc_error_clear(&err);
                return note(n, HOP_HOST, "route to %s not looked up: %s", vnc_ipv4_str(n->peer, a), msg ? msg : "");
        }
        bool wrong = lk.error < 0 || lk.oif != n->br->ifindex;
        if (lk.error < 0) {
                r = finding(d, n, HOP_HOST, "no-route", VNC_SEV_ERROR,
                            FIX("ip route add %s/%u dev %s src %s", vnc_ipv4_str(n->subnet.addr, b), n->subnet.prefix,
                                n->bridge, vnc_ipv4_str(n->host, h)),
                            "no route to %s (route get: %s): replies to %s's guests cannot leave the host",
                            vnc_ipv4_str(n->peer, a), strerror(-lk.error), n->bridge);
        } else if (lk.oif != n->br->ifindex) {
                const char *out = ifname_of(d, lk.oif, ifn);
                const struct vnc_live_route *rt = deciding_route(d, n->peer, lk.oif);
                char gw[40] = "";
                if (lk.has_gw) {
                        char g[16];
                        snprintf(gw, sizeof(gw), " via %s", vnc_ipv4_str(lk.gw, g));
                }
                if (rt && rt->dst_len >= n->subnet.prefix) {
                        char rd[16];
                        r = finding(d, n, HOP_HOST, "no-route", VNC_SEV_ERROR,
                                    FIX("ip route del %s/%u dev %s table %u", vnc_ipv4_str(addr4(rt->dst), rd),
                                        rt->dst_len, out, rt->table),
                                    "the route to %s leaves through %s%s (route %s/%u dev %s, table %u), not %s",
                                    vnc_ipv4_str(n->peer, a), out, gw, vnc_ipv4_str(addr4(rt->dst), b), rt->dst_len,
                                    out, rt->table, n->bridge);
                } else {
                        r = finding(d, n, HOP_HOST, "no-route", VNC_SEV_ERROR,
                                    FIX("ip route add %s/%u dev %s src %s", vnc_ipv4_str(n->subnet.addr, b),
                                        n->subnet.prefix, n->bridge, vnc_ipv4_str(n->host, h)),
                                    "the route to %s leaves through %s%s, not %s: no route for %s/%u on %s",
                                    vnc_ipv4_str(n->peer, a), out, gw, n->bridge, vnc_ipv4_str(n->subnet.addr, b),
                                    n->subnet.prefix, n->bridge);
                }
        } else
                r = note(n, HOP_HOST, "route to %s via %s", vnc_ipv4_str(n->peer, a), n->bridge);
        if (r < 0)
                return r;

        int all, dev, eff = rp_effective(d->in->host, n->bridge, &all, &dev);
        if (eff == 1 && wrong) {
                char where[64];
                if (lk.error < 0)
                        snprintf(where, sizeof(where), "has no route (%s)", strerror(-lk.error));
                else
                        snprintf(where, sizeof(where), "leaves through %s", ifname_of(d, lk.oif, ifn));
                return finding(d, n, HOP_HOST, "rp-filter", VNC_SEV_ERROR,
                               FIX("sysctl -w net.ipv4.conf.%s.rp_filter=2", n->bridge),
                               "net.ipv4.conf.all.rp_filter = %d, net.ipv4.conf.%s.rp_filter = %d (strict), and the "
                               "route back to %s %s, not %s: the kernel drops %s's packets arriving on %s",
                               all, n->bridge, dev, vnc_ipv4_str(n->peer, a), where, n->bridge, a, n->bridge);
        }
        return note(n, HOP_HOST, "rp_filter all=%d %s=%d", all, n->bridge, dev);
}

static int check_forwarding_sysctls(struct doc *d, struct net *n, enum vnc_severity sev) {
        int r, v;

        if (d->ip_forward == 0) {
                r = finding(d, n, HOP_HOST, "forward-disabled", sev, FIX("sysctl -w net.ipv4.ip_forward=1"),
                            "net.ipv4.ip_forward = 0: the host routes nothing for %s's guests (mode %s)", n->bridge,
                            n->n ? vnc_mode_to_string(n->n->mode) : "unknown");
                if (r < 0)
                        return r;
        } else if (d->ip_forward > 0) {
                r = note(n, HOP_HOST, "net.ipv4.ip_forward = %d", d->ip_forward);
                if (r < 0)
                        return r;
        }
        const char *ifs[2] = {n->bridge, n->up_name[0] ? n->up_name : NULL};
        for (size_t i = 0; i < 2 && d->ip_forward != 0; i++) {
                if (!ifs[i] || d->in->host->diag_conf_int(ifs[i], "forwarding", &v) < 0 || v != 0)
                        continue;
                r = finding(d, n, HOP_HOST, "forward-disabled", sev,
                            FIX("sysctl -w net.ipv4.conf.%s.forwarding=1", ifs[i]),
                            "net.ipv4.conf.%s.forwarding = 0 (net.ipv4.ip_forward = %d)", ifs[i], d->ip_forward);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int check_icmp(struct doc *d, struct net *n) {
        char a[16], b[16];
        int r;

        if (!n->has_subnet || !n->has_peer || !n->host_on_bridge)
                return 0;
        struct {
                enum vnc_hook hook;
                bool in;
                const char *what;
        } flows[] = {
                {VNC_HOOK_INPUT, true, "echo request guest -> host"},
                {VNC_HOOK_OUTPUT, false, "echo request host -> guest"},
        };
        for (size_t i = 0; i < ELEMENTSOF(flows); i++) {
                _cleanup_(vnc_verdict_result_done) struct vnc_verdict_result v = {0};
                struct vnc_flow f = {.hook = flows[i].hook, .proto = IPPROTO_ICMP, .icmp_type = ICMP_ECHO_REQUEST};
                flow_ifname(flows[i].in ? f.in : f.out, n->bridge);
                f.src = flows[i].in ? n->peer : n->host;
                f.dst = flows[i].in ? n->host : n->peer;
                r = verdict(d, &f, &v);
                if (r < 0)
                        return r;
                const char *chain = flows[i].in ? "INPUT" : "OUTPUT";
                vnc_ipv4_str(f.src, a);
                vnc_ipv4_str(f.dst, b);
                if (v.verdict == VNC_VERDICT_DROP) {
                        bool wanted = !n->n || n->n->allow_icmp;
                        r = finding(d, n, HOP_HOST, "icmp-blocked", wanted ? VNC_SEV_ERROR : VNC_SEV_INFO,
                                    fw_fix(&v, "iptables-legacy -I %s -%c %s -p icmp --icmp-type echo-request -j ACCEPT",
                                           chain, flows[i].in ? 'i' : 'o', n->bridge),
                                    "%s: ICMP %s %s -> %s on %s is dropped: %s%s", chain, flows[i].what, a, b,
                                    n->bridge, ev_or(&v, "(no rule named)"),
                                    wanted ? "" : " (allow_icmp is false in the profile)");
                } else if (v.verdict == VNC_VERDICT_UNKNOWN) {
                        r = finding(d, n, HOP_HOST, "icmp-blocked", VNC_SEV_WARNING,
                                    fw_fix(&v, "iptables-legacy-save; nft list ruleset"),
                                    "%s: cannot tell whether ICMP %s %s -> %s on %s passes: %s", chain, flows[i].what,
                                    a, b, n->bridge, ev_or(&v, "undecided"));
                } else
                        r = note(n, HOP_HOST, "%s accepts %s", chain, flows[i].what);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* DHCP and DNS from guests to the host (dnsmasq): dropped on INPUT, guests get no lease or no answer. */
static int check_input(struct doc *d, struct net *n) {
        char a[16], b[16];
        int r;

        if (!n->n || !n->n->has_dhcp || !n->br || !n->has_subnet)
                return 0;
        const struct {
                const char *what;
                uint32_t src, dst;
                uint16_t sport, dport;
        } flows[] = {
                {"DHCP", 0, 0xffffffffU, 68, 67},
                {"DNS", n->has_peer ? n->peer : n->subnet.addr + 1, n->host, 40000, 53},
        };
        for (size_t i = 0; i < ELEMENTSOF(flows); i++) {
                _cleanup_(vnc_verdict_result_done) struct vnc_verdict_result v = {0};
                struct vnc_flow f = {.hook = VNC_HOOK_INPUT, .proto = IPPROTO_UDP, .icmp_type = -1,
                                     .src = flows[i].src, .dst = flows[i].dst, .sport = flows[i].sport,
                                     .dport = flows[i].dport};
                flow_ifname(f.in, n->bridge);
                r = verdict(d, &f, &v);
                if (r < 0)
                        return r;
                vnc_ipv4_str(f.src, a);
                vnc_ipv4_str(f.dst, b);
                if (v.verdict == VNC_VERDICT_DROP)
                        r = finding(d, n, HOP_HOST, "input-blocked", VNC_SEV_ERROR,
                                    fw_fix(&v, "iptables -I INPUT -i %s -p udp --dport %u -j ACCEPT", n->bridge,
                                           f.dport),
                                    "INPUT drops %s from guests (udp %s:%u -> %s:%u on %s), so %s: %s", flows[i].what,
                                    a, f.sport, b, f.dport, n->bridge,
                                    f.dport == 67 ? "guests get no lease" : "guests get no DNS answer from the host",
                                    ev_or(&v, "(no rule named)"));
                else if (v.verdict == VNC_VERDICT_UNKNOWN)
                        r = finding(d, n, HOP_HOST, "input-blocked", VNC_SEV_WARNING,
                                    fw_fix(&v, "iptables-legacy-save; nft list ruleset"),
                                    "cannot tell whether INPUT passes %s from guests on %s: %s", flows[i].what,
                                    n->bridge, ev_or(&v, "undecided"));
                else
                        r = note(n, HOP_HOST, "INPUT accepts %s from guests", flows[i].what);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int check_br_netfilter(struct doc *d, struct net *n) {
        _cleanup_(vnc_verdict_result_done) struct vnc_verdict_result v = {0};
        char a[16], b[16];
        int r;

        if (d->brnf != 1 || !n->br)
                return 0;
        /* ICMP echo and TCP: a firewall may pass one and drop the other (ufw passes forwarded echo). */
        struct vnc_flow f = {.hook = VNC_HOOK_FORWARD};
        for (int tcp = 0; tcp < 2; tcp++) {
                vnc_verdict_result_done(&v);
                f = (struct vnc_flow){.hook = VNC_HOOK_FORWARD, .proto = tcp ? IPPROTO_TCP : IPPROTO_ICMP,
                                      .icmp_type = tcp ? -1 : ICMP_ECHO_REQUEST, .sport = tcp ? 40000 : 0,
                                      .dport = tcp ? 22 : 0};
                flow_ifname(f.in, n->bridge);
                flow_ifname(f.out, n->bridge);
                if (n->has_peer) {
                        f.src = n->peer;
                        f.dst = n->peer + 1 == n->host ? n->peer + 2 : n->peer + 1;
                        if (!vnc_ipv4_in(f.dst, &n->subnet))
                                f.dst = n->subnet.addr + 1 == n->peer ? n->subnet.addr + 2 : n->subnet.addr + 1;
                }
                r = verdict(d, &f, &v);
                if (r < 0)
                        return r;
                if (v.verdict != VNC_VERDICT_ACCEPT)
                        break;
        }
        vnc_ipv4_str(f.src, a);
        vnc_ipv4_str(f.dst, b);
        const char *what = f.proto == IPPROTO_TCP ? "TCP" : "ICMP echo";
        if (v.verdict == VNC_VERDICT_DROP)
                return finding(d, n, HOP_BRIDGE, "br-netfilter", VNC_SEV_WARNING,
                               fw_fix(&v, "sysctl -w net.bridge.bridge-nf-call-iptables=0"),
                               "net.bridge.bridge-nf-call-iptables = 1: frames between ports of %s pass iptables "
                               "FORWARD, which drops guest -> guest %s %s -> %s: %s",
                               n->bridge, what, a, b, ev_or(&v, "(no rule named)"));
        return finding(d, n, HOP_BRIDGE, "br-netfilter", VNC_SEV_INFO,
                       FIX("sysctl -w net.bridge.bridge-nf-call-iptables=0  # if nothing needs to filter bridged frames"),
                       "net.bridge.bridge-nf-call-iptables = 1: frames between ports of %s pass iptables FORWARD "
                       "(guest -> guest %s -> %s is %s now)",
                       n->bridge, a, b, v.verdict == VNC_VERDICT_ACCEPT ? "accepted (ICMP echo, TCP)" : "undecided");
}

/* Layer 2, planned per network and sent for all networks at once: who answers ARP for the host address,
 * and for the target. */
static int arp_plan(struct doc *d, struct net *n) {
        n->probe_host = n->probe_target = SIZE_MAX;
        if (!n->br || !n->has_subnet || !n->br->has_mac)
                return 0;
        if (!n->layer2_ok)
                return note(n, HOP_GUEST, "no ARP probe on %s: no port with carrier", n->bridge);
        bool want_target = d->in->has_target && n->has_peer && n->peer == d->in->target;
        if (VNC_GROW(d->probes, d->alloc_probes, d->n_probes + 2) < 0)
                return -ENOMEM;
        if (n->host_on_bridge) {
                struct vnc_arp_probe *p = &d->probes[n->probe_host = d->n_probes++];
                *p = (struct vnc_arp_probe){.ifindex = n->br->ifindex, .sender_ip = 0, .target_ip = n->host};
                memcpy(p->src_mac, n->br->mac, 6);
        }
        if (want_target) {
                struct vnc_arp_probe *p = &d->probes[n->probe_target = d->n_probes++];
                *p = (struct vnc_arp_probe){.ifindex = n->br->ifindex, .sender_ip = n->host_on_bridge ? n->host : 0,
                                            .target_ip = n->peer};
                memcpy(p->src_mac, n->br->mac, 6);
        }
        return 0;
}

static int arp_judge(struct doc *d, struct net *n) {
        char a[16], m1[18], m2[18];
        int r;

        if (n->probe_host != SIZE_MAX) {
                const struct vnc_arp_probe *p = &d->probes[n->probe_host];
                vnc_ipv4_str(n->host, a);
                if (p->error < 0) {
                        r = note(n, HOP_GUEST, "ARP probe for %s not sent: %s", a, strerror(-p->error));
                        if (r < 0)
                                return r;
                }
                bool other = false;
                for (size_t i = 0; i < p->n_macs; i++) {
                        if (memcmp(p->macs[i], n->br->mac, 6) == 0)
                                continue;
                        other = true;
                        r = finding(d, n, HOP_GUEST, "ip-conflict", VNC_SEV_ERROR,
                                    FIX("bridge fdb show br %s | grep -i %s  # the port of the host that holds %s: "
                                        "remove the address there",
                                        n->bridge, vnc_diag_mac_str(p->macs[i], m1), a),
                                    "another host answers ARP for the host address %s on %s: MAC %s (the bridge's is "
                                    "%s)",
                                    a, n->bridge, m1, vnc_diag_mac_str(n->br->mac, m2));
                        if (r < 0)
                                return r;
                }
                if (!other && p->error >= 0) {
                        r = note(n, HOP_GUEST, "nobody else answers ARP for %s", a);
                        if (r < 0)
                                return r;
                }
        }
        if (n->probe_target == SIZE_MAX)
                return 0;

        /* The target is a guest of this network: does it answer ARP at all? */
        const struct vnc_arp_probe *p = &d->probes[n->probe_target];
        const struct vnc_neigh *nb = vnc_neigh_find(&d->neigh, n->br->ifindex, n->peer);
        char state[64];
        if (nb && nb->has_lladdr)
                snprintf(state, sizeof(state), "%s lladdr %s", vnc_neigh_state_to_string(nb->state),
                         vnc_diag_mac_str(nb->lladdr, m1));
        else
                snprintf(state, sizeof(state), "%s", nb ? vnc_neigh_state_to_string(nb->state) : "no entry");
        vnc_ipv4_str(n->peer, a);
        if (p->error < 0)
                return note(n, HOP_GUEST, "ARP probe for %s not sent: %s (neighbour %s)", a, strerror(-p->error),
                            state);
        if (p->n_macs == 0)
                return finding(d, n, HOP_GUEST, "neigh-failed", VNC_SEV_ERROR,
                               FIX("bridge link show master %s; ip neigh show dev %s %s  # then check the guest: its "
                                   "interface up, address %s/%u, ARP enabled",
                                   n->bridge, n->bridge, a, a, n->subnet.prefix),
                               "%s never answered ARP on %s (2 requests, %u ms; neighbour entry: %s): layer 2 "
                               "problem, not layer 3",
                               a, n->bridge, ARP_PROBE_MS, state);
        if (p->n_macs > 1) {
                _cleanup_free_ char *all = NULL;
                for (size_t i = 0; i < p->n_macs; i++)
                        if (sappend(&all, "%s", vnc_diag_mac_str(p->macs[i], m1)) < 0)
                                return -ENOMEM;
                return finding(d, n, HOP_GUEST, "ip-conflict", VNC_SEV_ERROR,
                               FIX("bridge fdb show br %s  # find the ports of %s and remove %s from all but one",
                                   n->bridge, all, a),
                               "%zu hosts answer ARP for %s on %s: %s", p->n_macs, a, n->bridge, all);
        }
        n->target_answered = true;
        return note(n, HOP_GUEST, "%s answers ARP from %s (neighbour %s)", a, vnc_diag_mac_str(p->macs[0], m1),
                    state);
}

static int check_dhcp(struct doc *d, struct net *n) {
        static const uint16_t ports[] = {53, 67};
        _cleanup_free_ struct vnc_listener *ls = NULL;
        struct vnc_error err = {0};
        size_t k = 0;
        char a[16];
        int r;

        if (!n->n || !n->n->has_dhcp || !d->dhcp_known || d->dhcp_running)
                return 0;
        r = finding(d, n, _HOP_MAX, "dhcp-down", VNC_SEV_ERROR, fix_apply(d),
                    "network %s has dhcp but the dnsmasq of profile %s is not running (%s/dnsmasq/%s.pid)",
                    n->label, d->in->profile->name, d->in->state_dir, d->in->profile->name);
        if (r < 0)
                return r;
        r = d->in->host->diag_listeners(ports, ELEMENTSOF(ports), &ls, &k, &err);
        if (r < 0) {
                vnc_error_clear(&err);
                return 0;
        }
        for (size_t i = 0; i < k; i++) {
                const struct vnc_listener *x = &ls[i];
                if (x->addr != 0 && x->addr != n->host)
                        continue;
                /* dnsmasq needs udp 53, tcp 53 and udp 67. Several dnsmasq share udp 0.0.0.0:67 (each bound to
                 * its own interfaces), so another one there is not in the way. */
                if ((x->proto == IPPROTO_TCP && x->port != 53) ||
                    (x->port == 67 && streq(x->comm, "dnsmasq")))
                        continue;
                char who[80];
                if (x->pid)
                        snprintf(who, sizeof(who), "pid %d (%s)", (int)x->pid, x->comm);
                else
                        snprintf(who, sizeof(who), "socket inode %lu (owner not found)", x->inode);
                _cleanup_free_ char *apply = fix_apply(d);
                r = finding(d, n, _HOP_MAX, "dns-port-taken", VNC_SEV_ERROR,
                            x->pid ? FIX("kill %d  # %s holds %s %s:%u; then %s", (int)x->pid, x->comm,
                                         x->proto == IPPROTO_TCP ? "tcp" : "udp", vnc_ipv4_str(x->addr, a), x->port,
                                         apply ? apply : "vnetcfg apply")
                                   : FIX("ss -lupn 'sport = :%u'  # find the holder, stop it, then %s", x->port,
                                         apply ? apply : "vnetcfg apply"),
                            "%s %s:%u, which dnsmasq needs for %s, is held by %s",
                            x->proto == IPPROTO_TCP ? "tcp" : "udp", vnc_ipv4_str(x->addr, a), x->port, n->bridge, who);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Is the --target an address beyond network n's uplink? Not when it is n's own guest, nor a guest of
 * another network doctor examines in this run (that network's walk judges it). */
static bool target_beyond(const struct doc *d, const struct net *n) {
        if (!d->in->has_target || (n->has_subnet && vnc_ipv4_in(d->in->target, &n->subnet)))
                return false;
        for (size_t i = 0; d->in->profile && i < d->in->profile->n_networks; i++) {
                const struct vnc_network *o = &d->in->profile->networks[i];
                if (o == n->n || !o->has_ipv4)
                        continue;
                struct vnc_ipv4_prefix sub = {.addr = o->ipv4.addr & vnc_prefix_mask(o->ipv4.prefix),
                                              .prefix = o->ipv4.prefix};
                if (vnc_ipv4_in(d->in->target, &sub))
                        return false;
        }
        return true;
}

/* Beyond the uplink: the address guests would talk to, and the interface the host sends it through. */
static int pick_upstream(struct doc *d, struct net *n, bool *ret_authoritative) {
        struct vnc_error err = {0};
        struct vnc_route_lookup lk;
        char ifn[16];

        *ret_authoritative = false;
        if (target_beyond(d, n)) {
                n->upstream = d->in->target;
                *ret_authoritative = true;
        } else if (n->n && n->n->verify.n_targets > 0) {
                n->upstream = n->n->verify.targets[0];
                *ret_authoritative = true;
        } else {
                for (size_t i = 0; i < d->live->n_routes && !n->upstream; i++) {
                        const struct vnc_live_route *rt = &d->live->routes[i];
                        if (rt->family == AF_INET && rt->dst_len == 0 && rt->table == RT_TABLE_MAIN && rt->has_gw)
                                n->upstream = addr4(rt->gw);
                }
                const char *up = n->n && n->n->has_nat ? n->n->nat.uplink : "";
                const struct vnc_live_link *ul = up[0] ? vnc_live_link_by_name(d->live, up) : NULL;
                for (size_t i = 0; ul && !n->upstream && i < d->live->n_addrs; i++) {
                        const struct vnc_live_addr *a = &d->live->addrs[i];
                        if (a->family != AF_INET || a->ifindex != ul->ifindex || a->prefix > 30)
                                continue;
                        uint32_t net = addr4(a->addr) & vnc_prefix_mask(a->prefix);
                        n->upstream = net + 1 != addr4(a->addr) ? net + 1 : net + 2;
                }
        }
        if (!n->upstream)
                return 0;
        n->has_upstream = true;
        if (d->in->host->diag_route_get(n->upstream, &lk, &err) < 0 || lk.error < 0) {
                vnc_error_clear(&err);
                return lk.error < 0 ? lk.error : -EIO;
        }
        n->up_oif = lk.oif;
        snprintf(n->up_name, sizeof(n->up_name), "%s", ifname_of(d, lk.oif, ifn));
        return 0;
}

static int check_uplink(struct doc *d, struct net *n, enum vnc_severity sev) {
        char a[16], b[16], s[16];
        bool authoritative;
        int r;

        r = pick_upstream(d, n, &authoritative);
        if (r == -ENOMEM)
                return r;
        int rr = check_forwarding_sysctls(d, n, sev);
        if (rr < 0)
                return rr;
        if (!n->has_upstream)
                return note(n, HOP_UPLINK, "no upstream address known (no target, no verify.targets, no default "
                                           "route): the way out was not checked");
        vnc_ipv4_str(n->upstream, a);
        if (r < 0)
                return finding(d, n, HOP_UPLINK, "no-route", authoritative ? sev : VNC_SEV_WARNING,
                               FIX("ip route add %s via GATEWAY dev %s", a,
                                   n->n && n->n->has_nat && n->n->nat.uplink[0] ? n->n->nat.uplink : "UPLINK"),
                               "no route from the host to %s (route get: %s)", a, strerror(-r));
        if (n->br && n->up_oif == n->br->ifindex)
                return note(n, HOP_UPLINK, "%s is reached through %s itself", a, n->bridge);
        const char *want = n->n && n->n->has_nat ? n->n->nat.uplink : "";
        if (want[0] && !streq(want, n->up_name)) {
                r = finding(d, n, HOP_UPLINK, "no-route", authoritative ? sev : VNC_SEV_WARNING,
                            FIX("ip route get %s; ip route add %s via GATEWAY dev %s", a, a, want),
                            "the route to %s leaves through %s, not the nat uplink %s: it is not masqueraded there",
                            a, n->up_name, want);
                if (r < 0)
                        return r;
        } else {
                r = note(n, HOP_UPLINK, "route to %s via %s", a, n->up_name);
                if (r < 0)
                        return r;
        }
        /* Uplink MTU: smaller than the bridge's means guests depend on path MTU discovery. */
        const struct vnc_live_link *ul = vnc_live_link_by_index(d->live, n->up_oif);
        if (ul && n->br && ul->mtu < n->br->mtu) {
                r = finding(d, n, HOP_UPLINK, "mtu-mismatch", VNC_SEV_WARNING,
                            FIX("ip link set %s mtu %u", n->bridge, ul->mtu),
                            "bridge %s mtu %u, uplink %s mtu %u: full-size guest packets need fragmentation or path "
                            "MTU discovery",
                            n->bridge, n->br->mtu, ul->name, ul->mtu);
                if (r < 0)
                        return r;
        }
        if (!n->has_peer)
                return 0;
        vnc_ipv4_str(n->peer, s);

        /* FORWARD both ways, the way guests use it: TCP (a guest's usual flow; ufw passes forwarded echo
         * while it drops TCP) and ICMP echo; a new flow out, its replies back in. */
        for (int back = 0; back < 2; back++) {
                static const uint8_t protos[] = {IPPROTO_TCP, IPPROTO_ICMP};
                _cleanup_(vnc_verdict_result_done) struct vnc_verdict_result drop = {0}, unknown = {0};
                _cleanup_free_ char *dropped = NULL;
                struct vnc_flow f;
                for (size_t k = 0; k < ELEMENTSOF(protos); k++) {
                        _cleanup_(vnc_verdict_result_done) struct vnc_verdict_result v = {0};
                        bool tcp = protos[k] == IPPROTO_TCP;
                        f = (struct vnc_flow){.hook = VNC_HOOK_FORWARD, .proto = protos[k], .established = back,
                                              .icmp_type = tcp ? -1 : back ? 0 : ICMP_ECHO_REQUEST};
                        if (tcp) {
                                f.sport = back ? 443 : 40000;
                                f.dport = back ? 40000 : 443;
                        }
                        flow_ifname(back ? f.in : f.out, n->up_name);
                        flow_ifname(back ? f.out : f.in, n->bridge);
                        f.src = back ? n->upstream : n->peer;
                        f.dst = back ? n->peer : n->upstream;
                        r = verdict(d, &f, &v);
                        if (r < 0)
                                return r;
                        if (v.verdict == VNC_VERDICT_DROP) {
                                if (sappend(&dropped, "%s", tcp ? "TCP" : "ICMP echo") < 0)
                                        return -ENOMEM;
                                if (!drop.evidence)
                                        drop = TAKE_STRUCT_VERDICT(v);
                        } else if (v.verdict == VNC_VERDICT_UNKNOWN && !unknown.evidence)
                                unknown = TAKE_STRUCT_VERDICT(v);
                }
                const char *what = back ? "replies" : "new flows";
                vnc_ipv4_str(f.dst, b);
                if (drop.evidence)
                        r = finding(d, n, HOP_HOST, "forward-blocked", sev,
                                    fw_fix(&drop, "iptables -I FORWARD -i %s -o %s -j ACCEPT", f.in, f.out),
                                    "FORWARD drops %s (%s) %s -> %s (%s -> %s): %s", what, dropped, back ? a : s, b,
                                    f.in, f.out, ev_or(&drop, "(no rule named)"));
                else if (unknown.evidence)
                        r = finding(d, n, HOP_HOST, "forward-blocked", VNC_SEV_WARNING,
                                    fw_fix(&unknown, "iptables-legacy-save; nft list ruleset"),
                                    "cannot tell whether FORWARD passes %s %s -> %s (%s -> %s): %s", what,
                                    back ? a : s, b, f.in, f.out, ev_or(&unknown, "undecided"));
                else
                        r = note(n, HOP_HOST, "FORWARD accepts %s (TCP, ICMP echo) %s -> %s", what, f.in, f.out);
                if (r < 0)
                        return r;
        }

        /* Masquerade (nat; for others a missing NAT only means upstream needs a route back). */
        if (!n->nat && n->forwards_known)
                return 0;
        _cleanup_(vnc_verdict_result_done) struct vnc_verdict_result v = {0};
        struct vnc_flow f = {.hook = VNC_HOOK_POSTROUTING, .proto = IPPROTO_ICMP, .icmp_type = ICMP_ECHO_REQUEST,
                             .src = n->peer, .dst = n->upstream};
        flow_ifname(f.in, n->bridge);
        flow_ifname(f.out, n->up_name);
        r = verdict(d, &f, &v);
        if (r < 0)
                return r;
        if (v.verdict == VNC_VERDICT_NO_NAT) {
                char sub[16];
                vnc_ipv4_str(n->subnet.addr, sub);
                if (n->nat)
                        return finding(d, n, HOP_UPLINK, "no-masquerade", VNC_SEV_ERROR,
                                       fw_fix(&v, "iptables-legacy -t nat -A POSTROUTING -s %s/%u -o %s -j MASQUERADE",
                                              sub, n->subnet.prefix, n->up_name),
                                       "POSTROUTING: nothing masquerades %s -> %s out of %s: %s", s, a, n->up_name,
                                       ev_or(&v, "no NAT rule matches"));
                return finding(d, n, HOP_UPLINK, "no-masquerade", VNC_SEV_INFO,
                               FIX("ip route add %s/%u via HOST-ADDRESS  # on the upstream router", sub,
                                   n->subnet.prefix),
                               "%s leaves %s unNATed: %s must have a route back to %s/%u", s, n->up_name, a, sub,
                               n->subnet.prefix);
        }
        if (v.verdict == VNC_VERDICT_UNKNOWN && n->nat)
                return finding(d, n, HOP_UPLINK, "no-masquerade", VNC_SEV_WARNING,
                               fw_fix(&v, "iptables-legacy-save -t nat; nft list ruleset"),
                               "cannot tell whether %s -> %s is masqueraded out of %s: %s", s, a, n->up_name,
                               ev_or(&v, "undecided"));
        return note(n, HOP_UPLINK, "%s -> %s %s out of %s", s, a,
                    v.verdict == VNC_VERDICT_NAT ? "masqueraded" : "leaves unNATed", n->up_name);
}

/* The guest's side (core/doctor-guest.c): its findings and what it saw go on the guest hop. */
static int guest_side(struct doc *d) {
        _cleanup_(vnc_guest_report_done) struct vnc_guest_report gr = {0};
        _cleanup_free_ struct vnc_guest_net *g = calloc(d->n_nets + 1, sizeof(*g));
        int r;

        if (!g)
                return -ENOMEM;
        for (size_t i = 0; i < d->n_nets; i++) {
                const struct net *n = &d->nets[i];
                g[i] = (struct vnc_guest_net){.label = n->label, .bridge = n->bridge, .ifindex = n->br ? n->br->ifindex : 0,
                                              .has_mac = n->br && n->br->has_mac, .layer2_ok = n->layer2_ok,
                                              .has_subnet = n->has_subnet, .subnet = n->subnet, .host = n->host,
                                              .host_on_bridge = n->host_on_bridge, .forwards = n->forwards,
                                              .up_oif = n->up_oif, .target_answered = n->target_answered};
                if (g[i].has_mac)
                        memcpy(g[i].mac, n->br->mac, 6);
                if (n->target_answered)
                        memcpy(g[i].target_mac, d->probes[n->probe_target].macs[0], 6);
        }
        r = vnc_doctor_guest(d->in->host, d->live, &d->neigh, d->in->target, g, d->n_nets, &gr);
        for (size_t i = 0; r >= 0 && i < gr.n; i++) {
                struct net *n = gr.v[i].net < d->n_nets ? &d->nets[gr.v[i].net] : NULL;
                if (n)
                        n->target_answered = g[gr.v[i].net].target_answered;
                else if (!gr.v[i].code)
                        continue;
                r = gr.v[i].code ? finding(d, n, HOP_GUEST, gr.v[i].code, VNC_SEV_ERROR, TAKE_PTR(gr.v[i].fix), "%s",
                                           gr.v[i].evidence)
                                 : note(n, HOP_GUEST, "%s", gr.v[i].evidence);
        }
        return r;
}

/* ------------------------------------------------------------- the walk */

static int hop_add(struct vnc_doctor_report *rep, char *name, bool ok, char *detail) {
        _cleanup_free_ char *nm = name, *dt = detail;

        if (!nm)
                return -ENOMEM;
        if (VNC_GROW(rep->hops, rep->alloc_hops, rep->n_hops + 1) < 0)
                return -ENOMEM;
        rep->hops[rep->n_hops++] = (struct vnc_hop){.name = TAKE_PTR(nm), .ok = ok, .detail = TAKE_PTR(dt)};
        return 0;
}

/* One hop: broken when an error finding is tagged with it; the detail is that evidence, or what was fine. */
static int hop_of(struct doc *d, struct net *n, enum hop h, char *name, bool must) {
        _cleanup_free_ char *errors = NULL, *warnings = NULL, *nm = name;
        size_t idx = (size_t)(n - d->nets);

        for (size_t i = 0; i < d->rep->n_findings; i++) {
                const struct vnc_finding *f = &d->rep->findings[i];
                if (d->tags[i].net != idx || d->tags[i].hop != h || f->severity == VNC_SEV_INFO)
                        continue;
                if (sappend(f->severity == VNC_SEV_ERROR ? &errors : &warnings, "%s: %s", f->code, f->evidence) < 0)
                        return -ENOMEM;
        }
        bool ok = !errors && must;
        char *detail;
        if (errors)
                detail = strdup(errors);
        else if (!must && !n->notes[h])
                detail = vnc_strdup_printf("not checked: %s", n->br ? "no answer" : "the bridge is missing");
        else if (warnings)
                detail = vnc_strdup_printf("%s; %s", n->notes[h] ? n->notes[h] : "ok", warnings);
        else
                detail = strdup(n->notes[h] ? n->notes[h] : "ok");
        if (!detail)
                return -ENOMEM;
        return hop_add(d->rep, TAKE_PTR(nm), ok, detail);
}

static int walk(struct doc *d) {
        char t[16], ifn[16];
        struct net *in = NULL;
        int r;

        vnc_ipv4_str(d->in->target, t);
        for (size_t i = 0; i < d->n_nets && !in; i++)
                if (d->nets[i].has_subnet && vnc_ipv4_in(d->in->target, &d->nets[i].subnet))
                        in = &d->nets[i];
        for (size_t i = 0; i < d->n_nets && !in; i++)
                if (d->nets[i].target_answered) /* outside every subnet, yet a guest on this bridge */
                        in = &d->nets[i];
        if (in) {
                if (d->in->target != in->host) {
                        r = hop_of(d, in, HOP_GUEST, vnc_strdup_printf("guest %s on %s (neighbour)", t, in->bridge),
                                   in->target_answered);
                        if (r < 0)
                                return r;
                }
                r = hop_of(d, in, HOP_BRIDGE, vnc_strdup_printf("bridge %s", in->bridge), in->br != NULL);
                if (r < 0)
                        return r;
                r = hop_of(d, in, HOP_HOST, vnc_strdup_printf("host routing and firewall for %s", t),
                           in->br != NULL);
                if (r < 0)
                        return r;
                if (in->forwards) {
                        r = hop_of(d, in, HOP_UPLINK,
                                   vnc_strdup_printf("uplink %s", in->up_name[0] ? in->up_name : "(none)"),
                                   in->br != NULL);
                        if (r < 0)
                                return r;
                }
        } else {
                bool any = false;
                for (size_t i = 0; i < d->n_nets; i++) {
                        struct net *n = &d->nets[i];
                        if (!n->forwards || !n->has_subnet)
                                continue;
                        any = true;
                        r = hop_of(d, n, HOP_BRIDGE, vnc_strdup_printf("bridge %s", n->bridge), n->br != NULL);
                        if (r >= 0)
                                r = hop_of(d, n, HOP_HOST,
                                           vnc_strdup_printf("host %s -> %s (forwarding, firewall)", n->bridge,
                                                             n->up_name[0] ? n->up_name : "?"),
                                           n->br != NULL);
                        if (r >= 0)
                                r = hop_of(d, n, HOP_UPLINK,
                                           vnc_strdup_printf("uplink %s (route to %s)",
                                                             n->up_name[0] ? n->up_name : ifname_of(d, 0, ifn), t),
                                           n->br != NULL && n->up_name[0]);
                        if (r < 0)
                                return r;
                }
                if (!any)
                        return hop_add(d->rep, vnc_strdup_printf("host"), false,
                                       vnc_strdup_printf("%s is outside every network checked and none of them "
                                                         "forwards (host-only, isolated or no address): guests "
                                                         "cannot reach it by design",
                                                         t));
        }
        return 0;
}

/* --------------------------------------------------------------- the run */

static void doc_done(struct doc *d) {
        for (size_t i = 0; i < d->n_nets; i++)
                for (size_t h = 0; h < _HOP_MAX; h++)
                        free(d->nets[i].notes[h]);
        free(d->nets);
        free(d->tags);
        for (size_t i = 0; i < d->n_probes; i++)
                vnc_arp_probe_done(&d->probes[i]);
        free(d->probes);
        vnc_neigh_table_done(&d->neigh);
        vnc_live_free(d->live);
        d->in->host->fw_rulesets_free(d->fw);
}

/* The checks of layer 2 and the ARP probes they plan: every network's, before any probe goes out. */
static int check_net_l2(struct doc *d, struct net *n) {
        int r;

        r = check_bridge(d, n);
        if (r < 0)
                return r;
        resolve_subnet(d, n);
        r = check_dhcp(d, n);
        if (r < 0 || !n->br)
                return r;
        if (!n->n) {
                /* A bare bridge forwards when a target beyond it says so; otherwise the way out is a guess. */
                n->forwards = n->has_subnet;
        }
        pick_peer(d, n);
        return arp_plan(d, n);
}

/* The rest, while the ARP probes wait for answers. */
static int check_net_l3(struct doc *d, struct net *n) {
        int r;

        if (!n->br)
                return 0;
        if ((r = check_overlap(d, n)) < 0 || (r = check_routing(d, n)) < 0 || (r = check_icmp(d, n)) < 0 ||
            (r = check_input(d, n)) < 0 || (r = check_br_netfilter(d, n)) < 0)
                return r;
        if (!n->forwards || !n->has_subnet)
                return 0;
        return check_uplink(d, n, n->forwards_known || target_beyond(d, n) ? VNC_SEV_ERROR : VNC_SEV_WARNING);
}

/*
 * The findings of network i are [l2[i], l2[i + 1]) then [l3[i], l3[i + 1]): put them in network
 * order, as if each network had been checked whole before the next.
 */
static int order_findings(struct doc *d, const size_t *l2, const size_t *l3) {
        size_t lo = l2[0], hi = l3[d->n_nets], k = 0;
        _cleanup_free_ struct vnc_finding *f = malloc((hi - lo ? hi - lo : 1) * sizeof(*f));
        _cleanup_free_ struct tag *t = malloc((hi - lo ? hi - lo : 1) * sizeof(*t));

        if (!f || !t)
                return -ENOMEM;
        for (size_t i = 0; i < d->n_nets; i++)
                for (int pass = 0; pass < 2; pass++) {
                        const size_t *b = pass == 0 ? l2 : l3;
                        for (size_t j = b[i]; j < b[i + 1]; j++, k++) {
                                f[k] = d->rep->findings[j];
                                t[k] = d->tags[j];
                        }
                }
        memcpy(d->rep->findings + lo, f, k * sizeof(*f));
        memcpy(d->tags + lo, t, k * sizeof(*t));
        return 0;
}

struct arp_wait {
        struct doc *d;
        struct vnc_error err;
        int r;
};

static void *arp_wait_run(void *arg) {
        struct arp_wait *w = arg;
        w->r = w->d->in->host->diag_arp_probe_many(w->d->probes, w->d->n_probes, ARP_PROBE_MS, &w->err);
        return NULL;
}

/*
 * Every network, and every network's ARP probes in one wait that overlaps the
 * checks beyond layer 2 (the firewall's rule sets read and judged per flow).
 */
static int check_nets(struct doc *d, struct vnc_error *e) {
        _cleanup_free_ size_t *l2 = calloc(d->n_nets + 1, sizeof(*l2)), *l3 = calloc(d->n_nets + 1, sizeof(*l3));
        struct arp_wait w = {.d = d};
        pthread_t thread;
        bool waiting;
        int r = 0;

        if (!l2 || !l3)
                return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
        for (size_t i = 0; i < d->n_nets; i++) {
                l2[i] = d->rep->n_findings;
                r = check_net_l2(d, &d->nets[i]);
                if (r < 0)
                        return vnc_error_set(e, VNC_ERR_RUNTIME, r, "doctor: %s", strerror(-r));
        }
        l2[d->n_nets] = l3[0] = d->rep->n_findings;
        waiting = pthread_create(&thread, NULL, arp_wait_run, &w) == 0;
        for (size_t i = 0; r >= 0 && i < d->n_nets; i++) {
                l3[i] = d->rep->n_findings;
                r = check_net_l3(d, &d->nets[i]);
        }
        l3[d->n_nets] = d->rep->n_findings;
        if (r >= 0)
                r = order_findings(d, l2, l3);
        if (waiting)
                pthread_join(thread, NULL);
        else
                arp_wait_run(&w);
        if (r < 0) {
                vnc_error_clear(&w.err);
                return vnc_error_set(e, VNC_ERR_RUNTIME, r, "doctor: %s", strerror(-r));
        }
        if (w.r < 0) {
                if (e) {
                        vnc_error_clear(e);
                        *e = w.err; /* handed over */
                } else
                        vnc_error_clear(&w.err);
                return w.r;
        }
        return 0;
}

int vnc_doctor_run(const struct vnc_doctor_input *in, struct vnc_doctor_report *ret, struct vnc_error *e) {
        struct doc d = {.in = in, .rep = ret, .ip_forward = -1, .brnf = -1};
        int r;

        *ret = (struct vnc_doctor_report){0};
        if (!in->profile && (!in->bridge || !vnc_ifname_valid(in->bridge)))
                return vnc_error_set(e, VNC_ERR_USAGE, -EINVAL, "doctor: \"%s\" is not a valid bridge name",
                                     in->bridge ? in->bridge : "");

        r = in->host->live_read(&d.live, e);
        if (r < 0)
                goto fail;
        r = in->host->diag_neigh_read(&d.neigh, e);
        if (r < 0)
                goto fail;
        const char *fwd = vnc_live_sysctl_get(d.live, "net.ipv4.ip_forward");
        if (fwd)
                d.ip_forward = streq(fwd, "0") ? 0 : 1;
        if (in->host->diag_br_nf_call_iptables(&d.brnf) < 0)
                d.brnf = -1;
        if (in->profile && in->state_dir) {
                char blob[17];
                if (in->host->dhcp_status(in->state_dir, in->profile->name, &d.dhcp_running, blob) >= 0)
                        d.dhcp_known = true;
        }

        d.n_nets = in->profile ? in->profile->n_networks : 1;
        d.nets = calloc(d.n_nets ? d.n_nets : 1, sizeof(*d.nets));
        if (!d.nets) {
                r = vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
                goto fail;
        }
        for (size_t i = 0; i < d.n_nets; i++) {
                struct net *n = &d.nets[i];
                n->probe_host = n->probe_target = SIZE_MAX;
                if (in->profile) {
                        const struct vnc_network *nw = &in->profile->networks[i];
                        n->n = nw;
                        n->label = nw->name;
                        n->bridge = nw->bridge;
                        n->nat = nw->mode == VNC_MODE_NAT;
                        n->forwards = nw->mode == VNC_MODE_NAT || nw->mode == VNC_MODE_ROUTED ||
                                      (nw->mode == VNC_MODE_VLAN && nw->has_vlan && nw->vlan.routed && nw->has_ipv4);
                        n->forwards_known = true;
                        n->allow_icmp = nw->allow_icmp;
                } else {
                        n->label = in->bridge;
                        n->bridge = in->bridge;
                        n->allow_icmp = true;
                }
        }
        r = check_nets(&d, e);
        if (r < 0)
                goto fail;
        if (in->profile && (r = vnc_doctor_vlan(in->profile, d.live, ret, e)) < 0) /* vlan: core/doctor-vlan.c */
                goto fail;
        if ((r = vnc_doctor_libvirt(in, ret, e)) < 0) /* libvirt networks inactive or on another bridge */
                goto fail;
        for (size_t i = 0; i < d.n_nets; i++) {
                r = arp_judge(&d, &d.nets[i]);
                if (r < 0) {
                        r = vnc_error_set(e, VNC_ERR_RUNTIME, r, "doctor: %s", strerror(-r));
                        goto fail;
                }
        }
        if (in->has_target) {
                r = guest_side(&d);
                if (r >= 0)
                        r = walk(&d);
                if (r < 0) {
                        r = vnc_error_set(e, VNC_ERR_RUNTIME, r, "doctor: %s", strerror(-r));
                        goto fail;
                }
        }
        ret->broken_hop = ret->n_hops;
        for (size_t i = 0; i < ret->n_hops; i++)
                if (!ret->hops[i].ok) {
                        ret->broken_hop = i;
                        break;
                }
        doc_done(&d);
        return 0;
fail:
        doc_done(&d);
        vnc_doctor_report_done(ret);
        return r;
}
