/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "fw.h"
#include "model.h"

/*
 * Openings in a foreign firewall (SPEC section 4, "Living with the host's
 * firewall"). A packet must be accepted by every base chain on its hook, so
 * when the host's own firewall (ufw, Docker, an admin) would drop a network's
 * traffic in its INPUT or FORWARD chain, vnetcfg puts marked accept rules at
 * the top of that chain, mirroring exactly the accepts of its own chains:
 *   INPUT:   DHCP/DNS from the bridge (dhcp), ICMP echo from the subnet (allow_icmp)
 *   FORWARD: guest <-> guest on the bridge (every mode; frames pass FORWARD with
 *            br_netfilter), and for nat/routed the subnet out of the bridge and
 *            into it (replies and port forwards: vnetcfg's own chains keep
 *            rejecting what the mode does not let in; iptables-nft cannot read a
 *            native conntrack match back, so the opening carries none).
 * host-only and isolated networks get no forwarding opened beyond their own bridge.
 *
 * Each opening is a struct vnc_fw_rule with chain "INPUT" or "FORWARD", target
 * ACCEPT, sealed with its own comment "vnetcfg:<profile>/<network> #<hash>".
 */

enum vnc_open_place {
        VNC_OPEN_IPT_NFT,    /* iptables-nft: nftables "table ip filter" (ufw, Docker, libvirt) */
        VNC_OPEN_IPT_LEGACY, /* the legacy x_tables filter table (an admin's rules) */
        VNC_OPEN_FIREWALLD,  /* firewalld over D-Bus: the bridge in a zone */
        _VNC_OPEN_PLACE_MAX,
        _VNC_OPEN_PLACE_INVALID = -1,
};
const char *vnc_open_place_to_string(int p);
int vnc_open_place_from_string(const char *s);

/* Chains of the iptables places (bits of vnc_live.open_need[place]). */
enum {
        VNC_OPEN_INPUT = 1 << 0,
        VNC_OPEN_FORWARD = 1 << 1,
};

/* firewalld: the zone a network's bridge goes into at runtime, NULL for none (see open.c). */
const char *vnc_open_firewalld_zone(const struct vnc_network *n);

/* All openings a profile's networks would need in an iptables place, sealed, in a stable order. */
int vnc_open_rules_for_profile(const struct vnc_profile *p, struct vnc_fw_rule **ret, size_t *ret_n);
