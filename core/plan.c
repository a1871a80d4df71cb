/* SPDX-License-Identifier: MIT */
/*
 * The planner: profile + live host + what this profile applied before ->
 * ordered actions. Pure: no I/O, no allocation beyond the plan itself.
 *
 * Order of a plan (each phase is one batch for its backend):
 *   1. teardown of what is no longer wanted: routes, addresses, VLAN interfaces, taps, bridges
 *   2. bridges created
 *   3. taps created (already enslaved, sized and up), then VLAN interfaces on trunks and trunk taps
 *   4. modifications of existing links (mtu, master, up, alias)
 *   5. addresses, 6. routes, 7. sysctls, 8. the profile's dnsmasq
 *   9. firewall: one run, so one transaction per table
 * Every delete carries what its inverse needs to recreate the object exactly.
 */
#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/socket.h>

#include "dhcp.h"
#include "fw.h"
#include "open.h"
#include "plan.h"
#include "plan-libvirt.h"

#define SYSCTL_IP_FORWARD "net.ipv4.ip_forward"

enum phase {
        PH_DEL_LIBVIRT, /* libvirt networks no longer wanted: before their bridges go */
        PH_UPLINK_BACK, /* a bridged network going away: its uplink's addresses and routes go home first */
        PH_DEL_ROUTE,
        PH_DEL_ADDR,
        PH_DEL_VLAN,
        PH_DEL_TAP,
        PH_DEL_BRIDGE,
        PH_NEW_BRIDGE,
        PH_NEW_TAP,
        PH_NEW_VLAN,
        PH_SET_LINK,
        PH_UPLINK, /* bridged: enslave the uplink and move its addresses and routes (one netlink batch) */
        PH_NEW_ADDR,
        PH_NEW_ROUTE,
        PH_SYSCTL,
        PH_DHCP,
        PH_LIBVIRT, /* libvirt networks on the bridges, once those exist */
        /* Last, in one run: chains, rule deletes, rule creates, chain removal (one transaction per
         * table). Rules name interfaces, not ifindexes, so they may come after the links. */
        PH_FIREWALL,
        /* Openings in a foreign firewall, once vnetcfg's own rules are in place (core/open.h). */
        PH_OPEN,
        _PH_MAX,
};

/* Taps of a profile sorted by name: the planner looks each live link up in them. */
struct tap_index {
        struct tapref {
                const char *name;
                const struct vnc_network *net;
                const struct vnc_tap *tap;
        } *refs;
        size_t n;
};

struct planner {
        struct tap_index want_taps, applied_taps;
        const struct vnc_profile *want;
        const struct vnc_profile *applied;
        const struct vnc_live *live;
        const char *profile; /* name */
        struct vnc_plan phase[_PH_MAX];
        struct vnc_plan *ret; /* the plan being made: its notes */
        struct vnc_error *e;
};

void vnc_plan_done(struct vnc_plan *p) {
        free(p->actions);
        for (size_t i = 0; i < p->n_blobs; i++)
                free(p->blobs[i].text);
        free(p->blobs);
        for (size_t i = 0; i < p->n_notes; i++)
                free(p->notes[i]);
        free(p->notes);
        *p = (struct vnc_plan){0};
}

int vnc_plan_add_note(struct vnc_plan *p, const char *fmt, ...) {
        char *text = NULL, **n;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&text, fmt, ap) < 0)
                text = NULL;
        va_end(ap);
        if (!text)
                return -ENOMEM;
        n = realloc(p->notes, (p->n_notes + 1) * sizeof(*n));
        if (!n) {
                free(text);
                return -ENOMEM;
        }
        p->notes = n;
        p->notes[p->n_notes++] = text;
        return 0;
}

void vnc_blob_hash(const char *text, char ret_hash[17]) {
        uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a 64 */
        for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
                h ^= *c;
                h *= 0x100000001b3ULL;
        }
        snprintf(ret_hash, 17, "%016llx", (unsigned long long)h);
}

int vnc_plan_add_blob(struct vnc_plan *p, const char *text, char ret_hash[17]) {
        vnc_blob_hash(text, ret_hash);
        for (size_t i = 0; i < p->n_blobs; i++)
                if (streq(p->blobs[i].hash, ret_hash))
                        return 0;
        if (VNC_GROW(p->blobs, p->alloc_blobs, p->n_blobs + 1) < 0)
                return -ENOMEM;
        struct vnc_blob *b = &p->blobs[p->n_blobs];
        memcpy(b->hash, ret_hash, 17);
        b->text = strdup(text);
        if (!b->text)
                return -ENOMEM;
        p->n_blobs++;
        return 0;
}

int vnc_plan_append(struct vnc_plan *p, const struct vnc_action *a) {
        if (VNC_GROW(p->actions, p->alloc, p->n_actions + 1) < 0)
                return -ENOMEM;
        p->actions[p->n_actions++] = *a;
        return 0;
}

bool vnc_network_needs_forwarding(const struct vnc_network *n) {
        switch (n->mode) {
        case VNC_MODE_ROUTED:
        case VNC_MODE_NAT:
                return true;
        case VNC_MODE_VLAN:
                return n->has_vlan && n->vlan.routed && n->has_ipv4;
        default:
                return false;
        }
}

bool vnc_alias_is_profile(const char *alias, const char *profile, const char **ret_network) {
        static const char prefix[] = "vnetcfg:";
        size_t pl = strlen(profile);

        if (!alias || strncmp(alias, prefix, sizeof(prefix) - 1) != 0)
                return false;
        alias += sizeof(prefix) - 1;
        if (strncmp(alias, profile, pl) != 0 || alias[pl] != '/')
                return false;
        if (ret_network)
                *ret_network = alias + pl + 1;
        return true;
}

bool vnc_alias_owner(const char *alias, char profile[VNC_NAME_MAX + 1]) {
        static const char prefix[] = "vnetcfg:";

        if (!alias || strncmp(alias, prefix, sizeof(prefix) - 1) != 0)
                return false;
        alias += sizeof(prefix) - 1;
        size_t n = strcspn(alias, "/");
        if (alias[n] != '/' || n == 0 || n > VNC_NAME_MAX)
                return false;
        memcpy(profile, alias, n);
        profile[n] = 0;
        return true;
}

static const struct vnc_network *find_network(const struct vnc_profile *p, const char *name) {
        for (size_t i = 0; p && i < p->n_networks; i++)
                if (streq(p->networks[i].name, name))
                        return &p->networks[i];
        return NULL;
}

static const struct vnc_tap *find_tap(const struct vnc_profile *p, const char *name,
                                      const struct vnc_network **ret_net) {
        for (size_t i = 0; p && i < p->n_networks; i++)
                for (size_t j = 0; j < p->networks[i].n_taps; j++)
                        if (streq(p->networks[i].taps[j].name, name)) {
                                if (ret_net)
                                        *ret_net = &p->networks[i];
                                return &p->networks[i].taps[j];
                        }
        for (size_t i = 0; p && i < p->n_trunk_taps; i++)
                if (streq(p->trunk_taps[i].tap.name, name)) {
                        if (ret_net)
                                *ret_net = NULL;
                        return &p->trunk_taps[i].tap;
                }
        return NULL;
}

static int cmp_tapref(const void *a, const void *b) {
        return strcmp(((const struct tapref *)a)->name, ((const struct tapref *)b)->name);
}

static int tap_index_build(struct tap_index *ix, const struct vnc_profile *p) {
        size_t n = 0, k = 0;

        for (size_t i = 0; p && i < p->n_networks; i++)
                n += p->networks[i].n_taps;
        n += p ? p->n_trunk_taps : 0;
        ix->refs = calloc(n ? n : 1, sizeof(*ix->refs));
        if (!ix->refs)
                return -ENOMEM;
        for (size_t i = 0; p && i < p->n_networks; i++)
                for (size_t j = 0; j < p->networks[i].n_taps; j++)
                        ix->refs[k++] = (struct tapref){p->networks[i].taps[j].name, &p->networks[i],
                                                        &p->networks[i].taps[j]};
        for (size_t i = 0; p && i < p->n_trunk_taps; i++) /* vlan: trunk taps belong to no one network */
                ix->refs[k++] = (struct tapref){p->trunk_taps[i].tap.name, NULL, &p->trunk_taps[i].tap};
        qsort(ix->refs, n, sizeof(*ix->refs), cmp_tapref);
        ix->n = n;
        return 0;
}

static const struct vnc_tap *tap_index_find(const struct tap_index *ix, const char *name,
                                            const struct vnc_network **ret_net) {
        struct tapref key = {.name = name};
        const struct tapref *r = ix->n ? bsearch(&key, ix->refs, ix->n, sizeof(*ix->refs), cmp_tapref) : NULL;

        if (r && ret_net)
                *ret_net = r->net;
        return r ? r->tap : NULL;
}

static bool owned(const struct planner *pl, const struct vnc_live_link *l) {
        return l && vnc_alias_is_profile(l->alias, pl->profile, NULL);
}

static const char *master_name(const struct planner *pl, const struct vnc_live_link *l) {
        const struct vnc_live_link *m = vnc_live_link_by_index(pl->live, l->master);
        return m ? m->name : "";
}

