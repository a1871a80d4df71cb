/* SPDX-License-Identifier: MIT */
#include <signal.h>
#include <stdio.h>

#include "exec.h"

static const struct vnc_backend_ops *const backends[] = {
        &vnc_backend_netlink,
        &vnc_backend_tap,
        &vnc_backend_sysctl,
        &vnc_backend_nft,
        &vnc_backend_firewall,
        &vnc_backend_dhcp,
        &vnc_backend_open,
        &vnc_backend_libvirt,
};

const struct vnc_backend_ops *vnc_backend_for(enum vnc_action_kind k) {
        for (size_t i = 0; i < ELEMENTSOF(backends); i++)
                if (backends[i]->handles(k))
                        return backends[i];
        return NULL;
}

static const struct vnc_backend_ops *backend_for_action(const struct vnc_action *a) {
        for (size_t i = 0; i < ELEMENTSOF(backends); i++)
                if (backends[i]->handles_action ? backends[i]->handles_action(a) : backends[i]->handles(a->kind))
                        return backends[i];
        return NULL;
}

int vnc_backend_run_each(struct vnc_backend_ctx *ctx, const struct vnc_action *acts, size_t n, unsigned flags,
                         size_t *ret_done, struct vnc_error *e, vnc_action_fn fn) {
        size_t done = 0;
        int first = 0;

        for (size_t i = 0; i < n; i++) {
                int r = fn(ctx, &acts[i], e);
                if (r < 0) {
                        if (first == 0)
                                first = r;
                        if (!(flags & VNC_RUN_UNDO))
                                break;
                } else if (first == 0)
                        done = i + 1;
        }
        if (ret_done)
                *ret_done = done;
        return first;
}

static long env_index(const char *name) {
        const char *s = getenv(name);
        char *end;

        if (!s || !*s)
                return -1;
        errno = 0;
        long v = strtol(s, &end, 10);
        return errno || *end || v < 0 ? -1 : v;
}

/* Length of the run of actions starting at acts[0] that one backend handles. */
static size_t batch_len(const struct vnc_action *acts, size_t n, const struct vnc_backend_ops **ret) {
        const struct vnc_backend_ops *b = backend_for_action(&acts[0]);
        size_t k = 1;

        while (k < n && backend_for_action(&acts[k]) == b)
                k++;
        *ret = b;
        return k;
}

int vnc_exec_apply(struct vnc_backend_ctx *ctx, struct vnc_journal *j, const struct vnc_action *acts, size_t n,
                   vnc_progress_fn progress, void *userdata, size_t *ret_journaled, struct vnc_error *e) {
        long fail_at = env_index("VNETCFG_FAIL_AT"), crash_at = env_index("VNETCFG_CRASH_AT");
        size_t i = 0;
        int r;

        *ret_journaled = 0;
        while (i < n) {
                const struct vnc_backend_ops *b;
                size_t len = batch_len(acts + i, n - i, &b), done = 0;

                if (!b)
                        return vnc_error_set(e, VNC_ERR_RUNTIME, -EOPNOTSUPP, "no backend handles %s actions",
                                             vnc_action_kind_to_string(acts[i].kind));
                r = vnc_journal_record(j, acts + i, len, e);
                if (r < 0)
                        return r;
                *ret_journaled = i + len;

                /* Test switches split the batch at the chosen index. */
                size_t run = len;
                bool inject = false;
                if (fail_at >= 0 && (size_t)fail_at >= i && (size_t)fail_at < i + len) {
                        run = (size_t)fail_at - i;
                        inject = true;
                }
                if (crash_at >= 0 && (size_t)crash_at >= i && (size_t)crash_at < i + len && (size_t)crash_at - i <= run) {
                        run = (size_t)crash_at - i;
                        if (run > 0)
                                (void)b->run(ctx, acts + i, run, 0, &done, e);
                        kill(getpid(), SIGKILL);
                }
                if (run > 0) {
                        r = b->run(ctx, acts + i, run, 0, &done, e);
                        if (r < 0)
                                return r;
                }
                if (inject) {
                        _cleanup_free_ char *name = vnc_action_name(&acts[fail_at]);
                        return vnc_error_set(e, VNC_ERR_RUNTIME, -EIO,
                                             "injected failure before action %ld (%s %s \"%s\", VNETCFG_FAIL_AT)",
                                             fail_at, vnc_action_op_to_string(acts[fail_at].op),
                                             vnc_action_kind_to_string(acts[fail_at].kind), name ? name : "");
                }
                i += len;
                if (progress)
                        progress(userdata, i, n, &acts[i - 1]);
        }
        return 0;
}

int vnc_exec_undo(struct vnc_backend_ctx *ctx, const struct vnc_action *inverses, size_t n, struct vnc_error *e) {
        _cleanup_free_ struct vnc_action *rev = NULL;
        int first = 0;

        if (n == 0)
                return 0;
        rev = malloc(n * sizeof(*rev));
        if (!rev)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                rev[i] = inverses[n - 1 - i];

        for (size_t i = 0; i < n;) {
                const struct vnc_backend_ops *b;
                size_t len = batch_len(rev + i, n - i, &b), done = 0;
                if (b) {
                        int r = b->run(ctx, rev + i, len, VNC_RUN_UNDO, &done, e);
                        if (r < 0 && first == 0)
                                first = r;
                }
                i += len;
        }
        return first;
}
