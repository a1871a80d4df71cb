/* SPDX-License-Identifier: MIT */
/*
 * Planner golden tests. Each directory tests/golden/<case>/ holds:
 *   profile.json   what the user asks for (absent: plan the removal of applied.json)
 *   applied.json   what this profile applied before (optional)
 *   other-*.json   other applied profiles (optional, for conflicts)
 *   live.txt       the host as the planner sees it (fixture, format below)
 *   expected       one journal-encoded action per line, or "error: <message>"
 * VNC_REGENERATE=1 rewrites expected from the current output: review every diff.
 *
 * live.txt: the format is described in live-fixture.h.
 * Notes of the plan are printed as "note: ..." after the actions.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <linux/rtnetlink.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "dhcp.h"
#include "fw.h"
#include "open.h"
#include "plan.h"
#include "plan-libvirt.h"
#include "live-fixture.h"

static void run_case(const char *dir) {
        struct vnc_profile *want = load_profile(dir, "profile.json");
        struct vnc_profile *applied = load_profile(dir, "applied.json");
        struct vnc_profile *others[8];
        size_t n_others = 0;
        struct vnc_live *live;
        struct vnc_plan plan = {0};
        struct vnc_error e = {0};
        char path[1024];
        char *out = NULL;
        size_t size = 0;
        FILE *m;
        int r;

        snprintf(path, sizeof(path), "%s/live.txt", dir);
        fixture_applied = applied;
        live = load_live(path);
        fixture_applied = NULL;
        for (int i = 1; i <= 8; i++) {
                char name[32];
                snprintf(name, sizeof(name), "other-%d.json", i);
                struct vnc_profile *o = load_profile(dir, name);
                if (o)
                        others[n_others++] = o;
        }
        assert_true(want || applied);

        r = vnc_plan_compute(want, applied, live, (const struct vnc_profile *const *)others, n_others, &plan, &e);
        m = open_memstream(&out, &size);
        if (r < 0) {
                _cleanup_free_ char *msg = vnc_error_format(&e);
                fprintf(m, "error: %s\n", msg);
        } else {
                if (plan.fw_backend != VNC_FW_AUTO)
                        fprintf(m, "# firewall %s: %s\n", vnc_fw_backend_to_string(plan.fw_backend), plan.fw_reason);
                for (size_t i = 0; i < plan.n_actions; i++) {
                        _cleanup_free_ char *line = vnc_action_serialize(&plan.actions[i]);
                        fprintf(m, "%s\n", line);
                }
                for (size_t i = 0; i < plan.n_notes; i++)
                        fprintf(m, "note: %s\n", plan.notes[i]);
                for (size_t i = 0; i < plan.n_blobs; i++)
                        fprintf(m, "--- blob %s\n%s", plan.blobs[i].hash, plan.blobs[i].text);
        }
        fclose(m);

        snprintf(path, sizeof(path), "%s/expected", dir);
        if (getenv("VNC_REGENERATE")) {
                FILE *f = fopen(path, "we");
                assert_non_null(f);
                fputs(out, f);
                fclose(f);
        }
        _cleanup_free_ char *expected = read_text(path);
        if (!expected)
                fail_msg("%s missing (run with VNC_REGENERATE=1 and review)", path);
        if (!streq(expected, out)) {
                print_error("plan differs from %s\n--- expected\n%s--- got\n%s", path, expected, out);
                fail();
        }

        /* Applying the plan and planning again must give nothing: checked by the netns tests on a real kernel. */
        free(out);
        vnc_plan_done(&plan);
        vnc_error_clear(&e);
        vnc_live_free(live);
        vnc_profile_free(want);
        vnc_profile_free(applied);
        for (size_t i = 0; i < n_others; i++)
                vnc_profile_free(others[i]);
}

static void test_golden(void **state) {
        const char *src = getenv("VNC_SOURCE_DIR");
        char base[512];
        struct dirent **list;
        int n, ran = 0;

        assert_non_null(src);
        assert_int_equal(chdir(src), 0);
        snprintf(base, sizeof(base), "tests/golden");
        n = scandir(base, &list, NULL, alphasort);
        assert_true(n > 0);
        for (int i = 0; i < n; i++) {
                if (list[i]->d_name[0] != '.') {
                        char dir[768];
                        snprintf(dir, sizeof(dir), "%s/%s", base, list[i]->d_name);
                        print_message("[ golden ] %s\n", list[i]->d_name);
                        run_case(dir);
                        ran++;
                }
                free(list[i]);
        }
        free(list);
        assert_true(ran >= 10);
}

