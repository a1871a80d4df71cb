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
