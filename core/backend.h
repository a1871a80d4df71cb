/* SPDX-License-Identifier: MIT */
#pragma once

#include "action.h"
#include "live.h"

/*
 * The small interface between the executor and the backends. The core knows
 * nothing of libnl or ioctls: it hands a backend a run of consecutive actions
 * of the kinds it handles, and the backend executes them as one batch
 * (many requests per round trip, acknowledgements collected).
 */

enum vnc_run_flags {
        /* Rollback: the actions are inverses. Objects already absent are fine;
         * keep going after a failure and report the first one. Links are only
         * deleted when their alias is ours (or empty on a link of the expected kind). */
        VNC_RUN_UNDO = 1 << 0,
};

struct vnc_backend_ctx {
        const char *state_dir;   /* for backends that keep files (sysctl claims, dnsmasq) */
        const struct vnc_live *live; /* what the host looked like before this run, may be NULL */
};

struct vnc_backend_ops {
        const char *name;
        bool (*handles)(enum vnc_action_kind k);
        /* Optional, for kinds two backends share (firewall rules: iptables or nftables): does
         * this backend run this action? When set, it decides instead of handles(). */
        bool (*handles_action)(const struct vnc_action *a);
        /*
         * Execute acts[0..n) in order. Returns 0 or -errno. On failure, fills e
         * (kind VNC_ERR_RUNTIME, the object named, the kernel's text in detail)
         * and sets *ret_done to the number of leading actions known complete.
         */
        int (*run)(struct vnc_backend_ctx *ctx, const struct vnc_action *acts, size_t n, unsigned flags,
                   size_t *ret_done, struct vnc_error *e);
};

/*
 * For backends without batching (sysctl claims, dnsmasq): run fn on each
 * action in order with run()'s semantics: stop at the first failure, or in
 * VNC_RUN_UNDO mode keep going; *ret_done = the leading actions that succeeded;
 * the first error is returned.
 */
typedef int (*vnc_action_fn)(struct vnc_backend_ctx *ctx, const struct vnc_action *a, struct vnc_error *e);
int vnc_backend_run_each(struct vnc_backend_ctx *ctx, const struct vnc_action *acts, size_t n, unsigned flags,
                         size_t *ret_done, struct vnc_error *e, vnc_action_fn fn);

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
/* Sysctl keys read into live state (ip_forward and the per-interface keys for the given links). */
