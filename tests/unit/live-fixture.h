/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * The fake host of the golden tests (tests/golden/<case>/live.txt), read into a
 * struct vnc_live; shared by the planner goldens (test-plan.c) and the recording
 * goldens (tests/record). Include after <cmocka.h>: a bad fixture fails the test.
 *
 * live.txt lines:
 *   link IFINDEX NAME [kind=K] [master=IDX] [mtu=N] [down] [alias=A] [mac=M] [wireless] [link=IDX vlan=ID]
 *        [addrgen=eui64|none|stable_secret|random]   IPv6 address generation (default: not known)
 *        [tun=tap[,vnet_hdr][,multi_queue] [owner=UID] [group=GID]]   a tap as read back (tun_flags, owner, group)
 *   8021q missing|unloadable|loadable|loaded   the kernel's 802.1Q support (default: unknown = usable)
 *   addr IFINDEX A.B.C.D/N [dynamic]
 *   addr6 IFINDEX X:Y::Z/N        a permanent IPv6 address (scope link for fe80::/10)
 *   route A.B.C.D/N dev IFINDEX [via A.B.C.D] [table N] [metric N] [proto N]
 *   sysctl KEY VALUE
 *   fw unavailable REASON...      (default: the tables are readable and empty)
 *   fw-chains all                 vnetcfg's chains and jumps exist
 *   fw-rules-of applied [nftables|iptables]  the host holds exactly the firewall rules of applied.json
 *                                 (nftables, iptables: read back whole by that backend; neither:
 *                                 the legacy tables' rules known by their comments only)
 *   fw-rule TABLE CHAIN COMMENT...  an iptables rule known by its comment only
 *   fw-live [nftables] FIELDS...  a rule read back whole (journal fields: table=nat chain=... comment=...)
 *   nft unavailable REASON...     (default: nftables readable, table ip vnetcfg absent)
 *   nft-chains all                vnetcfg's nftables chains exist, hooked
 *   host iptables-legacy|iptables-nft|unknown   what `iptables` is (default: iptables-legacy)
 *   host-nft-base-chain TEXT...   a base chain of the host's own in nftables
 *   host-legacy-rules N           the host's own rules in the legacy tables
 *   dhcp running BLOB|applied     the profile's dnsmasq runs (with applied.json's config)
 *   libvirt ok|unreachable REASON...  the daemon at qemu:///system answers (default: not consulted)
 *   lvnet NAME BRIDGE [owner=PROFILE/NETWORK] [derived=PROFILE/NETWORK] [forward=MODE] [inactive] [noautostart]
 *                                 a libvirt network (owner: defined by vnetcfg, with its XML;
 *                                 derived: vnetcfg's derived uuid, no metadata: a daemon that drops it)
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "dhcp.h"
#include "fw.h"
#include "open.h"
#include "plan.h"
#include "plan-libvirt.h"

static char *read_text(const char *path) {
        FILE *f = fopen(path, "re");
        char *buf = NULL;
        size_t size = 0;

        if (!f)
                return NULL;
        FILE *m = open_memstream(&buf, &size);
        int c;
        while ((c = fgetc(f)) != EOF)
                fputc(c, m);
        fclose(m);
        fclose(f);
        return buf;
}

static struct vnc_profile *fixture_applied; /* applied.json of the case being loaded */

/* libvirt fixture lines (libvirt helper). */
static void parse_libvirt_line(struct vnc_live *l, const char *w, char **save) {
        if (!l->lv.uri)
                l->lv.uri = strdup("qemu:///system");
        if (streq(w, "libvirt")) {
                char *what = strtok_r(NULL, " \t\n", save);
                assert_non_null(what);
                if (streq(what, "ok"))
                        l->lv.state = VNC_LV_OK;
                else {
                        assert_string_equal(what, "unreachable");
                        l->lv.state = VNC_LV_UNREACHABLE;
                        l->lv.error = strdup(strtok_r(NULL, "\n", save));
                }
                return;
        }
        struct vnc_live_lvnet *n = vnc_libvirt_view_add(&l->lv);
        assert_non_null(n);
        n->name = strdup(strtok_r(NULL, " \t\n", save));
        snprintf(n->bridge, sizeof(n->bridge), "%s", strtok_r(NULL, " \t\n", save));
        snprintf(n->forward, sizeof(n->forward), "bridge");
        snprintf(n->uuid, sizeof(n->uuid), "6b1c2a4e-0000-4000-8000-00000000000%zu", l->lv.n_nets);
        n->active = n->autostart = n->persistent = true;
        char *t;
        while ((t = strtok_r(NULL, " \t\n", save))) {
                if (!strncmp(t, "owner=", 6)) {
                        char *slash = strchr(t + 6, '/');
                        assert_non_null(slash);
                        n->owner = strdup(t + 6);
                        *slash = 0;
                        vnc_libvirt_uuid(t + 6, slash + 1, n->uuid);
                        n->xml = vnc_libvirt_xml(t + 6, slash + 1, n->bridge);
                } else if (!strncmp(t, "derived=", 8)) { /* vnetcfg's uuid, its metadata dropped by the daemon */
                        char *slash = strchr(t + 8, '/');
                        assert_non_null(slash);
                        *slash = 0;
                        vnc_libvirt_uuid(t + 8, slash + 1, n->uuid);
                } else if (!strncmp(t, "forward=", 8))
                        snprintf(n->forward, sizeof(n->forward), "%s", t + 8);
                else if (streq(t, "inactive"))
                        n->active = false;
                else if (streq(t, "noautostart"))
                        n->autostart = false;
                else
                        fail_msg("unknown lvnet attribute %s", t);
        }
        if (!n->xml)
                n->xml = vnc_strdup_printf("<network>\n  <name>%s</name>\n  <bridge name='%s'/>\n</network>\n", n->name,
                                           n->bridge);
}

static void parse_live_line(struct vnc_live *l, char *line, const char *file, int lineno) {
        char *save = NULL, *w = strtok_r(line, " \t\n", &save);
        if (!w || *w == '#')
                return;
        if (streq(w, "link")) {
                struct vnc_live_link *k = vnc_live_add_link(l);
                k->ifindex = atoi(strtok_r(NULL, " \t\n", &save));
                snprintf(k->name, sizeof(k->name), "%s", strtok_r(NULL, " \t\n", &save));
                k->mtu = 1500;
                k->admin_up = k->oper_up = true;
                while ((w = strtok_r(NULL, " \t\n", &save))) {
                        if (!strncmp(w, "kind=", 5))
                                snprintf(k->kind, sizeof(k->kind), "%s", w + 5);
                        else if (!strncmp(w, "master=", 7))
                                k->master = atoi(w + 7);
                        else if (!strncmp(w, "mtu=", 4))
                                k->mtu = (uint32_t)atoi(w + 4);
                        else if (streq(w, "down"))
                                k->admin_up = k->oper_up = false;
                        else if (!strncmp(w, "alias=", 6))
                                k->alias = strdup(w + 6);
                        else if (!strncmp(w, "mac=", 4))
                                k->has_mac = vnc_mac_parse(w + 4, k->mac) == 0;
                        else if (streq(w, "wireless"))
                                k->wireless = true;
                        else if (!strncmp(w, "addrgen=", 8)) {
                                int g = vnc_addr_gen_from_string(w + 8);
                                assert_true(g > 0);
                                k->addr_gen = (uint8_t)g;
                        }
                        else if (!strncmp(w, "link=", 5))
                                k->vlan_link = atoi(w + 5);
                        else if (!strncmp(w, "vlan=", 5))
                                k->vlan_id = (uint16_t)atoi(w + 5);
                        else if (!strncmp(w, "tun=", 4)) {
                                k->tun_read = true;
                                k->tun_vnet_hdr = strstr(w, "vnet_hdr") != NULL;
                                k->tun_multi_queue = strstr(w, "multi_queue") != NULL;
                        } else if (!strncmp(w, "owner=", 6)) {
                                k->tun_has_owner = true;
                                k->tun_owner = (uint32_t)atoi(w + 6);
                        } else if (!strncmp(w, "group=", 6)) {
                                k->tun_has_group = true;
                                k->tun_group = (uint32_t)atoi(w + 6);
                        }
                        else
                                fail_msg("%s:%d: unknown link attribute %s", file, lineno, w);
                }
        } else if (streq(w, "8021q")) {
                const char *st = strtok_r(NULL, " \t\n", &save);
                assert_non_null(st);
                if (streq(st, "missing"))
                        l->vlan_8021q = VNC_8021Q_MISSING;
                else if (streq(st, "unloadable"))
                        l->vlan_8021q = VNC_8021Q_UNLOADABLE;
                else if (streq(st, "loadable"))
                        l->vlan_8021q = VNC_8021Q_LOADABLE;
                else if (streq(st, "loaded"))
                        l->vlan_8021q = VNC_8021Q_LOADED;
                else
                        fail_msg("%s:%d: unknown 8021q state %s", file, lineno, st);
        } else if (streq(w, "addr")) {
                struct vnc_live_addr *a = vnc_live_add_addr(l);
                struct vnc_ipv4_prefix p;
                a->ifindex = atoi(strtok_r(NULL, " \t\n", &save));
                assert_int_equal(vnc_ipv4_prefix_parse(strtok_r(NULL, " \t\n", &save), &p), 0);
                uint32_t be = htonl(p.addr);
                a->family = AF_INET;
                memcpy(a->addr, &be, 4);
                a->prefix = p.prefix;
                a->flags = 0x80; /* IFA_F_PERMANENT */
                char *extra = strtok_r(NULL, " \t\n", &save);
                if (extra && streq(extra, "dynamic"))
                        a->flags = 0;
        } else if (streq(w, "addr6")) {
                struct vnc_live_addr *a = vnc_live_add_addr(l);
                a->ifindex = atoi(strtok_r(NULL, " \t\n", &save));
                char *ip = strtok_r(NULL, " \t\n", &save), *slash = ip ? strchr(ip, '/') : NULL;
                assert_non_null(slash);
                *slash = 0;
                a->family = AF_INET6;
                assert_int_equal(inet_pton(AF_INET6, ip, a->addr), 1);
                a->prefix = (uint8_t)atoi(slash + 1);
                a->flags = 0x80; /* IFA_F_PERMANENT */
                a->scope = a->addr[0] == 0xfe && (a->addr[1] & 0xc0) == 0x80 ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
        } else if (streq(w, "route")) {
                struct vnc_live_route *r = vnc_live_add_route(l);
                struct vnc_ipv4_prefix p;
                uint32_t be;
                assert_int_equal(vnc_ipv4_prefix_parse(strtok_r(NULL, " \t\n", &save), &p), 0);
                be = htonl(p.addr);
                r->family = AF_INET;
                memcpy(r->dst, &be, 4);
                r->dst_len = p.prefix;
                r->table = RT_TABLE_MAIN;
                r->type = RTN_UNICAST;
                r->protocol = RTPROT_BOOT;
                while ((w = strtok_r(NULL, " \t\n", &save))) {
                        if (streq(w, "dev"))
                                r->oif = atoi(strtok_r(NULL, " \t\n", &save));
                        else if (streq(w, "via")) {
                                uint32_t gw;
                                assert_int_equal(vnc_ipv4_parse(strtok_r(NULL, " \t\n", &save), &gw), 0);
                                gw = htonl(gw);
                                memcpy(r->gw, &gw, 4);
                                r->has_gw = true;
                        } else if (streq(w, "table"))
                                r->table = (uint32_t)atoi(strtok_r(NULL, " \t\n", &save));
                        else if (streq(w, "metric"))
                                r->metric = (uint32_t)atoi(strtok_r(NULL, " \t\n", &save));
                        else if (streq(w, "proto"))
                                r->protocol = (uint8_t)atoi(strtok_r(NULL, " \t\n", &save));
                        else
                                fail_msg("%s:%d: unknown route attribute %s", file, lineno, w);
                }
        } else if (streq(w, "fw")) {
                char *rest = strtok_r(NULL, "\n", &save);
                assert_non_null(rest);
                assert_int_equal(strncmp(rest, "unavailable ", 12), 0);
                l->fw_available = false;
                l->fw_error = strdup(rest + 12);
        } else if (streq(w, "fw-chains")) {
                l->fw_chains = (1u << vnc_fw_n_chains) - 1;
        } else if (streq(w, "fw-rules-of")) {
                struct vnc_fw_rule *rules = NULL;
                size_t n = 0;
                strtok_r(NULL, " \t\n", &save); /* "applied" */
                char *be = strtok_r(NULL, " \t\n", &save);
                assert_non_null(fixture_applied);
                assert_int_equal(vnc_fw_rules_for_profile(fixture_applied, &rules, &n), 0);
                for (size_t i = 0; i < n; i++) {
                        if (be && streq(be, "nftables")) {
                                rules[i].backend = VNC_FW_NFTABLES;
                                assert_int_equal(vnc_live_add_fw_rule_full(l, &rules[i], true, 100 + i), 0);
                        } else if (be && streq(be, "iptables")) {
                                rules[i].backend = VNC_FW_IPTABLES;
                                assert_int_equal(vnc_live_add_fw_rule_full(l, &rules[i], true, 0), 0);
                        } else
                                assert_int_equal(vnc_live_add_fw_rule(l, rules[i].table, rules[i].chain, rules[i].comment), 0);
                }
                free(rules);
        } else if (streq(w, "fw-live")) {
                char *rest = strtok_r(NULL, "\n", &save), line2[1024];
                struct vnc_action a;
                bool nft = strncmp(rest, "nftables ", 9) == 0;
                snprintf(line2, sizeof(line2), "create rule %s", nft ? rest + 9 : rest);
                assert_int_equal(vnc_action_parse(line2, &a), 0);
                a.rule.backend = nft ? VNC_FW_NFTABLES : VNC_FW_IPTABLES;
                assert_int_equal(vnc_live_add_fw_rule_full(l, &a.rule, true, 7), 0);
        } else if (streq(w, "nft")) {
                char *rest = strtok_r(NULL, "\n", &save);
                assert_non_null(rest);
                assert_int_equal(strncmp(rest, "unavailable ", 12), 0);
                l->nft_available = false;
                l->nft_error = strdup(rest + 12);
        } else if (streq(w, "nft-chains")) {
                l->nft_chains = (1u << vnc_fw_n_chains) - 1;
        } else if (streq(w, "host")) {
                char *what = strtok_r(NULL, " \t\n", &save);
                l->fw_host_iptables = streq(what, "iptables-nft")      ? VNC_FW_NFTABLES
                                      : streq(what, "iptables-legacy") ? VNC_FW_IPTABLES
                                                                       : VNC_FW_AUTO;
                free(l->fw_host_iptables_how);
                l->fw_host_iptables_how = strdup(streq(what, "iptables-nft") ? "/usr/sbin/iptables -> /usr/sbin/iptables-nft"
                                                                             : "/usr/sbin/iptables -> /usr/sbin/iptables-legacy");
        } else if (streq(w, "host-nft-base-chain")) {
                l->fw_foreign_nft++;
                if (!l->fw_foreign_nft_first)
                        l->fw_foreign_nft_first = strdup(strtok_r(NULL, "\n", &save));
        } else if (streq(w, "host-legacy-rules")) {
                l->fw_foreign_legacy = (size_t)atoi(strtok_r(NULL, " \t\n", &save));
        } else if (streq(w, "fw-rule")) {
                char *table = strtok_r(NULL, " \t\n", &save), *chain = strtok_r(NULL, " \t\n", &save);
                char *comment = strtok_r(NULL, "\n", &save);
                assert_int_equal(vnc_live_add_fw_rule(l, (uint8_t)vnc_fw_table_from_string(table), chain, comment), 0);
        } else if (streq(w, "open-need")) { /* open-need <place> INPUT,FORWARD (firewalld: "running") */
                int place = vnc_open_place_from_string(strtok_r(NULL, " \t\n", &save));
                char *chains = strtok_r(NULL, " \t\n", &save);
                assert_true(place >= 0);
                l->open_need[place] = (uint8_t)((strstr(chains, "INPUT") ? VNC_OPEN_INPUT : 0) |
                                                (strstr(chains, "FORWARD") ? VNC_OPEN_FORWARD : 0) |
                                                (strstr(chains, "running") ? 1 : 0));
        } else if (streq(w, "open-rules-of")) { /* open-rules-of <place> applied: every opening present */
                int place = vnc_open_place_from_string(strtok_r(NULL, " \t\n", &save));
                struct vnc_fw_rule *rules = NULL;
                size_t n = 0;
                assert_true(place >= 0);
                assert_non_null(fixture_applied);
                assert_int_equal(vnc_open_rules_for_profile(fixture_applied, &rules, &n), 0);
                for (size_t i = 0; i < n; i++)
                        assert_int_equal(vnc_live_add_opening(l, (uint8_t)place, rules[i].chain, rules[i].comment), 0);
                free(rules);
        } else if (streq(w, "open")) { /* open <place> <chain or zone> <comment or interface> */
                int place = vnc_open_place_from_string(strtok_r(NULL, " \t\n", &save));
                char *chain = strtok_r(NULL, " \t\n", &save), *comment = strtok_r(NULL, "\n", &save);
                assert_true(place >= 0);
                assert_int_equal(vnc_live_add_opening(l, (uint8_t)place, chain, comment), 0);
        } else if (streq(w, "dhcp")) {
                char *what = strtok_r(NULL, " \t\n", &save), *blob = strtok_r(NULL, " \t\n", &save);
                assert_string_equal(what, "running");
                l->dhcp_running = true;
                if (streq(blob, "applied")) {
                        char *text = NULL;
                        assert_non_null(fixture_applied);
                        assert_int_equal(vnc_dhcp_config(fixture_applied, &text), 0);
                        assert_non_null(text);
                        vnc_blob_hash(text, l->dhcp_blob);
                        free(text);
                } else
                        snprintf(l->dhcp_blob, sizeof(l->dhcp_blob), "%s", blob);
        } else if (streq(w, "libvirt") || streq(w, "lvnet")) {
                parse_libvirt_line(l, w, &save);
        } else if (streq(w, "sysctl")) {
                char *key = strtok_r(NULL, " \t\n", &save), *value = strtok_r(NULL, " \t\n", &save);
                assert_int_equal(vnc_live_set_sysctl(l, key, value), 0);
        } else
                fail_msg("%s:%d: unknown fixture line \"%s\"", file, lineno, w);
}

static inline struct vnc_live *load_live(const char *path) {
        struct vnc_live *l = calloc(1, sizeof(*l));
        FILE *f = fopen(path, "re");
        char *line = NULL;
        size_t cap = 0;
        int lineno = 0;

        assert_non_null(l);
        l->fw_available = true;
        l->nft_available = true;
        l->fw_host_iptables = VNC_FW_IPTABLES;
        l->fw_host_iptables_how = strdup("/usr/sbin/iptables -> /usr/sbin/iptables-legacy");
        if (!f)
                return l; /* no fixture: an empty host */
        while (getline(&line, &cap, f) >= 0)
                parse_live_line(l, line, path, ++lineno);
        free(line);
        fclose(f);
        return l;
}

static inline struct vnc_profile *load_profile(const char *dir, const char *name) {
        char path[1024];
        struct vnc_profile *p = NULL;
        struct vnc_error e = {0};
        struct stat st;

        if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
                fail_msg("%s/%s: path too long", dir, name);
        if (stat(path, &st) < 0)
                return NULL;
        if (vnc_profile_load_file(path, &p, &e) < 0) {
                _cleanup_free_ char *m = vnc_error_format(&e);
                fail_msg("%s: %s", path, m);
        }
        vnc_error_clear(&e);
        return p;
}

/* got against the golden file path; VNC_REGENERATE=1 rewrites it first (review every diff). */
static inline void compare_or_regenerate(const char *path, const char *got) {
        if (getenv("VNC_REGENERATE")) {
                FILE *f = fopen(path, "we");
                assert_non_null(f);
                fputs(got, f);
                assert_int_equal(fclose(f), 0);
        }
        _cleanup_free_ char *expected = read_text(path);
        if (!expected)
                fail_msg("%s missing (run with VNC_REGENERATE=1 and review)", path);
        if (!streq(expected, got)) {
                print_error("the output differs from %s (VNC_REGENERATE=1 rewrites it)\n"
                            "--- expected\n%s--- got\n%s", path, expected, got);
                fail();
        }
}

/*
 * A case's outcome against DIR/expected: "error: <why>" when its run failed (r < 0), else
 * what print writes of its result; edit (optional) changes the text in place before.
 */
static inline void compare_case(const char *dir, int r, const struct vnc_error *e,
                                void (*print)(FILE *f, const void *result), const void *result,
                                void (*edit)(char *text)) {
        char path[1280], *out = NULL;
        size_t size = 0;
        FILE *m = open_memstream(&out, &size);

        assert_non_null(m);
        if (r < 0) {
                _cleanup_free_ char *msg = vnc_error_format(e);
                fprintf(m, "error: %s\n", msg);
        } else
                print(m, result);
        assert_int_equal(fclose(m), 0);
        if (edit)
                edit(out);
        snprintf(path, sizeof(path), "%s/expected", dir);
        compare_or_regenerate(path, out);
        free(out);
}

static inline int fixture_is_case(const struct dirent *d) {
        return d->d_name[0] != '.' && d->d_type == DT_DIR;
}

/* fn on every case directory under $VNC_SOURCE_DIR/subdir, in name order; at least min of them. */
static inline void run_cases(const char *subdir, int min, void (*fn)(const char *dir)) {
        const char *src = getenv("VNC_SOURCE_DIR");
        char base[1024], dir[1280];
        struct dirent **list;
        int n;

        assert_non_null(src);
        snprintf(base, sizeof(base), "%s/%s", src, subdir);
        n = scandir(base, &list, fixture_is_case, alphasort);
        assert_true(n >= min);
        for (int i = 0; i < n; i++) {
                snprintf(dir, sizeof(dir), "%s/%s", base, list[i]->d_name);
                print_message("%s/%s\n", subdir, list[i]->d_name);
                fn(dir);
                free(list[i]);
        }
        free(list);
}

struct fixture_cases {
        const char *subdir;
        int min;
        void (*fn)(const char *dir);
};

static inline void test_fixture_cases(void **state) {
        const struct fixture_cases *c = *state;
        run_cases(c->subdir, c->min, c->fn);
}

/* main() of a test made of the case directories under subdir (run_cases), one cmocka test. */
static inline int run_cases_main(const char *subdir, int min, void (*fn)(const char *dir)) {
        struct fixture_cases c = {.subdir = subdir, .min = min, .fn = fn};
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_prestate(test_fixture_cases, &c),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
