/* SPDX-License-Identifier: MIT */
/* libvirt helper: the XML vnetcfg writes and reads back, its uuids, and the journal form of its actions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "action.h"
#include "libvirt.h"

static void test_xml_roundtrip(void **state) {
        _cleanup_free_ char *xml = vnc_libvirt_xml("lab", "natnet", "vn-natnet");
        char uuid[37], got[64];

        assert_non_null(xml);
        vnc_libvirt_uuid("lab", "natnet", uuid);
        assert_non_null(strstr(xml, uuid));
        vnc_libvirt_xml_attr(xml, "bridge", "name", got, sizeof(got));
        assert_string_equal(got, "vn-natnet");
        vnc_libvirt_xml_attr(xml, "forward", "mode", got, sizeof(got));
        assert_string_equal(got, "bridge");
        _cleanup_free_ char *owner = vnc_libvirt_xml_owner(xml);
        assert_non_null(owner);
        assert_string_equal(owner, "lab/natnet");

        /* As libvirt formats its own networks: <bridge> with more attributes, double quotes, no metadata. */
        const char *theirs = "<network>\n  <name>default</name>\n  <forward mode=\"nat\">\n    <nat/>\n  </forward>\n"
                             "  <bridges/>\n  <bridge stp='on' name=\"virbr0\" delay='0'/>\n</network>\n";
        vnc_libvirt_xml_attr(theirs, "bridge", "name", got, sizeof(got));
        assert_string_equal(got, "virbr0");
        vnc_libvirt_xml_attr(theirs, "forward", "mode", got, sizeof(got));
        assert_string_equal(got, "nat");
        vnc_libvirt_xml_attr(theirs, "ip", "address", got, sizeof(got));
        assert_string_equal(got, "");
        assert_null(vnc_libvirt_xml_owner(theirs));
}

static void test_uuid(void **state) {
        char a[37], b[37], c[37];

        vnc_libvirt_uuid("lab", "natnet", a);
        vnc_libvirt_uuid("lab", "natnet", b);
        vnc_libvirt_uuid("lab", "natnet2", c);
        assert_string_equal(a, b);
        assert_string_not_equal(a, c);
        vnc_libvirt_uuid("la", "bnatnet", c); /* the separator counts */
        assert_string_not_equal(a, c);
        assert_int_equal(strlen(a), 36);
        assert_int_equal(a[14], '8'); /* version 8 */
        assert_true(strchr("89ab", a[19]) != NULL);

        struct vnc_live_lvnet n = {.owner = NULL};
        memcpy(n.uuid, a, sizeof(a));
        assert_true(vnc_libvirt_owned(&n, "lab", "natnet")); /* a daemon that drops metadata: the uuid */
        assert_false(vnc_libvirt_owned(&n, "lab", "other"));
        n.owner = (char *)"other/natnet";
        assert_false(vnc_libvirt_owned(&n, "lab", "natnet")); /* metadata decides when present */
}

static void test_action_roundtrip(void **state) {
        struct vnc_action a, inv, back, parsed;

        vnc_action_init(&a, VNC_ACT_LIBVIRT, VNC_OP_MODIFY, "lab", "natnet");
        memset(a.alias, 0, sizeof(a.alias)); /* libvirt actions carry no link alias */
        snprintf(a.ifname, sizeof(a.ifname), "vn-natnet");
        snprintf(a.lv_uri, sizeof(a.lv_uri), "qemu+ssh://root@host/system?keyfile=/a b");
        vnc_libvirt_uuid("lab", "natnet", a.lv_uuid);
        snprintf(a.blob, sizeof(a.blob), "0123456789abcdef");
        snprintf(a.old_blob, sizeof(a.old_blob), "fedcba9876543210");
        a.lv_active = a.lv_autostart = true;
        a.old_lv_active = false;
        a.old_lv_autostart = true;
        vnc_action_inverse(&a, &inv);
        assert_false(inv.lv_active);
        assert_true(inv.old_lv_active);
        assert_string_equal(inv.blob, "fedcba9876543210");
        vnc_action_inverse(&inv, &back);
        assert_memory_equal(&a, &back, sizeof(a));

        char *line = vnc_action_serialize(&a);
        assert_non_null(line);
        assert_int_equal(vnc_action_parse(line, &parsed), 0);
        assert_memory_equal(&a, &parsed, sizeof(a));
        free(line);

        a.op = VNC_OP_CREATE;
        memset(a.old_blob, 0, sizeof(a.old_blob));
        a.old_lv_active = a.old_lv_autostart = false;
        char *line2 = vnc_action_serialize(&a);
        assert_int_equal(vnc_action_parse(line2, &parsed), 0);
        free(line2);
        assert_memory_equal(&a, &parsed, sizeof(a));
        assert_int_not_equal(vnc_action_parse("create libvirt active=2", &parsed), 0);
        assert_int_not_equal(vnc_action_parse("create bridge uri=qemu:///system", &parsed), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_xml_roundtrip),
                cmocka_unit_test(test_uuid),
                cmocka_unit_test(test_action_roundtrip),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
