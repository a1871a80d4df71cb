/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdint.h>

#include "error.h"

/*
 * What would the host's firewall do with one flow? Both rule sets the kernel
 * evaluates are read once (vnc_fw_rulesets_read): the iptables legacy tables
 * (libiptc) and nf_tables (libnftables), so a DROP installed by any tool
 * (Docker's FORWARD policy, ufw, firewalld, a hand-written nft ruleset,
 * vnetcfg itself) is found. The judge is pure: the rule sets read and a
 * flow in, the verdict, the deciding rule or policy, its owner and the fix in
 * that owner's tool out. The types are here; the core asks through
 * struct vnc_host_ops (core/host.h), implemented in backends/fw-verdict.c.
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
        /* A reply of an established connection (conntrack ESTABLISHED); otherwise the
         * first packet of a new flow (conntrack NEW). */
        bool established;
        /* verdict: added with owners and fixes */
        uint16_t sport;         /* 0: not known */
        bool dnat;              /* the connection was destination-NATed (a port forward) */
};

/* Who a deciding rule or policy belongs to (SPEC section 6). */
enum vnc_fw_owner {
        VNC_FW_OWNER_ADMIN,     /* none of the tools below: the administrator's own rules */
        VNC_FW_OWNER_VNETCFG,
        VNC_FW_OWNER_UFW,
        VNC_FW_OWNER_FIREWALLD,
        VNC_FW_OWNER_DOCKER,
        VNC_FW_OWNER_LIBVIRT,
};

struct vnc_verdict_result {
        enum vnc_verdict verdict;
        char *evidence; /* "nft: table ip filter chain FORWARD: policy drop (ufw)", "iptables-legacy: filter INPUT rule 2: -A INPUT -p icmp -j DROP" */
        char *fix;      /* a command in the owner's tool that would let the flow through, or NULL */
        enum vnc_fw_owner owner; /* of the deciding rule or policy (DROP, NAT, UNKNOWN) */
        char *zone;     /* firewalld: the zone whose chain decides, else NULL */
};
void vnc_verdict_result_done(struct vnc_verdict_result *r);

/* Both rule sets, read once (backends/fw-verdict.h); then judged for any number of flows. */
struct vnc_fw_rulesets;
