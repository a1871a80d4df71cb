/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>

#include "engine.h"
#include "plan-libvirt.h"

void vnc_apply_result_done(struct vnc_apply_result *r) {
        vnc_plan_done(&r->plan);
        vnc_verify_result_done(&r->verify);
}

static void profiles_free(struct vnc_profile **v, size_t n) {
        for (size_t i = 0; v && i < n; i++)
                vnc_profile_free(v[i]);
        free(v);
}

/* The applied profiles of every other profile in the state dir (for conflicts). */
static int load_others(struct vnc_state *s, const char *self, struct vnc_profile ***ret, size_t *ret_n,
                       struct vnc_error *e) {
        char **names = NULL;
        size_t n = 0, k = 0;
        struct vnc_profile **v;
        int r;

        r = vnc_state_profiles(s, &names, &n);
        if (r < 0)
                return vnc_error_set(e, VNC_ERR_RUNTIME, r, "could not list the profiles in \"%s\"", s->dir);
        v = calloc(n ? n : 1, sizeof(*v));
        if (!v) {
                vnc_strv_free(names, n);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                struct vnc_profile *p = NULL;
                if (streq(names[i], self))
                        continue;
                r = vnc_state_load_applied(s, names[i], &p, e);
                if (r < 0) {
                        vnc_strv_free(names, n);
                        profiles_free(v, k);
                        return r;
                }
                if (p)
                        v[k++] = p;
        }
        vnc_strv_free(names, n);
        *ret = v;
        *ret_n = k;
        return 0;
}

/* Open the state dir; for read-only commands a missing dir is not an error (ret_missing). */
static int open_state(const struct vnc_engine *eng, bool create, struct vnc_state *s, bool *ret_missing,
                      struct vnc_error *e) {
        struct stat st;

        *ret_missing = false;
        if (!create && stat(eng->state_dir, &st) < 0 && errno == ENOENT) {
                *ret_missing = true;
                return 0;
        }
        return vnc_state_open(eng->state_dir, s, e);
}

/* The state dir, created if needed, with its lock held (safe to vnc_state_close on failure). */
static int locked_state(const struct vnc_engine *eng, struct vnc_state *s, struct vnc_error *e) {
        bool missing;
        int r = open_state(eng, true, s, &missing, e);
        if (r >= 0)
                r = vnc_state_lock(s, eng->wait_seconds, e);
        return r;
}

static int interrupted_check(struct vnc_state *s, const char *name, struct vnc_error *e) {
        _cleanup_free_ unsigned *gens = NULL;
        size_t n = 0;
        bool committed = false;
        int r;

        r = vnc_state_generations(s, name, &gens, &n);
        if (r < 0 || n == 0)
                return r;
        r = vnc_journal_read(s, name, gens[n - 1], NULL, NULL, &committed, e); /* only: committed? */
        if (r < 0)
                return r;
        if (!committed)
                return vnc_error_set(e, VNC_ERR_CONFLICT, -EBUSY,
                                     "an interrupted apply of \"%s\" (generation %u) is in the journal; run "
                                     "\"vnetcfg rollback %s\" to undo it first",
                                     name, gens[n - 1], name);
        return 0;
}

struct prepared {
        struct vnc_profile *applied;
        struct vnc_profile **others;
        size_t n_others;
        struct vnc_live *live;
};

static void prepared_done(struct prepared *p) {
        vnc_profile_free(p->applied);
        profiles_free(p->others, p->n_others);
        vnc_live_free(p->live);
        *p = (struct prepared){0};
}

/* The host as the planner needs it for one profile: links, addresses, routes,
 * sysctls, the firewall tables, and the profile's dnsmasq. */
