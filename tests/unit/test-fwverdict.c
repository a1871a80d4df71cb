/* SPDX-License-Identifier: MIT */
/*
 * The firewall evaluator (backends/fw-verdict.c) on captures of real rule
 * sets: ufw, firewalld and dockerd started with their stock Debian 12
 * defaults in a sandbox (tests/fixtures/rulesets/capture.sh says how). No
 * root, no kernel: vnc_fw_judge is pure. The host in every capture has a
 * bridge vn-nat (10.10.0.1/24, a guest 10.10.0.10) and an uplink eth0
 * (192.0.2.1/24); the flows are the ones doctor judges for a NAT network
 * with DHCP. On none of them may the answer be "cannot tell".
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "fw-verdict.h"

#define GUEST 0x0a0a000aU /* 10.10.0.10 */
#define HOST 0x0a0a0001U  /* 10.10.0.1 */
#define UP 0xc0000202U    /* 192.0.2.2 */

static char *slurp(const char *name) {
        const char *src = getenv("VNC_SOURCE_DIR");
        char path[512];
        snprintf(path, sizeof(path), "%s/tests/fixtures/rulesets/%s", src ? src : VNC_SOURCE_DIR, name);
        FILE *f = fopen(path, "re");
        if (!f)
                fail_msg("cannot open %s", path);
        char *buf = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&buf, &len);
        char chunk[4096];
        size_t k;
        while ((k = fread(chunk, 1, sizeof(chunk), f)) > 0)
                fwrite(chunk, 1, k, m);
        fclose(f);
        fclose(m);
        return buf;
}

static struct vnc_fw_rulesets *load(const char *what) {
        char j[64], t[64];
        snprintf(j, sizeof(j), "%s.nft.json", what);
        snprintf(t, sizeof(t), "%s.nft", what);
        char *json = slurp(j), *text = slurp(t);
        struct vnc_fw_rulesets *rs = NULL;
        struct vnc_error e = {0};
        assert_int_equal(vnc_fw_rulesets_parse(json, text, &rs, &e), 0);
        free(json);
        free(text);
        return rs;
}

static struct vnc_flow fwd_new(uint8_t proto, uint16_t dport) {
        struct vnc_flow f = {.hook = VNC_HOOK_FORWARD, .in = "vn-nat", .out = "eth0", .src = GUEST, .dst = UP,
                             .proto = proto, .icmp_type = proto == IPPROTO_ICMP ? 8 : -1, .dport = dport,
                             .sport = proto == IPPROTO_ICMP ? 0 : 40000};
        return f;
}

static struct vnc_flow fwd_reply(uint8_t proto) {
        struct vnc_flow f = {.hook = VNC_HOOK_FORWARD, .in = "eth0", .out = "vn-nat", .src = UP, .dst = GUEST,
                             .proto = proto, .icmp_type = proto == IPPROTO_ICMP ? 0 : -1,
                             .dport = proto == IPPROTO_ICMP ? 0 : 40000, .sport = proto == IPPROTO_ICMP ? 0 : 443,
                             .established = true};
        return f;
}

static struct vnc_flow dhcp_in(void) {
        struct vnc_flow f = {.hook = VNC_HOOK_INPUT, .in = "vn-nat", .src = 0, .dst = 0xffffffffU,
                             .proto = IPPROTO_UDP, .icmp_type = -1, .sport = 68, .dport = 67};
        return f;
}

static struct vnc_flow dns_in(void) {
        struct vnc_flow f = {.hook = VNC_HOOK_INPUT, .in = "vn-nat", .src = GUEST, .dst = HOST,
                             .proto = IPPROTO_UDP, .icmp_type = -1, .sport = 40000, .dport = 53};
        return f;
}

static struct vnc_flow ping_in(void) {
        struct vnc_flow f = {.hook = VNC_HOOK_INPUT, .in = "vn-nat", .src = GUEST, .dst = HOST,
                             .proto = IPPROTO_ICMP, .icmp_type = 8};
        return f;
}

