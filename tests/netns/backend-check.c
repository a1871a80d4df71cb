/* SPDX-License-Identifier: MIT */
/*
 * Exercises the netlink, tap and sysctl backends against the real kernel.
 * Run only inside a private network namespace (test-backends.sh makes one).
 *
 * Topology built by "check":
 *
 *   vnc-tap0 --+
 *   vnc-tap1 --+-- vnc-br0 (mtu 9000, 10.77.0.1/24, alias vnetcfg:bt/net1)
 *   vnc-tap2 --+        route 10.78.0.0/24 via 10.77.0.254
 *
 * Modes:
 *   backend-check check STATE_DIR    the assertions (exit 1 with a message on failure)
 *   backend-check bench-taps N       create N taps on a bridge, print ms; then delete them
 *   backend-check bench-del N [tap]  N bridges (taps) deleted one per run vs in one run (group delete)
 */
#include <arpa/inet.h>
#include <linux/rtnetlink.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include "backends.h"
#include "model.h"
#include "nl.h"
#include "sysctl.h"

#define PROFILE "bt"
#define NETWORK "net1"
#define BR "vnc-br0"

static int failures;

static void _printf_(3, 4) check_at(int line, bool ok, const char *fmt, ...) {
        va_list ap;
        if (ok)
                return;
        fprintf(stderr, "backend-check:%d: FAIL: ", line);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        failures++;
}
#define CHECK(cond, ...) check_at(__LINE__, (cond), __VA_ARGS__)

static void die_on(int line, int r, struct vnc_error *e, const char *what) {
        if (r >= 0)
                return;
        char *s = vnc_error_format(e);
        fprintf(stderr, "backend-check:%d: FAIL: %s: %s (%d)\n", line, what, s ? s : "?", r);
        free(s);
        exit(1);
}
#define MUST(r, e, what) die_on(__LINE__, (r), (e), (what))

static double now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static struct vnc_live *live_read(void) {
        struct vnc_error e = {0};
        struct vnc_live *l = NULL;
        MUST(vnc_live_read(&l, &e), &e, "vnc_live_read");
        return l;
}

static int run(const struct vnc_backend_ops *ops, const struct vnc_live *live, const char *state_dir,
               const struct vnc_action *acts, size_t n, unsigned flags, size_t *ret_done, struct vnc_error *e) {
        struct vnc_backend_ctx ctx = {.state_dir = state_dir, .live = live};
        size_t done = SIZE_MAX;
        for (size_t i = 0; i < n; i++)
                if (!ops->handles(acts[i].kind)) {
                        fprintf(stderr, "backend-check: backend %s does not handle action %zu\n", ops->name, i);
                        exit(1);
                }
        int r = ops->run(&ctx, acts, n, flags, &done, e);
        if (ret_done)
                *ret_done = done;
        return r;
}

static void must_run(int line, const struct vnc_backend_ops *ops, const struct vnc_live *live, const struct vnc_action *acts,
                     size_t n, unsigned flags) {
        struct vnc_error e = {0};
        size_t done;
        int r = run(ops, live, NULL, acts, n, flags, &done, &e);
        die_on(line, r, &e, ops->name);
        check_at(line, done == n, "%s: done %zu of %zu", ops->name, done, n);
        vnc_error_clear(&e);
}
#define MUST_RUN(ops, live, acts, n, flags) must_run(__LINE__, (ops), (live), (acts), (n), (flags))

/* Copy an interface name, truncated to 15 bytes (tests use short names). */
static void set_ifname(char dst[VNC_IFNAMSIZ], const char *src) {
        size_t n = strnlen(src, VNC_IFNAMSIZ - 1);
        memcpy(dst, src, n);
        dst[n] = 0;
}

static struct vnc_action bridge(enum vnc_action_op op, const char *name, const char *profile) {
        struct vnc_action a;
        vnc_action_init(&a, VNC_ACT_BRIDGE, op, profile, NETWORK);
        set_ifname(a.ifname, name);
        a.mtu = 9000;
        a.up = true;
        return a;
}

static struct vnc_action tap(const char *name, const char *master) {
        struct vnc_action a;
        vnc_action_init(&a, VNC_ACT_TAP, VNC_OP_CREATE, PROFILE, NETWORK);
        set_ifname(a.ifname, name);
        set_ifname(a.master, master);
        a.mtu = 9000;
        a.up = true;
        return a;
}

