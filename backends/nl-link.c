/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <unistd.h>

#include <netlink/attr.h>

#include "backends.h"
#include "model.h"
#include "nl.h"
#include "record.h"
#include "sysctl.h"

static void vnc_live_freep(struct vnc_live **l) { vnc_live_free(*l); }

/* ---- deleting links we own (shared with tap.c) ---- */

static bool link_owned(const struct vnc_live_link *l, const struct vnc_nl_link_del *d, bool undo) {
        if (l->alias && d->alias && d->alias[0] && streq(l->alias, d->alias))
                return true;
        return undo && !l->alias && d->kind && streq(l->kind, d->kind);
}

static void del_error(struct vnc_nl_link_del *d, const struct vnc_nl_result *r) {
        vnc_nl_result_error(&d->err, r, "%s \"%s\": could not delete", d->what, d->ifname);
        d->error = d->err.code;
}

int vnc_nl_links_delete(struct vnc_nl *nl, struct vnc_nl_link_del *dels, size_t n, bool undo,
                        struct vnc_error *e) {
        _cleanup_(vnc_live_freep) struct vnc_live *links = NULL;
        _cleanup_(vnc_nl_batch_donep) struct vnc_nl_batch b = {0};
        _cleanup_free_ int *owned = NULL; /* ifindex per entry, 0 when not to be deleted */
        uint32_t group = 0;
        size_t n_owned = 0;
        int r, first = 0;

        for (size_t i = 0; i < n; i++) {
                dels[i].error = 0;
                dels[i].err = (struct vnc_error){0};
        }
        if (n == 0)
                return 0;
        owned = calloc(n, sizeof(*owned));
        if (!owned)
                return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
        /* A fresh dump: ownership is judged on what is there now, not on what was there before the run. */
        r = vnc_nl_read_links(nl, &links, &group, e);
        if (r < 0) {
                for (size_t i = 0; i < n; i++)
                        dels[i].error = r;
                return r;
        }
        for (size_t i = 0; i < n; i++) {
                struct vnc_nl_link_del *d = &dels[i];
                const struct vnc_live_link *l = vnc_live_link_by_name(links, d->ifname);
                if (!l)
                        continue; /* already gone */
                if (!link_owned(l, d, undo)) {
                        if (undo)
                                continue; /* someone else's link under our name: leave it */
                        d->error = vnc_error_set(&d->err, VNC_ERR_RUNTIME, -EPERM,
                                                 "%s \"%s\": not deleting a link vnetcfg does not own", d->what,
                                                 d->ifname);
                        vnc_error_detail(&d->err, "alias \"%s\", kind \"%s\", expected alias \"%s\"",
                                         l->alias ? l->alias : "", l->kind, d->alias ? d->alias : "");
                        continue;
                }
                owned[i] = l->ifindex;
                n_owned++;
        }

        if (n_owned == 1) {
                for (size_t i = 0; i < n; i++)
                        if (owned[i] > 0 &&
                            (r = vnc_nl_batch_add(&b, vnc_nl_link_msg(RTM_DELLINK, 0, owned[i], 0, 0), i)) < 0)
                                return vnc_error_set(e, VNC_ERR_RUNTIME, r, "out of memory");
        } else if (n_owned > 1) {
                /*
                 * Each deleted link costs an RCU grace period (~30 ms); links deleted
                 * together by group share one. Move ours into an unused group, then
                 * delete the group, all in one batch. Bridges still cost one each
                 * (the kernel's bridge teardown calls rcu_barrier(), in
                 * br_multicast_dev_del()), about 16 ms: 100 bridges take 1.6 s however
                 * they are deleted (bench/apply-bench.sh prints that floor).
                 */
                for (size_t i = 0; i < n; i++) {
                        if (owned[i] <= 0)
                                continue;
                        struct nl_msg *m = vnc_nl_link_msg(RTM_SETLINK, 0, owned[i], 0, 0);
                        if (m && nla_put_u32(m, IFLA_GROUP, group) < 0) {
                                nlmsg_free(m);
                                m = NULL;
                        }
                        if ((r = vnc_nl_batch_add(&b, m, i)) < 0)
                                return vnc_error_set(e, VNC_ERR_RUNTIME, r, "out of memory");
                }
                struct nl_msg *m = vnc_nl_link_msg(RTM_DELLINK, 0, 0, 0, 0);
                if (m && nla_put_u32(m, IFLA_GROUP, group) < 0) {
                        nlmsg_free(m);
                        m = NULL;
                }
                if ((r = vnc_nl_batch_add(&b, m, SIZE_MAX)) < 0)
                        return vnc_error_set(e, VNC_ERR_RUNTIME, r, "out of memory");
        }
        if (b.n > 0) {
                r = vnc_nl_batch_flush(nl, &b, false, e);
                if (r < 0) {
                        for (size_t i = 0; i < n; i++)
                                if (owned[i] > 0)
                                        dels[i].error = r;
                        return r;
                }
        }
        const struct vnc_nl_result *group_del = NULL;
        for (size_t k = 0; k < b.n; k++) {
                const struct vnc_nl_result *res = &b.res[k];
                if (res->tag == SIZE_MAX) {
                        group_del = res;
                        continue;
                }
                if (res->error == -ENODEV)
                        owned[res->tag] = 0; /* vanished meanwhile: as good as deleted */
                else if (res->error < 0)
                        del_error(&dels[res->tag], res);
        }
        if (group_del && group_del->error < 0 && group_del->error != -ENODEV)
                for (size_t i = 0; i < n; i++)
                        if (owned[i] > 0 && dels[i].error == 0)
                                del_error(&dels[i], group_del);
        for (size_t i = 0; i < n; i++)
                if (dels[i].error < 0) {
                        if (first == 0) {
                                first = dels[i].error;
                                if (e && !vnc_error_isset(e)) {
                                        /* copy, the entry keeps its own */
                                        vnc_error_set(e, dels[i].err.kind, dels[i].err.code, "%s",
                                                      dels[i].err.message ? dels[i].err.message : "");
                                        if (dels[i].err.detail)
                                                vnc_error_detail(e, "%s", dels[i].err.detail);
                                }
                        }
                }
        return first;
}

