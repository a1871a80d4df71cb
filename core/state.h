/* SPDX-License-Identifier: MIT */
#pragma once

#include "action.h"
#include "error.h"
#include "model.h"

/*
 * The state dir (default /var/lib/vnetcfg, 0700, owned by root):
 *   lock                           flock(2) serializing every vnetcfg
 *   sysctl.claims                  kept by the sysctl backend
 *   profiles/<name>/gen-N.journal  write-ahead journal of apply generation N
 *   profiles/<name>/gen-N.json     the profile text that generation N applied
 * A generation is complete when its journal ends with "commit".
 */

#define VNC_STATE_DIR_DEFAULT "/var/lib/vnetcfg"

struct vnc_state {
        char *dir;
        int dir_fd;
        int lock_fd;
};

/* Open (creating it 0700 if missing) and check ownership and mode. */
int vnc_state_open(const char *dir, struct vnc_state *ret, struct vnc_error *e);
void vnc_state_close(struct vnc_state *s);
/* Take the exclusive lock, waiting up to wait_seconds; VNC_ERR_LOCKED after that. */
int vnc_state_lock(struct vnc_state *s, double wait_seconds, struct vnc_error *e);

/* Generations of a profile, ascending. *ret is malloc'd. */
int vnc_state_generations(struct vnc_state *s, const char *profile, unsigned **ret, size_t *ret_n);
/* Profiles with at least one generation, sorted. Free with vnc_strv_free. */
int vnc_state_profiles(struct vnc_state *s, char ***ret, size_t *ret_n);
void vnc_strv_free(char **v, size_t n);

/* The profile as applied by the newest committed generation (NULL when none). */
int vnc_state_load_applied(struct vnc_state *s, const char *profile, struct vnc_profile **ret, struct vnc_error *e);
/* Store the profile text for a generation (atomic replace). */
int vnc_state_save_profile(struct vnc_state *s, const char *profile, unsigned gen, const char *text, size_t len,
                           struct vnc_error *e);
int vnc_state_remove_generation(struct vnc_state *s, const char *profile, unsigned gen);
/* Remove the profile's directory if nothing is left in it (a crash can leave it empty). */
void vnc_state_prune_profile(struct vnc_state *s, const char *profile);

/* <state>/blobs/<hash>: written once (0600, fsync'd), never changed; the dnsmasq backend reads them. */
int vnc_state_write_blob(struct vnc_state *s, const char *hash, const char *text, struct vnc_error *e);

/* Remove blobs no journal of any profile names (the running dnsmasq's blob is in the journal
 * of the generation that started it). Called after rollbacks. */
void vnc_state_gc_blobs(struct vnc_state *s);

/* An apply made with --confirm-timeout waits for `vnetcfg confirm`: profiles/<name>/pending. */
struct vnc_pending {
        unsigned gen;           /* the generation rolled back at the deadline */
        long long deadline;     /* CLOCK_REALTIME seconds */
        int watcher;            /* pid of the watcher, 0 before it recorded itself */
};
/* 1 and *ret filled when a confirmation is pending, 0 when not. */
int vnc_state_pending_read(struct vnc_state *s, const char *profile, struct vnc_pending *ret);
int vnc_state_pending_write(struct vnc_state *s, const char *profile, const struct vnc_pending *p, struct vnc_error *e);
int vnc_state_pending_remove(struct vnc_state *s, const char *profile);

/* Journal of one generation. */
struct vnc_journal {
        int fd;
        unsigned gen;
};
int vnc_journal_begin(struct vnc_state *s, const char *profile, unsigned gen, struct vnc_journal *ret,
                      struct vnc_error *e);
/* Record actions and their inverses, then flush (group commit for a batch). */
int vnc_journal_record(struct vnc_journal *j, const struct vnc_action *acts, size_t n, struct vnc_error *e);
int vnc_journal_commit(struct vnc_journal *j, struct vnc_error *e);
void vnc_journal_close(struct vnc_journal *j);

/* Read a generation's journal: its inverses in recorded order (ret_undo and ret_n may be NULL: only
 * whether it was committed), and whether it was committed. */
int vnc_journal_read(struct vnc_state *s, const char *profile, unsigned gen, struct vnc_action **ret_undo,
                     size_t *ret_n, bool *ret_committed, struct vnc_error *e);