static uint32_t ip(const char *s) {
        uint32_t v = 0;
        if (vnc_ipv4_parse(s, &v) < 0) {
                fprintf(stderr, "bad address %s\n", s);
                exit(1);
        }
        return v;
}

static bool addr_eq4(const uint8_t a[16], uint32_t host_order) {
        uint32_t be = htonl(host_order);
        return memcmp(a, &be, 4) == 0;
}

static const struct vnc_live_addr *find_addr4(const struct vnc_live *l, int ifindex, uint32_t addr) {
        for (size_t i = 0; i < l->n_addrs; i++)
                if (l->addrs[i].ifindex == ifindex && l->addrs[i].family == AF_INET && addr_eq4(l->addrs[i].addr, addr))
                        return &l->addrs[i];
        return NULL;
}

static const struct vnc_live_route *find_route4(const struct vnc_live *l, uint32_t dst, uint8_t len, uint32_t table) {
        for (size_t i = 0; i < l->n_routes; i++)
                if (l->routes[i].family == AF_INET && l->routes[i].dst_len == len && addr_eq4(l->routes[i].dst, dst) &&
                    l->routes[i].table == table)
                        return &l->routes[i];
        return NULL;
}

static void check_links_equal(int line, const struct vnc_live *a, const struct vnc_live *b) {
        check_at(line, a->n_links == b->n_links, "link count %zu, expected %zu", b->n_links, a->n_links);
        for (size_t i = 0; i < a->n_links; i++) {
                const struct vnc_live_link *x = &a->links[i], *y = vnc_live_link_by_name(b, x->name);
                check_at(line, y != NULL, "link \"%s\" disappeared", x->name);
                if (y)
                        check_at(line, y->mtu == x->mtu && y->admin_up == x->admin_up && streq_ptr(x->alias, y->alias),
                                 "link \"%s\" changed", x->name);
        }
        check_at(line, a->n_addrs == b->n_addrs, "address count %zu, expected %zu", b->n_addrs, a->n_addrs);
        check_at(line, a->n_routes == b->n_routes, "route count %zu, expected %zu", b->n_routes, a->n_routes);
}

