/* SPDX-License-Identifier: MIT */
#include <getopt.h>
#include <unistd.h>

#include "cli.h"
#include "doctor.h"

struct progress {
        bool tty;
        bool shown;
        const struct cli *c;
};

/*
 * Verify failed: before apply rolls back, doctor looks at what is still in
 * place and its summary goes to stderr (the journal, under vnetcfg@.service),
 * so the reason survives the rollback. Stdout stays the command's report.
 */
static void doctor_on_verify_failure(void *userdata, const struct vnc_profile *p) {
        struct progress *pr = userdata;
        struct vnc_doctor_input in = {.host = pr->c->host, .profile = p, .state_dir = pr->c->state_dir};
        struct vnc_doctor_report rep = {0};
        struct vnc_error e = {0};

        if (pr->shown) {
                fprintf(stderr, "\r\033[K");
                pr->shown = false;
        }
        if (vnc_doctor_run(&in, &rep, &e) < 0) {
                _cleanup_free_ char *msg = vnc_error_format(&e);
                fprintf(stderr, "vnetcfg: verify of \"%s\" failed; doctor could not run: %s\n", p->name,
                        msg ? msg : "?");
                vnc_error_clear(&e);
                return;
        }
        fprintf(stderr, "vnetcfg: verify of \"%s\" failed; doctor on the applied state: %s\n", p->name,
                vnc_doctor_has_errors(&rep) ? "problems found"
                : rep.n_findings           ? "no errors (see notes)"
                                           : "nothing wrong found on the host");
        for (size_t i = 0; i < rep.n_findings; i++) {
                const struct vnc_finding *f = &rep.findings[i];
                fprintf(stderr, "vnetcfg: doctor: %s %s%s%s%s: %s%s%s\n", vnc_severity_to_string(f->severity),
                        f->code, f->network ? " (" : "", f->network ? f->network : "", f->network ? ")" : "",
                        f->evidence ? f->evidence : "", f->fix ? "; fix: " : "", f->fix ? f->fix : "");
        }
        vnc_doctor_report_done(&rep);
}

/* "[120/1100] create tap vm12-eth0" on a terminal, for plans of more than 50 actions. */
static void show_progress(void *userdata, size_t done, size_t total, const struct vnc_action *a) {
        struct progress *pr = userdata;
        _cleanup_free_ char *name = NULL;

        if (!pr->tty || total <= 50)
                return;
        name = vnc_action_name(a);
        fprintf(stderr, "\r\033[K[%zu/%zu] %s %s %s", done, total, vnc_action_op_to_string(a->op),
                vnc_action_kind_to_string(a->kind), name ? name : "");
        pr->shown = true;
}