static bool live_has_addr(const struct vnc_live *live, int ifindex, const struct vnc_ipv4_prefix *a) {
        uint32_t be = htonl(a->addr);
        for (size_t i = 0; i < live->n_addrs; i++) {
                const struct vnc_live_addr *x = &live->addrs[i];
                if (x->ifindex == ifindex && x->family == AF_INET && x->prefix == a->prefix &&
                    memcmp(x->addr, &be, 4) == 0)
                        return true;
        }
        return false;
}

static bool live_route_matches(const struct vnc_live_route *r, const struct vnc_route *want, int ifindex) {
        uint32_t dst = htonl(want->to.addr), gw = htonl(want->via);
        return r->family == AF_INET && r->table == RT_TABLE_MAIN && r->dst_len == want->to.prefix &&
               memcmp(r->dst, &dst, 4) == 0 && r->oif == ifindex && r->has_gw == (want->via != 0) &&
               (!want->via || memcmp(r->gw, &gw, 4) == 0);
}

static bool live_has_route(const struct vnc_live *live, const struct vnc_route *want, int ifindex) {
        for (size_t i = 0; i < live->n_routes; i++)
                if (live_route_matches(&live->routes[i], want, ifindex))
                        return true;
        return false;
}

static int push(struct planner *pl, enum phase ph, const struct vnc_action *a) {
        return vnc_plan_append(&pl->phase[ph], a);
}

/* vlan: the VLAN section, below. */
static const struct vnc_network *vlan_interface_of(const struct vnc_profile *p, const char *name,
                                                   const char **ret_lower, uint16_t *ret_id);
static int check_vlans(struct planner *pl, const struct vnc_profile *const *others, size_t n_others);
static bool vlan_link_wanted(const struct planner *pl, const struct vnc_live_link *l);
static int plan_vlan_delete(struct planner *pl, const struct vnc_live_link *l);
static int plan_vlan_subif(struct planner *pl, const struct vnc_network *n, const char *ifname, const char *lower);
static int plan_trunk_taps(struct planner *pl);

/* ---- conflicts ---------------------------------------------------------- */

_printf_(3, 4) static int conflict(struct planner *pl, const char *path, const char *fmt, ...) {
        int line = 0, col = 0;
        char msg[512];
        va_list ap;

        vnc_profile_locate(pl->want, path, &line, &col);
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        return vnc_error_set_at(pl->e, VNC_ERR_CONFLICT, pl->want->file, line, col, path, "%s", msg);
}

static int check_name(struct planner *pl, const char *name, const char *path, const char *kind,
                      const struct vnc_profile *const *others, size_t n_others) {
        const struct vnc_live_link *l = vnc_live_link_by_name(pl->live, name);
        char other[VNC_NAME_MAX + 1];

        if (l && !owned(pl, l)) {
                if (vnc_alias_owner(l->alias, other))
                        return conflict(pl, path, "\"%s\": interface is managed by vnetcfg profile \"%s\"", name,
                                        other);
                return conflict(pl, path,
                                "\"%s\": an interface of that name exists and was not created by vnetcfg; "
                                "choose another name or remove it",
                                name);
        }
        for (size_t i = 0; i < n_others; i++) {
                const struct vnc_profile *o = others[i];
                for (size_t j = 0; j < o->n_networks; j++) {
                        if (streq(o->networks[j].bridge, name) || find_tap(o, name, NULL) ||
                            vlan_interface_of(o, name, NULL, NULL))
                                return conflict(pl, path, "\"%s\": %s is claimed by vnetcfg profile \"%s\"", name,
                                                kind, o->name);
                }
        }
        return 0;
}

static bool ifindex_owned(const struct planner *pl, int ifindex) {
        return owned(pl, vnc_live_link_by_index(pl->live, ifindex));
}

static int check_subnet(struct planner *pl, size_t ni, const struct vnc_profile *const *others, size_t n_others) {
        const struct vnc_network *n = &pl->want->networks[ni];
        struct vnc_ipv4_prefix net = {n->ipv4.addr & vnc_prefix_mask(n->ipv4.prefix), n->ipv4.prefix};
        char path[64], buf[128], ip[16];

        snprintf(path, sizeof(path), "networks[%zu].ipv4.address", ni);
        for (size_t i = 0; i < pl->live->n_addrs; i++) {
                const struct vnc_live_addr *a = &pl->live->addrs[i];
                if (a->family != AF_INET || ifindex_owned(pl, a->ifindex))
                        continue;
                uint32_t be;
                memcpy(&be, a->addr, 4);
                struct vnc_ipv4_prefix other = {ntohl(be), a->prefix};
                if (!vnc_prefix_overlap(&net, &other))
                        continue;
                const struct vnc_live_link *l = vnc_live_link_by_index(pl->live, a->ifindex);
                snprintf(buf, sizeof(buf), "%s/%u", vnc_ipv4_str(other.addr, ip), other.prefix);
                return conflict(pl, path, "subnet overlaps address %s on interface \"%s\"", buf,
                                l ? l->name : "?");
        }
        for (size_t i = 0; i < pl->live->n_routes; i++) {
                const struct vnc_live_route *r = &pl->live->routes[i];
                if (r->family != AF_INET || r->table != RT_TABLE_MAIN || r->type != RTN_UNICAST || r->dst_len == 0 ||
                    ifindex_owned(pl, r->oif))
                        continue;
                uint32_t be;
                memcpy(&be, r->dst, 4);
                struct vnc_ipv4_prefix other = {ntohl(be), r->dst_len};
                if (!vnc_prefix_overlap(&net, &other))
                        continue;
                const struct vnc_live_link *l = vnc_live_link_by_index(pl->live, r->oif);
                snprintf(buf, sizeof(buf), "%s/%u", vnc_ipv4_str(other.addr, ip), other.prefix);
                return conflict(pl, path, "subnet overlaps route %s via interface \"%s\"", buf, l ? l->name : "?");
        }
        for (size_t i = 0; i < n_others; i++)
                for (size_t j = 0; j < others[i]->n_networks; j++) {
                        const struct vnc_network *o = &others[i]->networks[j];
                        if (o->has_ipv4 && vnc_prefix_overlap(&net, &o->ipv4))
                                return conflict(pl, path, "subnet overlaps network \"%s\" of vnetcfg profile \"%s\"",
                                                o->name, others[i]->name);
                }
        return 0;
}

/* ---- bridged mode: the uplink joins the bridge, its addresses and routes move -------- */

static bool addr_is_moved(const struct vnc_live_addr *a) {
        /* The kernel's own IPv6 link-local addresses follow the MAC; the bridge has the same MAC. */
        return !(a->family == AF_INET6 && a->scope == RT_SCOPE_LINK);
}

static bool route_is_moved(const struct vnc_live_route *r) {
        /* Prefix routes of addresses move with the addresses; routes learned from router
         * advertisements are learned again on the bridge. */
        return (r->family == AF_INET || r->family == AF_INET6) && r->type == RTN_UNICAST &&
               r->protocol != RTPROT_KERNEL && r->protocol != RTPROT_RA && r->table != RT_TABLE_LOCAL;
}

static int check_uplink(struct planner *pl, size_t ni) {
        const struct vnc_network *n = &pl->want->networks[ni];
        const struct vnc_live_link *u = vnc_live_link_by_name(pl->live, n->uplink);
        char path[64], buf[INET6_ADDRSTRLEN];

        snprintf(path, sizeof(path), "networks[%zu].uplink", ni);
        if (!u)
                return conflict(pl, path, "\"%s\": no such interface on this host", n->uplink);
        if (u->wireless)
                return conflict(pl, path,
                                "\"%s\" is a wireless interface: an access point drops frames from MAC addresses "
                                "that did not associate, so guests behind a bridge get nothing (unless 4-address "
                                "mode is on); use mode \"nat\" with this uplink instead",
                                n->uplink);
        const struct vnc_live_link *m = vnc_live_link_by_index(pl->live, u->master);
        if (m && !(streq(m->name, n->bridge) && owned(pl, m)))
                return conflict(pl, path, "\"%s\" is already a port of \"%s\"; take it out first (ip link set %s nomaster)",
                                n->uplink, m->name, n->uplink);
        if (m)
                return 0; /* ours already: its addresses live on the bridge */
        for (size_t i = 0; i < pl->live->n_addrs; i++) {
                const struct vnc_live_addr *a = &pl->live->addrs[i];
                if (a->ifindex != u->ifindex || !addr_is_moved(a) || (a->flags & IFA_F_PERMANENT))
                        continue;
                inet_ntop(a->family, a->addr, buf, sizeof(buf));
                return conflict(pl, path,
                                "\"%s\" has the dynamic address %s/%u (DHCP or autoconfiguration): its client would "
                                "keep managing it on \"%s\", not on the bridge. Make the address static, or stop "
                                "the client and run it on \"%s\" after apply",
                                n->uplink, buf, a->prefix, n->uplink, n->bridge);
        }
        return 0;
}

