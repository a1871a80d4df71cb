/* SPDX-License-Identifier: MIT */
/*
 * doctor --target: the guest's side, as a person at the host would find it
 * (SPEC section 6). The host cannot read the guest's routes or firewall, but
 * it can ask and watch (backends/guestprobe.c):
 *
 *   target inside a network's subnet, answering ARP there (doctor.c's probe):
 *     echo from the host's address on the bridge (H), and from a host address
 *     outside the subnet (O: the uplink's), injected onto the bridge; the
 *     guest's frames are watched on its port.
 *       no reply to H nor O                        guest-firewall (it answers ARP, drops echo)
 *       reply to H; reply to O sent to a MAC that
 *         is not the host's, or an ARP request for
 *         some G != H instead                       guest-gateway (G)
 *       reply to H; nothing at all for O            guest-no-route
 *       replies to both, to the host's MAC          clean
 *     O is only asked on networks whose guests route through the host (nat,
 *     routed): on host-only, isolated and bridged networks no default route
 *     via the host is expected.
 *   target outside every subnet: an ARP probe for it on every bridge (with a
 *     control address nobody should have, so a host that answers everything
 *     is not taken for the target)
 *       answered on bridge B                       guest-subnet (B and its subnet)
 *       answered nowhere                           nothing: it is beyond the uplink
 *   target that never answered ARP: nothing here (doctor.c says neigh-failed).
 *
 * Time: the echo exchange ends when every source is answered and never takes
 * longer than GUEST_ECHO_MS; the off-subnet ARP takes GUEST_ARP_MS. Both are
 * far below the 3 s the guest side of one target may take.
 */
#include <arpa/inet.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <sys/socket.h>

#include "doctor-guest.h"
#include "plan.h"

#define GUEST_ECHO_MS 2400
#define GUEST_ECHO_TRIES 4
#define GUEST_ARP_MS 300
/* One target: doctor.c's ARP wait (300 ms, as GUEST_ARP_MS), then either the echo exchange or the off-subnet ARP. */
_Static_assert(GUEST_ARP_MS + (GUEST_ECHO_MS > GUEST_ARP_MS ? GUEST_ECHO_MS : GUEST_ARP_MS) < 3000,
               "the guest side of one target must finish within 3 s");
#define CONTROL_ADDR 0xc63364feu /* 198.51.100.254 (TEST-NET-2): nobody on a vnetcfg bridge has it */

void vnc_guest_report_done(struct vnc_guest_report *r) {
        if (!r)
                return;
        for (size_t i = 0; i < r->n; i++) {
                free(r->v[i].evidence);
                free(r->v[i].fix);
        }
        free(r->v);
        *r = (struct vnc_guest_report){0};
}

/* evidence and fix taken (fix NULL for a note). */
static int add(struct vnc_guest_report *r, size_t net, const char *code, char *evidence, char *fix) {
        _cleanup_free_ char *ev = evidence, *fx = fix;

        if (!ev || (code && !fx))
                return -ENOMEM;
        if (VNC_GROW(r->v, r->alloc, r->n + 1) < 0)
                return -ENOMEM;
        r->v[r->n++] = (struct vnc_guest_result){.net = net, .code = code, .evidence = TAKE_PTR(ev),
                                                 .fix = TAKE_PTR(fx)};
        return 0;
}