/* ---- the netlink backend: BRIDGE, LINK_SET, ADDR, ROUTE ---- */

enum { ROLE_MAIN, ROLE_ALIAS, _ROLE_MAX };
#define TAG(i, role) ((i) * _ROLE_MAX + (role))

struct act_state {
        bool processed;        /* its requests were queued (or it needed none) */
        struct vnc_error err;  /* failed before or without a request */
};

struct run {
        struct vnc_backend_ctx *ctx;
        const struct vnc_action *acts;
        size_t n;
        bool undo;
        struct vnc_nl *nl;
        struct vnc_nl_batch b;
        struct vnc_live *fresh;   /* links dumped during this run */
        bool fresh_current;       /* dumped since the last flush */
        size_t *alias_pending;    /* bridge creates whose alias is set once the create is acked */
        size_t n_alias_pending, alloc_alias_pending;
        struct act_state *st;
        bool stopped;             /* apply mode: a request failed, send nothing more */
        struct vnc_error sock_err;
};

static const char *ipv4(uint32_t a, char buf[static 16]) {
        return vnc_ipv4_str(a, buf);
}

/* "bridge "vn-lab"", "address 10.0.0.1/24 on "vn-lab"" ... caller frees */
static char *object_name(const struct vnc_action *a) {
        char b1[16], b2[16];
        switch (a->kind) {
        case VNC_ACT_BRIDGE:
                return vnc_strdup_printf("bridge \"%s\"", a->ifname);
        case VNC_ACT_VLAN:
                return vnc_strdup_printf("VLAN interface \"%s\" (id %u on \"%s\")", a->ifname, a->vlan_id,
                                         a->vlan_link);
        case VNC_ACT_LINK_SET:
                return vnc_strdup_printf("link \"%s\"", a->ifname);
        case VNC_ACT_ADDR:
                return vnc_strdup_printf("address %s/%u on \"%s\"", ipv4(a->addr.addr, b1), a->addr.prefix,
                                         a->ifname);
        case VNC_ACT_ROUTE:
                if (a->via)
                        return vnc_strdup_printf("route %s/%u via %s dev \"%s\"", ipv4(a->addr.addr, b1),
                                                 a->addr.prefix, ipv4(a->via, b2), a->ifname);
                return vnc_strdup_printf("route %s/%u dev \"%s\"", ipv4(a->addr.addr, b1), a->addr.prefix,
                                         a->ifname);
        default:
                return vnc_strdup_printf("action \"%s\"", a->ifname);
        }
}

