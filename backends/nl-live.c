/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <sys/utsname.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/random.h>
#include <unistd.h>

#include <netlink/cache.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/inet6.h>
#include <netlink/route/link/vlan.h>
#include <netlink/route/route.h>

#include "backends.h"
#include "model.h"
#include "nl.h"
#include "record.h"
#include "sysctl.h"

static void nl_cache_freep(struct nl_cache **c) {
        if (*c)
                nl_cache_free(*c);
}
static void vnc_live_freep(struct vnc_live **l) { vnc_live_free(*l); }

static int dump_failed(struct vnc_error *e, const char *what, int nlerr) {
        int r = vnc_error_set(e, VNC_ERR_RUNTIME, -EIO, "could not read the host's %s", what);
        vnc_error_detail(e, "%s", nl_geterror(nlerr));
        return r;
}

/* /sys/class/net/<name>/wireless or .../phy80211. The name is checked before it becomes a path. */
static bool link_is_wireless(const char *name) {
        _cleanup_free_ char *p1 = NULL, *p2 = NULL;

        if (!vnc_ifname_valid(name))
                return false;
        p1 = vnc_strdup_printf("/sys/class/net/%s/wireless", name);
        p2 = vnc_strdup_printf("/sys/class/net/%s/phy80211", name);
        if (!p1 || !p2)
                return false;
        return faccessat(AT_FDCWD, p1, F_OK, AT_EACCESS) == 0 || faccessat(AT_FDCWD, p2, F_OK, AT_EACCESS) == 0;
}

/* A number in /sys/class/net/<name>/<attr> ("0x1002", "1000", "-1"); false when unreadable. */
static bool sysfs_long(const char *name, const char *attr, long *ret) {
        _cleanup_free_ char *p = vnc_strdup_printf("/sys/class/net/%s/%s", name, attr);
        _cleanup_close_ int fd = p ? open(p, O_RDONLY | O_CLOEXEC) : -1;
        char buf[32], *end;
        ssize_t n;

        if (fd < 0 || (n = read(fd, buf, sizeof(buf) - 1)) <= 0)
                return false;
        buf[n] = 0;
        errno = 0;
        *ret = strtol(buf, &end, 0);
        return errno == 0 && end != buf && (*end == '\n' || *end == 0);
}

/*
 * tun: how a tap was made, so that deleting a marked one no applied profile
 * knows (an older vnetcfg's, a lost journal's) has an exact undo. Three small
 * sysfs reads: the core asks only for the taps it may have to delete that way.
 */
void vnc_live_tun_read(struct vnc_live_link *l) {
        long flags, owner, group;

        if (vnc_record_on() || l->tun_read || !streq(l->kind, "tun"))
                return; /* the recorded host says it in its fixture (tests/record) */
        if (!vnc_ifname_valid(l->name) || !sysfs_long(l->name, "tun_flags", &flags) ||
            !sysfs_long(l->name, "owner", &owner) || !sysfs_long(l->name, "group", &group))
                return;
        l->tun_read = true;
        l->tun_vnet_hdr = flags & IFF_VNET_HDR;
        l->tun_multi_queue = flags & IFF_MULTI_QUEUE;
        l->tun_has_owner = owner >= 0;
        l->tun_owner = owner >= 0 ? (uint32_t)owner : 0;
        l->tun_has_group = group >= 0;
        l->tun_group = group >= 0 ? (uint32_t)group : 0;
}

static void copy_addr(uint8_t dst[16], struct nl_addr *a) {
        size_t n = nl_addr_get_len(a);
        memset(dst, 0, 16);
        memcpy(dst, nl_addr_get_binary_addr(a), n > 16 ? 16 : n);
}

struct links_fill {
        struct vnc_live *live;
        uint32_t *groups;
        size_t n_groups, alloc_groups;
        bool want_groups;
        bool details; /* the planner's read: also what only sysfs says (wireless) */
        int error;
};

