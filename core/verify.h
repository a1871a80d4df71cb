/* SPDX-License-Identifier: MIT */
#pragma once

#include "error.h"
#include "host.h"
#include "model.h"

/* SPEC section 5: ping across the result from a probe on each network. */

enum vnc_check_kind {
        VNC_CHECK_PROBE_TO_HOST,  /* probe -> host address (ICMP echo) */
        VNC_CHECK_HOST_TO_PROBE,  /* host -> probe */
        VNC_CHECK_TARGET,         /* nat: probe -> verify.targets[i] answers */
        VNC_CHECK_TARGET_BLOCKED, /* host-only/isolated: verify.targets[i] must NOT answer */
        VNC_CHECK_UNREACHABLE,    /* verify.unreachable[i] must not answer */
        VNC_CHECK_MTU,            /* echo with Don't-Fragment at the network MTU */
        VNC_CHECK_DHCP,           /* the probe gets an offer from the network's DHCP server */
        VNC_CHECK_VLAN_ISOLATION, /* unrouted VLANs do not reach each other */
        VNC_CHECK_TARGET_TCP,     /* probe -> verify.targets[i]: a TCP SYN answered by SYN-ACK or RST */
        VNC_CHECK_TARGET_UDP,     /* probe -> verify.targets[i]: a UDP datagram not refused by the host */
        VNC_CHECK_DNS,            /* dhcp: the probe's DNS query to the host is answered */
        _VNC_CHECK_MAX,
};
const char *vnc_check_kind_to_string(enum vnc_check_kind k); /* "probe-to-host", "host-to-probe", ... */

struct vnc_check {
        char network[VNC_NAME_MAX + 1];
        enum vnc_check_kind kind;
        char *name;   /* "probe -> host 10.10.0.1", "mtu 9000 (DF) probe -> host", "dhcp offer" */
        bool pass;
        double ms;    /* round trip or time to answer; < 0 when none */
        char *detail; /* why it failed, or what answered ("offered 10.10.0.123"); may be NULL */
};

struct vnc_verify_result {
        struct vnc_check *checks;
        size_t n_checks, alloc;
        bool ok; /* every check passed */
};
void vnc_verify_result_done(struct vnc_verify_result *r);
int vnc_verify_add(struct vnc_verify_result *r, const char *network, enum vnc_check_kind kind, bool pass, double ms,
                   char *name /* taken */, char *detail /* taken, may be NULL */);

/*
 * Run the checks of every network of p that is applied on this host. Errors
 * (< 0, e filled) only for failures to run checks at all (no probe could be
 * made); a check that fails is a result, not an error.
 */
int vnc_verify_profile(const struct vnc_host_ops *host, const struct vnc_profile *p, struct vnc_verify_result *ret,
                       struct vnc_error *e);