static void check_netlink_and_taps(void) {
        struct vnc_live *before = live_read(), *after;
        const struct vnc_live_link *lo = vnc_live_link_by_name(before, "lo");
        char alias[VNC_ALIAS_MAX];

        vnc_alias_format(alias, PROFILE, NETWORK);
        CHECK(lo && lo->ifindex == 1 && lo->admin_up && lo->mtu == 65536 && streq(lo->kind, ""),
              "lo not read as expected");
        CHECK(vnc_live_sysctl_get(before, "net.ipv4.ip_forward") != NULL, "ip_forward not read");
        CHECK(vnc_live_link_by_name(before, BR) == NULL, BR " exists before the test");

        /* One netlink run: the bridge, then an address and a route on it (needs the new ifindex). */
        struct vnc_action nl_acts[3];
        nl_acts[0] = bridge(VNC_OP_CREATE, BR, PROFILE);
        vnc_action_init(&nl_acts[1], VNC_ACT_ADDR, VNC_OP_CREATE, PROFILE, NETWORK);
        snprintf(nl_acts[1].ifname, sizeof(nl_acts[1].ifname), BR);
        nl_acts[1].addr = (struct vnc_ipv4_prefix){ip("10.77.0.1"), 24};
        vnc_action_init(&nl_acts[2], VNC_ACT_ROUTE, VNC_OP_CREATE, PROFILE, NETWORK);
        snprintf(nl_acts[2].ifname, sizeof(nl_acts[2].ifname), BR);
        nl_acts[2].addr = (struct vnc_ipv4_prefix){ip("10.78.0.0"), 24};
        nl_acts[2].via = ip("10.77.0.254");
        MUST_RUN(&vnc_backend_netlink, before, nl_acts, 3, 0);

        struct vnc_action taps[3] = {tap("vnc-tap0", BR), tap("vnc-tap1", BR), tap("vnc-tap2", BR)};
        static const uint8_t mac0[6] = {0xfe, 0x00, 0x5e, 0x00, 0x00, 0x01};
        taps[0].has_mac = true;
        memcpy(taps[0].mac, mac0, 6);
        taps[1].vnet_hdr = true;
        taps[2].multi_queue = true;
        taps[2].has_owner = taps[2].has_group = true;
        taps[2].owner = 1000;
        taps[2].group = 1000;
        MUST_RUN(&vnc_backend_tap, before, taps, 3, 0);

        after = live_read();
        const struct vnc_live_link *br = vnc_live_link_by_name(after, BR);
        CHECK(br != NULL, "bridge " BR " missing after create");
        if (br) {
                CHECK(streq(br->kind, "bridge"), "bridge kind \"%s\"", br->kind);
                CHECK(br->mtu == 9000, "bridge mtu %u, expected 9000", br->mtu);
                CHECK(br->admin_up, "bridge not up");
                CHECK(streq_ptr(br->alias, alias), "bridge alias \"%s\", expected \"%s\"", br->alias ? br->alias : "(none)",
                      alias);
                CHECK(br->master == 0, "bridge has a master");
                CHECK(br->has_mac, "bridge has no mac");
        }
        for (int i = 0; i < 3; i++) {
                const struct vnc_live_link *t = vnc_live_link_by_name(after, taps[i].ifname);
                CHECK(t != NULL, "tap %s missing", taps[i].ifname);
                if (!t || !br)
                        continue;
                CHECK(streq(t->kind, "tun"), "tap %s kind \"%s\", expected tun", t->name, t->kind);
                CHECK(t->master == br->ifindex, "tap %s master %d, expected %d", t->name, t->master, br->ifindex);
                CHECK(t->mtu == 9000, "tap %s mtu %u", t->name, t->mtu);
                CHECK(t->admin_up, "tap %s not up", t->name);
                CHECK(!t->oper_up, "tap %s oper up without a reader", t->name);
                CHECK(streq_ptr(t->alias, alias), "tap %s alias \"%s\"", t->name, t->alias ? t->alias : "(none)");
                CHECK(t->has_mac && t->mac[0] == 0xfe, "tap %s mac does not start with fe", t->name);
                if (i == 0)
                        CHECK(memcmp(t->mac, mac0, 6) == 0, "tap %s mac not the one asked for", t->name);
                CHECK(!t->wireless, "tap %s wireless", t->name);
        }
        if (br) {
                /* Bridge MTU stays 9000 with 9000-byte ports. */
                CHECK(br->mtu == 9000, "bridge mtu %u after enslaving", br->mtu);
                const struct vnc_live_addr *a = find_addr4(after, br->ifindex, ip("10.77.0.1"));
                CHECK(a && a->prefix == 24 && a->scope == RT_SCOPE_UNIVERSE && (a->flags & IFA_F_PERMANENT),
                      "address 10.77.0.1/24 on " BR " missing or wrong");
                const struct vnc_live_route *rt = find_route4(after, ip("10.78.0.0"), 24, RT_TABLE_MAIN);
                CHECK(rt && rt->has_gw && addr_eq4(rt->gw, ip("10.77.0.254")) && rt->oif == br->ifindex &&
                              rt->protocol == RTPROT_STATIC && rt->scope == RT_SCOPE_UNIVERSE && rt->type == RTN_UNICAST,
                      "route 10.78.0.0/24 via 10.77.0.254 missing or wrong");
                const struct vnc_live_route *conn = find_route4(after, ip("10.77.0.0"), 24, RT_TABLE_MAIN);
                CHECK(conn && conn->protocol == RTPROT_KERNEL && conn->scope == RT_SCOPE_LINK && conn->has_prefsrc &&
                              addr_eq4(conn->prefsrc, ip("10.77.0.1")),
                      "connected route of 10.77.0.1/24 missing");
                const struct vnc_live_route *local = find_route4(after, ip("10.77.0.1"), 32, RT_TABLE_LOCAL);
                CHECK(local && local->type == RTN_LOCAL, "local-table route of 10.77.0.1 missing (all tables read?)");
        }

        /* Creating again fails, names the object and carries the kernel's text; nothing is done. */
        {
                struct vnc_error e = {0};
                size_t done = 99;
                int r = run(&vnc_backend_netlink, after, NULL, nl_acts, 3, 0, &done, &e);
                CHECK(r == -EEXIST, "second bridge create returned %d, expected -EEXIST", r);
                CHECK(done == 0, "second create: done %zu, expected 0", done);
                CHECK(e.message && streq(e.message, "bridge \"" BR "\": could not create"), "message \"%s\"",
                      e.message ? e.message : "(none)");
                CHECK(e.detail && strstr(e.detail, "exists"), "detail \"%s\"", e.detail ? e.detail : "(none)");
                CHECK(e.kind == VNC_ERR_RUNTIME, "error kind %d", e.kind);
                vnc_error_clear(&e);

                /* An address on a missing device. */
                struct vnc_action bad = nl_acts[1];
                snprintf(bad.ifname, sizeof(bad.ifname), "vnc-nosuch");
                r = run(&vnc_backend_netlink, after, NULL, &bad, 1, 0, &done, &e);
                CHECK(r == -ENODEV && done == 0, "address on a missing device: %d, done %zu", r, done);
                CHECK(e.message && strstr(e.message, "10.77.0.1/24 on \"vnc-nosuch\""), "message \"%s\"",
                      e.message ? e.message : "(none)");
                vnc_error_clear(&e);

                /* A route through an unreachable gateway: the kernel's extended ack text is kept. */
                struct vnc_action badrt = nl_acts[2];
                badrt.via = ip("192.0.2.1");
                r = run(&vnc_backend_netlink, after, NULL, &badrt, 1, 0, &done, &e);
                CHECK(r < 0 && done == 0, "route via an unreachable gateway succeeded");
                CHECK(e.message && strstr(e.message, "route 10.78.0.0/24 via 192.0.2.1 dev \"" BR "\": could not add"),
                      "message \"%s\"", e.message ? e.message : "(none)");
                CHECK(e.detail && strlen(e.detail) > 0, "no kernel text");
                fprintf(stderr, "backend-check: (expected) %s (%s)\n", e.message ? e.message : "",
                        e.detail ? e.detail : "");
                vnc_error_clear(&e);
        }

        /* A tap whose name exists is not adopted (IFF_TUN_EXCL): EBUSY, named, nothing done. */
        {
                struct vnc_error e = {0};
                size_t done = 99;
                int r = run(&vnc_backend_tap, after, NULL, &taps[1], 1, 0, &done, &e);
                CHECK(r == -EBUSY && done == 0, "creating an existing tap: %d, done %zu", r, done);
                CHECK(e.message && streq(e.message, "tap \"vnc-tap1\": could not create"), "message \"%s\"",
                      e.message ? e.message : "(none)");
                vnc_error_clear(&e);

                /* Leading successes are counted: a new address, then a route that exists. */
                struct vnc_action two[2] = {nl_acts[1], nl_acts[2]};
                two[0].addr = (struct vnc_ipv4_prefix){ip("10.77.0.2"), 24};
                r = run(&vnc_backend_netlink, after, NULL, two, 2, 0, &done, &e);
                CHECK(r == -EEXIST && done == 1, "address + existing route: %d, done %zu (expected 1)", r, done);
                CHECK(e.message && strstr(e.message, "route 10.78.0.0/24"), "message \"%s\"", e.message ? e.message : "(none)");
                vnc_error_clear(&e);
                struct vnc_action undo_addr;
                vnc_action_inverse(&two[0], &undo_addr);
                MUST_RUN(&vnc_backend_netlink, after, &undo_addr, 1, VNC_RUN_UNDO);
        }

        /* LINK_SET: change mtu and alias, then back through the inverse. */
        {
                struct vnc_action set, inv;
                vnc_action_init(&set, VNC_ACT_LINK_SET, VNC_OP_MODIFY, PROFILE, NETWORK);
                snprintf(set.ifname, sizeof(set.ifname), "vnc-tap1");
                set.set = VNC_SET_MTU | VNC_SET_UP | VNC_SET_MASTER;
                set.mtu = 1400;
                set.old_mtu = 9000;
                set.up = false;
                set.old_up = true;
                set.master[0] = 0;
                snprintf(set.old_master, sizeof(set.old_master), BR);
                MUST_RUN(&vnc_backend_netlink, after, &set, 1, 0);
                struct vnc_live *mid = live_read();
                const struct vnc_live_link *t = vnc_live_link_by_name(mid, "vnc-tap1");
                CHECK(t && t->mtu == 1400 && !t->admin_up && t->master == 0, "link set on vnc-tap1 not applied");
                vnc_live_free(mid);
                vnc_action_inverse(&set, &inv);
                MUST_RUN(&vnc_backend_netlink, after, &inv, 1, VNC_RUN_UNDO);
                mid = live_read();
                t = vnc_live_link_by_name(mid, "vnc-tap1");
                CHECK(t && br && t->mtu == 9000 && t->admin_up && t->master == br->ifindex,
                      "inverse link set on vnc-tap1 not applied");
                vnc_live_free(mid);
        }

        /* Undo everything, in reverse, through the inverses. */
        struct vnc_action inv_nl[2], inv_taps[3], inv_br;
        vnc_action_inverse(&nl_acts[2], &inv_nl[0]);
        vnc_action_inverse(&nl_acts[1], &inv_nl[1]);
        for (int i = 0; i < 3; i++)
                vnc_action_inverse(&taps[2 - i], &inv_taps[i]);
        vnc_action_inverse(&nl_acts[0], &inv_br);
        MUST_RUN(&vnc_backend_netlink, after, inv_nl, 2, VNC_RUN_UNDO);
        MUST_RUN(&vnc_backend_tap, after, inv_taps, 3, VNC_RUN_UNDO);
        MUST_RUN(&vnc_backend_netlink, after, &inv_br, 1, VNC_RUN_UNDO);
        /* Undoing again: everything is absent, which is fine. */
        MUST_RUN(&vnc_backend_netlink, after, inv_nl, 2, VNC_RUN_UNDO);
        MUST_RUN(&vnc_backend_tap, after, inv_taps, 3, VNC_RUN_UNDO);
        MUST_RUN(&vnc_backend_netlink, after, &inv_br, 1, VNC_RUN_UNDO);
        vnc_live_free(after);
        after = live_read();
        check_links_equal(__LINE__, before, after);
        vnc_live_free(after);
        vnc_live_free(before);
}