static void fill_link(struct nl_object *obj, void *arg) {
        struct links_fill *f = arg;
        struct rtnl_link *link = (struct rtnl_link *)obj;
        const char *name = rtnl_link_get_name(link), *type = rtnl_link_get_type(link),
                   *alias = rtnl_link_get_ifalias(link);
        struct nl_addr *mac = rtnl_link_get_addr(link);

        if (f->error < 0)
                return;
        if (f->want_groups) {
                if (VNC_GROW(f->groups, f->alloc_groups, f->n_groups + 1) < 0) {
                        f->error = -ENOMEM;
                        return;
                }
                f->groups[f->n_groups++] = rtnl_link_get_group(link);
        }
        struct vnc_live_link *l = vnc_live_add_link(f->live);
        if (!l) {
                f->error = -ENOMEM;
                return;
        }
        l->ifindex = rtnl_link_get_ifindex(link);
        snprintf(l->name, sizeof(l->name), "%s", name ? name : "");
        snprintf(l->kind, sizeof(l->kind), "%s", type ? type : "");
        l->master = rtnl_link_get_master(link);
        l->mtu = rtnl_link_get_mtu(link);
        unsigned flags = rtnl_link_get_flags(link);
        l->admin_up = flags & IFF_UP;
        uint8_t oper = rtnl_link_get_operstate(link);
        l->oper_up = oper == IF_OPER_UP || (oper == IF_OPER_UNKNOWN && (flags & IFF_LOWER_UP));
        if (alias && *alias) {
                l->alias = strdup(alias);
                if (!l->alias) {
                        f->error = -ENOMEM;
                        return;
                }
        }
        if (mac && nl_addr_get_len(mac) == 6) {
                l->has_mac = true;
                memcpy(l->mac, nl_addr_get_binary_addr(mac), 6);
        }
        /* Every link but lo and those vnetcfg made (two sysfs lookups each, 2200 for 100 networks
         * of 10 taps: a tenth of a no-op apply): real wireless NICs have no rtnl kind, but the
         * refusal is tested on a veth marked through sysfs; a link carrying vnetcfg's mark is a
         * bridge, tap or VLAN vnetcfg created, never a wireless NIC. */
        l->wireless = f->details && !(flags & IFF_LOOPBACK) && !(l->alias && strncmp(l->alias, "vnetcfg:", 8) == 0) &&
                      link_is_wireless(l->name);
        /* IPv6 address generation (IFLA_INET6_ADDR_GEN_MODE): an isolated bridge must have none */
        uint8_t gen;
        if (rtnl_link_inet6_get_addr_gen_mode(link, &gen) == 0 && gen + 1 < _VNC_ADDR_GEN_MAX)
                l->addr_gen = (uint8_t)(gen + 1);
        /* vlan: the lower link and the 802.1Q id of a VLAN sub-interface */
        if (rtnl_link_is_vlan(link)) {
                int id = rtnl_link_vlan_get_id(link);
                l->vlan_link = rtnl_link_get_link(link);
                l->vlan_id = id > 0 && id < 4095 ? (uint16_t)id : 0;
        }
}

static void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}

/* vlan: does modules file list 8021q ("kernel/net/8021q/8021q.ko[.xz|.zst]")? */
static bool modules_file_lists_8021q(const char *release, const char *file) {
        _cleanup_free_ char *path = vnc_strdup_printf("/lib/modules/%s/%s", release, file);
        _cleanup_(fclosep) FILE *f = path ? fopen(path, "re") : NULL;
        _cleanup_free_ char *line = NULL;
        size_t size = 0;

        if (!f)
                return false;
        while (getline(&line, &size, f) > 0) {
                size_t n = strcspn(line, ":\n");
                line[n] = 0;
                const char *base = strrchr(line, '/');
                base = base ? base + 1 : line;
                if (strncmp(base, "8021q.ko", 8) == 0)
                        return true;
        }
        return false;
}

