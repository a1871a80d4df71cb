/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "host.h"

/*
 * Host facts the doctor needs beyond vnc_live_read(), each read cheaply (one
 * dump per kind). Read-only: nothing here changes the host. The one thing
 * that sends a packet is the ARP probe, and only when asked, bounded in time.
 * IPv4 addresses in host byte order.
 */

/* ---- neighbour table (RTM_GETNEIGH dump, IPv4) ---- */
int vnc_diag_neigh_read(struct vnc_neigh_table *ret, struct vnc_error *e);

/* ---- one route lookup, as `ip route get DST` ---- */
/* Returns < 0 only when the question could not be asked; a kernel "no route" is ret->error. */
int vnc_diag_route_get(uint32_t dst, struct vnc_route_lookup *ret, struct vnc_error *e);

/* ---- sysctls ---- */
/* net.ipv4.conf.<ifname>.<leaf> as an integer; ifname may be "all" or "default" (checked before any path). */
int vnc_diag_conf_int(const char *ifname, const char *leaf, int *ret);
/* net.bridge.bridge-nf-call-iptables: -ENOENT when br_netfilter is not loaded. */
int vnc_diag_br_nf_call_iptables(int *ret);
/* /sys/class/net/<ifname>/addr_assign_type (NET_ADDR_PERM 0, RANDOM 1, STOLEN 2, SET 3). */
int vnc_diag_addr_assign_type(const char *ifname, int *ret);

/* ---- sockets bound to given ports (/proc/net/udp, /proc/net/tcp LISTEN) ---- */
int vnc_diag_listeners(const uint16_t *ports, size_t n_ports, struct vnc_listener **ret, size_t *ret_n,
                       struct vnc_error *e);

/* ---- active ARP probe ---- */
/*
 * Send an ARP request "who has target_ip" out of ifindex (an AF_PACKET frame
 * sent to it: on a bridge, it floods to the ports, never to the host's own
 * stack; a reply counts when it comes in on ifindex) from src_mac/sender_ip (sender_ip 0 = an RFC 5227 probe that poisons
 * no cache), twice, and collect the distinct MACs that answer for target_ip
 * within timeout_ms. ret_macs is an array of *ret_n entries of 6 bytes.
 */
int vnc_diag_arp_probe(int ifindex, const uint8_t src_mac[6], uint32_t sender_ip, uint32_t target_ip,
                       unsigned timeout_ms, uint8_t (**ret_macs)[6], size_t *ret_n, struct vnc_error *e);

/*
 * Many probes at once (one socket, one poll loop): doctor on a profile
 * with hundreds of networks waits timeout_ms once, not once per network.
 * Returns < 0 only when waiting itself failed; a probe that could not be sent
 * has error set (-errno). Free each with vnc_arp_probe_done() (core/host.h).
 */
int vnc_diag_arp_probe_many(struct vnc_arp_probe *probes, size_t n, unsigned timeout_ms, struct vnc_error *e);
