/* SPDX-License-Identifier: MIT */
#pragma once

#include "backend.h"
#include "host.h"
#include "state.h"

typedef void (*vnc_progress_fn)(void *userdata, size_t done, size_t total, const struct vnc_action *a);

/*
 * Run a plan: consecutive actions handled by the same backend form a batch;
 * each batch is written to the journal (actions and inverses, one flush)
 * before any of it runs. *ret_journaled tells how many actions were recorded
 * (what a rollback must undo). Each batch goes to the first of host's
 * backends that handles its actions.
 */
int vnc_exec_apply(const struct vnc_host_ops *host, struct vnc_backend_ctx *ctx, struct vnc_journal *j,
                   const struct vnc_action *acts, size_t n, vnc_progress_fn progress, void *userdata,
                   size_t *ret_journaled, struct vnc_error *e);

/* Run inverses acts[n-1] .. acts[0] (reverse order) in undo mode; keeps going, returns the first error. */
int vnc_exec_undo(const struct vnc_host_ops *host, struct vnc_backend_ctx *ctx, const struct vnc_action *inverses,
                  size_t n, struct vnc_error *e);