static int read_host(const struct vnc_host_ops *host, const char *state_dir, const char *profile, struct vnc_live **ret,
                     struct vnc_error *e) {
        struct vnc_live *live = NULL;
        int r;

        r = host->live_read(&live, e);
        if (r >= 0)
                r = host->fw_live_read(live, e);
        if (r >= 0)
                r = host->open_live_read(live, e);
        if (r >= 0 && state_dir)
                r = host->dhcp_status(state_dir, profile, &live->dhcp_running, live->dhcp_blob);
        if (r < 0) {
                vnc_error_set(e, VNC_ERR_RUNTIME, r, "could not read the state of profile \"%s\"'s dnsmasq", profile);
                vnc_live_free(live);
                return r;
        }
        *ret = live;
        return 0;
}

static bool profile_has_tap(const struct vnc_profile *p, const char *name) {
        for (size_t i = 0; p && i < p->n_networks; i++)
                for (size_t j = 0; j < p->networks[i].n_taps; j++)
                        if (streq(p->networks[i].taps[j].name, name))
                                return true;
        for (size_t i = 0; p && i < p->n_trunk_taps; i++)
                if (streq(p->trunk_taps[i].tap.name, name))
                        return true;
        return false;
}

/* A tap carrying this profile's mark that the applied profile does not know is deleted with an undo
 * that re-creates it as the host has it (core/plan.c plan_link_delete): only those taps are asked how
 * they were made (sysfs reads; none on a host with nothing left behind). */
static void read_unknown_taps(const struct vnc_host_ops *host, struct vnc_live *live, const char *profile,
                              const struct vnc_profile *applied) {
        for (size_t i = 0; host->live_tun_read && i < live->n_links; i++) {
                struct vnc_live_link *l = &live->links[i];
                const char *net;
                if (streq(l->kind, "tun") && vnc_alias_is_profile(l->alias, profile, &net) &&
                    !profile_has_tap(applied, l->name))
                        host->live_tun_read(l);
        }
}

static int prepare(const struct vnc_host_ops *host, struct vnc_state *s, bool have_state, const struct vnc_profile *p,
                   struct prepared *ret, struct vnc_error *e) {
        int r;

        if (have_state) {
                r = vnc_state_load_applied(s, p->name, &ret->applied, e);
                if (r < 0)
                        return r;
                r = load_others(s, p->name, &ret->others, &ret->n_others, e);
                if (r < 0)
                        return r;
        }
        r = read_host(host, have_state ? s->dir : NULL, p->name, &ret->live, e);
        if (r >= 0)
                read_unknown_taps(host, ret->live, p->name, ret->applied);
        if (r >= 0)
                r = vnc_libvirt_read_for(host, ret->live, p, ret->applied, e);
        return r;
}

int vnc_engine_plan(const struct vnc_engine *eng, const struct vnc_profile *p, struct vnc_plan *ret,
                    struct vnc_error *e) {
        struct vnc_state s = {.dir_fd = -1, .lock_fd = -1};
        struct prepared prep = {0};
        bool missing;
        int r;

        r = open_state(eng, false, &s, &missing, e);
        if (r < 0)
                return r;
        r = prepare(eng->host, &s, !missing, p, &prep, e);
        if (r >= 0)
                r = vnc_plan_compute(p, prep.applied, prep.live, (const struct vnc_profile *const *)prep.others,
                                     prep.n_others, ret, e);
        prepared_done(&prep);
        if (!missing)
                vnc_state_close(&s);
        return r;
}

static int undo_recorded(const struct vnc_host_ops *host, struct vnc_backend_ctx *ctx, const struct vnc_action *acts, size_t n, struct vnc_error *e) {
        _cleanup_free_ struct vnc_action *inv = calloc(n ? n : 1, sizeof(*inv));
        struct vnc_live *fresh = NULL;
        struct vnc_error ignored = {0};
        int r;

        if (!inv)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                vnc_action_inverse(&acts[i], &inv[i]);
        /* Ownership checks need the host as it is now, with this run's links in it. */
        if (host->live_read(&fresh, &ignored) >= 0)
                ctx->live = fresh;
        vnc_error_clear(&ignored);
        r = vnc_exec_undo(host, ctx, inv, n, e);
        vnc_live_free(fresh);
        ctx->live = NULL;
        return r;
}

