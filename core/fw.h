/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "model.h"

/*
 * Firewall rules as vnetcfg sees them: a small structured subset of what
 * iptables can say, enough for SPEC section 4, independent of the backend.
 *
 * Chains (created by the backend when a table first needs them, removed when
 * empty):
 *   filter: VNETCFG_INP  <- INPUT       ICMP echo, DHCP/DNS from the bridges
 *           VNETCFG_OUT  <- OUTPUT      ICMP echo, DHCP replies to the bridges
 *           VNETCFG_FWD  <- FORWARD     holds only the four jumps below, in order:
 *             VNETCFG_FWX  same bridge in and out: accept (guest <-> guest)
 *             VNETCFG_FWO  egress denials: out of host-only/isolated bridges
 *             VNETCFG_FWI  ingress: into a bridge, accept what may enter, reject the rest
 *             VNETCFG_FWA  egress accepts: out of nat/routed subnets
 *           so a packet from bridge X to bridge Y passes only if X lets it out
 *           and Y lets it in, whatever order networks were added in.
 *   nat:    VNETCFG_PRE  <- PREROUTING  DNAT of port forwards
 *           VNETCFG_POST <- POSTROUTING masquerade, hairpin
 *           VNETCFG_NOUT <- OUTPUT      DNAT of port forwards for the host's own connections
 * Each builtin chain gets one jump, inserted first.
 *
 * Inside a chain, rules whose target is REJECT or MASQUERADE are appended and
 * all others inserted first, so an accept added by a later edit still comes
 * before the rejects, and RETURN exemptions before masquerade.
 */

enum vnc_fw_table {
        VNC_FW_TABLE_FILTER,
        VNC_FW_TABLE_NAT,
        _VNC_FW_TABLE_MAX,
};
const char *vnc_fw_table_to_string(int t);
int vnc_fw_table_from_string(const char *s);

enum vnc_fw_target {
        VNC_FW_ACCEPT,
        VNC_FW_REJECT,
        VNC_FW_RETURN,
        VNC_FW_MASQUERADE,
        VNC_FW_DNAT,
        _VNC_FW_TARGET_MAX,
};
const char *vnc_fw_target_to_string(int t);
int vnc_fw_target_from_string(const char *s);

enum {
        VNC_CT_ESTABLISHED = 1 << 0,
        VNC_CT_RELATED = 1 << 1,
        VNC_CT_DNAT = 1 << 2, /* conntrack --ctstate DNAT */
};

#define VNC_FW_CHAIN_MAX 16
#define VNC_FW_COMMENT_MAX 96

struct vnc_fw_rule {
        uint8_t table;                  /* enum vnc_fw_table */
        char chain[VNC_FW_CHAIN_MAX];   /* one of the VNETCFG_* chains */
        char in[VNC_IFNAMSIZ];          /* -i, "" = any */
        bool not_in;                    /* ! -i */
        char out[VNC_IFNAMSIZ];         /* -o, "" = any */
        bool not_out;                   /* ! -o */
        bool has_src;
        struct vnc_ipv4_prefix src;     /* -s */
        bool has_dst;
        bool not_dst;                   /* ! -d */
        struct vnc_ipv4_prefix dst;     /* -d */
        uint8_t proto;                  /* 0 any, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP */
        uint16_t sport, dport;          /* 0 = any (tcp/udp only) */
        int16_t icmp_type;              /* -1 = any; 8 echo-request, 0 echo-reply */
        uint8_t ctstate;                /* VNC_CT_* mask; 0 = no conntrack match */
        bool dst_local;                 /* -m addrtype --dst-type LOCAL */
        uint8_t target;                 /* enum vnc_fw_target */
        uint32_t to_addr;               /* DNAT --to-destination addr:port */
        uint16_t to_port;
        char comment[VNC_FW_COMMENT_MAX]; /* "vnetcfg:<profile>/<network> #<id>" */
        uint8_t backend;                /* enum vnc_fw_backend: VNC_FW_NFTABLES, anything else iptables
                                         * (legacy); not part of the rule's identity (the comment) */
        bool opaque;                    /* known by chain and comment only (a marked rule that does not
                                         * seal): it can be deleted, never created */
};

/* Inserted first (false) or appended (true), see above. */
bool vnc_fw_rule_appends(const struct vnc_fw_rule *r);

/* Fill comment from the alias and a digest of every other field (the rule's identity). */
void vnc_fw_rule_seal(struct vnc_fw_rule *r, const char *profile, const char *network);

/* iptables-save-like text: "-t nat -A VNETCFG_POST -s 10.0.0.0/24 ... -j MASQUERADE". Caller frees. */
char *vnc_fw_rule_render(const struct vnc_fw_rule *r);

/*
 * The same rule for the nftables backend, in the order `nft list` prints it back:
 * "VNETCFG_POST ip saddr 10.0.0.0/24 ... masquerade comment \"vnetcfg:...\"" (chain first).
 * Caller frees.
 */
char *vnc_fw_rule_render_nft(const struct vnc_fw_rule *r);

/*
 * nftables: vnetcfg's own table, one per host ("table ip vnetcfg"). It holds
 * the same regular chains as the iptables backend (vnc_fw_chains, same names,
 * same rules) and, for each builtin chain they hang from, a base chain of its
 * own with policy accept and a single jump. An accept here cannot pass another
 * table's drop (SPEC section 4), so the host firewall's openings are separate.
 */
#define VNC_NFT_FAMILY "ip"
#define VNC_NFT_TABLE "vnetcfg"
struct vnc_nft_base {
        uint8_t table;       /* enum vnc_fw_table the chains belong to */
        const char *builtin; /* the iptables builtin chain it stands for */
        const char *name;    /* base chain in table ip vnetcfg */
        const char *spec;    /* "type filter hook input priority 0; policy accept;" */
};
const struct vnc_nft_base *vnc_nft_base_for(uint8_t table, const char *builtin);

/* The builtin chain a vnetcfg chain hangs from ("" for FWX/FWO/FWI/FWA, which hang from VNETCFG_FWD). */
struct vnc_fw_chain_def {
        uint8_t table;
        const char *chain;
        const char *parent; /* builtin chain, or VNETCFG_FWD */
};
extern const struct vnc_fw_chain_def vnc_fw_chains[];
extern const size_t vnc_fw_n_chains;

/* All rules a profile's networks need (SPEC section 4), sealed, in a stable order. */
int vnc_fw_rules_for_profile(const struct vnc_profile *p, struct vnc_fw_rule **ret, size_t *ret_n);

/* Which backend renders a rule: the nftables one, or the iptables (legacy) one. */
static inline bool vnc_fw_rule_is_nft(const struct vnc_fw_rule *r) {
        return r->backend == VNC_FW_NFTABLES;
}

/*
 * firewall.backend "auto" (SPEC section 4), decided from the profile and what
 * the host shows (live: which iptables the host's command is, foreign
 * nftables base chains, foreign rules in the legacy tables). Pure. ret_reason
 * says why, for plan and status.
 */
struct vnc_live;
#define VNC_FW_REASON_MAX 200
enum vnc_fw_backend vnc_fw_backend_choose(const struct vnc_profile *p, const struct vnc_live *live,
                                          char ret_reason[VNC_FW_REASON_MAX]);
