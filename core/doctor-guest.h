/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "host.h"
#include "live.h"
#include "model.h"

/*
 * doctor --target, the guest's side (SPEC section 6: guest-gateway,
 * guest-no-route, guest-firewall, guest-subnet). Seen from the host only:
 * ARP and ICMP echo sent onto the bridge, the guest's answers watched on it.
 * Nothing on the guest (or the host) is changed. Bounded: one target's
 * guest-side probes take at most GUEST_* milliseconds (doctor-guest.c), far
 * below 3 s.
 */

/* One network as the doctor saw it (core/doctor.c fills these). */
struct vnc_guest_net {
        const char *label;   /* network name, or the bridge's */
        const char *bridge;
        int ifindex;         /* the bridge; 0 when missing */
        bool has_mac;
        uint8_t mac[6];
        bool layer2_ok;      /* up, with a port that has carrier */
        bool has_subnet;
        struct vnc_ipv4_prefix subnet;
        uint32_t host;       /* the host's address on the bridge */
        bool host_on_bridge;
        bool forwards;       /* guests are meant to route through the host (nat, routed) */
        int up_oif;          /* the uplink's ifindex when known, else 0 */
        /* in: the doctor's ARP found the target here (one MAC); out: also set where an off-subnet target answers */
        bool target_answered;
        uint8_t target_mac[6];
};

/* A finding for the guest hop of nets[net], or (code NULL) what was checked and found fine. */
struct vnc_guest_result {
        size_t net;          /* SIZE_MAX: another profile's bridge (named in the evidence) */
        const char *code;    /* static string, or NULL for a note */
        char *evidence;
        char *fix;           /* NULL for a note */
};
struct vnc_guest_report {
        struct vnc_guest_result *v;
        size_t n, alloc;
};
void vnc_guest_report_done(struct vnc_guest_report *r);

/* Returns < 0 only when out of memory; a probe that could not run is a note. */
int vnc_doctor_guest(const struct vnc_host_ops *host, const struct vnc_live *live, const struct vnc_neigh_table *neigh,
                     uint32_t target, struct vnc_guest_net *nets, size_t n_nets, struct vnc_guest_report *ret);

/*
 * The verdict on one guest from what its probe saw (pure; the unit test feeds
 * it recorded probes). p->echo[0] is from the host's address on the bridge,
 * p->echo[1] (when p->n_echo is 2) from a host address outside the subnet, on
 * out_ifname. Adds one result for nets[idx]: a finding or a note.
 */
int vnc_doctor_guest_judge(const struct vnc_guest_net *g, const struct vnc_neigh_table *neigh, uint32_t target,
                           const struct vnc_guest_probe *p, const char *out_ifname, size_t idx,
                           struct vnc_guest_report *rep);