/* --confirm-timeout: the generation just made is rolled back at the deadline unless confirmed. */
static int arm_confirm(const struct vnc_engine *eng, struct vnc_state *s, const char *name, unsigned gen,
                       struct vnc_apply_result *ret, struct vnc_error *e) {
        if (eng->confirm_seconds == 0)
                return 0;
        struct vnc_pending pending = {.gen = gen, .deadline = (long long)time(NULL) + eng->confirm_seconds};
        int r = vnc_state_pending_write(s, name, &pending, e);
        if (r >= 0)
                ret->confirm_deadline = pending.deadline;
        return r;
}

static int rollback_generation(const struct vnc_host_ops *host, struct vnc_state *s, const char *name, unsigned gen,
                               struct vnc_rollback_result *res, struct vnc_error *e);

/* The verify step of apply: a failure is exit 3; the generation it made is undone unless kept. */
static int apply_verify(const struct vnc_engine *eng, const struct vnc_profile *p, struct vnc_state *s, unsigned gen,
                        struct vnc_apply_result *ret, struct vnc_error *e) {
        int r = vnc_verify_profile(eng->host, p, &ret->verify, e);
        if (r < 0)
                return r;
        ret->verified = true;
        if (ret->verify.ok)
                return 0;
        size_t failed = 0;
        for (size_t i = 0; i < ret->verify.n_checks; i++)
                failed += !ret->verify.checks[i].pass;
        if (eng->verify_failed)
                eng->verify_failed(eng->userdata, p);
        if (gen > 0 && !eng->keep_on_verify_failure) {
                struct vnc_rollback_result rb = {0};
                struct vnc_error undo_err = {0};
                if (rollback_generation(eng->host, s, p->name, gen, &rb, &undo_err) >= 0) {
                        vnc_state_gc_blobs(s);
                        ret->rolled_back = true;
                } else
                        vnc_error_detail(e, "rolling back also failed: %s", undo_err.message ? undo_err.message : "?");
                vnc_error_clear(&undo_err);
        }
        return vnc_error_set(e, VNC_ERR_VERIFY, -EPROTO, "verification of \"%s\" failed: %zu of %zu checks%s", p->name,
                             failed, ret->verify.n_checks,
                             ret->rolled_back        ? "; the changes were rolled back"
                             : gen > 0               ? "; the changes were kept (--keep-on-verify-failure)"
                                                     : "");
}