static struct vnc_flow ping_out(void) {
        struct vnc_flow f = {.hook = VNC_HOOK_OUTPUT, .out = "vn-nat", .src = HOST, .dst = GUEST,
                             .proto = IPPROTO_ICMP, .icmp_type = 8};
        return f;
}

static struct vnc_flow masq(void) {
        struct vnc_flow f = {.hook = VNC_HOOK_POSTROUTING, .in = "vn-nat", .out = "eth0", .src = GUEST, .dst = UP,
                             .proto = IPPROTO_TCP, .icmp_type = -1, .sport = 40000, .dport = 443};
        return f;
}

struct want {
        enum vnc_verdict verdict;
        const char *evidence; /* substring */
        const char *fix;      /* exact, or NULL: none */
        enum vnc_fw_owner owner;
};

static void judge(const struct vnc_fw_rulesets *rs, const char *what, struct vnc_flow f, struct want w) {
        struct vnc_verdict_result v = {0};
        struct vnc_error e = {0};
        assert_int_equal(vnc_fw_judge(rs, &f, &v, &e), 0);
        if (v.verdict != w.verdict || !strstr(v.evidence, w.evidence) ||
            (w.fix ? !v.fix || strcmp(v.fix, w.fix) != 0 : v.fix != NULL) ||
            (w.verdict != VNC_VERDICT_ACCEPT && w.verdict != VNC_VERDICT_NO_NAT && v.owner != w.owner))
                fail_msg("%s: verdict %d (want %d), owner %s (want %s)\n  evidence: %s\n  want evidence with: %s\n"
                         "  fix: %s\n  want fix: %s",
                         what, v.verdict, w.verdict, vnc_fw_owner_to_string(v.owner), vnc_fw_owner_to_string(w.owner),
                         v.evidence, w.evidence, v.fix ? v.fix : "(none)", w.fix ? w.fix : "(none)");
        vnc_verdict_result_done(&v);
}

/* ufw enabled with "allow 22/tcp": INPUT and FORWARD policy DROP, conntrack through iptables-nft's xt match. */
static void test_ufw(void **st) {
        struct vnc_fw_rulesets *rs = load("ufw");
        judge(rs, "ufw: new TCP out", fwd_new(IPPROTO_TCP, 443),
              (struct want){VNC_VERDICT_DROP, "nft: table ip filter chain FORWARD: policy drop [owner: ufw]",
                            "ufw route allow in on vn-nat out on eth0", VNC_FW_OWNER_UFW});
        judge(rs, "ufw: TCP reply", fwd_reply(IPPROTO_TCP),
              (struct want){VNC_VERDICT_ACCEPT, "chain ufw-before-forward: rule 'ct state related,established counter accept'",
                            NULL, 0});
        judge(rs, "ufw: forwarded echo", fwd_new(IPPROTO_ICMP, 0),
              (struct want){VNC_VERDICT_ACCEPT, "icmp type echo-request counter accept", NULL, 0});
        judge(rs, "ufw: DHCP in", dhcp_in(),
              (struct want){VNC_VERDICT_DROP, "chain ufw-skip-to-policy-input: rule 'counter drop' (handle 50) [owner: ufw]",
                            "ufw allow in on vn-nat to any port 67 proto udp", VNC_FW_OWNER_UFW});
        judge(rs, "ufw: DNS in", dns_in(),
              (struct want){VNC_VERDICT_DROP, "nft: table ip filter chain INPUT: policy drop [owner: ufw]",
                            "ufw allow in on vn-nat to any port 53 proto udp", VNC_FW_OWNER_UFW});
        judge(rs, "ufw: echo in", ping_in(), (struct want){VNC_VERDICT_ACCEPT, "ufw-before-input", NULL, 0});
        judge(rs, "ufw: echo out", ping_out(), (struct want){VNC_VERDICT_ACCEPT, "policy accept", NULL, 0});
        judge(rs, "ufw: masquerade", masq(),
              (struct want){VNC_VERDICT_NO_NAT, "no masquerade or SNAT for 10.10.0.10 out of eth0",
                            "iptables-legacy -t nat -I POSTROUTING 1 -o eth0 -s 10.10.0.10/32 -j MASQUERADE", 0});
        vnc_fw_rulesets_free(rs);
}

