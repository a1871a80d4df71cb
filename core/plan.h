/* SPDX-License-Identifier: MIT */
#pragma once

#include "action.h"
#include "live.h"
#include "model.h"

/* Content-addressed text an action refers to by hash (a dnsmasq config). */
struct vnc_blob {
        char hash[17];
        char *text;
};

struct vnc_plan {
        struct vnc_action *actions;
        size_t n_actions;
        size_t alloc;
        struct vnc_blob *blobs; /* written to <state>/blobs/<hash> before any action runs */
        size_t n_blobs, alloc_blobs;
        /* The firewall backend the plan's rules are for, and why (SPEC section 4: plan and status say it). */
        uint8_t fw_backend; /* enum vnc_fw_backend; VNC_FW_AUTO when nothing was planned (removal) */
        char fw_reason[VNC_FW_REASON_MAX];

        /* What the plan leaves out and why, one sentence each ("libvirt: no daemon answers ...";
         * libvirt helper) */
        char **notes;
        size_t n_notes;
};

void vnc_plan_done(struct vnc_plan *p);
/* Keep text in the plan (deduplicated), return its hash (16 hex digits of FNV-1a 64). */
int vnc_plan_add_blob(struct vnc_plan *p, const char *text, char ret_hash[17]);
void vnc_blob_hash(const char *text, char ret_hash[17]);
int vnc_plan_append(struct vnc_plan *p, const struct vnc_action *a);
int vnc_plan_add_note(struct vnc_plan *p, const char *fmt, ...) _printf_(2, 3);

/*
 * The planner: pure, no I/O. Compares what the profile wants with what the
 * host has (live) and what this profile applied before (applied, NULL if
 * never), and appends the ordered actions that make the host match. Before
 * any action it refuses conflicts (SPEC section 2) with kind
 * VNC_ERR_CONFLICT: names held by something that is not ours, subnets that
 * overlap another interface, route or applied profile (others[0..n_others)).
 *
 * want == NULL plans the removal of everything applied holds.
 */
int vnc_plan_compute(const struct vnc_profile *want, const struct vnc_profile *applied, const struct vnc_live *live,
                     const struct vnc_profile *const *others, size_t n_others, struct vnc_plan *ret,
                     struct vnc_error *e);

/* Does this network need net.ipv4.ip_forward = 1? */
bool vnc_network_needs_forwarding(const struct vnc_network *n);

/* "vnetcfg:<profile>/" prefix test; sets *ret_network to the part after '/' when given. */
bool vnc_alias_is_profile(const char *alias, const char *profile, const char **ret_network);
/* Parses "vnetcfg:<profile>/<network>" into profile (size VNC_NAME_MAX+1). */
bool vnc_alias_owner(const char *alias, char profile[VNC_NAME_MAX + 1]);
