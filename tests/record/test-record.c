/* SPDX-License-Identifier: MIT */
/*
 * What apply and rollback send to the host, for every example profile in
 * profiles/, as golden files (ctest label golden; no root, no kernel).
 *
 * Each profile is planned against the fake host tests/record/host.txt (the
 * live.txt format of tests/golden, see tests/unit/live-fixture.h); the plan
 * runs through the executor with the backends recording (backends/record.h):
 * the real backends build every request and only the final send is diverted
 * into text. Then the journal of that apply is rolled back through the
 * executor's undo the same way. The transcripts are compared with
 *   tests/record/<profile>.apply.txt      the requests of the apply, then the
 *                                         config blobs it wrote (dnsmasq, libvirt)
 *   tests/record/<profile>.rollback.txt   the requests of the rollback
 *   tests/record/<profile>.nftables.txt   the nft commands of both on the same host whose
 *                                         iptables is iptables-nft (the nftables backend)
 * VNC_REGENERATE=1 rewrites them from the current output: review every diff,
 * it is a change in what reaches the kernel.
 *
 * A profile that cannot be planned on the fake host gets "error: <why>" as its
 * apply transcript, so no example is skipped silently. After the rollback the
 * recorded host must hold exactly the links and sysctl values it started with.
 */
#include <dirent.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "exec.h"
#include "host-real.h"
#include "state.h"
#include "../unit/live-fixture.h"
#include "record.h"

/* The links (name, kind, master, alias, mtu) and sysctls of a host, one a line. */
static char *host_summary(const struct vnc_live *h) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        assert_non_null(f);
        for (size_t i = 0; i < h->n_links; i++) {
                const struct vnc_live_link *l = &h->links[i];
                const struct vnc_live_link *m = l->master ? vnc_live_link_by_index(h, l->master) : NULL;
                fprintf(f, "link %s kind=%s master=%s mtu=%u alias=%s\n", l->name, l->kind, m ? m->name : "",
                        l->mtu, l->alias ? l->alias : "");
        }
        for (size_t i = 0; i < h->n_sysctls; i++)
                fprintf(f, "sysctl %s=%s\n", h->sysctls[i].key, h->sysctls[i].value);
        fclose(f);
        return text;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

/*
 * Planning the same profile again against the recorded host, read back through
 * the backends' own live readers as the engine reads a host, must find nothing
 * to do: what apply sent is what the planner and the readers expect to see.
 */
static void check_reapply_is_noop(const char *file, const struct vnc_profile *p, const char *state_dir) {
        struct vnc_live *l = NULL;
        struct vnc_plan plan = {0};
        struct vnc_error e = {0};
        int r;

        r = vnc_host_real.live_read(&l, &e);
        if (r >= 0)
                r = vnc_host_real.fw_live_read(l, &e);
        if (r >= 0)
                r = vnc_host_real.open_live_read(l, &e);
        if (r >= 0)
                r = vnc_host_real.dhcp_status(state_dir, p->name, &l->dhcp_running, l->dhcp_blob);
        if (r >= 0)
                r = vnc_libvirt_read_for(&vnc_host_real, l, p, p, &e);
        if (r >= 0)
                r = vnc_plan_compute(p, p, l, NULL, 0, &plan, &e);
        if (r < 0) {
                _cleanup_free_ char *msg = vnc_error_format(&e);
                fail_msg("%s: planning again on the recorded host failed: %s", file, msg);
        }
        if (plan.n_actions > 0) {
                for (size_t i = 0; i < plan.n_actions; i++) {
                        _cleanup_free_ char *line = vnc_action_serialize(&plan.actions[i]);
                        print_error("%s: re-apply would: %s\n", file, line);
                }
                fail_msg("%s: re-applying on the recorded host is not a no-op", file);
        }
        vnc_plan_done(&plan);
        vnc_live_free(l);
        vnc_error_clear(&e);
}