/* firewalld 1.3, default zone public (no interface assigned: all land there): rejects at the zone's end. */
static void test_firewalld(void **st) {
        struct vnc_fw_rulesets *rs = load("firewalld");
        judge(rs, "firewalld: new TCP out", fwd_new(IPPROTO_TCP, 443),
              (struct want){VNC_VERDICT_DROP,
                            "chain filter_FWD_public: rule 'reject with icmpx admin-prohibited' (handle 101) "
                            "[owner: firewalld, zone public]",
                            "firewall-cmd --zone=trusted --add-interface=vn-nat", VNC_FW_OWNER_FIREWALLD});
        judge(rs, "firewalld: forwarded echo", fwd_new(IPPROTO_ICMP, 0),
              (struct want){VNC_VERDICT_DROP, "filter_FWD_public", "firewall-cmd --zone=trusted --add-interface=vn-nat",
                            VNC_FW_OWNER_FIREWALLD});
        judge(rs, "firewalld: TCP reply", fwd_reply(IPPROTO_TCP),
              (struct want){VNC_VERDICT_ACCEPT, "ct state { established, related } accept", NULL, 0});
        judge(rs, "firewalld: DHCP in", dhcp_in(),
              (struct want){VNC_VERDICT_DROP, "chain filter_IN_public: rule 'reject with icmpx admin-prohibited'",
                            "firewall-cmd --zone=trusted --add-interface=vn-nat", VNC_FW_OWNER_FIREWALLD});
        judge(rs, "firewalld: DNS in", dns_in(),
              (struct want){VNC_VERDICT_DROP, "[owner: firewalld, zone public]",
                            "firewall-cmd --zone=trusted --add-interface=vn-nat", VNC_FW_OWNER_FIREWALLD});
        judge(rs, "firewalld: echo in", ping_in(),
              (struct want){VNC_VERDICT_ACCEPT, "meta l4proto { icmp, ipv6-icmp } accept", NULL, 0});
        judge(rs, "firewalld: echo out", ping_out(), (struct want){VNC_VERDICT_ACCEPT, "filter_OUTPUT", NULL, 0});
        judge(rs, "firewalld: masquerade", masq(),
              (struct want){VNC_VERDICT_NO_NAT, "no masquerade or SNAT",
                            "nft insert rule inet firewalld nat_POSTROUTING oifname \"eth0\" ip saddr 10.10.0.10 masquerade",
                            0});
        vnc_fw_rulesets_free(rs);
}

/* dockerd 20.10 with no containers: FORWARD policy DROP, DOCKER-USER and the isolation chains. */
static void test_docker(void **st) {
        struct vnc_fw_rulesets *rs = load("docker");
        judge(rs, "docker: new TCP out", fwd_new(IPPROTO_TCP, 443),
              (struct want){VNC_VERDICT_DROP, "nft: table ip filter chain FORWARD: policy drop [owner: docker]",
                            "iptables -I DOCKER-USER -i vn-nat -o eth0 -j ACCEPT", VNC_FW_OWNER_DOCKER});
        judge(rs, "docker: TCP reply", fwd_reply(IPPROTO_TCP),
              (struct want){VNC_VERDICT_DROP, "policy drop [owner: docker]",
                            "iptables -I DOCKER-USER -i eth0 -o vn-nat -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
                            VNC_FW_OWNER_DOCKER});
        judge(rs, "docker: forwarded echo", fwd_new(IPPROTO_ICMP, 0),
              (struct want){VNC_VERDICT_DROP, "policy drop", "iptables -I DOCKER-USER -i vn-nat -o eth0 -j ACCEPT",
                            VNC_FW_OWNER_DOCKER});
        /* docker0's own traffic passes, through its isolation chains and its accept. */
        struct vnc_flow f = fwd_new(IPPROTO_TCP, 443);
        snprintf(f.in, sizeof(f.in), "docker0");
        judge(rs, "docker: docker0 out", f,
              (struct want){VNC_VERDICT_ACCEPT, "rule 'iifname \"docker0\" oifname != \"docker0\" counter accept'", NULL, 0});
        judge(rs, "docker: DHCP in", dhcp_in(), (struct want){VNC_VERDICT_ACCEPT, "", NULL, 0});
        judge(rs, "docker: DNS in", dns_in(), (struct want){VNC_VERDICT_ACCEPT, "", NULL, 0});
        judge(rs, "docker: echo in", ping_in(), (struct want){VNC_VERDICT_ACCEPT, "", NULL, 0});
        judge(rs, "docker: masquerade", masq(),
              (struct want){VNC_VERDICT_NO_NAT, "no masquerade or SNAT",
                            "iptables -t nat -I POSTROUTING 1 -o eth0 -s 10.10.0.10/32 -j MASQUERADE", 0});
        f = masq();
        f.src = 0xac110002U; /* 172.17.0.2, a container */
        judge(rs, "docker: container masquerade", f,
              (struct want){VNC_VERDICT_NAT, "oifname != \"docker0\" ip saddr 172.17.0.0/16 counter masquerade",
                            NULL, VNC_FW_OWNER_DOCKER});
        vnc_fw_rulesets_free(rs);
}