static void check_ownership(void) {
        struct vnc_live *l;
        struct vnc_error e = {0};
        size_t done;
        int r;

        /* A foreign bridge named like ours, without alias. */
        struct vnc_action foreign = bridge(VNC_OP_CREATE, BR, PROFILE);
        foreign.alias[0] = 0;
        MUST_RUN(&vnc_backend_netlink, NULL, &foreign, 1, 0);

        struct vnc_action del = bridge(VNC_OP_DELETE, BR, PROFILE);
        r = run(&vnc_backend_netlink, NULL, NULL, &del, 1, 0, &done, &e);
        CHECK(r == -EPERM && done == 0, "deleting a foreign bridge: %d, done %zu", r, done);
        CHECK(e.message && strstr(e.message, "bridge \"" BR "\""), "message \"%s\"", e.message ? e.message : "(none)");
        vnc_error_clear(&e);
        l = live_read();
        CHECK(vnc_live_link_by_name(l, BR) != NULL, "foreign bridge " BR " was deleted");
        vnc_live_free(l);

        /* Same with another profile's alias, in undo mode: left alone, no error. */
        struct vnc_action other;
        vnc_action_init(&other, VNC_ACT_LINK_SET, VNC_OP_MODIFY, "other", NETWORK);
        snprintf(other.ifname, sizeof(other.ifname), BR);
        other.set = VNC_SET_ALIAS;
        MUST_RUN(&vnc_backend_netlink, NULL, &other, 1, 0);
        MUST_RUN(&vnc_backend_netlink, NULL, &del, 1, VNC_RUN_UNDO);
        l = live_read();
        const struct vnc_live_link *f = vnc_live_link_by_name(l, BR);
        CHECK(f && streq_ptr(f->alias, "vnetcfg:other/net1"), "bridge of profile \"other\" was deleted or changed");
        vnc_live_free(l);

        /* A tap with our name but another kind is not deleted either (kind must be tun). */
        struct vnc_action tdel;
        vnc_action_init(&tdel, VNC_ACT_TAP, VNC_OP_DELETE, PROFILE, NETWORK);
        snprintf(tdel.ifname, sizeof(tdel.ifname), BR);
        other.alias[0] = 0; /* clear the alias: empty alias, kind bridge */
        MUST_RUN(&vnc_backend_netlink, NULL, &other, 1, 0);
        MUST_RUN(&vnc_backend_tap, NULL, &tdel, 1, VNC_RUN_UNDO);
        l = live_read();
        CHECK(vnc_live_link_by_name(l, BR) != NULL, "bridge deleted by a tap delete");
        vnc_live_free(l);

        /* Empty alias and kind bridge in undo mode: a crash between create and alias-set; deleted. */
        MUST_RUN(&vnc_backend_netlink, NULL, &del, 1, VNC_RUN_UNDO);
        l = live_read();
        CHECK(vnc_live_link_by_name(l, BR) == NULL, "half-created bridge not deleted in undo mode");
        vnc_live_free(l);

        /* Group delete: several bridges in one undo run, one foreign among them. */
        struct vnc_action many[6], inv[6];
        for (int i = 0; i < 6; i++) {
                char name[24];
                snprintf(name, sizeof(name), "vnc-g%d", i);
                many[i] = bridge(VNC_OP_CREATE, name, i == 3 ? "other" : PROFILE);
        }
        MUST_RUN(&vnc_backend_netlink, NULL, many, 6, 0);
        for (int i = 0; i < 6; i++) {
                vnc_action_inverse(&many[i], &inv[i]);
                if (i == 3) /* ours would have this alias; the link carries "other"'s */
                        vnc_alias_format(inv[i].alias, PROFILE, NETWORK);
        }
        MUST_RUN(&vnc_backend_netlink, NULL, inv, 6, VNC_RUN_UNDO);
        l = live_read();
        for (int i = 0; i < 6; i++) {
                const struct vnc_live_link *g = vnc_live_link_by_name(l, many[i].ifname);
                if (i == 3)
                        CHECK(g != NULL, "foreign %s deleted by the group delete", many[i].ifname);
                else
                        CHECK(g == NULL, "%s not deleted", many[i].ifname);
        }
        vnc_live_free(l);
        struct vnc_action last = bridge(VNC_OP_DELETE, "vnc-g3", "other");
        MUST_RUN(&vnc_backend_netlink, NULL, &last, 1, 0);
}

