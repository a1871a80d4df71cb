/* SPDX-License-Identifier: MIT */
/* dnsmasq's lease file as vnetcfg leases reads it (backends/dnsmasq-leases.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "dnsmasq-leases.h"
#include "model.h"

static int parse(const char *text, struct vnc_leases *ret, unsigned *ret_line) {
        FILE *f = fmemopen((void *)text, strlen(text), "r");
        assert_non_null(f);
        int r = vnc_leases_parse(f, ret, ret_line);
        fclose(f);
        return r;
}

static void test_ipv4_leases(void **state) {
        /* As dnsmasq 2.89 writes it: a named guest, an anonymous one with a client id, an infinite lease,
         * and the DHCPv6 part (DUID line, IPv6 lease) that vnetcfg does not serve. */
        const char *text = "1764675000 52:54:00:00:00:10 10.10.0.10 vm1 01:52:54:00:00:00:10\n"
                           "1764675100 AA:bb:cc:dd:ee:ff 10.10.0.150 * *\n"
                           "0 52:54:00:aa:bb:cc 10.20.0.5 router\n"
                           "duid 00:01:00:01:2c:5e:1a:2b:52:54:00:00:00:01\n"
                           "1764675200 1234 fd00::5 host6 00:01:00:01\n"
                           "\n";
        struct vnc_leases l;
        char ip[16];

        assert_int_equal(parse(text, &l, NULL), 0);
        assert_int_equal(l.n, 3);
        assert_int_equal(l.leases[0].expiry, 1764675000LL);
        assert_string_equal(l.leases[0].mac, "52:54:00:00:00:10");
        assert_string_equal(vnc_ipv4_str(l.leases[0].ip, ip), "10.10.0.10");
        assert_string_equal(l.leases[0].hostname, "vm1");
        assert_string_equal(l.leases[0].client_id, "01:52:54:00:00:00:10");
        assert_string_equal(l.leases[1].mac, "aa:bb:cc:dd:ee:ff");
        assert_null(l.leases[1].hostname);
        assert_null(l.leases[1].client_id);
        assert_int_equal(l.leases[2].expiry, 0);
        assert_string_equal(vnc_ipv4_str(l.leases[2].ip, ip), "10.20.0.5");
        assert_null(l.leases[2].client_id);
        vnc_leases_done(&l);
}

static void test_malformed_line(void **state) {
        struct vnc_leases l;
        unsigned line = 0;

        assert_int_equal(parse("1764675000 52:54:00:00:00:10 10.10.0.10 vm1 *\n"
                               "soon 52:54:00:00:00:11 10.10.0.11 vm2 *\n",
                               &l, &line),
                         -EBADMSG);
        assert_int_equal(line, 2);
        assert_int_equal(l.n, 0);
        assert_int_equal(parse("1764675000 52:54:00:00:00 10.10.0.10 vm1 *\n", &l, &line), -EBADMSG);
        assert_int_equal(line, 1);
        assert_int_equal(parse("1764675000 52:54:00:00:00:10 10.10.0.300 vm1 *\n", &l, &line), -EBADMSG);
        assert_int_equal(parse("1764675000 52:54:00:00:00:10\n", &l, &line), -EBADMSG);
}

static void test_missing_file_is_no_leases(void **state) {
        struct vnc_leases l = {.n = 99};
        assert_int_equal(vnc_leases_read("/nonexistent-vnetcfg-state", "lab", &l, NULL), 0);
        assert_int_equal(l.n, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ipv4_leases),
                cmocka_unit_test(test_malformed_line),
                cmocka_unit_test(test_missing_file_is_no_leases),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