int vnc_engine_apply(const struct vnc_engine *eng, const struct vnc_profile *p, struct vnc_apply_result *ret,
                     struct vnc_error *e) {
        struct vnc_state s = {.dir_fd = -1, .lock_fd = -1};
        struct vnc_journal j = {.fd = -1};
        struct prepared prep = {0};
        _cleanup_free_ unsigned *gens = NULL;
        size_t n_gens = 0, journaled = 0;
        int r;

        *ret = (struct vnc_apply_result){0};
        r = locked_state(eng, &s, e);
        if (r < 0)
                goto finish;
        r = interrupted_check(&s, p->name, e);
        if (r < 0)
                goto finish;
        struct vnc_pending pend;
        if (vnc_state_pending_read(&s, p->name, &pend) > 0) {
                r = vnc_error_set(e, VNC_ERR_CONFLICT, -EBUSY,
                                  "the last apply of \"%s\" awaits confirmation (it is rolled back in %lld s): run "
                                  "\"vnetcfg confirm %s\" or \"vnetcfg rollback %s\" first",
                                  p->name, pend.deadline - (long long)time(NULL), p->name, p->name);
                goto finish;
        }
        r = prepare(eng->host, &s, true, p, &prep, e);
        if (r < 0)
                goto finish;
        r = vnc_plan_compute(p, prep.applied, prep.live, (const struct vnc_profile *const *)prep.others,
                             prep.n_others, &ret->plan, e);
        if (r < 0)
                goto finish;
        r = vnc_state_generations(&s, p->name, &gens, &n_gens);
        if (r < 0) {
                vnc_error_set(e, VNC_ERR_RUNTIME, r, "could not list the generations of \"%s\"", p->name);
                goto finish;
        }

        if (ret->plan.n_actions == 0) {
                /* Nothing to change on the host; keep the stored profile text current. */
                if (n_gens > 0 && p->text)
                        r = vnc_state_save_profile(&s, p->name, gens[n_gens - 1], p->text, p->text_len, e);
                if (r >= 0 && eng->verify)
                        r = apply_verify(eng, p, &s, 0, ret, e);
                goto finish;
        }

        unsigned gen = n_gens ? gens[n_gens - 1] + 1 : 1;
        struct vnc_backend_ctx ctx = {.state_dir = s.dir, .live = prep.live};

        for (size_t i = 0; i < ret->plan.n_blobs; i++) {
                r = vnc_state_write_blob(&s, ret->plan.blobs[i].hash, ret->plan.blobs[i].text, e);
                if (r < 0)
                        goto finish;
        }
        r = vnc_journal_begin(&s, p->name, gen, &j, e);
        if (r < 0)
                goto finish;
        r = vnc_exec_apply(eng->host, &ctx, &j, ret->plan.actions, ret->plan.n_actions, eng->progress, eng->userdata,
                           &journaled, e);
        if (r >= 0 && p->text)
                r = vnc_state_save_profile(&s, p->name, gen, p->text, p->text_len, e);
        if (r >= 0)
                r = vnc_journal_commit(&j, e);
        if (r < 0) {
                struct vnc_error undo_err = {0};
                /* The first error wins; the rollback's own failures are only noted. */
                int u = undo_recorded(eng->host, &ctx, ret->plan.actions, journaled, &undo_err);
                if (u >= 0) {
                        vnc_journal_close(&j);
                        vnc_state_remove_generation(&s, p->name, gen);
                        vnc_state_gc_blobs(&s);
                        ret->rolled_back = true;
                } else if (e && !e->detail && undo_err.message)
                        vnc_error_detail(e, "rollback also failed: %s; run \"vnetcfg rollback %s\"", undo_err.message,
                                         p->name);
                vnc_error_clear(&undo_err);
                goto finish;
        }
        ret->changed = true;
        ret->generation = gen;
        vnc_journal_close(&j);
        if (eng->verify)
                r = apply_verify(eng, p, &s, gen, ret, e);
        if (r >= 0)
                r = arm_confirm(eng, &s, p->name, gen, ret, e);
finish:
        vnc_journal_close(&j);
        prepared_done(&prep);
        vnc_state_close(&s);
        return r;
}

static int rollback_generation(const struct vnc_host_ops *host, struct vnc_state *s, const char *name, unsigned gen,
                               struct vnc_rollback_result *res, struct vnc_error *e) {
        _cleanup_free_ struct vnc_action *undo = NULL;
        struct vnc_backend_ctx ctx = {.state_dir = s->dir};
        struct vnc_live *live = NULL;
        size_t n = 0;
        bool committed;
        int r;

        r = vnc_journal_read(s, name, gen, &undo, &n, &committed, e);
        if (r < 0)
                return r;
        r = host->live_read(&live, e);
        if (r < 0)
                return r;
        ctx.live = live;
        r = vnc_exec_undo(host, &ctx, undo, n, e);
        vnc_live_free(live);
        if (r < 0)
                return r;
        r = vnc_state_remove_generation(s, name, gen);
        if (r < 0)
                return vnc_error_set(e, VNC_ERR_RUNTIME, r, "could not remove generation %u of \"%s\"", gen, name);
        res->generations++;
        res->actions += n;
        return 0;
}

