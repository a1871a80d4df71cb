/* SPDX-License-Identifier: MIT */
#include "exec.h"

static const struct vnc_backend_ops *backend_for_action(const struct vnc_host_ops *host, const struct vnc_action *a) {
        for (size_t i = 0; i < host->n_backends; i++) {
                const struct vnc_backend_ops *b = host->backends[i];
                if (b->handles_action ? b->handles_action(a) : b->handles(a->kind))
                        return b;
        }
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

/* Length of the run of actions starting at acts[0] that one backend handles. */
static size_t batch_len(const struct vnc_host_ops *host, const struct vnc_action *acts, size_t n,
                        const struct vnc_backend_ops **ret) {
        const struct vnc_backend_ops *b = backend_for_action(host, &acts[0]);
        size_t k = 1;

        while (k < n && backend_for_action(host, &acts[k]) == b)
                k++;
        *ret = b;
        return k;
}

int vnc_exec_apply(const struct vnc_host_ops *host, struct vnc_backend_ctx *ctx, struct vnc_journal *j,
                   const struct vnc_action *acts, size_t n, vnc_progress_fn progress, void *userdata,
                   size_t *ret_journaled, struct vnc_error *e) {
        size_t i = 0;
        int r;

        *ret_journaled = 0;
        while (i < n) {
                const struct vnc_backend_ops *b;
                size_t len = batch_len(host, acts + i, n - i, &b), done = 0;

                if (!b)
                        return vnc_error_set(e, VNC_ERR_RUNTIME, -EOPNOTSUPP, "no backend handles %s actions",
                                             vnc_action_kind_to_string(acts[i].kind));
                r = vnc_journal_record(j, acts + i, len, e);
                if (r < 0)
                        return r;
                *ret_journaled = i + len;
                r = b->run(ctx, acts + i, len, 0, &done, e);
                if (r < 0)
                        return r;
                i += len;
                if (progress)
                        progress(userdata, i, n, &acts[i - 1]);
        }
        return 0;
}

int vnc_exec_undo(const struct vnc_host_ops *host, struct vnc_backend_ctx *ctx, const struct vnc_action *inverses,
                  size_t n, struct vnc_error *e) {
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
                size_t len = batch_len(host, rev + i, n - i, &b), done = 0;
                if (b) {
                        int r = b->run(ctx, rev + i, len, VNC_RUN_UNDO, &done, e);
                        if (r < 0 && first == 0)
                                first = r;
                }
                i += len;
        }
        return first;
}