/* The lines of text that start with prefix. */
static char *keep_lines(const char *text, const char *prefix) {
        char *out = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&out, &size);

        assert_non_null(f);
        for (const char *l = text; *l;) {
                size_t n = strcspn(l, "\n");
                if (strncmp(l, prefix, strlen(prefix)) == 0)
                        fprintf(f, "%.*s\n", (int)n, l);
                l += n + (l[n] == '\n');
        }
        fclose(f);
        return out;
}

/*
 * nft false: <name>.apply.txt and <name>.rollback.txt on host.txt (iptables-legacy);
 * nft true: <name>.nftables.txt, the nft commands of both on the same host with iptables-nft.
 */
static void record_profile(const char *src, const char *file, bool nft) {
        char path[1024], name[256], dir[] = "/tmp/vnc-record-XXXXXX";
        struct vnc_profile *p = NULL;
        struct vnc_live *live, *host;
        struct vnc_plan plan = {0};
        struct vnc_error e = {0};
        struct vnc_state s = {0};
        struct vnc_journal j = {.fd = -1};
        _cleanup_free_ char *apply_text = NULL, *rollback_text = NULL, *before = NULL, *after = NULL;
        char *out = NULL;
        size_t size = 0, journaled = 0;
        FILE *m;
        int r;

        snprintf(name, sizeof(name), "%.*s", (int)(strlen(file) - strlen(".json")), file);
        snprintf(path, sizeof(path), "%s/profiles", src);
        p = load_profile(path, file);
        assert_non_null(p);
        snprintf(path, sizeof(path), "%s/tests/record/host.txt", src);
        live = load_live(path);
        host = load_live(path);
        if (nft)
                for (struct vnc_live *l = live; l; l = l == live ? host : NULL) {
                        l->fw_host_iptables = VNC_FW_NFTABLES;
                        free(l->fw_host_iptables_how);
                        l->fw_host_iptables_how = strdup("/usr/sbin/iptables -> /usr/sbin/iptables-nft");
                }
        before = host_summary(host);

        m = open_memstream(&out, &size);
        assert_non_null(m);
        fprintf(m, "# profiles/%s applied to tests/record/host.txt%s\n", file, nft ? " with iptables-nft" : "");
        r = vnc_plan_compute(p, NULL, live, NULL, 0, &plan, &e);
        if (r < 0) {
                _cleanup_free_ char *msg = vnc_error_format(&e);
                fprintf(m, "error: it cannot be planned on this host: %s\n", msg);
                fclose(m);
                snprintf(path, sizeof(path), "%s/tests/record/%s.%s.txt", src, name, nft ? "nftables" : "apply");
                compare_or_regenerate(path, out);
                free(out);
                vnc_live_free(host);
                goto done;
        }
        if (plan.fw_backend != VNC_FW_AUTO)
                fprintf(m, "# firewall %s: %s\n", vnc_fw_backend_to_string(plan.fw_backend), plan.fw_reason);

        assert_non_null(mkdtemp(dir));
        assert_int_equal(vnc_state_open(dir, &s, &e), 0);
        for (size_t i = 0; i < plan.n_blobs; i++)
                assert_int_equal(vnc_state_write_blob(&s, plan.blobs[i].hash, plan.blobs[i].text, &e), 0);

        /* apply: the executor with every backend recording */
        assert_int_equal(vnc_record_start(host, s.dir), 0);
        struct vnc_backend_ctx ctx = {.state_dir = s.dir, .live = live};
        assert_int_equal(vnc_journal_begin(&s, p->name, 1, &j, &e), 0);
        r = vnc_exec_apply(&vnc_host_real, &ctx, &j, plan.actions, plan.n_actions, NULL, NULL, &journaled, &e);
        if (r < 0) {
                _cleanup_free_ char *msg = vnc_error_format(&e);
                fail_msg("%s: apply failed while recording: %s", file, msg);
        }
        assert_int_equal(vnc_journal_commit(&j, &e), 0);
        vnc_journal_close(&j);
        apply_text = vnc_record_take();
        assert_non_null(apply_text);
        check_reapply_is_noop(file, p, s.dir);
        _cleanup_free_ char *reads = vnc_record_take();
        assert_non_null(reads);
        assert_string_equal(reads, ""); /* reading sends nothing */
        if (nft) {
                _cleanup_free_ char *cmds = keep_lines(apply_text, "nft ");
                fputs(cmds, m);
        } else {
                fputs(apply_text, m);
                for (size_t i = 0; i < plan.n_blobs; i++)
                        fprintf(m, "--- blob %s\n%s", plan.blobs[i].hash, plan.blobs[i].text);
                fclose(m);
                snprintf(path, sizeof(path), "%s/tests/record/%s.apply.txt", src, name);
                compare_or_regenerate(path, out);
                free(out);
                out = NULL;
                m = NULL;
        }

        /* rollback: the journal's inverses through the executor's undo, against the recorded host */
        _cleanup_free_ struct vnc_action *undo = NULL;
        size_t n_undo = 0;
        bool committed = false;
        assert_int_equal(vnc_journal_read(&s, p->name, 1, &undo, &n_undo, &committed, &e), 0);
        assert_true(committed);
        assert_int_equal(n_undo, plan.n_actions);
        /* As the engine does: a fresh dump of the (recorded) host for the ownership checks. */
        struct vnc_live *fresh = NULL;
        assert_int_equal(vnc_record_read_links(&fresh, NULL), 0);
        ctx.live = fresh;
        r = vnc_exec_undo(&vnc_host_real, &ctx, undo, n_undo, &e);
        vnc_live_free(fresh);
        if (r < 0) {
                _cleanup_free_ char *msg = vnc_error_format(&e);
                fail_msg("%s: rollback failed while recording: %s", file, msg);
        }
        rollback_text = vnc_record_take();
        assert_non_null(rollback_text);
        if (!m) {
                m = open_memstream(&out, &size);
                assert_non_null(m);
        }
        fprintf(m, "# rollback of profiles/%s on tests/record/host.txt%s\n", file, nft ? " with iptables-nft" : "");
        if (nft) {
                _cleanup_free_ char *cmds = keep_lines(rollback_text, "nft ");
                fputs(cmds, m);
        } else
                fputs(rollback_text, m);
        fclose(m);
        snprintf(path, sizeof(path), "%s/tests/record/%s.%s.txt", src, name, nft ? "nftables" : "rollback");
        compare_or_regenerate(path, out);
        free(out);

        /* Everything apply made is gone again, every sysctl is back. */
        after = host_summary(vnc_record_host());
        if (!streq(before, after)) {
                print_error("%s: the recorded host after rollback differs\n--- before\n%s--- after\n%s", file, before,
                            after);
                fail();
        }
        _cleanup_free_ char *nft_left = vnc_record_nft_list();
        if (nft_left) {
                print_error("%s: table ip vnetcfg is left after rollback:\n%s", file, nft_left);
                fail();
        }
        vnc_record_stop();
        vnc_state_close(&s);
        /* The state dir holds the journal and blobs of this run only. */
        assert_int_equal(nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
done:
        vnc_plan_done(&plan);
        vnc_error_clear(&e);
        vnc_live_free(live);
        vnc_profile_free(p);
}

static int json_file(const struct dirent *d) {
        size_t n = strlen(d->d_name);
        return n > 5 && streq(d->d_name + n - 5, ".json") && !strstr(d->d_name, ".schema.");
}

static void test_profiles(void **state) {
        const char *src = getenv("VNC_SOURCE_DIR");
        char dir[1024];
        struct dirent **list;
        int n;

        assert_non_null(src);
        snprintf(dir, sizeof(dir), "%s/profiles", src);
        n = scandir(dir, &list, json_file, alphasort);
        assert_true(n >= 7);
        for (int i = 0; i < n; i++) {
                print_message("profiles/%s\n", list[i]->d_name);
                record_profile(src, list[i]->d_name, false);
                record_profile(src, list[i]->d_name, true);
                free(list[i]);
        }
        free(list);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_profiles),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
