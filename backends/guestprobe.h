/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/*
 * The guest's side of doctor --target, seen from the host (SPEC section 6).
 * Nothing on the guest is changed and nothing on the host is configured:
 * ICMP echo requests are written as whole Ethernet frames onto the bridge
 * (an AF_PACKET socket bound to it: the frames reach the guest's port as if
 * the host had routed them, from the bridge's MAC), and one AF_PACKET socket
 * filtered on the guest's MAC watches what the guest sends back on its port:
 * echo replies (to which MAC), ICMP errors, ARP requests (for which address).
 * The host's own IP stack, routes and firewall play no part in either.
 * IPv4 addresses in host byte order.
 */

/* One echo source: the guest is asked once per try from src. */
struct vnc_guest_echo {
        uint32_t src;              /* in: a host address (the bridge's, the uplink's) */
        bool answered;             /* out: an echo reply to src left the guest */
        uint8_t reply_mac[6];      /* out: the Ethernet destination of that reply */
        bool icmp_error;           /* out: an ICMP error to src came back instead */
        uint8_t icmp_type, icmp_code;
};

struct vnc_guest_probe {
        /* in */
        int bridge_ifindex;
        uint8_t bridge_mac[6];
        uint32_t guest_ip;
        uint8_t guest_mac[6];
        struct vnc_guest_echo echo[2];
        size_t n_echo;
        int tries;                 /* requests per source, spread over timeout_ms */
        unsigned timeout_ms;       /* the whole exchange; ends early once every source is answered */
        /* out */
        unsigned sent;             /* requests that left */
        uint32_t *arp_asked;       /* distinct addresses the guest asked ARP for (sender guest_ip) */
        size_t n_arp_asked;
        unsigned ms;               /* how long it took */
};

/* Returns < 0 (e filled) when a socket could not be opened or a frame not sent. */
int vnc_guest_probe_run(struct vnc_guest_probe *p, struct vnc_error *e);
void vnc_guest_probe_done(struct vnc_guest_probe *p);
