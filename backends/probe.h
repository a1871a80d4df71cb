/* SPDX-License-Identifier: MIT */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "host.h"

/*
 * The verify probe (SPEC section 5): a temporary network namespace with a
 * veth port on a bridge.
 *
 *   host:  <bridge> -- vnp-<8 hex>  (alias "vnetcfg-probe:<profile>/<network>",
 *                                    MTU = the bridge's, MAC fe:xx:..)
 *   probe:             eth0          (up, MTU = the bridge's, IPv6 link-local
 *                                    without DAD, IPv4 once set)
 *
 * The namespace is made by unshare() in the creating thread and held by file
 * descriptors only (no process), so a killed vnetcfg leaves no namespace
 * behind: the namespace's end deletes eth0 and with it the host end of the
 * pair. A thread setns()es in and back around each socket it opens there.
 *
 * Use a probe from threads that are in the namespace its creator was in.
 * No shell, no subprocess: netlink, raw ICMP, TCP/UDP and packet sockets only.
 *
 * Many networks: a probe set makes the namespaces (in parallel, one slot per
 * call), then every veth pair in one netlink batch, and deletes every host
 * end with one request (one link group, one RCU grace period) when freed.
 */

#define VNC_PROBE_ALIAS_PREFIX "vnetcfg-probe:"
#define VNC_PROBE_IFNAME_PREFIX "vnp-"

/*
 * Delete every link whose alias starts with "vnetcfg-probe:" (and veth links
 * named vnp-* that have no alias: a crash between create and alias), in the
 * calling thread's network namespace. ret_removed may be NULL.
 */
int vnc_probe_cleanup_stale(unsigned *ret_removed, struct vnc_error *e);

/*
 * Make a probe on bridge. -ENODEV (e filled) when the bridge does not exist.
 * profile and network name the probe in its alias.
 */
int vnc_probe_new(const char *bridge, const char *profile, const char *network, struct vnc_probe **ret,
                  struct vnc_error *e);
/* Delete the veth pair and end the namespace. Accepts NULL. */
void vnc_probe_free(struct vnc_probe *p);
static inline void vnc_probe_freep(struct vnc_probe **p) { vnc_probe_free(*p); }

/* An empty set of n slots; removes stale probes (as vnc_probe_cleanup_stale) and picks a link
 * group no link uses, from one link dump. */
int vnc_probe_set_new(const char *profile, size_t n, struct vnc_probe_set **ret, struct vnc_error *e);
/*
 * Slot i (from any thread, one call per slot): the namespace of a probe on bridge. -ENODEV (e
 * filled) when the bridge does not exist. With candidates: RFC 5227 ARP probes for each, sent
 * from the bridge at once now; their answers are read until wait_ms after sending by
 * vnc_probe_set_arp_wait(s, i), so the wait overlaps the making of every probe and what the
 * caller does with it first (DHCP). ret_free (the caller's, n_cands entries, kept until then)
 * then says for each cands[k] (host byte order) whether nobody answered.
 */
int vnc_probe_set_prepare(struct vnc_probe_set *s, size_t i, const char *bridge, const char *network,
                          const uint32_t *cands, size_t n_cands, int wait_ms, bool *ret_free, struct vnc_error *e);
/* Every prepared probe's veth pair, in one batch; a probe's own failure is reported by _get(). */
int vnc_probe_set_link(struct vnc_probe_set *s, struct vnc_error *e);
/* Probe i, ready to use (eth0 up); owned by the set (vnc_probe_free() on it does nothing). */
int vnc_probe_set_get(struct vnc_probe_set *s, size_t i, struct vnc_probe **ret, struct vnc_error *e);
/* Slot i's ARP probes' answers, into the _prepare() caller's ret_free (0 at once when it sent none). */
int vnc_probe_set_arp_wait(struct vnc_probe_set *s, size_t i, struct vnc_error *e);
/* Delete every probe of the set at once, restore the bridges' MTUs. Accepts NULL. */
void vnc_probe_set_free(struct vnc_probe_set *s);
static inline void vnc_probe_set_freep(struct vnc_probe_set **s) { vnc_probe_set_free(*s); }

const char *vnc_probe_ifname(const struct vnc_probe *p); /* host end, "vnp-1a2b3c4d" */
uint32_t vnc_probe_bridge_mtu(const struct vnc_probe *p); /* the bridge's MTU when the probe was made */

/*
 * RFC 5227 style ARP probes (sender 0.0.0.0) from the probe for each of
 * cands[0..n) at once; waits wait_ms. ret_free[i] tells whether nobody
 * answered for cands[i]. Addresses in host byte order.
 */
int vnc_probe_arp_free(struct vnc_probe *p, const uint32_t *cands, size_t n, int wait_ms, bool *ret_free,
                       struct vnc_error *e);

/*
 * Give the probe's eth0 addr/prefix. gateway != 0: default route via it;
 * gateway == 0 and default_onlink: a default route straight out of eth0 (every
 * destination is tried on the bridge itself); otherwise no default route.
 */
int vnc_probe_set_ipv4(struct vnc_probe *p, uint32_t addr, uint8_t prefix, uint32_t gateway, bool default_onlink,
                       struct vnc_error *e);

/*
 * DHCPDISCOVER from the probe (broadcast from 0.0.0.0:68 through a packet
 * socket on eth0, the probe's MAC as chaddr, broadcast flag set), sent tries
 * times interval_ms apart; waits for an OFFER with the same xid. No offer is
 * not an error: *ret_offer stays 0. Addresses in host byte order.
 */
int vnc_probe_dhcp_offer(struct vnc_probe *p, int tries, int interval_ms, uint32_t *ret_offer,
                         uint32_t *ret_server, double *ret_ms, struct vnc_error *e);

/* IPv6 link-local address of the probe's eth0 (probe_side) or of the bridge. -EADDRNOTAVAIL when none. */
int vnc_probe_ipv6_ll(struct vnc_probe *p, bool probe_side, struct in6_addr *ret, struct vnc_error *e);
/* First IPv4 address of the bridge (host byte order). -EADDRNOTAVAIL when none. */
int vnc_probe_bridge_ipv4(struct vnc_probe *p, uint32_t *ret, struct vnc_error *e);

/*
 * Run every exchange at once (one socket each, connected; echo identifier and
 * sequence, DNS id and UDP token matched, anything else ignored) until each is
 * answered, failed or past its deadline. Returns < 0 only when a socket could
 * not be opened.
 *
 * TCP: one connect(); the kernel retransmits the SYN, the deadline is tries *
 * interval_ms. A RST is "answered" with refused set; an ICMP error (whoever
 * sent it, port unreachable included) is not an answer: icmp_* say what came.
 * UDP: a datagram every interval_ms carrying a random token; a packet socket
 * in the calling thread's namespace (the host's) watches for it leaving the
 * host. answered = forwarded: a host that drops it silently or refuses it
 * (ICMP admin/host prohibited, whatever its firewall sends) leaves it false.
 */
int vnc_probe_echo(struct vnc_probe *p, struct vnc_probe_echo *echoes, size_t n, struct vnc_error *e);