static void check_sysctl(const char *state_dir) {
        const char *key = "net.ipv4.ip_forward";
        char *orig = NULL, *v = NULL, *path = NULL;
        struct vnc_action a[2];
        struct stat st;

        CHECK(vnc_sysctl_path("net.ipv4.conf.vnc.x.1.rp_filter", &path) == 0 &&
                      streq(path, "/proc/sys/net/ipv4/conf/vnc.x.1/rp_filter"),
              "per-interface key path \"%s\"", path ? path : "(none)");
        free(path);
        path = NULL;
        CHECK(vnc_sysctl_path("net.ipv4.conf.../x.rp_filter", &path) == -EINVAL, "path with .. accepted");
        CHECK(vnc_sysctl_path("net.ipv4.conf...rp_filter", &path) == -EINVAL, "ifname .. accepted");
        CHECK(vnc_sysctl_path("net..ipv4", &path) == -EINVAL, "empty component accepted");
        CHECK(vnc_sysctl_path("net/ipv4/ip_forward", &path) == -EINVAL, "slash accepted");
        CHECK(vnc_sysctl_path("net.ipv4.conf.waytoolonginterface.rp_filter", &path) == -EINVAL, "long ifname accepted");

        MUST(vnc_sysctl_read(key, &orig), NULL, "read ip_forward");
        const char *want = streq(orig, "1") ? "0" : "1";

        vnc_action_init(&a[0], VNC_ACT_SYSCTL, VNC_OP_CREATE, "pa", NETWORK);
        vnc_action_init(&a[1], VNC_ACT_SYSCTL, VNC_OP_CREATE, "pb", NETWORK);
        for (int i = 0; i < 2; i++) {
                snprintf(a[i].key, sizeof(a[i].key), "%s", key);
                snprintf(a[i].value, sizeof(a[i].value), "%s", want);
        }
        struct vnc_backend_ctx ctx = {.state_dir = state_dir};
        struct vnc_error e = {0};
        size_t done;
        MUST(vnc_backend_sysctl.run(&ctx, &a[0], 1, 0, &done, &e), &e, "claim pa");
        MUST(vnc_backend_sysctl.run(&ctx, &a[0], 1, 0, &done, &e), &e, "claim pa again");
        MUST(vnc_backend_sysctl.run(&ctx, &a[1], 1, 0, &done, &e), &e, "claim pb");
        MUST(vnc_sysctl_read(key, &v), NULL, "read");
        CHECK(streq(v, want), "after claims: %s, expected %s", v, want);
        free(v);

        char *claims = vnc_strdup_printf("%s/sysctl.claims", state_dir);
        CHECK(claims && stat(claims, &st) == 0 && (st.st_mode & 0777) == 0600, "claims file missing or not 0600");
        free(claims);

        struct vnc_action rel[2];
        vnc_action_inverse(&a[0], &rel[0]);
        vnc_action_inverse(&a[1], &rel[1]);
        MUST(vnc_backend_sysctl.run(&ctx, &rel[0], 1, VNC_RUN_UNDO, &done, &e), &e, "release pa");
        MUST(vnc_backend_sysctl.run(&ctx, &rel[0], 1, VNC_RUN_UNDO, &done, &e), &e, "release pa again");
        MUST(vnc_sysctl_read(key, &v), NULL, "read");
        CHECK(streq(v, want), "after one release: %s, expected %s (pb still claims it)", v, want);
        free(v);
        MUST(vnc_backend_sysctl.run(&ctx, &rel[1], 1, VNC_RUN_UNDO, &done, &e), &e, "release pb");
        MUST(vnc_sysctl_read(key, &v), NULL, "read");
        CHECK(streq(v, orig), "after both releases: %s, expected the original %s", v, orig);
        free(v);

        /* Drift is repaired by claiming again; the original survives. */
        MUST(vnc_backend_sysctl.run(&ctx, &a[0], 1, 0, &done, &e), &e, "claim pa");
        MUST(vnc_sysctl_write(key, orig), NULL, "drift");
        MUST(vnc_backend_sysctl.run(&ctx, &a[0], 1, 0, &done, &e), &e, "claim pa (repair)");
        MUST(vnc_sysctl_read(key, &v), NULL, "read");
        CHECK(streq(v, want), "drift not repaired: %s", v);
        free(v);
        MUST(vnc_backend_sysctl.run(&ctx, &rel[0], 1, 0, &done, &e), &e, "release pa");
        MUST(vnc_sysctl_read(key, &v), NULL, "read");
        CHECK(streq(v, orig), "original not restored after repair: %s", v);
        free(v);

        /* A per-interface key with a dotted name is refused when invalid, works when valid. */
        struct vnc_action lo = a[0];
        snprintf(lo.key, sizeof(lo.key), "net.ipv4.conf.lo.rp_filter");
        snprintf(lo.value, sizeof(lo.value), "2");
        char *lo_orig = NULL;
        MUST(vnc_sysctl_read(lo.key, &lo_orig), NULL, "read rp_filter");
        MUST(vnc_backend_sysctl.run(&ctx, &lo, 1, 0, &done, &e), &e, "claim rp_filter");
        MUST(vnc_sysctl_read(lo.key, &v), NULL, "read");
        CHECK(streq(v, "2"), "rp_filter %s", v);
        free(v);
        vnc_action_inverse(&lo, &rel[0]);
        MUST(vnc_backend_sysctl.run(&ctx, &rel[0], 1, 0, &done, &e), &e, "release rp_filter");
        MUST(vnc_sysctl_read(lo.key, &v), NULL, "read");
        CHECK(streq(v, lo_orig), "rp_filter not restored: %s vs %s", v, lo_orig);
        free(v);
        free(lo_orig);
        struct vnc_action evil = a[0];
        snprintf(evil.key, sizeof(evil.key), "net.ipv4.conf.../../../etc.x");
        int r = vnc_backend_sysctl.run(&ctx, &evil, 1, 0, &done, &e);
        CHECK(r == -EINVAL && done == 0 && e.message, "a key leaving /proc/sys was accepted");
        vnc_error_clear(&e);
        free(orig);
}