/* Every action's inverse of the inverse is the action itself, and the journal encoding round-trips. */
static void test_inverse_roundtrip(void **state) {
        struct vnc_action a, inv, back, parsed;

        vnc_action_init(&a, VNC_ACT_LINK_SET, VNC_OP_MODIFY, "lab", "net");
        snprintf(a.ifname, sizeof(a.ifname), "vm1-eth0");
        a.set = VNC_SET_MTU | VNC_SET_MASTER;
        a.mtu = 9000;
        a.old_mtu = 1500;
        snprintf(a.master, sizeof(a.master), "vn-net");
        snprintf(a.old_alias, sizeof(a.old_alias), "vnetcfg:lab/net");
        a.up = a.old_up = true;
        vnc_action_inverse(&a, &inv);
        assert_int_equal(inv.mtu, 1500);
        assert_int_equal(inv.old_mtu, 9000);
        assert_string_equal(inv.master, "");
        assert_string_equal(inv.old_master, "vn-net");
        vnc_action_inverse(&inv, &back);
        assert_memory_equal(&a, &back, sizeof(a));

        _cleanup_free_ char *line = vnc_action_serialize(&a);
        assert_int_equal(vnc_action_parse(line, &parsed), 0);
        assert_memory_equal(&a, &parsed, sizeof(a));

        vnc_action_init(&a, VNC_ACT_SYSCTL, VNC_OP_CREATE, "lab", "");
        snprintf(a.key, sizeof(a.key), "net.ipv4.conf.vn-x.rp_filter");
        snprintf(a.value, sizeof(a.value), "2 with space%%");
        _cleanup_free_ char *line2 = vnc_action_serialize(&a);
        assert_null(strchr(line2 + strlen("create sysctl "), '\t'));
        assert_int_equal(vnc_action_parse(line2, &parsed), 0);
        assert_memory_equal(&a, &parsed, sizeof(a));

        /* An opening in a foreign firewall: the rule and its place survive the journal, its inverse deletes it. */
        vnc_action_init(&a, VNC_ACT_FW_OPEN, VNC_OP_CREATE, "lab", "n");
        a.place = VNC_OPEN_IPT_NFT;
        a.rule = (struct vnc_fw_rule){.table = VNC_FW_TABLE_FILTER, .proto = 17, .dport = 67, .icmp_type = -1,
                                      .target = VNC_FW_ACCEPT};
        snprintf(a.rule.chain, sizeof(a.rule.chain), "INPUT");
        snprintf(a.rule.in, sizeof(a.rule.in), "vn-x");
        vnc_fw_rule_seal(&a.rule, "lab", "n");
        _cleanup_free_ char *line3 = vnc_action_serialize(&a);
        assert_non_null(strstr(line3, "create fw-open "));
        assert_int_equal(vnc_action_parse(line3, &parsed), 0);
        assert_memory_equal(&a, &parsed, sizeof(a));
        vnc_action_inverse(&a, &inv);
        assert_int_equal(inv.op, VNC_OP_DELETE);
        assert_memory_equal(&inv.rule, &a.rule, sizeof(a.rule));
        assert_int_not_equal(vnc_action_parse("create fw-open place=nowhere", &parsed), 0);

        assert_int_not_equal(vnc_action_parse("create bridge ifname=x%zz", &parsed), 0);
        assert_int_not_equal(vnc_action_parse("explode bridge", &parsed), 0);
        assert_int_not_equal(vnc_action_parse("create bridge bogus=1", &parsed), 0);
}

/* vlan: a VLAN interface action keeps its lower link and id through the journal and its inverse. */
static void test_vlan_action_roundtrip(void **state) {
        struct vnc_action a, inv, parsed;

        vnc_action_init(&a, VNC_ACT_VLAN, VNC_OP_CREATE, "lab", "v10");
        snprintf(a.ifname, sizeof(a.ifname), "eth1.10");
        snprintf(a.vlan_link, sizeof(a.vlan_link), "eth1");
        snprintf(a.master, sizeof(a.master), "vn-v10");
        a.vlan_id = 10;
        a.mtu = 1400;
        a.up = true;
        _cleanup_free_ char *line = vnc_action_serialize(&a);
        assert_string_equal(line, "create vlan profile=lab network=v10 ifname=eth1.10 alias=vnetcfg:lab/v10 mtu=1400 "
                                  "master=vn-v10 up=1 vlan_link=eth1 vlan_id=10");
        assert_int_equal(vnc_action_parse(line, &parsed), 0);
        assert_memory_equal(&a, &parsed, sizeof(a));
        vnc_action_inverse(&a, &inv);
        assert_int_equal(inv.op, VNC_OP_DELETE);
        assert_string_equal(inv.vlan_link, "eth1");
        assert_int_equal(inv.vlan_id, 10);
        _cleanup_free_ char *detail = vnc_action_detail(&a);
        assert_string_equal(detail, "link eth1 id 10 master vn-v10 mtu 1400 up");
        assert_int_equal(vnc_action_parse("create vlan profile=lab network=v10 vlan_id=4095", &parsed), -EINVAL);
}

/* IPv6 address generation of an isolated bridge: through the journal, its inverse, and journals
 * written before the field (a bridge line without addr_gen: leave it as is). */
