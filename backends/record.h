/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "live.h"
#include "util.h"

/*
 * The recording backend (tests/record): while a recorder is on, the backends
 * build every request as usual, but the final send is diverted here and
 * written as one line of text instead of reaching the kernel, libiptc,
 * libnftables, dnsmasq or libvirt. Reads the backends make during a run (link
 * dumps, the firewall tables, is dnsmasq running, sysctl values) are answered
 * from the recorded host: the fake host the recorder was started with, changed
 * by every request recorded since. Off (the default), nothing here is used and
 * the backends behave as in production.
 *
 * Lines (one per request, in the order they would reach the host):
 *   netlink RTM_NEWLINK flags=CREATE|EXCL ifname=vn-x kind=bridge ...
 *   tap TUNSETIFF ifname=vm1-eth0 flags=TAP|NO_PI|...
 *   sysctl net.ipv4.ip_forward=1
 *   iptables filter insert VNETCFG_FWX 0: -i vn-x -o vn-x -m comment --comment "..." -j ACCEPT
 *   iptables filter commit
 *   nft add rule ip vnetcfg VNETCFG_FWX ...        (one transaction: "nft commit" ends it)
 *   nft insert rule ip filter FORWARD ...          an opening in the host's iptables-nft table
 *   iptables filter insert FORWARD pos=0: ...      an opening in the host's legacy filter table
 *   firewalld changeZoneOfInterface zone=trusted interface=vn-x
 *   dnsmasq execve /usr/sbin/dnsmasq --conf-file=$STATE/blobs/... ...
 *   libvirt define|create|destroy|undefine|autostart ...
 * Paths under the state directory are written with $STATE in its place.
 */

struct vnc_host_ops;
/*
 * The recording backend behind the host-ops table (core/host.h): real's backends and
 * live readers, which record and answer from the recorded host while recording is on.
 * Verify's probes, doctor's diagnostics and the firewall verdict cannot be recorded:
 * their entry points refuse with -EOPNOTSUPP (so nothing reaches the host through
 * this table). For the engine's plan, apply, rollback and status.
 */
void vnc_record_host_ops(const struct vnc_host_ops *real, struct vnc_host_ops *ret);

/* Turn recording on with host as the recorded host (taken over, also on failure). */
int vnc_record_start(struct vnc_live *host, const char *state_dir);
/* The text recorded since the start or the last take (caller frees); NULL on ENOMEM. */
char *vnc_record_take(void);
/* Turn recording off and forget the recorded host. */
void vnc_record_stop(void);

bool vnc_record_on(void);
void vnc_record_printf(const char *fmt, ...) _printf_(1, 2);

/* The recorded host as it is now (links, sysctls). */
struct vnc_live *vnc_record_host(void);
/* Deterministic bytes in place of getrandom() (bridge and tap addresses, link groups). */
void vnc_record_random(void *buf, size_t n);

/* netlink (nl.c): record one request and apply it to the recorded host. Returns 0 or the
 * -errno the kernel would have answered (a link to delete that is not there: -ENODEV). */
struct nlmsghdr;
int vnc_record_netlink(const struct nlmsghdr *h);
/* A dump of the recorded host's links (nl-live.c), as vnc_nl_read_links returns it. */
int vnc_record_read_links(struct vnc_live **ret, uint32_t *ret_unused_group);
/* The recorded host's links, addresses, routes and sysctls (nl-live.c's vnc_live_read). */
int vnc_record_live_read(struct vnc_live **ret);
/* What `iptables` is on the recorded host (fw-nft.c's live read). */
void vnc_record_iptables_kind(struct vnc_live *live);
/* tap.c: a tun/tap ioctl; TUNSETIFF also adds the (down, unaliased) link to the recorded host. */
void vnc_record_tap_create(const char *ifname, unsigned tun_flags, bool has_owner, unsigned owner, bool has_group,
                           unsigned group);

/* sysctl.c */
int vnc_record_sysctl_read(const char *key, char **ret_value);
int vnc_record_sysctl_write(const char *key, const char *value);

/* dnsmasq.c: is the daemon of this pid file running (on the recorded host)? */
bool vnc_record_dnsmasq_running(const char *pid_file);
void vnc_record_dnsmasq_start(const char *pid_file, char *const argv[]);
void vnc_record_dnsmasq_stop(const char *pid_file, const char *profile);

/* fw-nft.c: our table as `nft -a list table ip vnetcfg` prints it (NULL: absent); a
 * transaction of commands, one a line, recorded and applied to the recorded ruleset. */
char *vnc_record_nft_list(void);
int vnc_record_nft_run(const char *buf);
/* Any table of the recorded ruleset (fw-open.c: the host's "ip filter"), NULL when absent;
 * the whole ruleset as `nft -a list ruleset` prints it (fw-nft.c's live read). */
char *vnc_record_nft_list_table(const char *family, const char *name);
char *vnc_record_nft_list_ruleset(void);

/* fwd-dbus.c: firewalld on the recorded host. Is it running; every interface bound to a
 * zone (getActiveZones); a method call of its zone interface (changeZoneOfInterface,
 * removeInterface), recorded as "firewalld METHOD zone=Z interface=I" and applied. */
bool vnc_record_fwd_running(void);
int vnc_record_fwd_zones(int (*fn)(void *u, const char *zone, const char *ifname), void *userdata);
int vnc_record_fwd_call(const char *method, const char *zone, const char *ifname);

/*
 * The recorded host's own firewall, set up after vnc_record_start and before anything
 * is recorded (tests/record/hosts/<name>.txt), one line each:
 *   nft add table|chain|rule FAMILY TABLE ...   a command of nft's, on the recorded ruleset
 *   iptables TABLE policy CHAIN TARGET          a builtin chain's policy in the legacy tables
 *   iptables TABLE new-chain CHAIN              a chain of the host's own
 *   iptables TABLE append CHAIN -j TARGET       a rule of the host's own (a verdict or a jump)
 *   firewalld running                           firewalld answers on the system bus
 *   firewalld zone ZONE IFNAME                  an interface bound to a zone
 * Returns -EINVAL for a line it does not know.
 */
int vnc_record_setup(const char *line);
/* The same for a whole nftables ruleset as `nft -a list ruleset` prints it (a capture of
 * ufw's, Docker's or firewalld's, tests/fixtures/rulesets): its tables, chains and rules. */
int vnc_record_nft_load(const char *text);

/* libvirt.c: the recorded host's daemon, libvirt's in-process test:///default driver, one
 * connection for the whole recording (so rollback finds what apply defined). A virConnectPtr. */
void *vnc_record_libvirt(void);

/* record-iptc.c: forget the recorded legacy tables (vnc_record_stop does). */
void vnc_record_iptc_forget(void);
/* record-iptc.c: the legacy tables from the recorded host's fixture: vnetcfg's chains and
 * their jumps (fw_chains), the marked rules in them (fw_rules of the iptables backend). */
int vnc_record_iptc_load(const struct vnc_live *host);
/* record-iptc.c: one "iptables ..." line of vnc_record_setup (without "iptables "). */
int vnc_record_iptc_setup(const char *line);
/* record-iptc.c: the recorded legacy tables as iptables-legacy-save prints them, but those with
 * builtin chains only, empty, policy ACCEPT (caller frees). */
char *vnc_record_iptc_save(void);
/* record-iptc.c: does the recorded host have this legacy table (vnc_xt_table_instantiated)? */
bool vnc_record_iptc_exists(const char *table);