static void addr_action(struct planner *pl, struct vnc_action *a, const char *net, enum vnc_action_op op,
                        const char *ifname, const struct vnc_live_addr *x) {
        vnc_action_init(a, VNC_ACT_ADDR, op, pl->profile, net);
        snprintf(a->ifname, sizeof(a->ifname), "%s", ifname);
        a->addr.prefix = x->prefix;
        if (x->family == AF_INET6) {
                a->family = AF_INET6;
                memcpy(a->ip6, x->addr, 16);
        } else {
                uint32_t be;
                memcpy(&be, x->addr, 4);
                a->addr.addr = ntohl(be);
                a->brd_mode = x->has_broadcast ? VNC_BRD_EXACT : VNC_BRD_NONE;
                if (x->has_broadcast) {
                        memcpy(&be, x->broadcast, 4);
                        a->brd = ntohl(be);
                }
        }
}

static void route_action(struct planner *pl, struct vnc_action *a, const char *net, enum vnc_action_op op,
                         const char *ifname, const struct vnc_live_route *x) {
        vnc_action_init(a, VNC_ACT_ROUTE, op, pl->profile, net);
        snprintf(a->ifname, sizeof(a->ifname), "%s", ifname);
        a->addr.prefix = x->dst_len;
        a->table = x->table == RT_TABLE_MAIN ? 0 : x->table;
        a->metric = x->metric;
        a->protocol = x->protocol == RTPROT_STATIC ? 0 : x->protocol;
        if (x->family == AF_INET6) {
                a->family = AF_INET6;
                memcpy(a->ip6, x->dst, 16);
                a->has_gw6 = x->has_gw;
                memcpy(a->gw6, x->gw, 16);
        } else {
                uint32_t be;
                memcpy(&be, x->dst, 4);
                a->addr.addr = ntohl(be);
                if (x->has_gw) {
                        memcpy(&be, x->gw, 4);
                        a->via = ntohl(be);
                }
                if (x->has_prefsrc) {
                        memcpy(&be, x->prefsrc, 4);
                        a->prefsrc = ntohl(be);
                }
        }
}

static int move_addrs(struct planner *pl, enum phase ph, const char *net, const struct vnc_live_link *holder,
                      enum vnc_action_op op, const char *ifname) {
        struct vnc_action a;
        int r;

        for (size_t i = 0; i < pl->live->n_addrs; i++) {
                const struct vnc_live_addr *x = &pl->live->addrs[i];
                if (x->ifindex != holder->ifindex || !addr_is_moved(x))
                        continue;
                addr_action(pl, &a, net, op, ifname, x);
                if ((r = push(pl, ph, &a)) < 0)
                        return r;
        }
        return 0;
}

static int move_routes(struct planner *pl, enum phase ph, const char *net, const struct vnc_live_link *holder,
                       enum vnc_action_op op, const char *ifname) {
        struct vnc_action a;
        int r;

        for (size_t i = 0; i < pl->live->n_routes; i++) {
                const struct vnc_live_route *x = &pl->live->routes[i];
                if (x->oif != holder->ifindex || !route_is_moved(x))
                        continue;
                route_action(pl, &a, net, op, ifname, x);
                if ((r = push(pl, ph, &a)) < 0)
                        return r;
        }
        return 0;
}
static int plan_enslave(struct planner *pl, enum phase ph, const char *net, const struct vnc_live_link *port,
                        const char *master) {
        struct vnc_action a;
        vnc_action_init(&a, VNC_ACT_LINK_SET, VNC_OP_MODIFY, pl->profile, net);
        snprintf(a.ifname, sizeof(a.ifname), "%s", port->name);
        a.set = VNC_SET_MASTER;
        snprintf(a.master, sizeof(a.master), "%s", master);
        snprintf(a.old_master, sizeof(a.old_master), "%s", master_name(pl, port));
        a.mtu = a.old_mtu = port->mtu;
        a.up = a.old_up = port->admin_up;
        /* The uplink is not vnetcfg's: it keeps its own alias. */
        snprintf(a.alias, sizeof(a.alias), "%s", port->alias ? port->alias : "");
        snprintf(a.old_alias, sizeof(a.old_alias), "%s", a.alias);
        return push(pl, ph, &a);
}

/*
 * The uplink's addresses and routes move to the bridge in one netlink batch,
 * in an order that keeps the host reachable in both directions (the rollback
 * runs the inverses in reverse):
 *   1. addresses added on the bridge: the uplink's prefix route came first and
 *      stays in use, with its resolved neighbours
 *   2. the uplink enslaved: its frames reach the host through the bridge
 *   3. routes deleted from the uplink, 4. its addresses deleted (IPv4 flushes
 *      the routes whose source vanishes, and the uplink's neighbour table),
 *   5. routes added on the bridge, which resolves neighbours through its port.
 * Backwards, the uplink leaves the bridge only once its own addresses and
 * routes are back, just before the bridge's addresses go: it never has to
 * resolve a neighbour while still a port (the bridge would swallow the reply
 * and the kernel retries a second later).
 */
static int plan_bridged(struct planner *pl, const struct vnc_network *n) {
        const struct vnc_live_link *u = vnc_live_link_by_name(pl->live, n->uplink);
        const struct vnc_live_link *m = u ? vnc_live_link_by_index(pl->live, u->master) : NULL;
        int r;

        if (!u || m)
                return 0; /* refused in check_uplink, or already a port of our bridge */
        if ((r = move_addrs(pl, PH_UPLINK, n->name, u, VNC_OP_CREATE, n->bridge)) < 0 ||
            (r = plan_enslave(pl, PH_UPLINK, n->name, u, n->bridge)) < 0 ||
            (r = move_routes(pl, PH_UPLINK, n->name, u, VNC_OP_DELETE, u->name)) < 0 ||
            (r = move_addrs(pl, PH_UPLINK, n->name, u, VNC_OP_DELETE, u->name)) < 0)
                return r;
        return move_routes(pl, PH_UPLINK, n->name, u, VNC_OP_CREATE, n->bridge);
}

/* A bridged network that goes away gives its uplink back first, in the rollback's order. */
static int plan_unbridge(struct planner *pl, const struct vnc_live_link *br) {
        const char *net = "";
        int r;

        vnc_alias_is_profile(br->alias, pl->profile, &net);
        for (size_t i = 0; i < pl->live->n_links; i++) {
                const struct vnc_live_link *port = &pl->live->links[i];
                if (port->master != br->ifindex || owned(pl, port))
                        continue;
                const struct vnc_network *old = find_network(pl->applied, net);
                if (!old || old->mode != VNC_MODE_BRIDGED || !streq(old->uplink, port->name))
                        continue;
                if ((r = move_routes(pl, PH_UPLINK_BACK, net, br, VNC_OP_DELETE, br->name)) < 0 ||
                    (r = move_addrs(pl, PH_UPLINK_BACK, net, br, VNC_OP_CREATE, port->name)) < 0 ||
                    (r = move_routes(pl, PH_UPLINK_BACK, net, br, VNC_OP_CREATE, port->name)) < 0 ||
                    (r = plan_enslave(pl, PH_UPLINK_BACK, net, port, "")) < 0 ||
                    (r = move_addrs(pl, PH_UPLINK_BACK, net, br, VNC_OP_DELETE, br->name)) < 0)
                        return r;
        }
        return 0;
}

static int check_conflicts(struct planner *pl, const struct vnc_profile *const *others, size_t n_others) {
        char path[80];
        int r;

        for (size_t i = 0; i < pl->want->n_networks; i++) {
                const struct vnc_network *n = &pl->want->networks[i];

                if (n->mode == VNC_MODE_BRIDGED) {
                        r = check_uplink(pl, i);
                        if (r < 0)
                                return r;
                }
                if (n->has_nat && n->nat.uplink[0] && !vnc_live_link_by_name(pl->live, n->nat.uplink)) {
                        snprintf(path, sizeof(path), "networks[%zu].nat.uplink", i);
                        r = conflict(pl, path, "\"%s\": no such interface on this host", n->nat.uplink);
                        return r;
                }
                snprintf(path, sizeof(path), "networks[%zu].bridge", i);
                r = check_name(pl, n->bridge, path, "bridge", others, n_others);
                if (r < 0)
                        return r;
                for (size_t j = 0; j < n->n_taps; j++) {
                        snprintf(path, sizeof(path), "networks[%zu].taps[%zu].name", i, j);
                        r = check_name(pl, n->taps[j].name, path, "tap", others, n_others);
                        if (r < 0)
                                return r;
                }
                if (n->has_ipv4) {
                        r = check_subnet(pl, i, others, n_others);
                        if (r < 0)
                                return r;
                }
        }
        return check_vlans(pl, others, n_others);
}

/* ---- teardown ----------------------------------------------------------- */

/* The parameters a tap is created with (fixed for its life). */
static void tap_params(struct vnc_action *a, const struct vnc_tap *t) {
        a->has_owner = t->has_owner;
        a->owner = t->owner;
        a->has_group = t->has_group;
        a->group = t->group;
        a->vnet_hdr = t->vnet_hdr;
        a->multi_queue = t->multi_queue;
}