static const char *verb(const struct vnc_action *a, int role) {
        if (role == ROLE_ALIAS)
                return "could not set its alias";
        switch (a->op) {
        case VNC_OP_CREATE:
                return a->kind == VNC_ACT_BRIDGE || a->kind == VNC_ACT_VLAN ? "could not create" : "could not add";
        case VNC_OP_DELETE:
                return a->kind == VNC_ACT_BRIDGE || a->kind == VNC_ACT_VLAN ? "could not delete" : "could not remove";
        default:
                return "could not modify";
        }
}

/* Errors that mean "already as wanted" when undoing. */
static bool tolerated(const struct vnc_action *a, int role, int err, bool undo) {
        if (!undo || err == 0)
                return err == 0;
        switch (a->kind) {
        case VNC_ACT_ADDR:
                if (a->op == VNC_OP_DELETE)
                        return err == -EADDRNOTAVAIL || err == -ENODEV;
                return err == -EEXIST;
        case VNC_ACT_ROUTE:
                if (a->op == VNC_OP_DELETE)
                        return err == -ESRCH || err == -ENODEV;
                return err == -EEXIST;
        case VNC_ACT_LINK_SET:
                return err == -ENODEV;
        default:
                return false;
        }
}

/* A kernel booted with ipv6.disable=1 has no /proc/sys/net/ipv6: no link-local to suppress, no
 * IPv6 to turn off, and it refuses IPv6 attributes (the recorded host always has IPv6). */
static bool kernel_has_ipv6(void) {
        return vnc_record_on() || access("/proc/sys/net/ipv6", F_OK) == 0;
}

/* IFLA_AF_SPEC { AF_INET6 { IFLA_INET6_ADDR_GEN_MODE } }: the kernel takes it on an existing link only
 * (in the creating RTM_NEWLINK it answers EAFNOSUPPORT: the link has no IPv6 state yet). Nothing is
 * put on a kernel without IPv6. */
static int put_addr_gen(struct nl_msg *m, uint8_t addr_gen) {
        struct nlattr *spec, *inet6;

        if (!kernel_has_ipv6())
                return 0;
        if (!(spec = nla_nest_start(m, IFLA_AF_SPEC)) || !(inet6 = nla_nest_start(m, AF_INET6)) ||
            nla_put_u8(m, IFLA_INET6_ADDR_GEN_MODE, (uint8_t)(addr_gen - 1)) < 0 || nla_nest_end(m, inet6) < 0 ||
            nla_nest_end(m, spec) < 0)
                return -ENOMEM;
        return 0;
}

/* net.ipv6.conf.<if>.disable_ipv6 (not settable over netlink). A kernel without IPv6 has
 * nothing to turn off. */
static int set_ipv6(const char *ifname, uint8_t ipv6) {
        _cleanup_free_ char *key = vnc_strdup_printf("net.ipv6.conf.%s.disable_ipv6", ifname);

        if (!key)
                return -ENOMEM;
        if (!kernel_has_ipv6())
                return 0;
        return vnc_sysctl_write(key, ipv6 == VNC_IPV6_OFF ? "1" : "0");
}

static int act_fail(struct run *R, size_t i, int code, const char *what, const char *detail);

static int flush(struct run *R) {
        if (R->stopped)
                return -ECANCELED;
        for (int pass = 0; pass < 2; pass++) {
                size_t before = R->b.sent;
                int r = vnc_nl_batch_flush(R->nl, &R->b, !R->undo, &R->sock_err);
                R->fresh_current = false;
                if (r < 0) {
                        R->stopped = true;
                        return r;
                }
                bool failed = false;
                for (size_t k = before; k < R->b.n; k++) {
                        const struct vnc_nl_result *res = &R->b.res[k];
                        size_t i = res->tag / _ROLE_MAX;
                        if (!res->acked || !tolerated(&R->acts[i], (int)(res->tag % _ROLE_MAX), res->error, R->undo))
                                failed = true;
                }
                if (failed && !R->undo) {
                        R->stopped = true;
                        return -ECANCELED;
                }
                if (pass == 1 || R->n_alias_pending == 0)
                        break;
                /* Second pass: the alias of each bridge this flush created (never of one it did not). */
                for (size_t p = 0; p < R->n_alias_pending; p++) {
                        size_t i = R->alias_pending[p];
                        const struct vnc_action *a = &R->acts[i];
                        bool created = false;
                        for (size_t k = before; k < R->b.n; k++)
                                if (R->b.res[k].tag == TAG(i, ROLE_MAIN))
                                        created = R->b.res[k].acked && R->b.res[k].error == 0;
                        if (!created)
                                continue;
                        /* IPv6 off before the bridge has a port: no IPv6 packet of a guest ever
                         * reaches the host. */
                        int r3 = a->ipv6 ? set_ipv6(a->ifname, a->ipv6) : 0;
                        if (r3 < 0) {
                                act_fail(R, i, r3, "could not set IPv6 on it", strerror(-r3));
                                continue;
                        }
                        struct nl_msg *m = vnc_nl_link_msg(RTM_SETLINK, 0, 0, 0, 0);
                        /* The MTU set after creation pins it (the bridge keeps it with no ports).
                         * IPv6 address generation is set before the bridge has a port, hence
                         * carrier: the kernel makes a link-local address only once it has. */
                        if (m && (nla_put_string(m, IFLA_IFNAME, a->ifname) < 0 ||
                                  (a->alias[0] && nla_put_string(m, IFLA_IFALIAS, a->alias) < 0) ||
                                  (a->mtu && nla_put_u32(m, IFLA_MTU, a->mtu) < 0) ||
                                  (a->addr_gen && put_addr_gen(m, a->addr_gen) < 0))) {
                                nlmsg_free(m);
                                m = NULL;
                        }
                        int r2 = vnc_nl_batch_add(&R->b, m, TAG(i, ROLE_ALIAS));
                        if (r2 < 0) {
                                R->stopped = true;
                                return vnc_error_set(&R->sock_err, VNC_ERR_RUNTIME, r2, "out of memory");
                        }
                }
                R->n_alias_pending = 0;
        }
        return 0;
}