/* Verdict maps (firewalld 2.x's way to dispatch zones), from nft's own JSON. */
static void test_vmap(void **st) {
        struct vnc_fw_rulesets *rs = load("vmap");
        struct vnc_flow f = dns_in();
        judge(rs, "vmap: default zone", f,
              (struct want){VNC_VERDICT_DROP, "chain filter_IN_public: rule 'reject with icmpx admin-prohibited'",
                            "nft delete rule inet fwmap filter_IN_public handle 5",
                            VNC_FW_OWNER_ADMIN});
        snprintf(f.in, sizeof(f.in), "vn-trusted");
        judge(rs, "vmap: interface in map", f,
              (struct want){VNC_VERDICT_ACCEPT, "chain filter_IN_trusted: rule 'accept'", NULL, 0});
        snprintf(f.in, sizeof(f.in), "eth0");
        f.dport = 22;
        f.proto = IPPROTO_TCP;
        judge(rs, "vmap: eth0 ssh", f, (struct want){VNC_VERDICT_ACCEPT, "tcp dport 22 accept", NULL, 0});
        f = dns_in();
        f.established = true;
        judge(rs, "vmap: ct state map", f,
              (struct want){VNC_VERDICT_ACCEPT, "ct state vmap { invalid : drop, established : accept", NULL, 0});
        vnc_fw_rulesets_free(rs);
}

/* Undecidable predicates stay undecided, and the evidence says which. */
static void test_cannot_tell(void **st) {
        static const char json[] =
                "{\"nftables\": [{\"table\": {\"family\": \"inet\", \"name\": \"t\", \"handle\": 1}},"
                "{\"chain\": {\"family\": \"inet\", \"table\": \"t\", \"name\": \"in\", \"handle\": 1, \"type\": \"filter\","
                " \"hook\": \"input\", \"prio\": 0, \"policy\": \"accept\"}},"
                "{\"rule\": {\"family\": \"inet\", \"table\": \"t\", \"chain\": \"in\", \"handle\": 2, \"expr\": ["
                "{\"match\": {\"op\": \"==\", \"left\": {\"meta\": {\"key\": \"mark\"}}, \"right\": 1}}, {\"drop\": null}]}}]}";
        struct vnc_fw_rulesets *rs = NULL;
        struct vnc_error e = {0};
        assert_int_equal(vnc_fw_rulesets_parse(json, NULL, &rs, &e), 0);
        judge(rs, "mark", ping_in(),
              (struct want){VNC_VERDICT_UNKNOWN, "nft: table inet t chain in: rule '(rule text not available)' (handle "
                                                 "2): its mark match cannot be decided for this flow",
                            NULL, VNC_FW_OWNER_ADMIN});
        vnc_fw_rulesets_free(rs);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ufw),    cmocka_unit_test(test_firewalld),   cmocka_unit_test(test_docker),
                cmocka_unit_test(test_vmap),   cmocka_unit_test(test_cannot_tell),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
