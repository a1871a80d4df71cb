/* SPDX-License-Identifier: MIT */
#pragma once

#include "verify.h"

/*
 * verify, between VLANs (SPEC section 5): one probe on each vlan network that
 * has ipv4, and from each of them an echo to every other one's probe. Routed
 * VLANs (both routed) must answer each other through the host; a VLAN that is
 * not routed must not reach, nor be reached from, any other (check kind
 * vlan-isolation). Nothing to do for fewer than two such networks.
 */
int vnc_verify_vlan(const struct vnc_host_ops *host, const struct vnc_profile *p, struct vnc_verify_result *res,
                    struct vnc_error *e);