/* ifindex of name: from the links read before the run, or from one fresh dump after flushing. */
static int resolve(struct run *R, const char *name, int *ret_ifindex) {
        const struct vnc_live_link *l = NULL;

        if (R->fresh)
                l = vnc_live_link_by_name(R->fresh, name);
        if (!l && !R->fresh)
                l = vnc_live_link_by_name(R->ctx->live, name);
        if (!l && !R->fresh_current) {
                int r = 0;
                if (R->b.sent < R->b.n || R->n_alias_pending > 0)
                        r = flush(R);
                if (r < 0)
                        return r;
                vnc_live_free(R->fresh);
                R->fresh = NULL;
                r = vnc_nl_read_links(R->nl, &R->fresh, NULL, &R->sock_err);
                if (r < 0) {
                        R->stopped = true;
                        return r;
                }
                R->fresh_current = true;
                l = vnc_live_link_by_name(R->fresh, name);
        }
        if (!l)
                return -ENODEV;
        *ret_ifindex = l->ifindex;
        return 0;
}

static int put_ipv4(struct nl_msg *m, int attr, uint32_t host_order) {
        uint32_t be = htonl(host_order);
        return nla_put(m, attr, sizeof(be), &be);
}

static int queue(struct run *R, size_t i, int role, struct nl_msg *m) {
        int r = vnc_nl_batch_add(&R->b, m, TAG(i, role));
        if (r < 0) {
                R->stopped = true;
                return vnc_error_set(&R->sock_err, VNC_ERR_RUNTIME, r, "out of memory");
        }
        return 0;
}

static int act_fail(struct run *R, size_t i, int code, const char *what, const char *detail) {
        _cleanup_free_ char *obj = object_name(&R->acts[i]);
        vnc_error_set(&R->st[i].err, VNC_ERR_RUNTIME, code, "%s: %s", obj ? obj : "object", what);
        if (detail)
                vnc_error_detail(&R->st[i].err, "%s", detail);
        if (!R->undo)
                R->stopped = true;
        return code;
}

/*
 * A bridge without an address of its own takes its lowest port's, and all
 * zeros when its last port leaves (a verify probe leaving an empty bridge
 * would make the host answer ARP with 00:00:00:00:00:00). vnetcfg's bridges
 * get a fixed random locally administered address unless the plan gives one.
 */
static void bridge_mac(uint8_t mac[6]) {
        if (vnc_record_on())
                vnc_record_random(mac, 6);
        else if (getrandom(mac, 6, 0) != 6)
                for (int k = 0; k < 6; k++)
                        mac[k] = (uint8_t)rand();
        mac[0] = (uint8_t)((mac[0] & 0xfe) | 0x02);
}

/* IFLA_IFALIAS (and IFLA_AF_SPEC) are ignored at creation: set them once the create is acked
 * (see flush()). */
