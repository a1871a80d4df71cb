/* SPDX-License-Identifier: MIT */
#pragma once

#include "doctor.h"
#include "live.h"
#include "model.h"

/*
 * doctor, the VLAN findings (SPEC section 6): "8021q-missing" and
 * "8021q-unloadable" (the kernel cannot make the profile's 802.1Q
 * interfaces), and per VLAN network with a trunk "trunk-missing",
 * "trunk-down" and "vlan-mtu" (the network's MTU, or its sub-interface's,
 * above the trunk's). Each with the evidence and the fix. Reads only live.
 */
int vnc_doctor_vlan(const struct vnc_profile *p, const struct vnc_live *live, struct vnc_doctor_report *rep,
                    struct vnc_error *e);
