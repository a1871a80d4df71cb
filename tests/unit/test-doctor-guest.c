/* SPDX-License-Identifier: MIT */
/*
 * The guest-side verdict of doctor --target (core/doctor-guest.c) on recorded
 * probes: what a guest did with echo requests from the host's address on its
 * bridge (A) and from the uplink's (B), and which addresses it asked ARP for.
 * Each case is one guest behaviour seen on a real bridge (tests/netns/
 * test-doctor-guest.sh makes them for real); here every branch of the verdict
 * is pinned, including the ones that must stay quiet.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "doctor-guest.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

static const uint8_t HOST_MAC[6] = {0x02, 0, 0, 0, 0, 0x01};
static const uint8_t GUEST_MAC[6] = {0x52, 0x54, 0, 0, 0, 0x10};
static const uint8_t ROUTER_MAC[6] = {0x52, 0x54, 0, 0, 0, 0xfe};

static struct vnc_guest_net net(bool forwards) {
        struct vnc_guest_net g = {.label = "nat", .bridge = "vn-nat", .ifindex = 7, .has_mac = true,
                                  .layer2_ok = true, .has_subnet = true,
                                  .subnet = {.addr = IP(10, 17, 0, 0), .prefix = 24}, .host = IP(10, 17, 0, 1),
                                  .host_on_bridge = true, .forwards = forwards, .up_oif = 3,
                                  .target_answered = true};
        memcpy(g.mac, HOST_MAC, 6);
        memcpy(g.target_mac, GUEST_MAC, 6);
        return g;
}

/* A probe as the backend fills it: A (and B when b_src) with their outcomes. */
static struct vnc_guest_probe probe(bool a_answered, uint32_t b_src, bool b_answered, const uint8_t *b_mac,
                                    uint32_t *asked, size_t n_asked) {
        struct vnc_guest_probe p = {.guest_ip = IP(10, 17, 0, 10), .tries = 3, .timeout_ms = 1500, .sent = 3,
                                    .arp_asked = asked, .n_arp_asked = n_asked};
        p.echo[p.n_echo++] = (struct vnc_guest_echo){.src = IP(10, 17, 0, 1), .answered = a_answered};
        if (a_answered)
                memcpy(p.echo[0].reply_mac, HOST_MAC, 6);
        if (b_src) {
                p.echo[p.n_echo] = (struct vnc_guest_echo){.src = b_src, .answered = b_answered};
                if (b_mac)
                        memcpy(p.echo[p.n_echo].reply_mac, b_mac, 6);
                p.n_echo++;
        }
        return p;
}

/* Judge and return the one result (code may be NULL: a note). */
static struct vnc_guest_result judge(const struct vnc_guest_net *g, const struct vnc_neigh_table *neigh,
                                     const struct vnc_guest_probe *p, struct vnc_guest_report *rep) {
        assert_int_equal(vnc_doctor_guest_judge(g, neigh, IP(10, 17, 0, 10), p, "uplink0", 0, rep), 0);
        assert_int_equal(rep->n, 1);
        assert_int_equal(rep->v[0].net, 0);
        assert_non_null(rep->v[0].evidence);
        return rep->v[0];
}

static void assert_contains(const char *s, const char *sub) {
        if (!s || !strstr(s, sub))
                fail_msg("\"%s\" lacks \"%s\"", s ? s : "(null)", sub);
}

static void test_healthy_is_a_note(void **state) {
        (void)state;
        struct vnc_guest_net g = net(true);
        struct vnc_guest_probe p = probe(true, IP(192, 0, 2, 1), true, HOST_MAC, NULL, 0);
        struct vnc_guest_report rep = {0};
        struct vnc_guest_result r = judge(&g, NULL, &p, &rep);
        assert_null(r.code);
        assert_null(r.fix);
        assert_contains(r.evidence, "its gateway is the host");
        assert_contains(r.evidence, "192.0.2.1 (uplink0)");
        vnc_guest_report_done(&rep);
}

static void test_host_only_asks_only_the_host(void **state) {
        (void)state;
        struct vnc_guest_net g = net(false);
        struct vnc_guest_probe p = probe(true, 0, false, NULL, NULL, 0);
        struct vnc_guest_report rep = {0};
        struct vnc_guest_result r = judge(&g, NULL, &p, &rep);
        assert_null(r.code);
        assert_contains(r.evidence, "answers ICMP echo from the host's 10.17.0.1");
        vnc_guest_report_done(&rep);
}

static void test_firewall(void **state) {
        (void)state;
        struct vnc_guest_net g = net(true);
        struct vnc_guest_probe p = probe(false, IP(192, 0, 2, 1), false, NULL, NULL, 0);
        struct vnc_guest_report rep = {0};
        struct vnc_guest_result r = judge(&g, NULL, &p, &rep);
        assert_string_equal(r.code, "guest-firewall");
        assert_contains(r.evidence, "answers ARP on vn-nat (MAC 52:54:00:00:00:10)");
        assert_contains(r.evidence, "nor from 192.0.2.1");
        assert_contains(r.fix, "Linux: iptables -I INPUT -p icmp --icmp-type echo-request -j ACCEPT");
        assert_contains(r.fix, "Windows (admin): netsh advfirewall firewall add rule");
        vnc_guest_report_done(&rep);
}

