/* SPDX-License-Identifier: MIT */
/* doctor's VLAN findings (core/doctor-vlan.c) on recorded host states: each code, its evidence and fix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "doctor-vlan.h"

static const char profile_text[] =
        "{\"version\": 1, \"name\": \"lab\", \"networks\": ["
        " {\"name\": \"v10\", \"mode\": \"vlan\", \"mtu\": 9000, \"ipv4\": {\"address\": \"10.0.10.1/24\"},"
        "  \"vlan\": {\"id\": 10, \"trunk\": \"eth1\"}},"
        " {\"name\": \"v20\", \"mode\": \"vlan\", \"vlan\": {\"id\": 20, \"trunk\": \"eth2\"}},"
        " {\"name\": \"v30\", \"mode\": \"vlan\", \"vlan\": {\"id\": 30}}],"
        " \"trunk_taps\": [{\"name\": \"rtr-eth0\", \"vlans\": [\"v30\"]}]}";

static struct vnc_profile *load(void) {
        struct vnc_profile *p = NULL;
        struct vnc_error e = {0};
        assert_int_equal(vnc_profile_load_buffer("lab.json", profile_text, sizeof(profile_text) - 1, &p, &e), 0);
        return p;
}

static struct vnc_live_link *link_add(struct vnc_live *l, int ifindex, const char *name, uint32_t mtu) {
        struct vnc_live_link *k = vnc_live_add_link(l);
        assert_non_null(k);
        k->ifindex = ifindex;
        snprintf(k->name, sizeof(k->name), "%s", name);
        k->mtu = mtu;
        k->admin_up = k->oper_up = true;
        return k;
}

static const struct vnc_finding *find(const struct vnc_doctor_report *r, const char *code, const char *net) {
        for (size_t i = 0; i < r->n_findings; i++)
                if (streq(r->findings[i].code, code) && streq_ptr(r->findings[i].network, net))
                        return &r->findings[i];
        return NULL;
}

static void test_healthy(void **state) {
        struct vnc_profile *p = load();
        struct vnc_live *l = calloc(1, sizeof(*l));
        struct vnc_doctor_report rep = {0};

        l->vlan_8021q = VNC_8021Q_LOADED;
        link_add(l, 3, "eth1", 9000);
        link_add(l, 4, "eth2", 1500);
        assert_int_equal(vnc_doctor_vlan(p, l, &rep, NULL), 0);
        assert_int_equal(rep.n_findings, 0);
        vnc_doctor_report_done(&rep);
        vnc_live_free(l);
        vnc_profile_free(p);
}

static void test_findings(void **state) {
        struct vnc_profile *p = load();
        struct vnc_live *l = calloc(1, sizeof(*l));
        struct vnc_doctor_report rep = {0};
        const struct vnc_finding *f;

        l->vlan_8021q = VNC_8021Q_MISSING;
        link_add(l, 3, "eth1", 1500)->oper_up = false; /* no carrier, and too small for v10's 9000 */
        /* eth2 is missing */
        assert_int_equal(vnc_doctor_vlan(p, l, &rep, NULL), 0);

        assert_non_null(f = find(&rep, "8021q-missing", NULL));
        assert_int_equal(f->severity, VNC_SEV_ERROR);
        assert_non_null(strstr(f->evidence, "v10 (VLAN 10), v20 (VLAN 20), v30 (VLAN 30) need 802.1Q interfaces"));
        assert_non_null(strstr(f->fix, "CONFIG_VLAN_8021Q"));

        assert_non_null(f = find(&rep, "trunk-down", "v10"));
        assert_string_equal(f->evidence, "trunk \"eth1\" is up but has no carrier: VLAN 10 frames of vn-v10 go nowhere");

        assert_non_null(f = find(&rep, "vlan-mtu", "v10"));
        assert_string_equal(f->evidence, "VLAN 10: the network's MTU, 9000, is above trunk \"eth1\"'s MTU 1500: frames "
                                         "longer than 1500 bytes are dropped on the trunk");
        assert_string_equal(f->fix, "ip link set eth1 mtu 9000 (and the switch port), or lower \"mtu\" of network "
                                    "\"v10\" to 1500");

        assert_non_null(f = find(&rep, "trunk-missing", "v20"));
        assert_non_null(strstr(f->evidence, "trunk \"eth2\" of VLAN 20 does not exist"));
        assert_int_equal(rep.n_findings, 4);
        vnc_doctor_report_done(&rep);

        /* Administratively down, and a module that may not be loaded. */
        l->vlan_8021q = VNC_8021Q_UNLOADABLE;
        l->links[0].admin_up = false;
        l->links[0].mtu = 9000;
        assert_int_equal(vnc_doctor_vlan(p, l, &rep, NULL), 0);
        assert_non_null(f = find(&rep, "8021q-unloadable", NULL));
        assert_non_null(strstr(f->evidence, "kernel.modules_disabled = 1"));
        assert_non_null(strstr(f->fix, "/etc/modules-load.d/8021q.conf"));
        assert_non_null(f = find(&rep, "trunk-down", "v10"));
        assert_string_equal(f->fix, "ip link set eth1 up");
        assert_null(find(&rep, "vlan-mtu", "v10"));
        vnc_doctor_report_done(&rep);

        vnc_live_free(l);
        vnc_profile_free(p);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_healthy),
                cmocka_unit_test(test_findings),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