/* vlan: can this kernel make 802.1Q sub-interfaces, and how? */
static int read_8021q(void) {
        struct utsname u;
        _cleanup_free_ char *disabled = NULL;

        if (access("/proc/net/vlan", F_OK) == 0)
                return VNC_8021Q_LOADED;
        if (uname(&u) < 0 || strchr(u.release, '/'))
                return VNC_8021Q_UNKNOWN;
        if (modules_file_lists_8021q(u.release, "modules.builtin"))
                return VNC_8021Q_BUILTIN;
        if (!modules_file_lists_8021q(u.release, "modules.dep"))
                return VNC_8021Q_MISSING;
        if (vnc_sysctl_read("kernel.modules_disabled", &disabled) >= 0 && streq(disabled, "1"))
                return VNC_8021Q_UNLOADABLE;
        return VNC_8021Q_LOADABLE;
}

static int read_links(struct nl_sock *sk, struct vnc_live *live, uint32_t *ret_unused_group, bool details,
                      struct vnc_error *e) {
        _cleanup_(nl_cache_freep) struct nl_cache *cache = NULL;
        struct links_fill f = {.live = live, .want_groups = ret_unused_group != NULL, .details = details};
        int r;

        r = rtnl_link_alloc_cache(sk, AF_UNSPEC, &cache);
        if (r < 0)
                return dump_failed(e, "links", r);
        nl_cache_foreach(cache, fill_link, &f);
        if (f.error < 0) {
                free(f.groups);
                return vnc_error_set(e, VNC_ERR_RUNTIME, f.error, "could not read the host's links: out of memory");
        }
        if (ret_unused_group) {
                uint32_t g = 0;
                for (int tries = 0; tries < 64 && g == 0; tries++) {
                        uint32_t rnd;
                        if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
                                rnd = (uint32_t)getpid() * 2654435761u + (uint32_t)tries;
                        g = 0x10000000u + rnd % (0x7fffffffu - 0x10000000u + 1);
                        for (size_t i = 0; i < f.n_groups; i++)
                                if (f.groups[i] == g) {
                                        g = 0;
                                        break;
                                }
                }
                free(f.groups);
                if (g == 0)
                        return vnc_error_set(e, VNC_ERR_RUNTIME, -EBUSY, "could not find an unused link group");
                *ret_unused_group = g;
        }
        return 0;
}

int vnc_nl_read_links(struct vnc_nl *nl, struct vnc_live **ret, uint32_t *ret_unused_group, struct vnc_error *e) {
        _cleanup_(vnc_live_freep) struct vnc_live *live = calloc(1, sizeof(*live));
        int r;

        if (!live)
                return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
        if (vnc_record_on()) {
                /* The recorded host, not the kernel's (tests/record). */
                r = vnc_record_read_links(ret, ret_unused_group);
                return r < 0 ? vnc_error_set(e, VNC_ERR_RUNTIME, r, "out of memory") : 0;
        }
        r = read_links(nl->sock, live, ret_unused_group, false, e);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(live);
        return 0;
}

struct fill_ctx {
        struct vnc_live *live;
        int error;
};

static void fill_addr(struct nl_object *obj, void *arg) {
        struct fill_ctx *f = arg;
        struct rtnl_addr *a = (struct rtnl_addr *)obj;
        int family = rtnl_addr_get_family(a);
        struct nl_addr *local = rtnl_addr_get_local(a);

        if (f->error < 0 || (family != AF_INET && family != AF_INET6) || !local)
                return;
        struct vnc_live_addr *l = vnc_live_add_addr(f->live);
        if (!l) {
                f->error = -ENOMEM;
                return;
        }
        l->ifindex = rtnl_addr_get_ifindex(a);
        l->family = family;
        copy_addr(l->addr, local);
        l->prefix = (uint8_t)rtnl_addr_get_prefixlen(a);
        l->flags = (uint32_t)rtnl_addr_get_flags(a);
        l->scope = (uint8_t)rtnl_addr_get_scope(a);
        struct nl_addr *brd = rtnl_addr_get_broadcast(a);
        if (family == AF_INET && brd && nl_addr_get_len(brd) == 4) {
                l->has_broadcast = true;
                memcpy(l->broadcast, nl_addr_get_binary_addr(brd), 4);
        }
}

