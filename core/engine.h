/* SPDX-License-Identifier: MIT */
#pragma once

#include "exec.h"
#include "plan.h"
#include "state.h"
#include "verify.h"

/* The commands' work, shared by the CLI and the tests. No printing here. */

struct vnc_engine {
        const struct vnc_host_ops *host; /* how the engine reaches the host (cli/host.c fills the real one) */
        const char *state_dir;
        double wait_seconds; /* for the lock */
        vnc_progress_fn progress;
        void *userdata;
        unsigned confirm_seconds; /* apply: roll back at the deadline unless confirmed (0: no) */
        bool verify;                 /* apply: run the checks of SPEC section 5 after the changes */
        bool keep_on_verify_failure; /* apply: keep the changes when verify fails (exit 3 either way) */
        /* debian: apply calls this when verify failed, before it rolls back, so the caller can run
         * doctor on what is still in place (the boot unit logs doctor's summary). May be NULL. */
        void (*verify_failed)(void *userdata, const struct vnc_profile *p);
};

struct vnc_apply_result {
        bool changed;
        unsigned generation; /* 0 when nothing changed */
        struct vnc_plan plan;
        bool rolled_back; /* a failure undid this run's changes */
        long long confirm_deadline; /* pending confirmation: CLOCK_REALTIME deadline, 0 when none */
        bool verified;    /* verify ran; its result is in verify */
        struct vnc_verify_result verify;
};
void vnc_apply_result_done(struct vnc_apply_result *r);

/* Plan only (no lock taken, nothing written). */
int vnc_engine_plan(const struct vnc_engine *eng, const struct vnc_profile *p, struct vnc_plan *ret,
                    struct vnc_error *e);
int vnc_engine_apply(const struct vnc_engine *eng, const struct vnc_profile *p, struct vnc_apply_result *ret,
                     struct vnc_error *e);

struct vnc_rollback_result {
        size_t generations; /* undone */
        size_t actions;     /* inverses run */
};
/* Undo the newest generation of name (all of them with all). */
int vnc_engine_rollback(const struct vnc_engine *eng, const char *name, bool all, struct vnc_rollback_result *ret,
                        struct vnc_error *e);

struct vnc_status_entry {
        char *name;
        unsigned generation;     /* newest */
        size_t n_generations;
        bool interrupted;        /* the newest generation never committed: run rollback */
        struct vnc_profile *applied; /* NULL when interrupted before any commit */
        struct vnc_plan drift;   /* what apply would do to repair: empty = no drift */
        bool dhcp_running;       /* its dnsmasq */
        bool pending;            /* an apply awaits `vnetcfg confirm` */
        struct vnc_pending confirm;
        bool watcher_alive;

        /* libvirt helper: the libvirt networks at the applied profile's uri (state UNREAD when unused) */
        struct vnc_libvirt_view lv;
};
struct vnc_status {
        struct vnc_status_entry *entries;
        size_t n_entries;
        struct vnc_live *live;
};
void vnc_status_free(struct vnc_status *s);

/*
 * verify NAME|PROFILE: what (a profile name with an applied generation, or a
 * profile file) is resolved by the caller; this runs the checks under the lock.
 */
int vnc_engine_verify(const struct vnc_engine *eng, const struct vnc_profile *p, struct vnc_verify_result *ret,
                      struct vnc_error *e);
/* The profile applied under name, or NULL (returns 0) when none. */
int vnc_engine_load_applied(const struct vnc_engine *eng, const char *name, struct vnc_profile **ret,
                            struct vnc_error *e);
int vnc_engine_status(const struct vnc_engine *eng, const char *name, struct vnc_status **ret, struct vnc_error *e);

/* Is pid a running vnetcfg (not a zombie waiting to be reaped, not a recycled pid)? */
bool vnc_watcher_alive(int pid);

/* confirm NAME: keep the pending apply; *ret_watcher is the watcher to stop (0 if none). */
int vnc_engine_confirm(const struct vnc_engine *eng, const char *name, int *ret_watcher, struct vnc_error *e);
/* The watcher records itself. */
int vnc_engine_pending_watcher(const struct vnc_engine *eng, const char *name, unsigned gen, int pid,
                               struct vnc_error *e);
/* At the deadline: roll generation gen back unless it was confirmed (or replaced). Returns 1 when rolled back. */
int vnc_engine_confirm_expired(const struct vnc_engine *eng, const char *name, unsigned gen, struct vnc_error *e);