static void test_addr_gen_roundtrip(void **state) {
        struct vnc_action a, inv, parsed;

        vnc_action_init(&a, VNC_ACT_LINK_SET, VNC_OP_MODIFY, "lab", "iso");
        snprintf(a.ifname, sizeof(a.ifname), "vn-iso");
        snprintf(a.old_alias, sizeof(a.old_alias), "%s", a.alias);
        a.set = VNC_SET_ADDR_GEN;
        a.addr_gen = VNC_ADDR_GEN_NONE;
        a.old_addr_gen = VNC_ADDR_GEN_EUI64;
        _cleanup_free_ char *line = vnc_action_serialize(&a);
        assert_non_null(strstr(line, " addr_gen=none old_addr_gen=eui64"));
        assert_int_equal(vnc_action_parse(line, &parsed), 0);
        assert_memory_equal(&a, &parsed, sizeof(a));
        _cleanup_free_ char *detail = vnc_action_detail(&a);
        assert_string_equal(detail, "addrgenmode eui64 -> none");
        vnc_action_inverse(&a, &inv);
        assert_int_equal(inv.addr_gen, VNC_ADDR_GEN_EUI64);
        assert_int_equal(inv.old_addr_gen, VNC_ADDR_GEN_NONE);

        assert_int_equal(vnc_action_parse("create bridge profile=lab network=iso ifname=vn-iso up=1", &parsed), 0);
        assert_int_equal(parsed.addr_gen, VNC_ADDR_GEN_KEEP);
        assert_int_equal(vnc_action_parse("create bridge ifname=vn-iso addr_gen=stable_secret", &parsed), 0);
        assert_int_equal(parsed.addr_gen, VNC_ADDR_GEN_STABLE_PRIVACY);
        assert_int_equal(vnc_action_parse("create bridge ifname=vn-iso addr_gen=sometimes", &parsed), -EINVAL);
}

static struct vnc_live_link *add_link(struct vnc_live *l, int ifindex, const char *name, const char *kind,
                                      int master, const char *alias) {
        struct vnc_live_link *k = vnc_live_add_link(l);
        assert_non_null(k);
        k->ifindex = ifindex;
        snprintf(k->name, sizeof(k->name), "%s", name);
        snprintf(k->kind, sizeof(k->kind), "%s", kind);
        k->master = master;
        k->mtu = 1500;
        k->admin_up = true;
        k->alias = alias ? strdup(alias) : NULL;
        return k;
}

/*
 * The sweep of rollback --all (no profile wanted, an applied profile that knows
 * nothing, as after a lost journal): links with the profile's mark go with an
 * exact undo (a tap's owner and flags, a bridge's address first); a bridge with
 * a foreign port that is no tap (a bridged uplink?) and another profile's stay.
 */
static void test_sweep_from_marks(void **state) {
        struct vnc_live *l = calloc(1, sizeof(*l));
        struct vnc_profile none = {0};
        struct vnc_plan plan = {0};
        struct vnc_error e = {0};

        assert_non_null(l);
        l->fw_available = l->nft_available = true;
        snprintf(none.name, sizeof(none.name), "lab");
        add_link(l, 10, "vn-old", "bridge", 0, "vnetcfg:lab/old");
        struct vnc_live_link *t = add_link(l, 11, "old-tap", "tun", 10, "vnetcfg:lab/old");
        t->tun_read = t->tun_has_owner = t->tun_multi_queue = true;
        t->tun_owner = 1000;
        struct vnc_live_addr *a = vnc_live_add_addr(l);
        assert_non_null(a);
        a->ifindex = 10;
        a->family = AF_INET;
        memcpy(a->addr, (uint8_t[]){10, 40, 0, 1}, 4);
        a->prefix = 24;
        add_link(l, 12, "vn-lan", "bridge", 0, "vnetcfg:lab/lan");
        add_link(l, 13, "eth1", "", 12, NULL);
        add_link(l, 14, "vn-x", "bridge", 0, "vnetcfg:other/x");

        assert_int_equal(vnc_plan_compute(NULL, &none, l, NULL, 0, &plan, &e), 0);
        assert_int_equal(plan.n_actions, 3);
        assert_int_equal(plan.actions[0].kind, VNC_ACT_ADDR);
        assert_string_equal(plan.actions[0].ifname, "vn-old");
        assert_int_equal(plan.actions[1].kind, VNC_ACT_TAP);
        assert_int_equal(plan.actions[1].op, VNC_OP_DELETE);
        assert_true(plan.actions[1].has_owner && plan.actions[1].owner == 1000 && plan.actions[1].multi_queue);
        assert_false(plan.actions[1].has_group);
        assert_string_equal(plan.actions[1].master, "vn-old");
        assert_int_equal(plan.actions[2].kind, VNC_ACT_BRIDGE);
        assert_string_equal(plan.actions[2].ifname, "vn-old");
        assert_int_equal(plan.n_notes, 1);
        assert_non_null(strstr(plan.notes[0], "\"vn-lan\""));
        vnc_plan_done(&plan);
        vnc_error_clear(&e);
        vnc_live_free(l);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_inverse_roundtrip),
                cmocka_unit_test(test_vlan_action_roundtrip),
                cmocka_unit_test(test_addr_gen_roundtrip),
                cmocka_unit_test(test_golden),
                cmocka_unit_test(test_sweep_from_marks),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