int vnc_engine_rollback(const struct vnc_engine *eng, const char *name, bool all, struct vnc_rollback_result *ret,
                        struct vnc_error *e) {
        struct vnc_state s = {.dir_fd = -1, .lock_fd = -1};
        _cleanup_free_ unsigned *gens = NULL;
        struct vnc_profile *last = NULL;
        size_t n = 0;
        int r;

        *ret = (struct vnc_rollback_result){0};
        if (!vnc_name_valid(name))
                return vnc_error_set(e, VNC_ERR_USAGE, -EINVAL, "\"%s\": not a valid profile name", name);
        r = locked_state(eng, &s, e);
        if (r < 0)
                goto finish;
        r = vnc_state_generations(&s, name, &gens, &n);
        if (r < 0) {
                vnc_error_set(e, VNC_ERR_RUNTIME, r, "could not list the generations of \"%s\"", name);
                goto finish;
        }
        /* rollback --all sweeps libvirt at the daemon the newest generation used (or the default). */
        if (all && n > 0) {
                struct vnc_error ignored = {0};
                (void)vnc_state_load_applied(&s, name, &last, &ignored);
                vnc_error_clear(&ignored);
        }
        for (size_t i = n; i-- > 0;) {
                r = rollback_generation(eng->host, &s, name, gens[i], ret, e);
                if (r < 0 || !all)
                        break;
        }
        /* A pending confirmation was for the newest generation: it is gone now. */
        if (r >= 0 && n > 0)
                (void)vnc_state_pending_remove(&s, name);
        /* Killed between creating the profile's directory and its first journal: nothing to undo,
         * and nothing should stay behind. */
        if (r >= 0)
                vnc_state_prune_profile(&s, name);
        if (r >= 0 && all) {
                /* Anything still carrying this profile's mark (a journal lost or damaged) goes too. */
                struct vnc_live *live = NULL;
                struct vnc_plan sweep = {0};
                struct vnc_profile none = {0};
                snprintf(none.name, sizeof(none.name), "%s", name);
                none.libvirt_uri = last && last->libvirt_uri ? last->libvirt_uri : (char *)"qemu:///system";
                none.libvirt_define = last ? last->libvirt_define : VNC_LIBVIRT_AUTO;
                r = read_host(eng->host, s.dir, name, &live, e);
                if (r >= 0)
                        read_unknown_taps(eng->host, live, name, NULL);
                /* libvirt networks with the mark, where a daemon answers ("define": false: never asked). */
                if (r >= 0)
                        r = vnc_libvirt_read_for(eng->host, live, &none, NULL, e);
                if (r >= 0)
                        r = vnc_plan_compute(NULL, &none, live, NULL, 0, &sweep, e);
                if (r >= 0 && sweep.n_actions > 0) {
                        struct vnc_backend_ctx ctx = {.state_dir = s.dir, .live = live};
                        _cleanup_free_ struct vnc_action *inv = calloc(sweep.n_actions, sizeof(*inv));
                        if (!inv)
                                r = -ENOMEM;
                        /* vnc_exec_undo runs inverses in reverse: hand it the deletes as "inverses". */
                        for (size_t i = 0; inv && i < sweep.n_actions; i++)
                                inv[sweep.n_actions - 1 - i] = sweep.actions[i];
                        if (inv)
                                r = vnc_exec_undo(eng->host, &ctx, inv, sweep.n_actions, e);
                        ret->actions += sweep.n_actions;
                }
                vnc_plan_done(&sweep);
                vnc_live_free(live);
        }
        if (r >= 0)
                vnc_state_gc_blobs(&s);
finish:
        vnc_profile_free(last);
        vnc_state_close(&s);
        return r;
}

bool vnc_watcher_alive(int pid) {
        char path[64], stat[512];
        if (pid <= 0)
                return false;
        snprintf(path, sizeof(path), "/proc/%d/stat", pid);
        FILE *f = fopen(path, "re");
        if (!f)
                return false;
        size_t n = fread(stat, 1, sizeof(stat) - 1, f);
        fclose(f);
        stat[n] = 0;
        const char *close_paren = strrchr(stat, ')');
        const char *open_paren = strchr(stat, '(');
        if (!close_paren || !open_paren || close_paren[1] != ' ')
                return false;
        return close_paren[2] != 'Z' && close_paren[2] != 'X' && memmem(open_paren, (size_t)(close_paren - open_paren),
                                                                          "vnetcfg", 7) != NULL;
}

