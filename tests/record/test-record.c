/* SPDX-License-Identifier: MIT */
/*
 * What apply and rollback send to the host, for every example profile in
 * profiles/, as golden files (ctest label golden; no root, no kernel).
 *
 * Each profile is applied by the engine to the fake host tests/record/host.txt
 * (the live.txt format of tests/golden, see tests/unit/live-fixture.h) through
 * the recording host-ops table (backends/record.h): the real backends build
 * every request and only the final send is diverted into text; what they read
 * comes from the recorded host. Then the engine rolls that generation back
 * from its journal, through the executor's undo, the same way. The transcripts are compared with
 *   tests/record/<profile>.apply.txt      the requests of the apply, then the
 *                                         config blobs it wrote (dnsmasq, libvirt)
 *   tests/record/<profile>.rollback.txt   the requests of the rollback
 *   tests/record/<profile>.nftables.txt   the nft commands of both on the same host whose
 *                                         iptables is iptables-nft (the nftables backend)
 * VNC_REGENERATE=1 rewrites them from the current output: review every diff,
 * it is a change in what reaches the kernel.
 *
 * A profile that cannot be planned on the fake host gets "error: <why>" as its
 * apply transcript, so no example is skipped silently. Planning again after the
 * apply must find nothing to do; after the rollback the recorded host must hold
 * exactly the links and sysctl values it started with, and no nftables table.
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

#include "engine.h"
#include "host-real.h"
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
 * Planning the same profile again against the recorded host, read back through
 * the backends' own live readers as the engine reads a host, must find nothing
 * to do: what apply sent is what the planner and the readers expect to see.
 */
static void check_reapply_is_noop(const struct vnc_engine *eng, const char *file, const struct vnc_profile *p) {
        struct vnc_plan plan = {0};
        struct vnc_error e = {0};

        if (vnc_engine_plan(eng, p, &plan, &e) < 0) {
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
        vnc_error_clear(&e);
}

static char *text_printf(const char *fmt, ...) _printf_(1, 2);
static char *text_printf(const char *fmt, ...) {
        va_list ap;
        char *s = NULL;

        va_start(ap, fmt);
        assert_true(vasprintf(&s, fmt, ap) >= 0);
        va_end(ap);
        return s;
}

/*
 * nft false: <name>.apply.txt and <name>.rollback.txt on host.txt (iptables-legacy);
 * nft true: <name>.nftables.txt, the nft commands of both on the same host with iptables-nft.
 * The engine gets the recording host-ops table: it plans against the recorded host, applies
 * through the executor, and rolls the generation back from its journal.
 */
static void record_profile(const char *src, const char *file, bool nft) {
        char path[1024], name[256], dir[] = "/tmp/vnc-record-XXXXXX";
        const char *with = nft ? " with iptables-nft" : "";
        struct vnc_host_ops ops;
        struct vnc_apply_result res = {0};
        struct vnc_rollback_result rb = {0};
        struct vnc_error e = {0};
        _cleanup_free_ char *apply_text = NULL, *rollback_text = NULL, *head = NULL, *blobs = NULL;
        _cleanup_free_ char *before = NULL, *after = NULL, *nft_left = NULL;
        int r;

        snprintf(name, sizeof(name), "%.*s", (int)(strlen(file) - strlen(".json")), file);
        snprintf(path, sizeof(path), "%s/profiles", src);
        struct vnc_profile *p = load_profile(path, file);
        assert_non_null(p);
        snprintf(path, sizeof(path), "%s/tests/record/host.txt", src);
        struct vnc_live *host = load_live(path);
        if (nft) {
                host->fw_host_iptables = VNC_FW_NFTABLES;
                free(host->fw_host_iptables_how);
                host->fw_host_iptables_how = strdup("/usr/sbin/iptables -> /usr/sbin/iptables-nft");
        }
        before = host_summary(host);

        assert_non_null(mkdtemp(dir));
        vnc_record_host_ops(&vnc_host_real, &ops);
        struct vnc_engine eng = {.host = &ops, .state_dir = dir, .wait_seconds = 1};
        assert_int_equal(vnc_record_start(host, dir), 0);

        /* apply */
        r = vnc_engine_apply(&eng, p, &res, &e);
        apply_text = vnc_record_take();
        assert_non_null(apply_text);
        if (r < 0) {
                _cleanup_free_ char *msg = vnc_error_format(&e);
                _cleanup_free_ char *out = text_printf("# profiles/%s applied to tests/record/host.txt%s\n%s"
                                                       "error: it cannot be applied on this host: %s\n",
                                                       file, with, apply_text, msg);
                snprintf(path, sizeof(path), "%s/tests/record/%s.%s.txt", src, name, nft ? "nftables" : "apply");
                compare_or_regenerate(path, out);
                goto done;
        }
        assert_true(res.changed);
        head = text_printf("# profiles/%s applied to tests/record/host.txt%s\n# firewall %s: %s\n", file, with,
                           vnc_fw_backend_to_string(res.plan.fw_backend), res.plan.fw_reason);
        blobs = strdup("");
        for (size_t i = 0; blobs && i < res.plan.n_blobs; i++) {
                char *more = text_printf("%s--- blob %s\n%s", blobs, res.plan.blobs[i].hash, res.plan.blobs[i].text);
                free(blobs);
                blobs = more;
        }
        assert_non_null(blobs);

        check_reapply_is_noop(&eng, file, p);
        _cleanup_free_ char *reads = vnc_record_take();
        assert_string_equal(reads, ""); /* planning sends nothing */

        /* rollback */
        r = vnc_engine_rollback(&eng, p->name, false, &rb, &e);
        if (r < 0) {
                _cleanup_free_ char *msg = vnc_error_format(&e);
                fail_msg("%s: rollback failed while recording: %s", file, msg);
        }
        assert_int_equal(rb.generations, 1);
        rollback_text = vnc_record_take();
        assert_non_null(rollback_text);

        if (nft) {
                _cleanup_free_ char *a = keep_lines(apply_text, "nft "), *b = keep_lines(rollback_text, "nft ");
                _cleanup_free_ char *out = text_printf("%s%s# rollback of profiles/%s on tests/record/host.txt%s\n%s",
                                                       head, a, file, with, b);
                snprintf(path, sizeof(path), "%s/tests/record/%s.nftables.txt", src, name);
                compare_or_regenerate(path, out);
        } else {
                _cleanup_free_ char *a = text_printf("%s%s%s", head, apply_text, blobs);
                _cleanup_free_ char *b = text_printf("# rollback of profiles/%s on tests/record/host.txt\n%s", file,
                                                     rollback_text);
                snprintf(path, sizeof(path), "%s/tests/record/%s.apply.txt", src, name);
                compare_or_regenerate(path, a);
                snprintf(path, sizeof(path), "%s/tests/record/%s.rollback.txt", src, name);
                compare_or_regenerate(path, b);
        }

        /* Everything apply made is gone again, every sysctl is back, no firewall table is left. */
        after = host_summary(vnc_record_host());
        if (!streq(before, after)) {
                print_error("%s: the recorded host after rollback differs\n--- before\n%s--- after\n%s", file, before,
                            after);
                fail();
        }
        nft_left = vnc_record_nft_list();
        if (nft_left) {
                print_error("%s: table ip vnetcfg is left after rollback:\n%s", file, nft_left);
                fail();
        }
done:
        vnc_record_stop();
        /* The state dir holds the journal and blobs of this run only. */
        assert_int_equal(nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
        vnc_apply_result_done(&res);
        vnc_error_clear(&e);
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