static uint32_t addr4(const uint8_t a[16]) {
        return (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
}

static const char *link_name(const struct vnc_live *live, int ifindex) {
        const struct vnc_live_link *l = vnc_live_link_by_index(live, ifindex);
        return l ? l->name : "?";
}

/* A host address outside the guest's subnet: the uplink's, else the default route's interface's, else any. */
static bool outside_source(const struct vnc_live *live, const struct vnc_guest_net *g, uint32_t *ret,
                           int *ret_ifindex) {
        int default_oif = 0;
        for (size_t i = 0; i < live->n_routes; i++) {
                const struct vnc_live_route *rt = &live->routes[i];
                if (rt->family == AF_INET && rt->dst_len == 0 && rt->table == RT_TABLE_MAIN && rt->oif) {
                        default_oif = rt->oif;
                        break;
                }
        }
        for (int pass = 0; pass < 3; pass++) {
                int want = pass == 0 ? g->up_oif : pass == 1 ? default_oif : -1;
                if (want == 0)
                        continue;
                for (size_t i = 0; i < live->n_addrs; i++) {
                        const struct vnc_live_addr *a = &live->addrs[i];
                        uint32_t ip = addr4(a->addr);
                        if (a->family != AF_INET || a->scope != RT_SCOPE_UNIVERSE || a->ifindex == g->ifindex ||
                            (want > 0 && a->ifindex != want) || vnc_ipv4_in(ip, &g->subnet) || (ip >> 24) == 127 ||
                            (ip >> 16) == 0xa9fe)
                                continue;
                        *ret = ip;
                        *ret_ifindex = a->ifindex;
                        return true;
                }
        }
        return false;
}

/* The address the host knows for a MAC on the bridge (its neighbour table), 0 when none. */
static uint32_t ip_of_mac(const struct vnc_neigh_table *neigh, int ifindex, const uint8_t mac[6]) {
        for (size_t i = 0; neigh && i < neigh->n; i++) {
                const struct vnc_neigh *x = &neigh->v[i];
                if (x->ifindex == ifindex && x->has_lladdr && memcmp(x->lladdr, mac, 6) == 0)
                        return x->ip;
        }
        return 0;
}

static char *mask_str(uint8_t prefix, char buf[static 16]) {
        vnc_ipv4_str(vnc_prefix_mask(prefix), buf);
        return buf;
}

static char *fix_gateway(const char *h) {
        return vnc_strdup_printf("inside the guest, make the host its gateway. Linux: ip route replace default via "
                                 "%s dev eth0. Windows (admin): route delete 0.0.0.0 mask 0.0.0.0 & route -p add "
                                 "0.0.0.0 mask 0.0.0.0 %s (or Default gateway %s in the adapter's IPv4 settings; "
                                 "with DHCP, the server's router option)",
                                 h, h, h);
}

/* The fix for a guest whose address or mask does not fit g: the suggested address with g's prefix. */
static char *fix_subnet(const struct vnc_guest_net *g, uint32_t suggest) {
        char sub[16], sugg[16], msk[16], host[16], gw_l[64] = "", gw_w[20] = "";

        vnc_ipv4_str(g->subnet.addr, sub);
        vnc_ipv4_str(suggest, sugg);
        vnc_ipv4_str(g->host, host);
        mask_str(g->subnet.prefix, msk);
        if (g->forwards && g->host_on_bridge) {
                snprintf(gw_l, sizeof(gw_l), "; ip route replace default via %s", host);
                snprintf(gw_w, sizeof(gw_w), " %s", host);
        }
        return vnc_strdup_printf("inside the guest, take an address in %s/%u (or use DHCP). Linux: ip addr flush dev "
                                 "eth0; ip addr add %s/%u dev eth0%s. Windows (admin): netsh interface ipv4 set "
                                 "address name=\"Ethernet\" static %s %s%s",
                                 sub, g->subnet.prefix, sugg, g->subnet.prefix, gw_l, sugg, msk, gw_w);
}

/* The first address the guest asked ARP for that is not the host's. */
static uint32_t asked_other(const struct vnc_guest_probe *p, uint32_t host) {
        for (size_t i = 0; i < p->n_arp_asked; i++)
                if (p->arp_asked[i] != host)
                        return p->arp_asked[i];
        return 0;
}

int vnc_doctor_guest_judge(const struct vnc_guest_net *g, const struct vnc_neigh_table *neigh, uint32_t target,
                           const struct vnc_guest_probe *p, const char *out_ifname, size_t idx,
                           struct vnc_guest_report *rep) {
        char t[16], h[16], o[16], m[18], hm[18], sub[16];
        const struct vnc_guest_echo *a = &p->echo[0], *b = p->n_echo > 1 ? &p->echo[1] : NULL;
        uint32_t asked = asked_other(p, g->host);

        vnc_ipv4_str(target, t);
        vnc_ipv4_str(g->host, h);
        vnc_ipv4_str(b ? b->src : 0, o);
        vnc_ipv4_str(g->subnet.addr, sub);
        vnc_diag_mac_str(g->target_mac, m);
        vnc_diag_mac_str(g->mac, hm);

        if (!a->answered) {
                if (b && b->answered)
                        return add(rep, idx, NULL,
                                   vnc_strdup_printf("%s answers echo from %s but not from the host's %s on its own "
                                                     "subnet (its firewall filters by source?)",
                                                     t, o, h),
                                   NULL);
                if (asked) {
                        /* It wants a router to reach the host's address: its mask leaves the host out. */
                        char gw[16];
                        vnc_ipv4_str(asked, gw);
                        return add(rep, idx, "guest-subnet",
                                   vnc_strdup_printf("%s answers ARP on %s (MAC %s), but to reply to the host's %s it "
                                                     "asks ARP \"who has %s\": the guest's mask leaves %s out of its "
                                                     "subnet, while %s's subnet is %s/%u",
                                                     t, g->bridge, m, h, gw, h, g->bridge, sub, g->subnet.prefix),
                                   fix_subnet(g, target));
                }
                char why[96] = "";
                if (a->icmp_error)
                        snprintf(why, sizeof(why), "; it answered with ICMP type %u code %u instead",
                                 a->icmp_type, a->icmp_code);
                char also[64] = "";
                if (b)
                        snprintf(also, sizeof(also), " nor from %s", o);
                return add(rep, idx, "guest-firewall",
                           vnc_strdup_printf("%s answers ARP on %s (MAC %s) but sent no ICMP echo reply to %d "
                                             "requests from the host's %s%s within %u ms (watched on %s)%s: the "
                                             "guest's own firewall drops ICMP echo (Windows does by default)",
                                             t, g->bridge, m, p->tries, h, also, p->timeout_ms, g->bridge, why),
                           vnc_strdup_printf("inside the guest, allow ICMP echo requests in. Linux: iptables -I "
                                             "INPUT -p icmp --icmp-type echo-request -j ACCEPT (nftables: nft "
                                             "insert rule inet filter input icmp type echo-request accept). "
                                             "Windows (admin): netsh advfirewall firewall add rule "
                                             "name=\"ICMPv4 echo in\" protocol=icmpv4:8,any dir=in action=allow"));
        }
        if (!b) {
                if (!g->forwards)
                        return add(rep, idx, NULL,
                                   vnc_strdup_printf("%s answers ICMP echo from the host's %s (%u ms)", t, h, p->ms),
                                   NULL);
                return add(rep, idx, NULL,
                           vnc_strdup_printf("%s answers ICMP echo from %s; its gateway was not checked: the host "
                                             "has no address outside %s's subnet",
                                             t, h, g->bridge),
                           NULL);
        }
        if (b->answered && memcmp(b->reply_mac, g->mac, 6) == 0)
                return add(rep, idx, NULL,
                           vnc_strdup_printf("%s answers ICMP echo from the host's %s and from %s (%s), and sends "
                                             "the reply for %s to the host's MAC %s: its gateway is the host",
                                             t, h, o, out_ifname, o, hm),
                           NULL);
        if (b->answered) {
                char gm[18], gw[16];
                uint32_t gip = ip_of_mac(neigh, g->ifindex, b->reply_mac);
                if (!gip)
                        gip = asked;
                vnc_diag_mac_str(b->reply_mac, gm);
                if (gip)
                        vnc_ipv4_str(gip, gw);
                else
                        snprintf(gw, sizeof(gw), "unknown");
                return add(rep, idx, "guest-gateway",
                           vnc_strdup_printf("%s answers ICMP echo from the host's %s, but its reply to %s (outside "
                                             "%s/%u) goes to MAC %s (gateway %s), not to the host's %s (%s): the "
                                             "guest's default gateway is %s, not %s",
                                             t, h, o, sub, g->subnet.prefix, gm, gw, hm, h, gw, h),
                           fix_gateway(h));
        }
        if (asked) {
                char gw[16];
                vnc_ipv4_str(asked, gw);
                return add(rep, idx, "guest-gateway",
                           vnc_strdup_printf("%s answers ICMP echo from the host's %s, but to reply to %s (outside "
                                             "%s/%u) it asks ARP \"who has %s\" on %s and nobody answers: the guest's "
                                             "default gateway is %s, which is not the network's address %s",
                                             t, h, o, sub, g->subnet.prefix, gw, g->bridge, gw, h),
                           fix_gateway(h));
        }
        return add(rep, idx, "guest-no-route",
                   vnc_strdup_printf("%s answers ICMP echo from the host's %s but sends nothing back for %d "
                                     "requests from %s (outside %s/%u) within %u ms, no reply and no ARP request "
                                     "(watched on %s): the guest has no default route (or its firewall drops "
                                     "sources outside its subnet)",
                                     t, h, p->tries, o, sub, g->subnet.prefix, p->timeout_ms, g->bridge),
                   vnc_strdup_printf("inside the guest, add a default route via the host. Linux: ip route add "
                                     "default via %s dev eth0. Windows (admin): route -p add 0.0.0.0 mask 0.0.0.0 "
                                     "%s (or Default gateway %s in the adapter's IPv4 settings)",
                                     h, h, h));
}

/* The target is a guest of g and answered ARP: ask it for echo, from the host's address and from beyond. */
static int probe_guest(const struct vnc_host_ops *host, const struct vnc_live *live, const struct vnc_neigh_table *neigh,
                       uint32_t target, const struct vnc_guest_net *g, size_t idx, struct vnc_guest_report *rep) {
        _cleanup_(vnc_guest_probe_done) struct vnc_guest_probe p = {
                .bridge_ifindex = g->ifindex, .guest_ip = target, .tries = GUEST_ECHO_TRIES,
                .timeout_ms = GUEST_ECHO_MS};
        struct vnc_error err = {0};
        uint32_t out = 0;
        int out_if = 0;
        int r;

        if (!g->has_mac || !g->host_on_bridge)
                return add(rep, idx, NULL,
                           vnc_strdup_printf("guest side not probed: %s has no %s", g->bridge,
                                             g->has_mac ? "host address" : "MAC"),
                           NULL);
        memcpy(p.bridge_mac, g->mac, 6);
        memcpy(p.guest_mac, g->target_mac, 6);
        p.echo[p.n_echo++].src = g->host;
        /* Only where guests route through the host is a default route via it expected. */
        if (g->forwards && outside_source(live, g, &out, &out_if))
                p.echo[p.n_echo++].src = out;

        r = host->guest_probe_run(&p, &err);
        if (r < 0) {
                _cleanup_free_ char *msg = vnc_error_format(&err);
                vnc_error_clear(&err);
                if (r == -ENOMEM)
                        return r;
                return add(rep, idx, NULL, vnc_strdup_printf("guest side not probed: %s", msg ? msg : strerror(-r)),
                           NULL);
        }
        return vnc_doctor_guest_judge(g, neigh, target, &p, link_name(live, out_if), idx, rep);
}

/* The target is outside every subnet: is it a guest sitting on one of the bridges with a wrong address? */
static int find_misplaced(const struct vnc_host_ops *ops, uint32_t target, struct vnc_guest_net *nets, size_t n,
                          struct vnc_guest_report *rep) {
        _cleanup_free_ struct vnc_arp_probe *pr = NULL;
        _cleanup_free_ size_t *of = NULL;
        struct vnc_error err = {0};
        size_t k = 0;
        int r;

        pr = calloc(2 * n + 1, sizeof(*pr));
        of = calloc(2 * n + 1, sizeof(*of));
        if (!pr || !of)
                return -ENOMEM;
        uint32_t control = target == CONTROL_ADDR ? CONTROL_ADDR - 1 : CONTROL_ADDR;
        for (size_t i = 0; i < n; i++) {
                const struct vnc_guest_net *g = &nets[i];
                if (!g->ifindex || !g->has_mac || !g->layer2_ok || !g->has_subnet)
                        continue;
                /* Two per bridge: the target and the control, both as RFC 5227 probes that poison no cache. */
                for (int c = 0; c < 2; c++) {
                        pr[k] = (struct vnc_arp_probe){.ifindex = g->ifindex, .target_ip = c ? control : target};
                        memcpy(pr[k].src_mac, g->mac, 6);
                        of[k++] = i;
                }
        }
        if (k == 0)
                return 0;
        r = ops->diag_arp_probe_many(pr, k, GUEST_ARP_MS, &err);
        vnc_error_clear(&err);
        if (r < 0) {
                for (size_t i = 0; i < k; i++)
                        vnc_arp_probe_done(&pr[i]);
                return r == -ENOMEM ? r : 0;
        }
        r = 0;
        for (size_t i = 0; i + 1 < k && r >= 0; i += 2) {
                const struct vnc_arp_probe *t = &pr[i], *c = &pr[i + 1];
                struct vnc_guest_net *g = &nets[of[i]];
                if (t->n_macs != 1)
                        continue;
                bool answers_all = false;
                for (size_t j = 0; j < c->n_macs; j++)
                        answers_all = answers_all || memcmp(c->macs[j], t->macs[0], 6) == 0;
                if (answers_all)
                        continue;
                char ts[16], sub[16], host[16], m[18];
                vnc_ipv4_str(target, ts);
                vnc_ipv4_str(g->subnet.addr, sub);
                vnc_ipv4_str(g->host, host);
                vnc_diag_mac_str(t->macs[0], m);
                /* Suggest the target's host part inside the bridge's subnet, unless that is taken by the host or
                 * is the network or broadcast address. */
                uint32_t mask = vnc_prefix_mask(g->subnet.prefix);
                uint32_t s = g->subnet.addr | (target & ~mask);
                if (s == g->host || s == g->subnet.addr || s == (g->subnet.addr | ~mask))
                        s = g->subnet.addr + (g->host == g->subnet.addr + 2 ? 3 : 2);
                g->target_answered = true;
                memcpy(g->target_mac, t->macs[0], 6);
                r = add(rep, of[i], "guest-subnet",
                        vnc_strdup_printf("%s answers ARP on %s (MAC %s), but %s's subnet is %s/%u (the host is %s): "
                                          "the guest's address or mask is wrong, it cannot reach the host or "
                                          "anything beyond it",
                                          ts, g->bridge, m, g->bridge, sub, g->subnet.prefix, host),
                        fix_subnet(g, s));
        }
        for (size_t i = 0; i < k; i++)
                vnc_arp_probe_done(&pr[i]);
        return r;
}

/* vnetcfg's bridges the doctor was not asked about (other profiles'), with their first IPv4 subnet. */
static int other_bridges(const struct vnc_live *live, const struct vnc_guest_net *nets, size_t n_nets,
                         struct vnc_guest_net **ret, size_t *ret_n) {
        _cleanup_free_ struct vnc_guest_net *v = NULL;
        size_t n = 0;
        char owner[VNC_NAME_MAX + 1];

        v = calloc(live->n_links + 1, sizeof(*v));
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < live->n_links; i++) {
                const struct vnc_live_link *l = &live->links[i];
                bool known = false;
                if (!streq(l->kind, "bridge") || !l->alias || !vnc_alias_owner(l->alias, owner) || !l->has_mac ||
                    !l->admin_up)
                        continue;
                for (size_t j = 0; j < n_nets; j++)
                        known = known || nets[j].ifindex == l->ifindex;
                for (size_t j = 0; !known && j < live->n_addrs; j++) {
                        const struct vnc_live_addr *a = &live->addrs[j];
                        if (a->family != AF_INET || a->ifindex != l->ifindex || a->scope != RT_SCOPE_UNIVERSE)
                                continue;
                        struct vnc_guest_net *g = &v[n++];
                        *g = (struct vnc_guest_net){.label = l->name, .bridge = l->name, .ifindex = l->ifindex,
                                                    .has_mac = true, .layer2_ok = true, .has_subnet = true,
                                                    .host = addr4(a->addr), .host_on_bridge = true};
                        memcpy(g->mac, l->mac, 6);
                        g->subnet.prefix = a->prefix;
                        g->subnet.addr = g->host & vnc_prefix_mask(a->prefix);
                        break;
                }
        }
        *ret = TAKE_PTR(v);
        *ret_n = n;
        return 0;
}