static void test_firewall_reject_is_named(void **state) {
        (void)state;
        struct vnc_guest_net g = net(false);
        struct vnc_guest_probe p = probe(false, 0, false, NULL, NULL, 0);
        p.echo[0].icmp_error = true;
        p.echo[0].icmp_type = 3;
        p.echo[0].icmp_code = 13;
        struct vnc_guest_report rep = {0};
        struct vnc_guest_result r = judge(&g, NULL, &p, &rep);
        assert_string_equal(r.code, "guest-firewall");
        assert_contains(r.evidence, "ICMP type 3 code 13");
        vnc_guest_report_done(&rep);
}

static void test_gateway_by_arp(void **state) {
        (void)state;
        struct vnc_guest_net g = net(true);
        uint32_t asked[] = {IP(10, 17, 0, 1), IP(10, 17, 0, 254)}; /* the host's own address is no gateway verdict */
        struct vnc_guest_probe p = probe(true, IP(192, 0, 2, 1), false, NULL, asked, 2);
        struct vnc_guest_report rep = {0};
        struct vnc_guest_result r = judge(&g, NULL, &p, &rep);
        assert_string_equal(r.code, "guest-gateway");
        assert_contains(r.evidence, "\"who has 10.17.0.254\"");
        assert_contains(r.evidence, "default gateway is 10.17.0.254");
        assert_contains(r.fix, "Linux: ip route replace default via 10.17.0.1 dev eth0");
        assert_contains(r.fix, "route -p add 0.0.0.0 mask 0.0.0.0 10.17.0.1");
        vnc_guest_report_done(&rep);
}

static void test_gateway_by_mac_named_from_neighbours(void **state) {
        (void)state;
        struct vnc_guest_net g = net(true);
        struct vnc_neigh nb = {.ifindex = 7, .ip = IP(10, 17, 0, 253), .has_lladdr = true};
        memcpy(nb.lladdr, ROUTER_MAC, 6);
        struct vnc_neigh_table t = {.v = &nb, .n = 1, .alloc = 1};
        struct vnc_guest_probe p = probe(true, IP(192, 0, 2, 1), true, ROUTER_MAC, NULL, 0);
        struct vnc_guest_report rep = {0};
        struct vnc_guest_result r = judge(&g, &t, &p, &rep);
        assert_string_equal(r.code, "guest-gateway");
        assert_contains(r.evidence, "goes to MAC 52:54:00:00:00:fe (gateway 10.17.0.253)");
        vnc_guest_report_done(&rep);
}

static void test_no_route(void **state) {
        (void)state;
        struct vnc_guest_net g = net(true);
        uint32_t asked[] = {IP(10, 17, 0, 1)};
        struct vnc_guest_probe p = probe(true, IP(192, 0, 2, 1), false, NULL, asked, 1);
        struct vnc_guest_report rep = {0};
        struct vnc_guest_result r = judge(&g, NULL, &p, &rep);
        assert_string_equal(r.code, "guest-no-route");
        assert_contains(r.evidence, "from 192.0.2.1 (outside 10.17.0.0/24)");
        assert_contains(r.fix, "Linux: ip route add default via 10.17.0.1 dev eth0");
        assert_contains(r.fix, "Windows (admin): route -p add 0.0.0.0 mask 0.0.0.0 10.17.0.1");
        vnc_guest_report_done(&rep);
}

static void test_mask_leaving_the_host_out_is_subnet(void **state) {
        (void)state;
        struct vnc_guest_net g = net(true);
        uint32_t asked[] = {IP(10, 17, 0, 9)}; /* a /30 guest replying to 10.17.0.1 through its own router */
        struct vnc_guest_probe p = probe(false, IP(192, 0, 2, 1), false, NULL, asked, 1);
        struct vnc_guest_report rep = {0};
        struct vnc_guest_result r = judge(&g, NULL, &p, &rep);
        assert_string_equal(r.code, "guest-subnet");
        assert_contains(r.evidence, "vn-nat's subnet is 10.17.0.0/24");
        assert_contains(r.fix, "ip addr add 10.17.0.10/24 dev eth0; ip route replace default via 10.17.0.1");
        assert_contains(r.fix, "static 10.17.0.10 255.255.255.0 10.17.0.1");
        vnc_guest_report_done(&rep);
}

static void test_source_filter_is_no_finding(void **state) {
        (void)state;
        struct vnc_guest_net g = net(true);
        struct vnc_guest_probe p = probe(false, IP(192, 0, 2, 1), true, HOST_MAC, NULL, 0);
        struct vnc_guest_report rep = {0};
        struct vnc_guest_result r = judge(&g, NULL, &p, &rep);
        assert_null(r.code);
        vnc_guest_report_done(&rep);
}

static void test_no_outside_address_is_a_note(void **state) {
        (void)state;
        struct vnc_guest_net g = net(true);
        struct vnc_guest_probe p = probe(true, 0, false, NULL, NULL, 0);
        struct vnc_guest_report rep = {0};
        struct vnc_guest_result r = judge(&g, NULL, &p, &rep);
        assert_null(r.code);
        assert_contains(r.evidence, "gateway was not checked");
        vnc_guest_report_done(&rep);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_healthy_is_a_note),
                cmocka_unit_test(test_host_only_asks_only_the_host),
                cmocka_unit_test(test_firewall),
                cmocka_unit_test(test_firewall_reject_is_named),
                cmocka_unit_test(test_gateway_by_arp),
                cmocka_unit_test(test_gateway_by_mac_named_from_neighbours),
                cmocka_unit_test(test_no_route),
                cmocka_unit_test(test_mask_leaving_the_host_out_is_subnet),
                cmocka_unit_test(test_source_filter_is_no_finding),
                cmocka_unit_test(test_no_outside_address_is_a_note),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