void vnc_status_free(struct vnc_status *s) {
        if (!s)
                return;
        for (size_t i = 0; i < s->n_entries; i++) {
                free(s->entries[i].name);
                vnc_profile_free(s->entries[i].applied);
                vnc_plan_done(&s->entries[i].drift);
                vnc_libvirt_view_done(&s->entries[i].lv);
        }
        free(s->entries);
        vnc_live_free(s->live);
        free(s);
}

int vnc_engine_status(const struct vnc_engine *eng, const char *name, struct vnc_status **ret, struct vnc_error *e) {
        struct vnc_state s = {.dir_fd = -1, .lock_fd = -1};
        struct vnc_status *st = calloc(1, sizeof(*st));
        char **names = NULL;
        size_t n = 0;
        bool missing;
        int r;

        if (!st)
                return -ENOMEM;
        r = open_state(eng, false, &s, &missing, e);
        if (r < 0)
                goto fail;
        r = eng->host->live_read(&st->live, e);
        if (r >= 0)
                r = eng->host->fw_live_read(st->live, e);
        if (r >= 0)
                r = eng->host->open_live_read(st->live, e);
        if (r < 0 || missing)
                goto done;
        r = vnc_state_profiles(&s, &names, &n);
        if (r < 0) {
                vnc_error_set(e, VNC_ERR_RUNTIME, r, "could not list the profiles in \"%s\"", s.dir);
                goto done;
        }
        st->entries = calloc(n ? n : 1, sizeof(*st->entries));
        if (!st->entries) {
                r = -ENOMEM;
                goto done;
        }
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ unsigned *gens = NULL;
                size_t ng = 0;
                bool committed = false;

                if (name && !streq(name, names[i]))
                        continue;
                struct vnc_status_entry *en = &st->entries[st->n_entries++];
                en->name = strdup(names[i]);
                r = vnc_state_generations(&s, names[i], &gens, &ng);
                if (r < 0 || ng == 0)
                        continue;
                en->generation = gens[ng - 1];
                en->n_generations = ng;
                r = vnc_journal_read(&s, names[i], gens[ng - 1], NULL, NULL, &committed, e);
                if (r < 0)
                        goto done;
                en->interrupted = !committed;
                if (vnc_state_pending_read(&s, names[i], &en->confirm) > 0) {
                        en->pending = true;
                        en->watcher_alive = vnc_watcher_alive(en->confirm.watcher);
                }
                r = vnc_state_load_applied(&s, names[i], &en->applied, e);
                if (r < 0)
                        goto done;
                if (en->applied) {
                        bool running = false;
                        char blob[17] = "";
                        r = eng->host->dhcp_status(s.dir, names[i], &running, blob);
                        if (r < 0)
                                goto done;
                        st->live->dhcp_running = en->dhcp_running = running;
                        memcpy(st->live->dhcp_blob, blob, sizeof(blob));
                        r = vnc_libvirt_read_for(eng->host, st->live, en->applied, en->applied, e);
                        if (r < 0)
                                goto done;
                        r = vnc_plan_compute(en->applied, en->applied, st->live, NULL, 0, &en->drift, e);
                        en->lv = st->live->lv; /* this profile's libvirt networks, for its status lines */
                        st->live->lv = (struct vnc_libvirt_view){0};
                        if (r < 0) {
                                /* A conflict here is drift too (a foreign object took a name); report it. */
                                vnc_error_clear(e);
                                r = 0;
                        }
                }
        }
        if (name && st->n_entries == 0) {
                r = vnc_error_set(e, VNC_ERR_USAGE, -ENOENT, "no applied profile named \"%s\"", name);
                goto done;
        }