int vnc_doctor_guest(const struct vnc_host_ops *host, const struct vnc_live *live, const struct vnc_neigh_table *neigh,
                     uint32_t target, struct vnc_guest_net *nets, size_t n_nets, struct vnc_guest_report *ret) {
        _cleanup_free_ struct vnc_guest_net *other = NULL, *all = NULL;
        size_t n_other = 0;
        int r;

        *ret = (struct vnc_guest_report){0};
        for (size_t i = 0; i < n_nets; i++) {
                struct vnc_guest_net *g = &nets[i];
                if (!g->has_subnet || !vnc_ipv4_in(target, &g->subnet))
                        continue;
                /* A guest of this network: probed when it answered ARP; otherwise doctor.c said why not. */
                if (target == g->host || !g->target_answered || !g->ifindex)
                        return 0;
                return probe_guest(host, live, neigh, target, g, i, ret);
        }
        /* Outside every subnet of these networks: look on their bridges and on every other vnetcfg bridge. */
        r = other_bridges(live, nets, n_nets, &other, &n_other);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_other; i++)
                if (vnc_ipv4_in(target, &other[i].subnet))
                        return 0; /* a guest of another profile's network: `vnetcfg doctor` on that profile */
        all = calloc(n_nets + n_other + 1, sizeof(*all));
        if (!all)
                return -ENOMEM;
        memcpy(all, nets, n_nets * sizeof(*all));
        memcpy(all + n_nets, other, n_other * sizeof(*all));
        r = find_misplaced(host, target, all, n_nets + n_other, ret);
        if (r < 0)
                return r;
        memcpy(nets, all, n_nets * sizeof(*all)); /* target_answered, target_mac */
        for (size_t i = 0; i < ret->n; i++)
                if (ret->v[i].net >= n_nets)
                        ret->v[i].net = SIZE_MAX;
        return 0;
}
