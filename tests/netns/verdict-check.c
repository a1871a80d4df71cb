/* SPDX-License-Identifier: MIT */
/*
 * Asks vnc_fw_evaluate about one flow, for test-verdict.sh. Run only inside a
 * private network namespace.
 *
 *   verdict-check HOOK [in=IF] [out=IF] [src=A.B.C.D] [dst=A.B.C.D]
 *                 [proto=icmp|tcp|udp|N] [type=N] [dport=N] [established]
 *
 * HOOK is INPUT, OUTPUT, FORWARD or POSTROUTING. Prints three lines:
 *   verdict: ACCEPT|DROP|NAT|NO_NAT|UNKNOWN
 *   evidence: ...
 *   fix: ...            ("-" when there is none)
 * Exit status 1 with the error on stderr when the call fails, 2 on bad usage.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>

#include "error.h"
#include "fw-verdict.h"

static int usage(const char *why) {
        fprintf(stderr, "verdict-check: %s\nusage: verdict-check INPUT|OUTPUT|FORWARD|POSTROUTING "
                        "[in=IF] [out=IF] [src=IP] [dst=IP] [proto=P] [type=N] [dport=N] [established]\n",
                why);
        return 2;
}

static bool parse_uint(const char *s, unsigned long max, unsigned long *ret) {
        char *end;
        errno = 0;
        unsigned long v = strtoul(s, &end, 10);
        if (errno || end == s || *end || v > max)
                return false;
        *ret = v;
        return true;
}

int main(int argc, char **argv) {
        static const char *const hooks[] = {[VNC_HOOK_INPUT] = "INPUT", [VNC_HOOK_OUTPUT] = "OUTPUT",
                                            [VNC_HOOK_FORWARD] = "FORWARD", [VNC_HOOK_POSTROUTING] = "POSTROUTING"};
        static const char *const verdicts[] = {[VNC_VERDICT_ACCEPT] = "ACCEPT", [VNC_VERDICT_DROP] = "DROP",
                                               [VNC_VERDICT_NAT] = "NAT", [VNC_VERDICT_NO_NAT] = "NO_NAT",
                                               [VNC_VERDICT_UNKNOWN] = "UNKNOWN"};
        struct vnc_flow f = {.icmp_type = -1};
        struct vnc_verdict_result res = {0};
        struct vnc_error e = {0};
        unsigned long v;
        bool hook_set = false;

        if (argc < 2)
                return usage("no hook");
        for (size_t i = 0; i < ELEMENTSOF(hooks); i++)
                if (streq(argv[1], hooks[i])) {
                        f.hook = (enum vnc_hook)i;
                        hook_set = true;
                }
        if (!hook_set)
                return usage("unknown hook");
        for (int i = 2; i < argc; i++) {
                const char *a = argv[i], *val = strchr(a, '=');
                val = val ? val + 1 : "";
                struct in_addr addr;
                if (strncmp(a, "in=", 3) == 0 && strlen(val) < sizeof(f.in))
                        snprintf(f.in, sizeof(f.in), "%s", val);
                else if (strncmp(a, "out=", 4) == 0 && strlen(val) < sizeof(f.out))
                        snprintf(f.out, sizeof(f.out), "%s", val);
                else if ((strncmp(a, "src=", 4) == 0 || strncmp(a, "dst=", 4) == 0) &&
                         inet_pton(AF_INET, val, &addr) == 1)
                        *(a[0] == 's' ? &f.src : &f.dst) = ntohl(addr.s_addr);
                else if (strncmp(a, "proto=", 6) == 0) {
                        if (streq(val, "icmp"))
                                f.proto = IPPROTO_ICMP;
                        else if (streq(val, "tcp"))
                                f.proto = IPPROTO_TCP;
                        else if (streq(val, "udp"))
                                f.proto = IPPROTO_UDP;
                        else if (parse_uint(val, 255, &v))
                                f.proto = (uint8_t)v;
                        else
                                return usage(a);
                } else if (strncmp(a, "type=", 5) == 0 && parse_uint(val, 255, &v))
                        f.icmp_type = (int)v;
                else if (strncmp(a, "dport=", 6) == 0 && parse_uint(val, 65535, &v))
                        f.dport = (uint16_t)v;
                else if (streq(a, "established"))
                        f.established = true;
                else
                        return usage(a);
        }
        int r = vnc_fw_evaluate(&f, &res, &e);
        if (r < 0) {
                _cleanup_free_ char *msg = vnc_error_format(&e);
                fprintf(stderr, "verdict-check: %s\n", msg ? msg : strerror(-r));
                vnc_error_clear(&e);
                return 1;
        }
        printf("verdict: %s\nevidence: %s\nfix: %s\n", verdicts[res.verdict], res.evidence, res.fix ? res.fix : "-");
        vnc_verdict_result_done(&res);
        return 0;
}