/* Delete an owned link; the action carries everything its inverse needs. */
static int plan_link_delete(struct planner *pl, const struct vnc_live_link *l) {
        struct vnc_action a;
        const char *net = "";
        bool is_tap = streq(l->kind, "tun");

        if (streq(l->kind, "vlan"))
                return plan_vlan_delete(pl, l);
        vnc_alias_is_profile(l->alias, pl->profile, &net);
        vnc_action_init(&a, is_tap ? VNC_ACT_TAP : VNC_ACT_BRIDGE, VNC_OP_DELETE, pl->profile, net);
        snprintf(a.ifname, sizeof(a.ifname), "%s", l->name);
        snprintf(a.alias, sizeof(a.alias), "%s", l->alias);
        a.mtu = l->mtu;
        a.up = l->admin_up;
        /* Re-created by a rollback with the address it had, and its IPv6 address generation. */
        a.addr_gen = is_tap ? VNC_ADDR_GEN_KEEP : l->addr_gen;
        a.has_mac = l->has_mac;
        memcpy(a.mac, l->mac, 6);
        if (is_tap) {
                const struct vnc_tap *t = tap_index_find(&pl->applied_taps, l->name, NULL);
                snprintf(a.master, sizeof(a.master), "%s", master_name(pl, l));
                if (t)
                        tap_params(&a, t);
                else if (l->tun_read) { /* a tap no applied profile knows: as the host has it */
                        a.has_owner = l->tun_has_owner;
                        a.owner = l->tun_owner;
                        a.has_group = l->tun_has_group;
                        a.group = l->tun_group;
                        a.vnet_hdr = l->tun_vnet_hdr;
                        a.multi_queue = l->tun_multi_queue;
                }
        }
        return push(pl, is_tap ? PH_DEL_TAP : PH_DEL_BRIDGE, &a);
}

static int plan_addr(struct planner *pl, enum phase ph, enum vnc_action_op op, const char *net, const char *ifname,
                     const struct vnc_ipv4_prefix *addr) {
        struct vnc_action a;
        vnc_action_init(&a, VNC_ACT_ADDR, op, pl->profile, net);
        snprintf(a.ifname, sizeof(a.ifname), "%s", ifname);
        a.addr = *addr;
        return push(pl, ph, &a);
}

static int plan_route(struct planner *pl, enum phase ph, enum vnc_action_op op, const char *net, const char *ifname,
                      const struct vnc_route *rt) {
        struct vnc_action a;
        vnc_action_init(&a, VNC_ACT_ROUTE, op, pl->profile, net);
        snprintf(a.ifname, sizeof(a.ifname), "%s", ifname);
        a.addr = rt->to;
        a.via = rt->via;
        return push(pl, ph, &a);
}

static bool route_wanted(const struct vnc_network *n, const struct vnc_route *rt) {
        for (size_t i = 0; n && i < n->n_routes; i++)
                if (n->routes[i].to.addr == rt->to.addr && n->routes[i].to.prefix == rt->to.prefix &&
                    n->routes[i].via == rt->via)
                        return true;
        return false;
}

