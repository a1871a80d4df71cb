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
 *
 * Hosts with a firewall of their own (the hosts[] below): tests/record/hosts/<host>.txt
 * adds lines to host.txt: live.txt's (a legacy table's vnetcfg chains and marked rules
 * are loaded into the recorded legacy tables), and the host's own firewall
 * (vnc_record_setup: "nft ...", "iptables ...", "firewalld ..."; "nft-ruleset NAME" loads
 * the real daemon's capture tests/fixtures/rulesets/NAME.nft). Their transcripts are
 *   tests/record/on-<host>/<profile>.apply.txt      with the legacy tables after the apply
 *   tests/record/on-<host>/<profile>.rollback.txt
 * and after the rollback the host's own firewall must be as it was.
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

static int put_binding(void *u, const char *zone, const char *ifname) {
        fprintf(u, "firewalld zone %s %s\n", zone, ifname);
        return 0;
}

/* The firewall of the recorded host: its nftables ruleset, the legacy tables, firewalld's bindings. */
static char *firewall_summary(void) {
        _cleanup_free_ char *ruleset = vnc_record_nft_list_ruleset(), *legacy = vnc_record_iptc_save();
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        assert_non_null(f);
        fprintf(f, "%s%s", ruleset ? ruleset : "", legacy ? legacy : "");
        assert_int_equal(vnc_record_fwd_zones(put_binding, f), 0);
        fprintf(f, "firewalld %s\n", vnc_record_fwd_running() ? "running" : "absent");
        fclose(f);
        return text;
}

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
/*
 * tests/record/host.txt, and with a host variant (not NULL) tests/record/hosts/<variant>.txt on
 * top of it; the lines for the recorder (the host's own firewall) are kept in ret_setup.
 */
static struct vnc_live *load_host(const char *src, const char *variant, char **ret_setup) {
        char path[1024];
        struct vnc_live *host;
        char *setup = NULL;
        size_t size = 0;
        FILE *m = open_memstream(&setup, &size);

        assert_non_null(m);
        snprintf(path, sizeof(path), "%s/tests/record/host.txt", src);
        host = load_live(path);
        if (variant) {
                snprintf(path, sizeof(path), "%s/tests/record/hosts/%s.txt", src, variant);
                FILE *f = fopen(path, "re");
                char *line = NULL;
                size_t cap = 0;
                int lineno = 0;
                assert_non_null(f);
                while (getline(&line, &cap, f) >= 0) {
                        static const char *const recorder[] = {"nft ", "nft-ruleset ", "iptables ", "firewalld "};
                        bool ours = false;
                        lineno++;
                        for (size_t i = 0; i < ELEMENTSOF(recorder); i++)
                                ours = ours || strncmp(line, recorder[i], strlen(recorder[i])) == 0;
                        if (ours)
                                fputs(line, m);
                        else if (line[0] != '#' && line[0] != '\n')
                                parse_live_line(host, line, path, lineno);
                }
                free(line);
                fclose(f);
        }
        fclose(m);
        *ret_setup = setup;
        return host;
}

/* The host's own firewall, on the recorded host (after vnc_record_start). */
static void setup_host(const char *src, const char *setup) {
        _cleanup_free_ char *copy = strdup(setup);
        char *save = NULL;

        assert_non_null(copy);
        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                if (strncmp(line, "nft-ruleset ", 12) == 0) {
                        char path[1024];
                        snprintf(path, sizeof(path), "%s/tests/fixtures/rulesets/%s.nft", src, line + 12);
                        _cleanup_free_ char *text = read_text(path);
                        assert_non_null(text);
                        if (vnc_record_nft_load(text) < 0)
                                fail_msg("%s: the recorded host cannot hold this ruleset", path);
                } else if (vnc_record_setup(line) < 0)
                        fail_msg("host setup line \"%s\" refused", line);
        }
}

/* variant: a host of tests/record/hosts (NULL: host.txt alone); backend: the profile's firewall.backend
 * there (VNC_FW_AUTO: as the profile says). */
