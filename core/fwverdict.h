/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdint.h>

#include "error.h"

/*
 * What would the host's firewall do with one flow? Both rule sets the kernel
 * evaluates are read: the iptables legacy tables (libiptc) and nf_tables
 * (libnftables), so a DROP installed by any tool (Docker's FORWARD policy,
 * ufw, firewalld, a hand-written nft ruleset) is found, with the rule that
 * decides. Implemented in backends/fw-verdict.c.
 */

enum vnc_hook {
        VNC_HOOK_INPUT,
        VNC_HOOK_OUTPUT,
        VNC_HOOK_FORWARD,
        VNC_HOOK_POSTROUTING, /* nat: is the flow masqueraded / SNATed? */
};

enum vnc_verdict {
        VNC_VERDICT_ACCEPT,     /* every rule set lets it through (or has no say) */
        VNC_VERDICT_DROP,       /* some rule set drops or rejects it */
        VNC_VERDICT_NAT,        /* POSTROUTING: masquerade or SNAT applies */
        VNC_VERDICT_NO_NAT,     /* POSTROUTING: nothing translates it */
        VNC_VERDICT_UNKNOWN,    /* a rule we cannot evaluate decides; evidence names it */
};

struct vnc_flow {
        enum vnc_hook hook;
        char in[16], out[16];   /* "" when not applicable */
        uint32_t src, dst;      /* host byte order */
        uint8_t proto;          /* IPPROTO_ICMP/TCP/UDP */
        int icmp_type;          /* -1 any */
        uint16_t dport;
        bool established;       /* evaluate as a reply of an established connection (conntrack) */
};

struct vnc_verdict_result {
        enum vnc_verdict verdict;
        char *evidence; /* "iptables-legacy filter FORWARD policy DROP", "nft table inet filter chain input: rule 'ip protocol icmp drop' (handle 7)" */
        char *fix;      /* a command that would let the flow through, or NULL */
};
void vnc_verdict_result_done(struct vnc_verdict_result *r);

int vnc_fw_evaluate(const struct vnc_flow *f, struct vnc_verdict_result *ret, struct vnc_error *e);
