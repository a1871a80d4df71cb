/* SPDX-License-Identifier: MIT */
/*
 * vnetcfg-faults: vnetcfg on the real host, with faults injected where the
 * netns tests ask for them. Built from the CLI's sources with this main()
 * instead of cli/main.c; never installed. The production vnetcfg reads none
 * of these variables.
 *
 *   VNETCFG_FAIL_AT=k      apply fails just before plan action k runs (the
 *                          actions before it in its batch run first)
 *   VNETCFG_CRASH_AT=k     apply is killed (SIGKILL) just before action k
 *   VNETCFG_FAIL_COMMIT=t  the firewall's commit of table t fails as the
 *                          kernel's would: t is an iptables table ("filter",
 *                          "nat": the tables the batch touches before t are
 *                          committed first, as the iptables backend does) or
 *                          "nftables" (the one transaction is refused)
 *
 * It wraps every executor backend of the real host-ops table: apply runs
 * (not undo runs) are counted through, so action k is the plan's k-th action
 * (the executor hands each batch to run() once, in plan order).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "backends.h"
#include "cli.h"
#include "host-real.h"

static long fail_at = -1, crash_at = -1;
static const char *fail_commit;
static size_t applied; /* actions handed to the backends by apply runs so far */

static long env_index(const char *name) {
        const char *s = getenv(name);
        char *end;

        if (!s || !*s)
                return -1;
        errno = 0;
        long v = strtol(s, &end, 10);
        return errno || *end || v < 0 ? -1 : v;
}

/* The real backend the executor chose for this batch: the wrapped ones answer handles() alike. */
static const struct vnc_backend_ops *real_for(const struct vnc_action *a) {
        for (size_t i = 0; i < vnc_host_real.n_backends; i++) {
                const struct vnc_backend_ops *b = vnc_host_real.backends[i];
                if (b->handles_action ? b->handles_action(a) : b->handles(a->kind))
                        return b;
        }
        abort();
}

static int injected_commit(struct vnc_error *e, const char *object, size_t n) {
        vnc_error_set(e, VNC_ERR_RUNTIME, -EIO, "%s: could not commit %zu firewall actions", object, n);
        vnc_error_detail(e, "injected failure (VNETCFG_FAIL_COMMIT)");
        return -EIO;
}

/*
 * The iptables backend commits one table after the other, in the order the batch first touches
 * them, and stops at the first that fails. *ret_done is the leading actions whose table was
 * committed.
 */
static int iptables_fail_commit(const struct vnc_backend_ops *b, struct vnc_backend_ctx *ctx,
                                const struct vnc_action *acts, size_t n, int table, size_t *ret_done,
                                struct vnc_error *e) {
        _cleanup_free_ struct vnc_action *before = calloc(n, sizeof(*before));
        bool earlier[_VNC_FW_TABLE_MAX] = {0}, seen[_VNC_FW_TABLE_MAX] = {0}, committed[_VNC_FW_TABLE_MAX] = {0};
        size_t n_before = 0, n_table = 0, done = 0;
        int r = 0;

        if (!before)
                return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
                int t = acts[i].rule.table;
                if (t != table && !seen[table] && !seen[t])
                        earlier[t] = true;
                seen[t] = true;
        }
        for (size_t i = 0; i < n; i++) {
                if (acts[i].rule.table == table)
                        n_table++;
                else if (earlier[acts[i].rule.table])
                        before[n_before++] = acts[i];
        }
        if (n_before > 0) {
                size_t d = 0;
                r = b->run(ctx, before, n_before, 0, &d, e);
                for (size_t i = 0; i < d; i++)
                        committed[before[i].rule.table] = true;
        }
        while (done < n && committed[acts[done].rule.table])
                done++;
        *ret_done = done;
        if (r < 0)
                return r;
        _cleanup_free_ char *obj = vnc_strdup_printf("iptables table \"%s\"", vnc_fw_table_to_string(table));
        return injected_commit(e, obj ? obj : "iptables", n_table);
}

/* b->run(), with VNETCFG_FAIL_COMMIT. */
static int run_real(const struct vnc_backend_ops *b, struct vnc_backend_ctx *ctx, const struct vnc_action *acts,
                    size_t n, size_t *ret_done, struct vnc_error *e) {
        if (fail_commit && b == &vnc_backend_nft && streq(fail_commit, "nftables")) {
                *ret_done = 0;
                return injected_commit(e, "nftables table \"" VNC_NFT_FAMILY " " VNC_NFT_TABLE "\"", n);
        }
        if (fail_commit && b == &vnc_backend_firewall) {
                int table = vnc_fw_table_from_string(fail_commit);
                for (size_t i = 0; table >= 0 && i < n; i++)
                        if (acts[i].rule.table == table)
                                return iptables_fail_commit(b, ctx, acts, n, table, ret_done, e);
        }
        return b->run(ctx, acts, n, 0, ret_done, e);
}

static int faulty_run(struct vnc_backend_ctx *ctx, const struct vnc_action *acts, size_t n, unsigned flags,
                      size_t *ret_done, struct vnc_error *e) {
        const struct vnc_backend_ops *b = real_for(&acts[0]);
        size_t base = applied, run = n, done = 0;
        bool inject = false;
        int r;

        if (flags & VNC_RUN_UNDO)
                return b->run(ctx, acts, n, flags, ret_done, e);
        applied += n;
        if (fail_at >= 0 && (size_t)fail_at >= base && (size_t)fail_at < base + n) {
                run = (size_t)fail_at - base;
                inject = true;
        }
        if (crash_at >= 0 && (size_t)crash_at >= base && (size_t)crash_at < base + n && (size_t)crash_at - base <= run) {
                run = (size_t)crash_at - base;
                if (run > 0)
                        (void)run_real(b, ctx, acts, run, &done, e);
                kill(getpid(), SIGKILL);
        }
        *ret_done = 0;
        if (run > 0) {
                r = run_real(b, ctx, acts, run, ret_done, e);
                if (r < 0)
                        return r;
        }
        if (inject) {
                const struct vnc_action *a = &acts[run];
                _cleanup_free_ char *name = vnc_action_name(a);
                return vnc_error_set(e, VNC_ERR_RUNTIME, -EIO,
                                     "injected failure before action %ld (%s %s \"%s\", VNETCFG_FAIL_AT)", fail_at,
                                     vnc_action_op_to_string(a->op), vnc_action_kind_to_string(a->kind),
                                     name ? name : "");
        }
        return 0;
}

int main(int argc, char **argv) {
        size_t n = vnc_host_real.n_backends;
        struct vnc_backend_ops *wrapped = calloc(n, sizeof(*wrapped));
        const struct vnc_backend_ops **list = calloc(n, sizeof(*list));
        struct vnc_host_ops host = vnc_host_real;
        const char *s;
        int r;

        if (!wrapped || !list) {
                fprintf(stderr, "vnetcfg-faults: out of memory\n");
                return 1;
        }
        fail_at = env_index("VNETCFG_FAIL_AT");
        crash_at = env_index("VNETCFG_CRASH_AT");
        s = getenv("VNETCFG_FAIL_COMMIT");
        fail_commit = s && *s ? s : NULL;
        for (size_t i = 0; i < n; i++) {
                wrapped[i] = *vnc_host_real.backends[i];
                wrapped[i].run = faulty_run;
                list[i] = &wrapped[i];
        }
        host.backends = list;
        r = cli_main(argc, argv, &host);
        free(list);
        free(wrapped);
        return r;
}