done:
        vnc_strv_free(names, n);
        if (!missing)
                vnc_state_close(&s);
        if (r < 0)
                goto fail;
        *ret = st;
        return 0;
fail:
        vnc_status_free(st);
        return r;
}

int vnc_engine_confirm(const struct vnc_engine *eng, const char *name, int *ret_watcher, struct vnc_error *e) {
        struct vnc_state s = {.dir_fd = -1, .lock_fd = -1};
        struct vnc_pending p;
        int r;

        *ret_watcher = 0;
        r = locked_state(eng, &s, e);
        if (r >= 0) {
                r = vnc_state_pending_read(&s, name, &p);
                if (r == 0)
                        r = vnc_error_set(e, VNC_ERR_USAGE, -ENOENT, "no apply of \"%s\" awaits confirmation", name);
                else if (r > 0) {
                        r = vnc_state_pending_remove(&s, name);
                        if (r < 0)
                                vnc_error_set(e, VNC_ERR_RUNTIME, r, "could not remove the pending record of \"%s\"",
                                              name);
                        else
                                *ret_watcher = p.watcher;
                }
        }
        vnc_state_close(&s);
        return r;
}

int vnc_engine_load_applied(const struct vnc_engine *eng, const char *name, struct vnc_profile **ret,
                            struct vnc_error *e) {
        struct vnc_state s = {.dir_fd = -1, .lock_fd = -1};
        bool missing;
        int r;

        *ret = NULL;
        if (!vnc_name_valid(name))
                return 0;
        r = open_state(eng, false, &s, &missing, e);
        if (r < 0 || missing)
                return r;
        r = vnc_state_load_applied(&s, name, ret, e);
        vnc_state_close(&s);
        return r;
}

int vnc_engine_pending_watcher(const struct vnc_engine *eng, const char *name, unsigned gen, int pid,
                               struct vnc_error *e) {
        struct vnc_state s = {.dir_fd = -1, .lock_fd = -1};
        struct vnc_pending p;
        int r = locked_state(eng, &s, e);

        if (r >= 0 && vnc_state_pending_read(&s, name, &p) > 0 && p.gen == gen) {
                p.watcher = pid;
                r = vnc_state_pending_write(&s, name, &p, e);
        }
        vnc_state_close(&s);
        return r;
}

int vnc_engine_confirm_expired(const struct vnc_engine *eng, const char *name, unsigned gen, struct vnc_error *e) {
        struct vnc_state s = {.dir_fd = -1, .lock_fd = -1};
        _cleanup_free_ unsigned *gens = NULL;
        struct vnc_rollback_result res = {0};
        struct vnc_pending p;
        size_t n = 0;
        int r = locked_state(eng, &s, e);

        if (r < 0)
                goto finish;
        if (vnc_state_pending_read(&s, name, &p) <= 0 || p.gen != gen) {
                r = 0; /* confirmed, or rolled back by hand */
                goto finish;
        }
        r = vnc_state_generations(&s, name, &gens, &n);
        if (r >= 0 && n > 0 && gens[n - 1] == gen) {
                r = rollback_generation(eng->host, &s, name, gen, &res, e);
                if (r >= 0)
                        vnc_state_gc_blobs(&s);
        }
        if (r >= 0) {
                (void)vnc_state_pending_remove(&s, name);
                r = 1;
        }
finish:
        vnc_state_close(&s);
        return r;
}

int vnc_engine_verify(const struct vnc_engine *eng, const struct vnc_profile *p, struct vnc_verify_result *ret,
                      struct vnc_error *e) {
        struct vnc_state s = {.dir_fd = -1, .lock_fd = -1};
        int r;

        /* Probes add ports to the bridges: not while another vnetcfg changes them. */
        r = locked_state(eng, &s, e);
        if (r >= 0)
                r = vnc_verify_profile(eng->host, p, ret, e);
        vnc_state_close(&s);
        return r;
}
