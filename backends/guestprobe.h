/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "host.h"

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

/* Returns < 0 (e filled) when a socket could not be opened or a frame not sent. */
int vnc_guest_probe_run(struct vnc_guest_probe *p, struct vnc_error *e);