static void fill_route(struct nl_object *obj, void *arg) {
        struct fill_ctx *f = arg;
        struct rtnl_route *rt = (struct rtnl_route *)obj;
        int family = rtnl_route_get_family(rt);

        if (f->error < 0 || (family != AF_INET && family != AF_INET6))
                return;
        struct vnc_live_route *l = vnc_live_add_route(f->live);
        if (!l) {
                f->error = -ENOMEM;
                return;
        }
        l->family = family;
        struct nl_addr *dst = rtnl_route_get_dst(rt);
        if (dst) {
                copy_addr(l->dst, dst);
                l->dst_len = (uint8_t)nl_addr_get_prefixlen(dst);
        }
        if (rtnl_route_get_nnexthops(rt) > 0) {
                /* Multipath routes: the first hop stands for the route. */
                struct rtnl_nexthop *nh = rtnl_route_nexthop_n(rt, 0);
                struct nl_addr *gw = rtnl_route_nh_get_gateway(nh);
                l->oif = rtnl_route_nh_get_ifindex(nh);
                if (gw && nl_addr_get_len(gw) > 0) {
                        l->has_gw = true;
                        copy_addr(l->gw, gw);
                }
        }
        l->table = rtnl_route_get_table(rt);
        l->metric = rtnl_route_get_priority(rt);
        l->protocol = rtnl_route_get_protocol(rt);
        l->scope = rtnl_route_get_scope(rt);
        l->type = rtnl_route_get_type(rt);
        struct nl_addr *src = rtnl_route_get_pref_src(rt);
        if (src && nl_addr_get_len(src) > 0) {
                l->has_prefsrc = true;
                copy_addr(l->prefsrc, src);
        }
}

int vnc_live_read(struct vnc_live **ret, struct vnc_error *e) {
        _cleanup_(vnc_nl_freep) struct vnc_nl *nl = NULL;
        _cleanup_(vnc_live_freep) struct vnc_live *live = NULL;
        _cleanup_(nl_cache_freep) struct nl_cache *addrs = NULL, *routes = NULL;
        _cleanup_free_ char *fwd = NULL;
        struct fill_ctx f;
        int r;

        if (vnc_record_on()) {
                r = vnc_record_live_read(ret);
                return r < 0 ? vnc_error_set(e, VNC_ERR_RUNTIME, r, "out of memory") : 0;
        }
        r = vnc_nl_open(&nl, e);
        if (r < 0)
                return r;
        live = calloc(1, sizeof(*live));
        if (!live)
                return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
        r = read_links(nl->sock, live, NULL, true, e);
        if (r < 0)
                return r;
        live->vlan_8021q = read_8021q();

        r = rtnl_addr_alloc_cache(nl->sock, &addrs);
        if (r < 0)
                return dump_failed(e, "addresses", r);
        f = (struct fill_ctx){.live = live};
        nl_cache_foreach(addrs, fill_addr, &f);
        if (f.error < 0)
                return vnc_error_set(e, VNC_ERR_RUNTIME, f.error, "could not read the host's addresses: out of memory");

        /* AF_UNSPEC, no flags: every table of every family; IPv4 and IPv6 are kept. */
        r = rtnl_route_alloc_cache(nl->sock, AF_UNSPEC, 0, &routes);
        if (r < 0)
                return dump_failed(e, "routes", r);
        f = (struct fill_ctx){.live = live};
        nl_cache_foreach(routes, fill_route, &f);
        if (f.error < 0)
                return vnc_error_set(e, VNC_ERR_RUNTIME, f.error, "could not read the host's routes: out of memory");

        r = vnc_sysctl_read("net.ipv4.ip_forward", &fwd);
        if (r < 0) {
                int rr = vnc_error_set(e, VNC_ERR_RUNTIME, r, "sysctl \"net.ipv4.ip_forward\": could not read");
                vnc_error_detail(e, "%s", strerror(-r));
                return rr;
        }
        r = vnc_live_set_sysctl(live, "net.ipv4.ip_forward", fwd);
        if (r < 0)
                return vnc_error_set(e, VNC_ERR_RUNTIME, r, "out of memory");

        *ret = TAKE_PTR(live);
        return 0;
}
