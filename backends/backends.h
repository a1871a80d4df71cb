/* SPDX-License-Identifier: MIT */
#pragma once

#include "backend.h"
#include "host.h"

/*
 * The real host: the executor's backends and the live readers. Only the CLI
 * (cli/host.c, which puts them in a struct vnc_host_ops) and the tests call
 * these directly; the core reaches them through that table.
 */

extern const struct vnc_backend_ops vnc_backend_netlink; /* BRIDGE, LINK_SET, ADDR, ROUTE */
extern const struct vnc_backend_ops vnc_backend_tap;     /* TAP */
extern const struct vnc_backend_ops vnc_backend_sysctl;  /* SYSCTL */
extern const struct vnc_backend_ops vnc_backend_firewall; /* FW_CHAINS, FW_RULE (iptables legacy via libiptc) */
extern const struct vnc_backend_ops vnc_backend_nft;      /* FW_CHAINS, FW_RULE of rule.backend nftables (libnftables) */
extern const struct vnc_backend_ops vnc_backend_dhcp;    /* DHCP (dnsmasq) */
extern const struct vnc_backend_ops vnc_backend_open;    /* FW_OPEN (openings in a foreign firewall) */

/* Fill live->open_need and live->openings: the host's own firewalls and vnetcfg's openings in them. */
int vnc_open_live_read(struct vnc_live *live, struct vnc_error *e);
extern const struct vnc_backend_ops vnc_backend_libvirt; /* LIBVIRT (libvirt API) */

/* Fill live->fw_* from the iptables legacy tables (filter, nat): one read per table; then
 * vnc_nft_live_read. */
int vnc_fw_live_read(struct vnc_live *live, struct vnc_error *e);
/* Fill live->nft_*, vnetcfg's nftables rules (into live->fw_rules, rule.backend nftables), the
 * host's foreign base chains and what its iptables command is: one ruleset read, no subprocess. */
int vnc_nft_live_read(struct vnc_live *live, struct vnc_error *e);

/* Is the profile's dnsmasq running, and with which config blob? */
int vnc_dhcp_status(const char *state_dir, const char *profile, bool *ret_running, char ret_blob[17]);

/* Read the libvirt networks at uri into v; a daemon that does not answer gives v->state
 * VNC_LV_UNREACHABLE and v->error, not an error (backends/libvirt.c). */
int vnc_libvirt_live_read(struct vnc_libvirt_view *v, const char *uri, struct vnc_error *e);

/* Read links, addresses, routes (one dump each) and the sysctls vnetcfg manages. */
int vnc_live_read(struct vnc_live **ret, struct vnc_error *e);
/* A tap's tun parameters from sysfs (host op live_tun_read). */
void vnc_live_tun_read(struct vnc_live_link *l);