/* Addresses and routes applied before on a bridge that is still ours, and no longer wanted there. */
static int plan_l3_teardown(struct planner *pl) {
        int r;

        for (size_t i = 0; pl->applied && i < pl->applied->n_networks; i++) {
                const struct vnc_network *old = &pl->applied->networks[i];
                const struct vnc_live_link *l = vnc_live_link_by_name(pl->live, old->bridge);
                if (!owned(pl, l))
                        continue;
                const struct vnc_network *now = find_network(pl->want, old->name);
                bool same_bridge = now && streq(now->bridge, old->bridge);

                for (size_t j = 0; j < old->n_routes; j++) {
                        if (same_bridge && route_wanted(now, &old->routes[j]))
                                continue;
                        if (!live_has_route(pl->live, &old->routes[j], l->ifindex))
                                continue;
                        r = plan_route(pl, PH_DEL_ROUTE, VNC_OP_DELETE, old->name, old->bridge, &old->routes[j]);
                        if (r < 0)
                                return r;
                }
                if (old->has_ipv4 && live_has_addr(pl->live, l->ifindex, &old->ipv4) &&
                    !(same_bridge && now->has_ipv4 && now->ipv4.addr == old->ipv4.addr &&
                      now->ipv4.prefix == old->ipv4.prefix)) {
                        r = plan_addr(pl, PH_DEL_ADDR, VNC_OP_DELETE, old->name, old->bridge, &old->ipv4);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* Is this owned link still wanted, with the same kind and the same tap parameters? */
static bool link_wanted(const struct planner *pl, const struct vnc_live_link *l) {
        const struct vnc_network *wn;
        const struct vnc_tap *t;

        if (!pl->want)
                return false;
        if (streq(l->kind, "vlan"))
                return vlan_link_wanted(pl, l);
        for (size_t i = 0; i < pl->want->n_networks; i++)
                if (streq(pl->want->networks[i].bridge, l->name))
                        return streq(l->kind, "bridge");
        t = tap_index_find(&pl->want_taps, l->name, &wn);
        if (!t || !streq(l->kind, "tun"))
                return false;
        /* Parameters fixed at creation: a change means delete and create again. */
        const struct vnc_tap *old = tap_index_find(&pl->applied_taps, l->name, NULL);
        if (old && (old->has_owner != t->has_owner || old->owner != t->owner || old->has_group != t->has_group ||
                    old->group != t->group || old->vnet_hdr != t->vnet_hdr || old->multi_queue != t->multi_queue))
                return false;
        if (t->has_mac && (!l->has_mac || memcmp(l->mac, t->mac, 6) != 0))
                return false;
        return true;
}

/* Is l the bridge of a network the applied profile knows? */
static bool bridge_applied(const struct planner *pl, const struct vnc_live_link *l) {
        for (size_t i = 0; pl->applied && i < pl->applied->n_networks; i++)
                if (streq(pl->applied->networks[i].bridge, l->name))
                        return true;
        return false;
}

/*
 * A bridge carrying this profile's mark that the applied profile does not know
 * (an older vnetcfg made it, or the journal that knew it is lost). Its
 * addresses and routes are deleted before it, one by one, so a rollback puts
 * them back. Returns 0 to delete it, 1 to leave it: a port that is neither
 * ours nor a tap may be a bridged network's uplink, whose addresses and
 * routes live on the bridge; which of them were the uplink's cannot be told
 * from the host alone, so such a bridge is left to the journal that made it
 * (rollback), with a note.
 */
static int plan_unknown_bridge(struct planner *pl, const struct vnc_live_link *br) {
        const char *net = "";
        int r;

        vnc_alias_is_profile(br->alias, pl->profile, &net);
        for (size_t i = 0; i < pl->live->n_links; i++) {
                const struct vnc_live_link *port = &pl->live->links[i];
                if (port->master != br->ifindex || owned(pl, port) || streq(port->kind, "tun"))
                        continue;
                r = vnc_plan_add_note(pl->ret,
                                      "bridge \"%s\" carries the mark of profile \"%s\" (network \"%s\") but the "
                                      "applied profile does not know it, and \"%s\" is a port of it that vnetcfg did "
                                      "not make (a bridged uplink?): left as it is; \"vnetcfg rollback %s\" undoes "
                                      "the apply that made it while its journal is kept, or take the port out (ip "
                                      "link set %s nomaster) and apply again",
                                      br->name, pl->profile, net, port->name, pl->profile, port->name);
                return r < 0 ? r : 1;
        }
        if ((r = move_routes(pl, PH_DEL_ROUTE, net, br, VNC_OP_DELETE, br->name)) < 0 ||
            (r = move_addrs(pl, PH_DEL_ADDR, net, br, VNC_OP_DELETE, br->name)) < 0)
                return r;
        return 0;
}

/*
 * Every link carrying this profile's mark that the profile does not want goes,
 * whoever made it: what is deleted comes from the host, not from the applied
 * profile. VLAN interfaces, then taps, then bridges (the phases' order): a
 * bridge being deleted has no ports of ours left when its inverse runs last.
 */
static int plan_link_teardown(struct planner *pl) {
        int r;

        for (int pass = 0; pass < 2; pass++)
                for (size_t i = 0; i < pl->live->n_links; i++) {
                        const struct vnc_live_link *l = &pl->live->links[i];
                        bool is_tap = streq(l->kind, "tun");
                        if (!owned(pl, l) || is_tap != (pass == 0) || link_wanted(pl, l))
                                continue;
                        if (!is_tap && !streq(l->kind, "bridge") && !streq(l->kind, "vlan")) {
                                /* Not a kind vnetcfg makes: its undo could not make it again. */
                                r = vnc_plan_add_note(pl->ret,
                                                      "\"%s\" carries the mark of profile \"%s\" but is a %s "
                                                      "link, which vnetcfg never makes: left as it is",
                                                      l->name, pl->profile, l->kind[0] ? l->kind : "physical");
                                if (r < 0)
                                        return r;
                                continue;
                        }
                        if (streq(l->kind, "bridge")) {
                                if (bridge_applied(pl, l))
                                        r = plan_unbridge(pl, l);
                                else
                                        r = plan_unknown_bridge(pl, l);
                                if (r < 0)
                                        return r;
                                if (r > 0)
                                        continue;
                        }
                        r = plan_link_delete(pl, l);
                        if (r < 0)
                                return r;
                }
        return 0;
}

/* ---- creation and modification ------------------------------------------ */

/* An isolated network's bridge whose IPv6 address generation is known and not "none". */
static bool isolated_v6_generating(const struct vnc_network *n, const struct vnc_live_link *l) {
        return n->mode == VNC_MODE_ISOLATED && l->addr_gen != VNC_ADDR_GEN_KEEP && l->addr_gen != VNC_ADDR_GEN_NONE;
}

static int plan_link_modify(struct planner *pl, const struct vnc_network *n, const struct vnc_live_link *l,
                            const char *master) {
        struct vnc_action a;

        vnc_action_init(&a, VNC_ACT_LINK_SET, VNC_OP_MODIFY, pl->profile, n->name);
        snprintf(a.ifname, sizeof(a.ifname), "%s", l->name);
        a.mtu = a.old_mtu = l->mtu;
        a.up = a.old_up = l->admin_up;
        snprintf(a.old_master, sizeof(a.old_master), "%s", master_name(pl, l));
        snprintf(a.master, sizeof(a.master), "%s", a.old_master);
        snprintf(a.old_alias, sizeof(a.old_alias), "%s", l->alias ? l->alias : "");

        if (n->mtu && l->mtu != n->mtu) {
                a.set |= VNC_SET_MTU;
                a.mtu = n->mtu;
        }
        if (master && !streq(a.old_master, master)) {
                a.set |= VNC_SET_MASTER;
                snprintf(a.master, sizeof(a.master), "%s", master);
        }
        if (!l->admin_up) {
                a.set |= VNC_SET_UP;
                a.up = true;
        }
        if (!streq(a.old_alias, a.alias))
                a.set |= VNC_SET_ALIAS;
        else
                snprintf(a.alias, sizeof(a.alias), "%s", a.old_alias);
        if (!master && isolated_v6_generating(n, l)) {
                a.set |= VNC_SET_ADDR_GEN;
                a.addr_gen = VNC_ADDR_GEN_NONE;
                a.old_addr_gen = l->addr_gen;
        }
        if (!a.set)
                return 0;
        return push(pl, PH_SET_LINK, &a);
}

static bool ipv6_link_local(const uint8_t a[16]) {
        return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}

/*
 * An isolated bridge gives the host no address, IPv6 link-local included (the kernel would
 * make one from the bridge's MAC, and every service listening on [::] would be reachable
 * from the guests). A bridge an older vnetcfg made has one: delete it (its inverse puts it
 * back); the bridge's address generation is set to none in plan_link_modify.
 */
static int plan_isolated_v6(struct planner *pl, const struct vnc_network *n, const struct vnc_live_link *br) {
        for (size_t i = 0; i < pl->live->n_addrs; i++) {
                const struct vnc_live_addr *x = &pl->live->addrs[i];
                struct vnc_action a;

                if (x->ifindex != br->ifindex || x->family != AF_INET6 || !ipv6_link_local(x->addr))
                        continue;
                vnc_action_init(&a, VNC_ACT_ADDR, VNC_OP_DELETE, pl->profile, n->name);
                snprintf(a.ifname, sizeof(a.ifname), "%s", br->name);
                a.family = AF_INET6;
                memcpy(a.ip6, x->addr, 16);
                a.addr.prefix = x->prefix;
                int r = push(pl, PH_DEL_ADDR, &a);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* A tap made enslaved to master ("" = none), sized and up; net "" for a trunk tap. */
static int plan_tap_create(struct planner *pl, const char *net, const struct vnc_tap *t, const char *master,
                           uint32_t mtu) {
        struct vnc_action a;

        vnc_action_init(&a, VNC_ACT_TAP, VNC_OP_CREATE, pl->profile, net);
        snprintf(a.ifname, sizeof(a.ifname), "%s", t->name);
        snprintf(a.master, sizeof(a.master), "%s", master);
        a.mtu = mtu;
        a.up = true;
        tap_params(&a, t);
        a.has_mac = t->has_mac;
        memcpy(a.mac, t->mac, 6);
        return push(pl, PH_NEW_TAP, &a);
}

static bool link_survives(const struct planner *pl, const struct vnc_live_link *l) {
        return owned(pl, l) && link_wanted(pl, l);
}

static int plan_network(struct planner *pl, const struct vnc_network *n) {
        const struct vnc_live_link *br = vnc_live_link_by_name(pl->live, n->bridge);
        struct vnc_action a;
        int r;

        if (br && !link_survives(pl, br))
                br = NULL; /* deleted in teardown, created again below */
        if (!br) {
                vnc_action_init(&a, VNC_ACT_BRIDGE, VNC_OP_CREATE, pl->profile, n->name);
                snprintf(a.ifname, sizeof(a.ifname), "%s", n->bridge);
                a.mtu = n->mtu;
                a.up = true;
                if (n->mode == VNC_MODE_ISOLATED)
                        a.addr_gen = VNC_ADDR_GEN_NONE; /* no host address: no IPv6 link-local either */
                const struct vnc_live_link *u =
                        n->mode == VNC_MODE_BRIDGED ? vnc_live_link_by_name(pl->live, n->uplink) : NULL;
                if (u && u->has_mac) {
                        /* The uplink's MAC: DHCP reservations and switch port security keep working. */
                        a.has_mac = true;
                        memcpy(a.mac, u->mac, 6);
                        if (!a.mtu)
                                a.mtu = u->mtu;
                }
                r = push(pl, PH_NEW_BRIDGE, &a);
        } else {
                r = plan_link_modify(pl, n, br, NULL);
                if (r >= 0 && n->mode == VNC_MODE_ISOLATED)
                        r = plan_isolated_v6(pl, n, br);
        }
        if (r < 0)
                return r;

        for (size_t j = 0; j < n->n_taps; j++) {
                const struct vnc_tap *t = &n->taps[j];
                const struct vnc_live_link *tl = vnc_live_link_by_name(pl->live, t->name);

                if (tl && link_survives(pl, tl)) {
                        r = plan_link_modify(pl, n, tl, n->bridge);
                        if (r < 0)
                                return r;
                        continue;
                }
                r = plan_tap_create(pl, n->name, t, n->bridge, n->mtu);
                if (r < 0)
                        return r;
        }

        if (n->mode == VNC_MODE_BRIDGED && (r = plan_bridged(pl, n)) < 0)
                return r;
        if (n->mode == VNC_MODE_VLAN && n->has_vlan && n->vlan.trunk[0] &&
            (r = plan_vlan_subif(pl, n, n->vlan.interface, n->vlan.trunk)) < 0)
                return r;
        if (n->has_ipv4 && !(br && live_has_addr(pl->live, br->ifindex, &n->ipv4))) {
                r = plan_addr(pl, PH_NEW_ADDR, VNC_OP_CREATE, n->name, n->bridge, &n->ipv4);
                if (r < 0)
                        return r;
        }
        for (size_t j = 0; j < n->n_routes; j++) {
                if (br && live_has_route(pl->live, &n->routes[j], br->ifindex))
                        continue;
                r = plan_route(pl, PH_NEW_ROUTE, VNC_OP_CREATE, n->name, n->bridge, &n->routes[j]);
                if (r < 0)
                        return r;
        }
        return 0;
}

static bool profile_needs_forwarding(const struct vnc_profile *p) {
        for (size_t i = 0; p && i < p->n_networks; i++)
                if (vnc_network_needs_forwarding(&p->networks[i]))
                        return true;
        return false;
}

static int plan_sysctls(struct planner *pl) {
        bool want = profile_needs_forwarding(pl->want), had = profile_needs_forwarding(pl->applied);
        const char *cur = vnc_live_sysctl_get(pl->live, SYSCTL_IP_FORWARD);
        struct vnc_action a;

        if (want && (!had || !streq_ptr(cur, "1"))) {
                vnc_action_init(&a, VNC_ACT_SYSCTL, VNC_OP_CREATE, pl->profile, "");
                a.alias[0] = 0;
                snprintf(a.key, sizeof(a.key), SYSCTL_IP_FORWARD);
                snprintf(a.value, sizeof(a.value), "1");
                return push(pl, PH_SYSCTL, &a);
        }
        if (!want && had) {
                vnc_action_init(&a, VNC_ACT_SYSCTL, VNC_OP_DELETE, pl->profile, "");
                a.alias[0] = 0;
                snprintf(a.key, sizeof(a.key), SYSCTL_IP_FORWARD);
                snprintf(a.value, sizeof(a.value), "1");
                return push(pl, PH_SYSCTL, &a);
        }
        return 0;
}

/* ---- firewall ----------------------------------------------------------- */

/*
 * What is wanted comes from the generators (core/fw.c) for the chosen backend;
 * what is deleted comes from the host: every live rule carrying this profile's
 * mark, in either backend, that is not wanted, whatever generator (or older
 * version of vnetcfg) made it. Its inverse recreates it from what the backend
 * read back (or from the applied profile's rules, which carry the same seal).
 */

struct fw_key {
        uint8_t nft; /* 1: nftables backend */
        uint8_t table;
        const char *chain, *comment;
};

static int cmp_fw_key(const void *a, const void *b) {
        const struct fw_key *x = a, *y = b;
        int c = strcmp(x->comment, y->comment);
        if (c)
                return c;
        if (x->nft != y->nft)
                return x->nft < y->nft ? -1 : 1;
        if (x->table != y->table)
                return x->table < y->table ? -1 : 1;
        return strcmp(x->chain, y->chain);
}

static struct fw_key fw_key_of(const struct vnc_fw_rule *r) {
        return (struct fw_key){vnc_fw_rule_is_nft(r), r->table, r->chain, r->comment};
}

static bool fw_key_in(const struct fw_key *keys, size_t n, const struct vnc_fw_rule *r) {
        struct fw_key k = fw_key_of(r);
        return n && bsearch(&k, keys, n, sizeof(*keys), cmp_fw_key);
}

static int cmp_comment(const void *a, const void *b) {
        return strcmp(((const struct vnc_fw_rule *)a)->comment, ((const struct vnc_fw_rule *)b)->comment);
}

static bool fw_chains_present(const struct vnc_live *live, bool nft, uint8_t table) {
        unsigned have = nft ? live->nft_chains : live->fw_chains;
        for (size_t i = 0; i < vnc_fw_n_chains; i++)
                if (vnc_fw_chains[i].table == table && !(have & (1u << i)))
                        return false;
        return true;
}

static int plan_fw_action(struct planner *pl, enum vnc_action_kind kind, enum vnc_action_op op,
                          const struct vnc_fw_rule *r, uint8_t table, bool nft) {
        struct vnc_action a;
        vnc_action_init(&a, kind, op, pl->profile, NULL);
        if (r) {
                a.rule = *r;
                /* the network is the part of the comment between '/' and ' #' */
                const char *net = strchr(r->comment, '/');
                if (net)
                        snprintf(a.network, sizeof(a.network), "%.*s", (int)strcspn(net + 1, " "), net + 1);
        } else
                a.rule.table = table;
        a.rule.backend = nft ? VNC_FW_NFTABLES : VNC_FW_IPTABLES;
        return push(pl, PH_FIREWALL, &a);
}

static int plan_firewall(struct planner *pl, struct vnc_plan *out) {
        _cleanup_free_ struct vnc_fw_rule *want = NULL, *had = NULL;
        _cleanup_free_ struct fw_key *kw = NULL, *kl = NULL;
        size_t nw = 0, nh = 0, nl = 0;
        bool tw[2][_VNC_FW_TABLE_MAX] = {{0}}, th[2][_VNC_FW_TABLE_MAX] = {{0}};
        char prefix[VNC_ALIAS_MAX + 1];
        uint8_t be = VNC_FW_AUTO;
        int r;

        if (pl->want) {
                be = (uint8_t)vnc_fw_backend_choose(pl->want, pl->live, out->fw_reason);
                out->fw_backend = be;
        }
        bool nft = be == VNC_FW_NFTABLES;
        r = vnc_fw_rules_for_profile(pl->want, &want, &nw);
        if (r >= 0)
                r = vnc_fw_rules_for_profile(pl->applied, &had, &nh);
        if (r < 0)
                return r;
        kw = calloc(nw ? nw : 1, sizeof(*kw));
        kl = calloc(pl->live->n_fw_rules ? pl->live->n_fw_rules : 1, sizeof(*kl));
        if (!kw || !kl)
                return -ENOMEM;
        for (size_t i = 0; i < nw; i++) {
                want[i].backend = be;
                kw[i] = fw_key_of(&want[i]);
                tw[nft][want[i].table] = true;
        }
        qsort(kw, nw, sizeof(*kw), cmp_fw_key);
        for (size_t i = 0; i < pl->live->n_fw_rules; i++)
                kl[nl++] = fw_key_of(&pl->live->fw_rules[i].rule);
        qsort(kl, nl, sizeof(*kl), cmp_fw_key);
        if (had)
                qsort(had, nh, sizeof(*had), cmp_comment);

        if (nw > 0 && !nft && !pl->live->fw_available)
                return vnc_error_set(pl->e, VNC_ERR_RUNTIME, -EOPNOTSUPP,
                                     "the iptables (legacy) tables cannot be used on this host: %s",
                                     pl->live->fw_error ? pl->live->fw_error : "unknown reason");
        if (nw > 0 && nft && !pl->live->nft_available)
                return vnc_error_set(pl->e, VNC_ERR_RUNTIME, -EOPNOTSUPP,
                                     "nftables cannot be used on this host: %s",
                                     pl->live->nft_error ? pl->live->nft_error : "unknown reason");

        /* The chosen backend first (its new rules in place before the other's go), then the other:
         * each backend's actions are consecutive, so each is one run (one transaction). */
        snprintf(prefix, sizeof(prefix), "vnetcfg:%s/", pl->profile);
        for (int pass = 0; pass < 2; pass++) {
                bool b = pass == 0 ? nft : !nft;
                for (int t = 0; b == nft && t < _VNC_FW_TABLE_MAX; t++)
                        if (tw[b][t] && !fw_chains_present(pl->live, b, (uint8_t)t) &&
                            (r = plan_fw_action(pl, VNC_ACT_FW_CHAINS, VNC_OP_CREATE, NULL, (uint8_t)t, b)) < 0)
                                return r;
                /* Deletions: this profile's marks on the host that are not wanted. Rules inserted first
                 * are deleted top down and appended ones bottom up, so that the undo (run in reverse)
                 * puts every rule back where it was. */
                for (int appended = 0; appended < 2; appended++)
                        for (size_t k = 0; k < pl->live->n_fw_rules; k++) {
                                size_t i = appended ? pl->live->n_fw_rules - 1 - k : k;
                                const struct vnc_live_fw_rule *lr = &pl->live->fw_rules[i];
                                if (vnc_fw_rule_is_nft(&lr->rule) != b || vnc_fw_rule_appends(&lr->rule) != appended ||
                                    strncmp(lr->rule.comment, prefix, strlen(prefix)) != 0 ||
                                    fw_key_in(kw, nw, &lr->rule))
                                        continue;
                                struct vnc_fw_rule gone = lr->rule;
                                const struct vnc_fw_rule *known =
                                        nh ? bsearch(&lr->rule, had, nh, sizeof(*had), cmp_comment) : NULL;
                                if (known && known->table == lr->rule.table && streq(known->chain, lr->rule.chain))
                                        gone = *known; /* the applied profile's own rule: same seal, every field */
                                else if (!lr->decoded)
                                        gone.opaque = true; /* known by chain and comment only: never recreated */
                                /* else: as the backend read it back, whole */
                                if ((r = plan_fw_action(pl, VNC_ACT_FW_RULE, VNC_OP_DELETE, &gone, 0, b)) < 0)
                                        return r;
                                th[b][lr->rule.table] = true;
                        }
                for (size_t i = 0; b == nft && i < nw; i++)
                        if (!fw_key_in(kl, nl, &want[i]) &&
                            (r = plan_fw_action(pl, VNC_ACT_FW_RULE, VNC_OP_CREATE, &want[i], 0, b)) < 0)
                                return r;
                /* Last table first: the undo makes them again in the order a first apply does. */
                for (int t = _VNC_FW_TABLE_MAX - 1; t >= 0; t--)
                        if (th[b][t] && !tw[b][t] &&
                            (r = plan_fw_action(pl, VNC_ACT_FW_CHAINS, VNC_OP_DELETE, NULL, (uint8_t)t, b)) < 0)
                                return r;
        }
        return 0;
}

/* ---- vlan: 802.1Q sub-interfaces on trunks and trunk taps ---------------- */

/*
 * A vlan network is a bridge like any other; with vlan.trunk, the sub-interface
 * <trunk>.<id> (or vlan.interface) is created on the trunk and enslaved to the
 * bridge. A trunk tap is a tap that is nobody's port, with one sub-interface
 * <tap>.<id> per listed vlan network, each enslaved to that network's bridge.
 * The trunk itself is never changed: it must exist, be no bridge port, and
 * carry the network's MTU.
 */

/* The network whose VLAN interface name is (on a trunk or a trunk tap), its lower link and id. */
static const struct vnc_network *vlan_interface_of(const struct vnc_profile *p, const char *name,
                                                   const char **ret_lower, uint16_t *ret_id) {
        for (size_t i = 0; p && i < p->n_networks; i++) {
                const struct vnc_network *n = &p->networks[i];
                if (n->has_vlan && n->vlan.interface[0] && streq(n->vlan.interface, name)) {
                        if (ret_lower)
                                *ret_lower = n->vlan.trunk;
                        if (ret_id)
                                *ret_id = n->vlan.id;
                        return n;
                }
        }
        for (size_t i = 0; p && i < p->n_trunk_taps; i++) {
                const struct vnc_trunk_tap *tt = &p->trunk_taps[i];
                for (size_t k = 0; k < tt->n_vlans; k++)
                        if (tt->vlans[k] < p->n_networks && streq(tt->subifs[k], name)) {
                                const struct vnc_network *n = &p->networks[tt->vlans[k]];
                                if (ret_lower)
                                        *ret_lower = tt->tap.name;
                                if (ret_id)
                                        *ret_id = n->vlan.id;
                                return n;
                        }
        }
        return NULL;
}

static bool needs_8021q(const struct vnc_profile *p) {
        if (p->n_trunk_taps > 0)
                return true;
        for (size_t i = 0; i < p->n_networks; i++)
                if (p->networks[i].has_vlan && p->networks[i].vlan.trunk[0])
                        return true;
        return false;
}

static int check_vlans(struct planner *pl, const struct vnc_profile *const *others, size_t n_others) {
        const struct vnc_profile *p = pl->want;
        char path[80];
        int r;

        if (needs_8021q(p) &&
            (pl->live->vlan_8021q == VNC_8021Q_MISSING || pl->live->vlan_8021q == VNC_8021Q_UNLOADABLE))
                return vnc_error_set(pl->e, VNC_ERR_RUNTIME, -EOPNOTSUPP,
                                     "this kernel cannot make 802.1Q VLAN interfaces: %s",
                                     pl->live->vlan_8021q == VNC_8021Q_MISSING
                                             ? "it has no 8021q module (install a kernel with CONFIG_VLAN_8021Q, "
                                               "e.g. Debian's linux-image-amd64)"
                                             : "the 8021q module is not loaded and module loading is disabled "
                                               "(kernel.modules_disabled = 1; load 8021q at boot: "
                                               "echo 8021q > /etc/modules-load.d/8021q.conf)");

        for (size_t i = 0; i < p->n_networks; i++) {
                const struct vnc_network *n = &p->networks[i];
                if (!n->has_vlan || !n->vlan.trunk[0])
                        continue;
                const struct vnc_live_link *t = vnc_live_link_by_name(pl->live, n->vlan.trunk);
                snprintf(path, sizeof(path), "networks[%zu].vlan.trunk", i);
                if (!t)
                        return conflict(pl, path, "\"%s\": no such interface on this host (the trunk must exist)",
                                        n->vlan.trunk);
                const struct vnc_live_link *m = vnc_live_link_by_index(pl->live, t->master);
                if (m)
                        return conflict(pl, path,
                                        "\"%s\" is a port of \"%s\": a trunk must be no bridge port; take it out first "
                                        "(ip link set %s nomaster)",
                                        n->vlan.trunk, m->name, n->vlan.trunk);
                if (n->mtu && t->mtu < n->mtu) {
                        snprintf(path, sizeof(path), "networks[%zu].mtu", i);
                        return conflict(pl, path,
                                        "%u: above the MTU %u of trunk \"%s\"; raise the trunk's MTU (ip link set %s "
                                        "mtu %u) or lower this one",
                                        n->mtu, t->mtu, n->vlan.trunk, n->vlan.trunk, n->mtu);
                }
                snprintf(path, sizeof(path), "networks[%zu].vlan.interface", i);
                if ((r = check_name(pl, n->vlan.interface, path, "VLAN interface", others, n_others)) < 0)
                        return r;
        }
        for (size_t i = 0; i < p->n_trunk_taps; i++) {
                const struct vnc_trunk_tap *tt = &p->trunk_taps[i];
                snprintf(path, sizeof(path), "trunk_taps[%zu].name", i);
                if ((r = check_name(pl, tt->tap.name, path, "tap", others, n_others)) < 0)
                        return r;
                for (size_t k = 0; k < tt->n_vlans; k++) {
                        snprintf(path, sizeof(path), "trunk_taps[%zu].vlans[%zu]", i, k);
                        if ((r = check_name(pl, tt->subifs[k], path, "VLAN interface", others, n_others)) < 0)
                                return r;
                }
        }
        return 0;
}

/* An owned VLAN link is kept when the profile still wants it on the same lower link with the same id,
 * and that lower link stays (a trunk tap deleted and made again takes its sub-interfaces with it). */
static bool vlan_link_wanted(const struct planner *pl, const struct vnc_live_link *l) {
        const char *lower = NULL;
        uint16_t id = 0;

        if (!vlan_interface_of(pl->want, l->name, &lower, &id) || id != l->vlan_id)
                return false;
        const struct vnc_live_link *low = vnc_live_link_by_index(pl->live, l->vlan_link);
        if (!low || !streq(low->name, lower))
                return false;
        return !owned(pl, low) || link_wanted(pl, low);
}

static int plan_vlan_delete(struct planner *pl, const struct vnc_live_link *l) {
        const struct vnc_live_link *low = vnc_live_link_by_index(pl->live, l->vlan_link);
        const char *net = "";
        struct vnc_action a;

        vnc_alias_is_profile(l->alias, pl->profile, &net);
        vnc_action_init(&a, VNC_ACT_VLAN, VNC_OP_DELETE, pl->profile, net);
        snprintf(a.ifname, sizeof(a.ifname), "%s", l->name);
        snprintf(a.alias, sizeof(a.alias), "%s", l->alias);
        snprintf(a.vlan_link, sizeof(a.vlan_link), "%s", low ? low->name : "");
        snprintf(a.master, sizeof(a.master), "%s", master_name(pl, l));
        a.vlan_id = l->vlan_id;
        a.mtu = l->mtu;
        a.up = l->admin_up;
        a.has_mac = l->has_mac;
        memcpy(a.mac, l->mac, 6);
        return push(pl, PH_DEL_VLAN, &a);
}

/* ifname on lower, enslaved to n's bridge: created, or its mtu/master/up/alias put right. */
static int plan_vlan_subif(struct planner *pl, const struct vnc_network *n, const char *ifname, const char *lower) {
        const struct vnc_live_link *l = vnc_live_link_by_name(pl->live, ifname);
        struct vnc_action a;

        if (l && link_survives(pl, l))
                return plan_link_modify(pl, n, l, n->bridge);
        vnc_action_init(&a, VNC_ACT_VLAN, VNC_OP_CREATE, pl->profile, n->name);
        snprintf(a.ifname, sizeof(a.ifname), "%s", ifname);
        snprintf(a.vlan_link, sizeof(a.vlan_link), "%s", lower);
        snprintf(a.master, sizeof(a.master), "%s", n->bridge);
        a.vlan_id = n->vlan.id;
        a.mtu = n->mtu;
        a.up = true;
        return push(pl, PH_NEW_VLAN, &a);
}

/* Each trunk tap: the tap (no master, MTU the largest of its VLANs'), then its sub-interfaces. */
static int plan_trunk_taps(struct planner *pl) {
        const struct vnc_profile *p = pl->want;
        int r;

        for (size_t i = 0; p && i < p->n_trunk_taps; i++) {
                const struct vnc_trunk_tap *tt = &p->trunk_taps[i];
                const struct vnc_tap *t = &tt->tap;
                const struct vnc_live_link *tl = vnc_live_link_by_name(pl->live, t->name);
                struct vnc_network carrier = {.name = ""}; /* the tap's own settings, as a network's */

                bool sized = false;
                for (size_t k = 0; k < tt->n_vlans; k++) {
                        uint32_t m = p->networks[tt->vlans[k]].mtu;
                        sized |= m != 0;
                        if ((m ? m : 1500) > carrier.mtu)
                                carrier.mtu = m ? m : 1500;
                }
                if (!sized)
                        carrier.mtu = 0; /* nothing asked: the kernel's defaults everywhere */
                if (tl && link_survives(pl, tl))
                        r = plan_link_modify(pl, &carrier, tl, "");
                else
                        r = plan_tap_create(pl, "", t, "", carrier.mtu);
                if (r < 0)
                        return r;
                for (size_t k = 0; k < tt->n_vlans; k++) {
                        /* A sub-interface of a sized tap gets its own network's MTU, 1500 when unset. */
                        struct vnc_network nn = p->networks[tt->vlans[k]];
                        if (!nn.mtu && sized)
                                nn.mtu = 1500;
                        if ((r = plan_vlan_subif(pl, &nn, tt->subifs[k], t->name)) < 0)
                                return r;
                }
        }
        return 0;
}

/* ---- openings in a foreign firewall (core/open.h) ------------------------ */

static bool opening_live(const struct vnc_live *l, uint8_t place, const char *chain, const char *comment) {
        for (size_t i = 0; i < l->n_openings; i++)
                if (l->openings[i].place == place && streq(l->openings[i].chain, chain) &&
                    streq(l->openings[i].comment, comment))
                        return true;
        return false;
}

static unsigned open_chain_bit(const char *chain) {
        return streq(chain, "INPUT") ? VNC_OPEN_INPUT : streq(chain, "FORWARD") ? VNC_OPEN_FORWARD : 0;
}

static int push_opening(struct planner *pl, enum vnc_action_op op, uint8_t place, const struct vnc_fw_rule *rule,
                        const struct vnc_network *n, const char *zone) {
        struct vnc_action a;
        vnc_action_init(&a, VNC_ACT_FW_OPEN, op, pl->profile, NULL);
        a.place = place;
        if (rule) {
                a.rule = *rule;
                const char *net = strchr(rule->comment, '/');
                if (net)
                        snprintf(a.network, sizeof(a.network), "%.*s", (int)strcspn(net + 1, " "), net + 1);
        } else {
                snprintf(a.network, sizeof(a.network), "%s", n->name);
                snprintf(a.ifname, sizeof(a.ifname), "%s", n->bridge);
                snprintf(a.zone, sizeof(a.zone), "%s", zone);
        }
        return push(pl, PH_OPEN, &a);
}

static const struct vnc_fw_rule *find_rule(const struct vnc_fw_rule *rules, size_t n, const char *chain,
                                           const char *comment) {
        for (size_t i = 0; i < n; i++)
                if (streq(rules[i].chain, chain) && streq(rules[i].comment, comment))
                        return &rules[i];
        return NULL;
}

static const struct vnc_network *network_by_bridge(const struct vnc_profile *p, const char *bridge) {
        for (size_t i = 0; p && i < p->n_networks; i++)
                if (streq(p->networks[i].bridge, bridge))
                        return &p->networks[i];
        return NULL;
}

/* firewalld: the zone the live host has the interface in, or NULL. */
static const char *live_zone_of(const struct vnc_live *l, const char *ifname) {
        for (size_t i = 0; i < l->n_openings; i++)
                if (l->openings[i].place == VNC_OPEN_FIREWALLD && streq(l->openings[i].comment, ifname))
                        return l->openings[i].chain;
        return NULL;
}

static int plan_openings(struct planner *pl, uint8_t backend) {
        _cleanup_free_ struct vnc_fw_rule *want = NULL, *had = NULL;
        size_t nw = 0, nh = 0;
        char prefix[VNC_ALIAS_MAX + 1];
        const struct vnc_live *l = pl->live;
        int r;

        snprintf(prefix, sizeof(prefix), "vnetcfg:%s/", pl->profile);
        /* The openings' rules (the profile's whole rule set, rendered again) only where an iptables
         * place needs openings or holds ours: a host without such a firewall (most) skips them. */
        bool iptables_places = l->open_need[VNC_OPEN_IPT_NFT] ||
                               (l->open_need[VNC_OPEN_IPT_LEGACY] && backend != VNC_FW_IPTABLES);
        for (size_t i = 0; !iptables_places && i < l->n_openings; i++)
                iptables_places = l->openings[i].place != VNC_OPEN_FIREWALLD &&
                                  strncmp(l->openings[i].comment, prefix, strlen(prefix)) == 0;
        if (iptables_places && pl->want && (r = vnc_open_rules_for_profile(pl->want, &want, &nw)) < 0)
                return r;
        if (iptables_places && pl->applied && (r = vnc_open_rules_for_profile(pl->applied, &had, &nh)) < 0)
                return r;

        for (uint8_t place = VNC_OPEN_IPT_NFT; place <= VNC_OPEN_IPT_LEGACY; place++) {
                uint8_t need = l->open_need[place];
                /* With the iptables backend, vnetcfg's own jumps are inserted at the top of the legacy
                 * filter INPUT/FORWARD (fw-iptc.c chains_create), so its accepts are decided before any
                 * admin's DROP there and the policy: no openings in the legacy tables (any left from
                 * the nftables backend go). */
                if (place == VNC_OPEN_IPT_LEGACY && backend == VNC_FW_IPTABLES)
                        need = 0;
                /* Ours that are no longer wanted there (the rule from a generation, for an exact undo). */
                for (size_t i = 0; i < l->n_openings; i++) {
                        const struct vnc_live_opening *o = &l->openings[i];
                        if (o->place != place || strncmp(o->comment, prefix, strlen(prefix)) != 0)
                                continue;
                        const struct vnc_fw_rule *w = find_rule(want, nw, o->chain, o->comment);
                        if (w && (need & open_chain_bit(o->chain)))
                                continue;
                        struct vnc_fw_rule orphan = {.table = VNC_FW_TABLE_FILTER, .icmp_type = -1};
                        const struct vnc_fw_rule *known = w ? w : find_rule(had, nh, o->chain, o->comment);
                        if (!known) {
                                snprintf(orphan.chain, sizeof(orphan.chain), "%.15s", o->chain);
                                snprintf(orphan.comment, sizeof(orphan.comment), "%s", o->comment);
                                known = &orphan;
                        }
                        if ((r = push_opening(pl, VNC_OP_DELETE, place, known, NULL, NULL)) < 0)
                                return r;
                }
                for (size_t i = 0; i < nw; i++)
                        if ((need & open_chain_bit(want[i].chain)) &&
                            !opening_live(l, place, want[i].chain, want[i].comment) &&
                            (r = push_opening(pl, VNC_OP_CREATE, place, &want[i], NULL, NULL)) < 0)
                                return r;
        }

        /* firewalld: each bridge of ours in the zone its mode asks for. */
        for (size_t i = 0; pl->applied && i < pl->applied->n_networks; i++) {
                const struct vnc_network *n = &pl->applied->networks[i];
                const char *zone = vnc_open_firewalld_zone(n), *cur = live_zone_of(l, n->bridge);
                const struct vnc_network *w = network_by_bridge(pl->want, n->bridge);
                const char *wz = w && l->open_need[VNC_OPEN_FIREWALLD] ? vnc_open_firewalld_zone(w) : NULL;
                if (zone && cur && streq(cur, zone) && !streq_ptr(wz, zone) &&
                    (r = push_opening(pl, VNC_OP_DELETE, VNC_OPEN_FIREWALLD, NULL, n, zone)) < 0)
                        return r;
        }
        for (size_t i = 0; l->open_need[VNC_OPEN_FIREWALLD] && pl->want && i < pl->want->n_networks; i++) {
                const struct vnc_network *n = &pl->want->networks[i];
                const char *zone = vnc_open_firewalld_zone(n), *cur = live_zone_of(l, n->bridge);
                if (zone && !streq_ptr(cur, zone) &&
                    (r = push_opening(pl, VNC_OP_CREATE, VNC_OPEN_FIREWALLD, NULL, n, zone)) < 0)
                        return r;
        }
        return 0;
}

/* ---- dhcp ---------------------------------------------------------------- */

static int plan_dhcp(struct planner *pl, struct vnc_plan *blobs) {
        _cleanup_free_ char *text = NULL;
        char hash[17] = "";
        struct vnc_action a;
        int r;

        if (pl->want && (r = vnc_dhcp_config(pl->want, &text)) < 0)
                return r;
        if (text && (r = vnc_plan_add_blob(blobs, text, hash)) < 0)
                return r;
        if (text && pl->live->dhcp_running && streq(pl->live->dhcp_blob, hash))
                return 0;
        if (!text && !pl->live->dhcp_running)
                return 0;

        vnc_action_init(&a, VNC_ACT_DHCP, VNC_OP_CREATE, pl->profile, NULL);
        a.alias[0] = 0;
        if (!text) {
                a.op = VNC_OP_DELETE;
                snprintf(a.blob, sizeof(a.blob), "%s", pl->live->dhcp_blob);
        } else if (pl->live->dhcp_running) {
                a.op = VNC_OP_MODIFY;
                memcpy(a.blob, hash, sizeof(a.blob));
                snprintf(a.old_blob, sizeof(a.old_blob), "%s", pl->live->dhcp_blob);
        } else
                memcpy(a.blob, hash, sizeof(a.blob));
        return push(pl, PH_DHCP, &a);
}

int vnc_plan_compute(const struct vnc_profile *want, const struct vnc_profile *applied, const struct vnc_live *live,
                     const struct vnc_profile *const *others, size_t n_others, struct vnc_plan *ret,
                     struct vnc_error *e) {
        struct planner pl = {
                .want = want,
                .applied = applied,
                .live = live,
                .profile = want ? want->name : applied->name,
                .ret = ret,
                .e = e,
        };
        int r;

        r = tap_index_build(&pl.want_taps, want);
        if (r >= 0)
                r = tap_index_build(&pl.applied_taps, applied);
        if (r < 0)
                goto finish;
        if (want) {
                r = check_conflicts(&pl, others, n_others);
                if (r < 0)
                        goto finish;
        }
        r = vnc_plan_libvirt(want, applied, live, &pl.phase[PH_DEL_LIBVIRT], &pl.phase[PH_LIBVIRT], ret, e);
        if (r < 0)
                goto finish;
        r = plan_l3_teardown(&pl);
        if (r < 0)
                goto finish;
        r = plan_link_teardown(&pl);
        if (r < 0)
                goto finish;
        for (size_t i = 0; want && i < want->n_networks; i++) {
                r = plan_network(&pl, &want->networks[i]);
                if (r < 0)
                        goto finish;
        }
        r = plan_trunk_taps(&pl);
        if (r < 0)
                goto finish;
        r = plan_sysctls(&pl);
        if (r >= 0)
                r = plan_firewall(&pl, ret);
        if (r >= 0)
                r = plan_openings(&pl, ret->fw_backend);
        if (r >= 0)
                r = plan_dhcp(&pl, ret);
        if (r < 0)
                goto finish;
        for (int ph = 0; ph < _PH_MAX; ph++)
                for (size_t i = 0; i < pl.phase[ph].n_actions; i++) {
                        r = vnc_plan_append(ret, &pl.phase[ph].actions[i]);
                        if (r < 0)
                                goto finish;
                }
finish:
        if (r == -ENOMEM)
                vnc_error_set(e, VNC_ERR_RUNTIME, r, "out of memory while planning");
        for (int ph = 0; ph < _PH_MAX; ph++)
                vnc_plan_done(&pl.phase[ph]);
        free(pl.want_taps.refs);
        free(pl.applied_taps.refs);
        return r;
}
