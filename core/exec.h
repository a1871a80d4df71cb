/* SPDX-License-Identifier: MIT */
#pragma once

#include "backend.h"
#include "state.h"

typedef void (*vnc_progress_fn)(void *userdata, size_t done, size_t total, const struct vnc_action *a);

/*
 * Run a plan: consecutive actions handled by the same backend form a batch;
 * each batch is written to the journal (actions and inverses, one flush)
 * before any of it runs. *ret_journaled tells how many actions were recorded
 * (what a rollback must undo). Test-only switches: VNETCFG_FAIL_AT=k fails
 * just before action k runs, VNETCFG_CRASH_AT=k kills the process there.
 */
int vnc_exec_apply(struct vnc_backend_ctx *ctx, struct vnc_journal *j, const struct vnc_action *acts, size_t n,
                   vnc_progress_fn progress, void *userdata, size_t *ret_journaled, struct vnc_error *e);

/* Run inverses acts[n-1] .. acts[0] (reverse order) in undo mode; keeps going, returns the first error. */
int vnc_exec_undo(struct vnc_backend_ctx *ctx, const struct vnc_action *inverses, size_t n, struct vnc_error *e);

const struct vnc_backend_ops *vnc_backend_for(enum vnc_action_kind k);