static void bench_taps(int n) {
        struct vnc_action br = bridge(VNC_OP_CREATE, "vnc-bench", PROFILE), brdel;
        struct vnc_action *t = calloc((size_t)n, sizeof(*t)), *inv = calloc((size_t)n, sizeof(*inv));
        double t0, t1;

        br.mtu = 0;
        MUST_RUN(&vnc_backend_netlink, NULL, &br, 1, 0);
        for (int i = 0; i < n; i++) {
                char name[24];
                snprintf(name, sizeof(name), "vnc-t%d", i);
                t[i] = tap(name, "vnc-bench");
                t[i].mtu = 0;
        }
        t0 = now_ms();
        MUST_RUN(&vnc_backend_tap, NULL, t, (size_t)n, 0);
        t1 = now_ms();
        printf("create %d taps (ioctl + one netlink batch: mac, alias, master, up): %.1f ms\n", n, t1 - t0);
        for (int i = 0; i < n; i++)
                vnc_action_inverse(&t[n - 1 - i], &inv[i]);
        t0 = now_ms();
        MUST_RUN(&vnc_backend_tap, NULL, inv, (size_t)n, VNC_RUN_UNDO);
        t1 = now_ms();
        printf("delete %d taps (group delete): %.1f ms\n", n, t1 - t0);
        vnc_action_inverse(&br, &brdel);
        MUST_RUN(&vnc_backend_netlink, NULL, &brdel, 1, VNC_RUN_UNDO);
        free(t);
        free(inv);
}