int cmd_apply(struct cli *c, int argc, char **argv) {
        static const struct option opts[] = {
                {"no-verify", no_argument, NULL, 'n'},
                {"confirm-timeout", required_argument, NULL, 't'},
                {"keep-on-verify-failure", no_argument, NULL, 'k'},
                {NULL, 0, NULL, 0},
        };
        struct vnc_apply_result res;
        struct vnc_profile *p = NULL;
        struct vnc_engine eng;
        struct progress pr = {.tty = isatty(STDERR_FILENO) && c->verbosity >= 0, .c = c};
        bool no_verify = false, keep = false;
        const char *confirm = NULL;
        int opt, r;

        optind = 0;
        while ((opt = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
                switch (opt) {
                case 'n':
                        no_verify = true;
                        break;
                case 't':
                        confirm = optarg;
                        break;
                case 'k':
                        keep = true;
                        break;
                default:
                        return cli_usage_error(c, "apply", "unknown option");
                }
        }
        if (optind != argc - 1)
                return cli_usage_error(c, "apply", "expected exactly one PROFILE");
        unsigned confirm_seconds = 0;
        if (confirm) {
                char *end;
                errno = 0;
                unsigned long v = strtoul(confirm, &end, 10);
                if (errno || end == confirm || *end || v == 0 || v > 86400)
                        return cli_usage_error(c, "apply", "--confirm-timeout \"%s\": expected seconds (1..86400)",
                                               confirm);
                confirm_seconds = (unsigned)v;
        }
        if (cli_load_profile(c, argv[optind], &p) < 0)
                return cli_fail(c);

        cli_engine(c, &eng);
        eng.progress = show_progress;
        eng.userdata = &pr;
        eng.confirm_seconds = confirm_seconds;
        eng.verify = !no_verify;
        eng.keep_on_verify_failure = keep;
        eng.verify_failed = doctor_on_verify_failure;
        r = vnc_engine_apply(&eng, p, &res, &c->err);
        if (pr.shown)
                fprintf(stderr, "\r\033[K");
        if (r >= 0 && res.confirm_deadline > 0) {
                int w = cli_spawn_watcher(c, p->name, res.generation, res.confirm_deadline);
                if (w < 0) {
                        /* No watcher, no safety net: undo now rather than leave it unguarded. */
                        struct vnc_rollback_result rb;
                        (void)vnc_engine_rollback(&eng, p->name, false, &rb, &c->err);
                        vnc_error_set(&c->err, VNC_ERR_RUNTIME, w,
                                      "could not start the confirmation watcher; the apply was rolled back");
                        vnc_apply_result_done(&res);
                        vnc_profile_free(p);
                        return cli_fail(c);
                }
        }
        bool changed = res.changed && !res.rolled_back;
        /* After a failure the text has no "applied" line: the error on stderr says what happened. */
        enum print_type head = r >= 0 ? PRINT_ANY : PRINT_JSON;

        print_start(stdout, c->json);
        print_quiet(c->verbosity < 0);
        print_string(head, "profile", changed ? "applied \"%s\": " : "\"%s\" is up to date: nothing to change\n",
                     p->name);
        /* The text says it with the verb of the line above ("applied", "is up to date"). */
        print_bool(PRINT_JSON, "changed", NULL, changed);
        if (r >= 0 && changed)
                print_text("%zu action%s ", res.plan.n_actions, res.plan.n_actions == 1 ? "" : "s");
        if (res.generation)
                print_uint(changed ? head : PRINT_JSON, "generation", "(generation %u)\n", res.generation);
        else
                print_null(PRINT_ANY, "generation", NULL, NULL); /* nothing changed: no generation was made */
        /* The text lists the actions with -v only; the line above counts them. */
        cli_actions_print(r >= 0 && changed && c->verbosity > 0 ? PRINT_ANY : PRINT_JSON, "actions", &res.plan, "  ");
        if (r >= 0 && res.confirm_deadline > 0)
                print_text("awaiting confirmation: run \"vnetcfg confirm %s\" within %u s, or this apply is rolled "
                           "back\n",
                           p->name, confirm_seconds);
        cli_notes_print(&res.plan, "");
        print_open_object("verify");
        if (res.verified) {
                print_quiet(c->verbosity < 0 && res.verify.ok); /* -q: a failed verify is still shown */
                print_text("verify: ");
                cli_verify_print(&res.verify);
                print_quiet(c->verbosity < 0);
        } else {
                print_string(head, "status", "verify: %s ", "skipped");
                print_string(head, "reason", "(%s)\n", no_verify ? "--no-verify" : "not run: the apply failed before it");
        }
        print_close_object();
        /* On failure the error on stderr says whether the host was put back; on success it is false. */
        print_bool(PRINT_JSON, "rolled_back", NULL, res.rolled_back);
        /* The text gives it as seconds from now in the "awaiting confirmation" line; JSON as a time. */
        if (res.confirm_deadline)
                print_int(PRINT_JSON, "confirm_deadline", NULL, res.confirm_deadline);
        else
                print_null(PRINT_JSON, "confirm_deadline", NULL, NULL);
        int out = cli_print_end(EXIT_OK);
        if (r >= 0 && out != EXIT_OK) {
                vnc_apply_result_done(&res);
                vnc_profile_free(p);
                return out;
        }
        if (r < 0) {
                vnc_apply_result_done(&res);
                vnc_profile_free(p);
                return cli_fail(c);
        }
        vnc_apply_result_done(&res);
        vnc_profile_free(p);
        return EXIT_OK;
}