static void record_profile(const char *src, const char *file, bool nft, const char *variant, uint8_t backend) {
        char path[1024], name[256], dir[] = "/tmp/vnc-record-XXXXXX", on[300] = "", golden[600];
        const char *with = nft ? " with iptables-nft" : "";
        struct vnc_host_ops ops;
        struct vnc_apply_result res = {0};
        struct vnc_rollback_result rb = {0};
        struct vnc_error e = {0};
        _cleanup_free_ char *apply_text = NULL, *rollback_text = NULL, *head = NULL, *blobs = NULL;
        _cleanup_free_ char *before = NULL, *after = NULL, *nft_left = NULL, *setup = NULL;
        _cleanup_free_ char *fw_before = NULL, *fw_after = NULL, *legacy = NULL;
        int r;

        snprintf(name, sizeof(name), "%.*s", (int)(strlen(file) - strlen(".json")), file);
        snprintf(path, sizeof(path), "%s/profiles", src);
        struct vnc_profile *p = load_profile(path, file);
        assert_non_null(p);
        if (variant)
                snprintf(on, sizeof(on), " and tests/record/hosts/%s.txt%s%s", variant,
                         backend != VNC_FW_AUTO ? ", firewall.backend " : "",
                         backend != VNC_FW_AUTO ? vnc_fw_backend_to_string(backend) : "");
        if (backend != VNC_FW_AUTO)
                p->fw_backend = backend;
        /* <name> or on-<variant>/<name>, under tests/record */
        snprintf(golden, sizeof(golden), "%s%s%s", variant ? "on-" : "", variant ? variant : "", variant ? "/" : "");
        snprintf(golden + strlen(golden), sizeof(golden) - strlen(golden), "%s%s%s", name,
                 backend != VNC_FW_AUTO ? "." : "", backend != VNC_FW_AUTO ? vnc_fw_backend_to_string(backend) : "");
        fixture_applied = p; /* "fw-rules-of applied" in a host variant: this profile's rules */
        struct vnc_live *host = load_host(src, variant, &setup);
        fixture_applied = NULL;
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
        setup_host(src, setup);
        fw_before = firewall_summary();

        /* apply */
        r = vnc_engine_apply(&eng, p, &res, &e);
        apply_text = vnc_record_take();
        assert_non_null(apply_text);
        if (r < 0) {
                _cleanup_free_ char *msg = vnc_error_format(&e);
                _cleanup_free_ char *out = text_printf("# profiles/%s applied to tests/record/host.txt%s%s\n%s"
                                                       "error: it cannot be applied on this host: %s\n",
                                                       file, on, with, apply_text, msg);
                snprintf(path, sizeof(path), "%s/tests/record/%s.%s.txt", src, golden, nft ? "nftables" : "apply");
                compare_or_regenerate(path, out);
                goto done;
        }
        assert_true(res.changed);
        head = text_printf("# profiles/%s applied to tests/record/host.txt%s%s\n# firewall %s: %s\n", file, on, with,
                           vnc_fw_backend_to_string(res.plan.fw_backend), res.plan.fw_reason);
        /* A host variant's legacy tables after the apply: where the entries landed among the host's. */
        legacy = variant ? vnc_record_iptc_save() : strdup("");
        assert_non_null(legacy);
        if (*legacy) {
                char *more = text_printf("--- the legacy tables after the apply (iptables-legacy-save)\n%s", legacy);
                free(legacy);
                legacy = more;
        }
        blobs = strdup("");
        for (size_t i = 0; blobs && i < res.plan.n_blobs; i++) {
                char *more = text_printf("%s--- blob %s\n%s", blobs, res.plan.blobs[i].hash, res.plan.blobs[i].text);
                free(blobs);
                blobs = more;
        }
        assert_non_null(blobs);

        check_reapply_is_noop(&eng, file, p);
        char *reads = vnc_record_take();
        assert_non_null(reads);
        assert_string_equal(reads, ""); /* planning sends nothing */
        free(reads);

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
                _cleanup_free_ char *a = text_printf("%s%s%s%s", head, apply_text, blobs, legacy);
                _cleanup_free_ char *b = text_printf("# rollback of profiles/%s on tests/record/host.txt%s\n%s", file,
                                                     on, rollback_text);
                snprintf(path, sizeof(path), "%s/tests/record/%s.apply.txt", src, golden);
                compare_or_regenerate(path, a);
                snprintf(path, sizeof(path), "%s/tests/record/%s.rollback.txt", src, golden);
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
        /* The host's own firewall is as it was: every opening is gone, nothing of its own moved. */
        fw_after = firewall_summary();
        if (variant && !streq(fw_before, fw_after)) {
                print_error("%s%s: the host's own firewall after rollback differs\n--- before\n%s--- after\n%s", file,
                            on, fw_before, fw_after);
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
                record_profile(src, list[i]->d_name, false, NULL, VNC_FW_AUTO);
                record_profile(src, list[i]->d_name, true, NULL, VNC_FW_AUTO);
                free(list[i]);
        }
        free(list);
}

/* Hosts with a firewall of their own, and a profile applied and rolled back on each. */
static void test_host_firewalls(void **state) {
        static const struct {
                const char *host, *profile;
                uint8_t backend;
        } cases[] = {
                /* iptables-nft: INPUT and FORWARD policy drop */
                {"ufw", "nat.json", VNC_FW_AUTO},
                /* iptables-nft: FORWARD policy drop, DOCKER-USER */
                {"docker", "nat.json", VNC_FW_AUTO},
                /* firewalld running: the bridge into a zone over D-Bus */
                {"firewalld", "nat.json", VNC_FW_AUTO},
                /* an administrator's iptables-legacy DROPs: with the nftables backend vnetcfg opens there
                 * (tests/netns/test-hostfw-legacy.sh); auto takes the legacy tables themselves */
                {"legacy-drop", "nat.json", VNC_FW_NFTABLES},
                {"legacy-drop", "nat.json", VNC_FW_AUTO},
                /* vnetcfg's legacy chains with this profile's rules and one of an older generator */
                {"older-rules", "nat.json", VNC_FW_AUTO},
        };
        const char *src = getenv("VNC_SOURCE_DIR");

        assert_non_null(src);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                print_message("profiles/%s on hosts/%s.txt\n", cases[i].profile, cases[i].host);
                record_profile(src, cases[i].profile, false, cases[i].host, cases[i].backend);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_profiles),
                cmocka_unit_test(test_host_firewalls),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