static void bench_del(int n, bool taps) {
        const struct vnc_backend_ops *ops = taps ? &vnc_backend_tap : &vnc_backend_netlink;
        const char *what = taps ? "taps" : "bridges";
        struct vnc_action *b = calloc((size_t)n, sizeof(*b)), *inv = calloc((size_t)n, sizeof(*inv));
        double t0, t1;

        for (int round = 0; round < 2; round++) {
                for (int i = 0; i < n; i++) {
                        char name[24];
                        snprintf(name, sizeof(name), "vnc-d%d", i);
                        b[i] = taps ? tap(name, "") : bridge(VNC_OP_CREATE, name, PROFILE);
                        b[i].mtu = 0;
                        vnc_action_inverse(&b[i], &inv[i]);
                }
                MUST_RUN(ops, NULL, b, (size_t)n, 0);
                t0 = now_ms();
                if (round == 0)
                        for (int i = 0; i < n; i++)
                                MUST_RUN(ops, NULL, &inv[i], 1, VNC_RUN_UNDO);
                else
                        MUST_RUN(ops, NULL, inv, (size_t)n, VNC_RUN_UNDO);
                t1 = now_ms();
                printf("delete %d %s %s: %.1f ms\n", n, what, round == 0 ? "one per run" : "in one run (group delete)",
                       t1 - t0);
        }
        free(b);
        free(inv);
}

static int count_arg(const char *s) {
        char *end = NULL;
        errno = 0;
        unsigned long v = strtoul(s, &end, 10);
        if (errno || !end || *end || v == 0 || v > 4000) {
                fprintf(stderr, "backend-check: bad count \"%s\" (1..4000)\n", s);
                exit(2);
        }
        return (int)v;
}

int main(int argc, char **argv) {
        if (argc == 3 && streq(argv[1], "check")) {
                check_netlink_and_taps();
                check_ownership();
                check_sysctl(argv[2]);
                if (failures) {
                        fprintf(stderr, "backend-check: %d check(s) failed\n", failures);
                        return 1;
                }
                printf("backend-check: all checks passed\n");
                return 0;
        }
        if (argc == 3 && streq(argv[1], "bench-taps")) {
                bench_taps(count_arg(argv[2]));
                return failures ? 1 : 0;
        }
        if ((argc == 3 || argc == 4) && streq(argv[1], "bench-del")) {
                bench_del(count_arg(argv[2]), argc == 4 && streq(argv[3], "tap"));
                return failures ? 1 : 0;
        }
        fprintf(stderr, "usage: backend-check check STATE_DIR | bench-taps N | bench-del N [tap]\n");
        return 2;
}