static int alias_after_create(struct run *R, size_t i) {
        if (!R->acts[i].alias[0] && !R->acts[i].addr_gen)
                return 0;
        if (VNC_GROW(R->alias_pending, R->alloc_alias_pending, R->n_alias_pending + 1) < 0)
                return vnc_error_set(&R->sock_err, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
        R->alias_pending[R->n_alias_pending++] = i;
        return 0;
}

static int build_bridge_create(struct run *R, size_t i) {
        const struct vnc_action *a = &R->acts[i];
        uint8_t mac[6];

        if (a->has_mac)
                memcpy(mac, a->mac, 6);
        else
                bridge_mac(mac);
        struct nl_msg *m = vnc_nl_link_msg(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0, a->up ? IFF_UP : 0,
                                           a->up ? IFF_UP : 0);
        struct nlattr *info;

        /* No IFLA_MTU here: an MTU given at creation is not "set by the user" for the bridge, which
         * then falls back to 1500 when its last port leaves. It is set after the create (flush()). */
        if (!m || nla_put_string(m, IFLA_IFNAME, a->ifname) < 0 ||
            nla_put(m, IFLA_ADDRESS, 6, mac) < 0 || !(info = nla_nest_start(m, IFLA_LINKINFO)) ||
            nla_put_string(m, IFLA_INFO_KIND, "bridge") < 0 || nla_nest_end(m, info) < 0) {
                nlmsg_free(m);
                return queue(R, i, ROLE_MAIN, NULL);
        }
        int r = queue(R, i, ROLE_MAIN, m);
        if (r < 0)
                return r;
        return alias_after_create(R, i);
}

/*
 * vlan: an 802.1Q sub-interface on its lower link (trunk or trunk tap), created
 * enslaved, sized and up in one request; the alias follows once it is acked
 * (see flush()). The kernel loads 8021q on first use when it is a module.
 */
static int build_vlan_create(struct run *R, size_t i) {
        const struct vnc_action *a = &R->acts[i];
        int lower = 0, master = 0, r;

        r = resolve(R, a->vlan_link, &lower);
        if (r == -ENODEV)
                return act_fail(R, i, r, "could not create", "its lower link (the trunk) does not exist");
        if (r < 0)
                return r;
        if (a->master[0]) {
                r = resolve(R, a->master, &master);
                if (r == -ENODEV)
                        return act_fail(R, i, r, "could not create", "master link not found");
                if (r < 0)
                        return r;
        }
        struct nl_msg *m = vnc_nl_link_msg(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0, a->up ? IFF_UP : 0,
                                           a->up ? IFF_UP : 0);
        struct nlattr *info, *data;
        if (!m || nla_put_string(m, IFLA_IFNAME, a->ifname) < 0 || nla_put_u32(m, IFLA_LINK, (uint32_t)lower) < 0 ||
            (a->mtu && nla_put_u32(m, IFLA_MTU, a->mtu) < 0) ||
            (master && nla_put_u32(m, IFLA_MASTER, (uint32_t)master) < 0) ||
            (a->has_mac && nla_put(m, IFLA_ADDRESS, 6, a->mac) < 0) || !(info = nla_nest_start(m, IFLA_LINKINFO)) ||
            nla_put_string(m, IFLA_INFO_KIND, "vlan") < 0 || !(data = nla_nest_start(m, IFLA_INFO_DATA)) ||
            nla_put_u16(m, IFLA_VLAN_ID, a->vlan_id) < 0 || nla_nest_end(m, data) < 0 || nla_nest_end(m, info) < 0) {
                nlmsg_free(m);
                return queue(R, i, ROLE_MAIN, NULL);
        }
        r = queue(R, i, ROLE_MAIN, m);
        if (r < 0)
                return r;
        return alias_after_create(R, i);
}

static int build_link_set(struct run *R, size_t i) {
        const struct vnc_action *a = &R->acts[i];
        int master = 0, r;

        if ((a->set & VNC_SET_MASTER) && a->master[0]) {
                r = resolve(R, a->master, &master);
                if (r == -ENODEV)
                        return act_fail(R, i, r, "could not modify", "master link not found");
                if (r < 0)
                        return r;
        }
        if ((a->set & VNC_SET_IPV6) && a->ipv6) {
                /* Not part of the batch: what was queued before (the deletion of the addresses
                 * turning IPv6 off takes with it) goes first. */
                if (R->b.sent < R->b.n || R->n_alias_pending > 0)
                        if ((r = flush(R)) < 0)
                                return r;
                r = set_ipv6(a->ifname, a->ipv6);
                if (r == -ENOENT && R->undo)
                        r = 0; /* the link is gone */
                if (r < 0)
                        return act_fail(R, i, r, "could not modify", strerror(-r));
        }
        unsigned change = (a->set & VNC_SET_UP) ? IFF_UP : 0;
        struct nl_msg *m = vnc_nl_link_msg(RTM_SETLINK, 0, 0, (a->set & VNC_SET_UP) && a->up ? IFF_UP : 0, change);
        if (!m || nla_put_string(m, IFLA_IFNAME, a->ifname) < 0 ||
            ((a->set & VNC_SET_MTU) && a->mtu && nla_put_u32(m, IFLA_MTU, a->mtu) < 0) ||
            ((a->set & VNC_SET_MASTER) && nla_put_u32(m, IFLA_MASTER, (uint32_t)master) < 0) ||
            ((a->set & VNC_SET_ALIAS) && nla_put_string(m, IFLA_IFALIAS, a->alias) < 0) ||
            ((a->set & VNC_SET_ADDR_GEN) && a->addr_gen && put_addr_gen(m, a->addr_gen) < 0)) {
                nlmsg_free(m);
                m = NULL;
        }
        return queue(R, i, ROLE_MAIN, m);
}

/*
 * The ifindex of an address's or route's device: > 0 when found; 0 when the
 * action is to be skipped (undoing a delete on a link that is gone took its
 * addresses and routes with it); < 0 on failure, recorded for the action.
 */
static int resolve_device(struct run *R, size_t i, int *ret_ifindex) {
        const struct vnc_action *a = &R->acts[i];
        int r = resolve(R, a->ifname, ret_ifindex);

        if (r == -ENODEV) {
                if (a->op == VNC_OP_DELETE && R->undo)
                        return 0;
                return act_fail(R, i, r, verb(a, ROLE_MAIN), "no such device");
        }
        return r < 0 ? r : 1;
}

static int build_addr(struct run *R, size_t i) {
        const struct vnc_action *a = &R->acts[i];
        bool del = a->op == VNC_OP_DELETE;
        int ifindex, r;

        if ((r = resolve_device(R, i, &ifindex)) <= 0)
                return r;
        struct nl_msg *m = nlmsg_alloc_simple(del ? RTM_DELADDR : RTM_NEWADDR, del ? 0 : NLM_F_CREATE | NLM_F_EXCL);
        if (a->family == AF_INET6) {
                /* An address moved from the uplink was already checked there: no second DAD.
                 * A link-local put back on an isolated bridge by a rollback is as the kernel
                 * made it: with DAD. */
                bool ll = a->ip6[0] == 0xfe && (a->ip6[1] & 0xc0) == 0x80;
                uint32_t flags = ll ? 0 : IFA_F_NODAD;
                struct ifaddrmsg ifa6 = {
                        .ifa_family = AF_INET6,
                        .ifa_prefixlen = a->addr.prefix,
                        .ifa_flags = (uint8_t)flags,
                        .ifa_scope = RT_SCOPE_UNIVERSE,
                        .ifa_index = (uint32_t)ifindex,
                };
                if (m && (nlmsg_append(m, &ifa6, sizeof(ifa6), NLMSG_ALIGNTO) < 0 ||
                          nla_put(m, IFA_ADDRESS, 16, a->ip6) < 0 ||
                          (!del && nla_put_u32(m, IFA_FLAGS, flags) < 0))) {
                        nlmsg_free(m);
                        m = NULL;
                }
                return queue(R, i, ROLE_MAIN, m);
        }
        struct ifaddrmsg ifa = {
                .ifa_family = AF_INET,
                .ifa_prefixlen = a->addr.prefix,
                .ifa_scope = RT_SCOPE_UNIVERSE,
                .ifa_index = (uint32_t)ifindex,
        };
        if (m && (nlmsg_append(m, &ifa, sizeof(ifa), NLMSG_ALIGNTO) < 0 || put_ipv4(m, IFA_LOCAL, a->addr.addr) < 0 ||
                  put_ipv4(m, IFA_ADDRESS, a->addr.addr) < 0 ||
                  /* "brd +": host bits set; /31 and /32 have no broadcast address. Addresses moved
                   * from an uplink keep exactly the broadcast they had. */
                  (!del && a->brd_mode == VNC_BRD_PLUS && a->addr.prefix <= 30 &&
                   put_ipv4(m, IFA_BROADCAST, a->addr.addr | ~vnc_prefix_mask(a->addr.prefix)) < 0) ||
                  (!del && a->brd_mode == VNC_BRD_EXACT && put_ipv4(m, IFA_BROADCAST, a->brd) < 0))) {
                nlmsg_free(m);
                m = NULL;
        }
        return queue(R, i, ROLE_MAIN, m);
}

static int build_route(struct run *R, size_t i) {
        const struct vnc_action *a = &R->acts[i];
        bool del = a->op == VNC_OP_DELETE;
        int ifindex, r;

        if ((r = resolve_device(R, i, &ifindex)) <= 0)
                return r;
        bool v6 = a->family == AF_INET6, gw = v6 ? a->has_gw6 : a->via != 0;
        uint32_t table = a->table ? a->table : RT_TABLE_MAIN;
        struct rtmsg rtm = {
                .rtm_family = v6 ? AF_INET6 : AF_INET,
                .rtm_dst_len = a->addr.prefix,
                .rtm_table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC,
                .rtm_protocol = a->protocol ? a->protocol : RTPROT_STATIC,
                /* deletion matches any scope */
                .rtm_scope = del ? RT_SCOPE_NOWHERE : gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK,
                .rtm_type = RTN_UNICAST,
        };
        struct nl_msg *m = nlmsg_alloc_simple(del ? RTM_DELROUTE : RTM_NEWROUTE, del ? 0 : NLM_F_CREATE | NLM_F_EXCL);
        if (m && (nlmsg_append(m, &rtm, sizeof(rtm), NLMSG_ALIGNTO) < 0 ||
                  (v6 ? nla_put(m, RTA_DST, 16, a->ip6) : put_ipv4(m, RTA_DST, a->addr.addr)) < 0 ||
                  (gw && (v6 ? nla_put(m, RTA_GATEWAY, 16, a->gw6) : put_ipv4(m, RTA_GATEWAY, a->via)) < 0) ||
                  nla_put_u32(m, RTA_OIF, (uint32_t)ifindex) < 0 || nla_put_u32(m, RTA_TABLE, table) < 0 ||
                  (a->metric && nla_put_u32(m, RTA_PRIORITY, a->metric) < 0) ||
                  (!v6 && a->prefsrc && put_ipv4(m, RTA_PREFSRC, a->prefsrc) < 0))) {
                nlmsg_free(m);
                m = NULL;
        }
        return queue(R, i, ROLE_MAIN, m);
}

/* A contiguous run of bridge (or VLAN interface) deletions [i, j): one ownership dump, one group delete. */
static void run_deletes(struct run *R, size_t i, size_t j) {
        _cleanup_free_ struct vnc_nl_link_del *dels = calloc(j - i, sizeof(*dels));

        if (R->b.sent < R->b.n || R->n_alias_pending > 0)
                if (flush(R) < 0)
                        return;
        if (!dels) {
                R->stopped = true;
                vnc_error_set(&R->sock_err, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
                return;
        }
        for (size_t k = i; k < j; k++)
                dels[k - i] = (struct vnc_nl_link_del){
                        .what = R->acts[k].kind == VNC_ACT_VLAN ? "VLAN interface" : "bridge",
                        .ifname = R->acts[k].ifname,
                        .alias = R->acts[k].alias,
                        .kind = R->acts[k].kind == VNC_ACT_VLAN ? "vlan" : "bridge",
                };
        int r = vnc_nl_links_delete(R->nl, dels, j - i, R->undo, NULL);
        R->fresh_current = false;
        for (size_t k = i; k < j; k++) {
                R->st[k].processed = true;
                vnc_error_move(&R->st[k].err, &dels[k - i].err);
                if (dels[k - i].error < 0 && !vnc_error_isset(&R->st[k].err))
                        act_fail(R, k, dels[k - i].error, "could not delete", strerror(-dels[k - i].error));
        }
        if (r < 0 && !R->undo)
                R->stopped = true;
}

static bool netlink_handles(enum vnc_action_kind k) {
        return k == VNC_ACT_BRIDGE || k == VNC_ACT_LINK_SET || k == VNC_ACT_ADDR || k == VNC_ACT_ROUTE ||
               k == VNC_ACT_VLAN;
}

static int netlink_run(struct vnc_backend_ctx *ctx, const struct vnc_action *acts, size_t n, unsigned flags,
                       size_t *ret_done, struct vnc_error *e) {
        struct run R = {.ctx = ctx, .acts = acts, .n = n, .undo = flags & VNC_RUN_UNDO};
        size_t done = 0;
        int r, first = 0;

        if (ret_done)
                *ret_done = 0;
        if (n == 0)
                return 0;
        r = vnc_nl_open(&R.nl, e);
        if (r < 0)
                return r;
        R.st = calloc(n, sizeof(*R.st));
        if (!R.st) {
                vnc_nl_free(R.nl);
                return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
        }

        for (size_t i = 0; i < n && !R.stopped;) {
                const struct vnc_action *a = &acts[i];
                if ((a->kind == VNC_ACT_BRIDGE || a->kind == VNC_ACT_VLAN) && a->op == VNC_OP_DELETE) {
                        size_t j = i;
                        while (j < n && (acts[j].kind == VNC_ACT_BRIDGE || acts[j].kind == VNC_ACT_VLAN) &&
                               acts[j].op == VNC_OP_DELETE)
                                j++;
                        run_deletes(&R, i, j);
                        i = j;
                        continue;
                }
                switch (a->kind) {
                case VNC_ACT_BRIDGE:
                        r = a->op == VNC_OP_CREATE ? build_bridge_create(&R, i)
                                                   : act_fail(&R, i, -EINVAL, "unsupported operation", NULL);
                        break;
                case VNC_ACT_LINK_SET:
                        r = build_link_set(&R, i);
                        break;
                case VNC_ACT_VLAN:
                        r = a->op == VNC_OP_CREATE ? build_vlan_create(&R, i)
                                                   : act_fail(&R, i, -EINVAL, "unsupported operation", NULL);
                        break;
                case VNC_ACT_ADDR:
                        r = a->op == VNC_OP_MODIFY ? act_fail(&R, i, -EINVAL, "unsupported operation", NULL)
                                                   : build_addr(&R, i);
                        break;
                case VNC_ACT_ROUTE:
                        r = a->op == VNC_OP_MODIFY ? act_fail(&R, i, -EINVAL, "unsupported operation", NULL)
                                                   : build_route(&R, i);
                        break;
                default:
                        r = act_fail(&R, i, -EINVAL, "not handled by the netlink backend", NULL);
                        break;
                }
                if (!R.stopped || vnc_error_isset(&R.st[i].err))
                        R.st[i].processed = true;
                (void)r;
                i++;
        }
        if (!R.stopped && (R.b.sent < R.b.n || R.n_alias_pending > 0))
                (void)flush(&R);

        /* Fold the acks into per-action results. */
        for (size_t k = 0; k < R.b.n; k++) {
                const struct vnc_nl_result *res = &R.b.res[k];
                size_t i = res->tag / _ROLE_MAX;
                int role = (int)(res->tag % _ROLE_MAX);
                if (vnc_error_isset(&R.st[i].err))
                        continue;
                if (!res->acked) {
                        R.st[i].processed = false;
                        continue;
                }
                if (tolerated(&acts[i], role, res->error, R.undo))
                        continue;
                _cleanup_free_ char *obj = object_name(&acts[i]);
                vnc_nl_result_error(&R.st[i].err, res, "%s: %s", obj ? obj : "object", verb(&acts[i], role));
        }
        /* A bridge created in a flush that stopped before its alias was queued is not complete. */
        for (size_t p = 0; p < R.n_alias_pending; p++)
                R.st[R.alias_pending[p]].processed = false;

        bool leading = true;
        for (size_t i = 0; i < n; i++) {
                if (vnc_error_isset(&R.st[i].err)) {
                        if (first == 0)
                                first = R.st[i].err.code;
                        vnc_error_move(e, &R.st[i].err);
                        leading = false;
                } else if (!R.st[i].processed)
                        leading = false;
                else if (leading)
                        done = i + 1;
                vnc_error_clear(&R.st[i].err);
        }
        if (vnc_error_isset(&R.sock_err)) {
                if (first == 0)
                        first = R.sock_err.code;
                vnc_error_move(e, &R.sock_err);
        }
        if (first == 0 && done < n) /* stopped without a recorded reason: should not happen */
                first = vnc_error_set(e, VNC_ERR_RUNTIME, -ECANCELED, "netlink: %zu actions were not run", n - done);

        vnc_error_clear(&R.sock_err);
        vnc_nl_batch_done(&R.b);
        vnc_live_free(R.fresh);
        free(R.alias_pending);
        free(R.st);
        vnc_nl_free(R.nl);
        if (ret_done)
                *ret_done = done;
        return first;
}

const struct vnc_backend_ops vnc_backend_netlink = {
        .name = "netlink",
        .handles = netlink_handles,
        .run = netlink_run,
};
