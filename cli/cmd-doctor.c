/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <getopt.h>
#include <net/if.h>

#include "cli.h"
#include "doctor.h"
#include "fwverdict.h"

/* The reports of one run, printed together once every subject was examined ("ok" comes first in JSON). */
struct subject {
        char *name; /* the profile or bridge examined */
        struct vnc_doctor_report rep;
};

struct subjects {
        struct subject *v;
        size_t n, alloc;
};

/* Keeps rep (emptied) under name. */
static int subject_add(struct subjects *s, const char *name, struct vnc_doctor_report *rep, struct vnc_error *e) {
        char *copy = strdup(name);

        if (!copy || VNC_GROW(s->v, s->alloc, s->n + 1) < 0) {
                free(copy);
                return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
        }
        s->v[s->n++] = (struct subject){.name = copy, .rep = *rep};
        *rep = (struct vnc_doctor_report){0};
        return 0;
}

static void subjects_done(struct subjects *s) {
        for (size_t i = 0; i < s->n; i++) {
                free(s->v[i].name);
                vnc_doctor_report_done(&s->v[i].rep);
        }
        free(s->v);
}

static void print_findings(const struct subject *sub) {
        const struct vnc_doctor_report *rep = &sub->rep;

        /* A heading per subject: its name and verdict. JSON has both per finding ("subject", "severity") and "ok". */
        print_text("doctor %s: %s\n", sub->name,
                   vnc_doctor_has_errors(rep) ? "problems found"
                   : rep->n_findings         ? "no errors (see notes)"
                                             : "nothing wrong found");
        for (size_t i = 0; i < rep->n_findings; i++) {
                const struct vnc_finding *f = &rep->findings[i];
                print_open_object(NULL);
                print_string(PRINT_ANY, "severity", "\n  %-7s ", vnc_severity_to_string(f->severity));
                print_string(PRINT_ANY, "code", "%s", f->code);
                if (f->network)
                        print_string(PRINT_ANY, "network", " (%s)", f->network);
                print_text("\n");
                print_string(PRINT_ANY, "evidence", f->evidence ? "          evidence: %s\n" : NULL,
                             f->evidence ? f->evidence : "");
                print_string(PRINT_ANY, "fix", f->fix ? "          fix:      %s\n" : NULL, f->fix ? f->fix : "");
                print_string(PRINT_JSON, "subject", NULL, sub->name); /* the text names it in the heading */
                print_close_object();
        }
}

static void print_path(const struct subject *sub, bool several) {
        const struct vnc_doctor_report *rep = &sub->rep;

        if (rep->n_hops == 0)
                return;
        print_text("\n  path to the target%s%s%s:\n", several ? " (" : "", several ? sub->name : "", several ? ")" : "");
        for (size_t i = 0; i < rep->n_hops; i++) {
                const struct vnc_hop *h = &rep->hops[i];
                print_open_object(NULL);
                print_bool_word(PRINT_ANY, "ok", "    %s ", h->ok, "ok  ", "FAIL");
                print_string(PRINT_ANY, "hop", "%s", h->name);
                print_string(PRINT_ANY, "detail", h->detail ? ": %s" : NULL, h->detail ? h->detail : "");
                print_bool_word(PRINT_ANY, "breaks_here", "%s\n", i == rep->broken_hop, "   <- it breaks here", "");
                print_close_object();
        }
}

/*
 * --json: {"ok", "findings": [{"severity","code","network","evidence","fix","subject"}], "path": [...]}.
 * The text gives each subject its heading, findings and path in turn.
 */
static int print_doctor(const struct cli *c, const struct subjects *s, bool errors) {
        print_start(stdout, c->json);
        if (s->n == 0)
                print_text("no applied profiles; name a bridge to examine one vnetcfg did not create\n");
        print_bool(PRINT_JSON, "ok", NULL, !errors); /* the text gives a verdict per subject (and exit 3) */
        print_open_array("findings");
        for (size_t i = 0; i < s->n; i++)
                print_findings(&s->v[i]);
        print_close_array();
        print_open_array("path");
        for (size_t i = 0; i < s->n; i++)
                print_path(&s->v[i], s->n > 1);
        print_close_array();
        return cli_print_end(errors ? EXIT_VERIFY : EXIT_OK);
}

int cmd_doctor(struct cli *c, int argc, char **argv) {
        static const struct option opts[] = {
                {"target", required_argument, NULL, 't'},
                {NULL, 0, NULL, 0},
        };
        struct vnc_doctor_input in = {.host = c->host, .state_dir = c->state_dir};
        struct vnc_engine eng;
        char **names = NULL;
        bool errors = false;
        int opt, r = 0;

        optind = 0;
        while ((opt = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
                if (opt != 't')
                        return cli_usage_error(c, "doctor", "unknown option");
                if (vnc_ipv4_parse(optarg, &in.target) < 0)
                        return cli_usage_error(c, "doctor", "--target \"%s\": expected an IPv4 address", optarg);
                in.has_target = true;
        }
        if (argc - optind > 1)
                return cli_usage_error(c, "doctor", "expected at most one NAME, PROFILE or bridge");
        cli_engine(c, &eng);

        struct subjects subs = {0};
        if (optind < argc) {
                const char *arg = argv[optind];
                struct vnc_profile *p = NULL;
                r = vnc_engine_load_applied(&eng, arg, &p, &c->err);
                if (r < 0)
                        goto fail;
                if (!p && access(arg, F_OK) == 0) {
                        /* A profile file: doctor checks what is applied, so its profile must be. */
                        struct vnc_profile *file = NULL;
                        r = cli_load_profile(c, arg, &file);
                        if (r < 0)
                                goto fail;
                        r = vnc_engine_load_applied(&eng, file->name, &p, &c->err);
                        if (r >= 0 && !p)
                                r = vnc_error_set(&c->err, VNC_ERR_USAGE, -ENOENT,
                                                  "profile \"%s\" (%s) is not applied: there is nothing of it to "
                                                  "diagnose (vnetcfg apply %s first)",
                                                  file->name, arg, arg);
                        vnc_profile_free(file); /* what is applied is what is diagnosed */
                        if (r < 0)
                                goto fail;
                }
                if (!p && (!vnc_ifname_valid(arg) || (if_nametoindex(arg) == 0 && !vnc_doctor_libvirt_bridge(c->host, arg)))) {
                        /* Neither applied nor a link: say which was looked for, not "bridge missing". */
                        r = vnc_error_set(&c->err, VNC_ERR_USAGE, -ENOENT,
                                          vnc_name_valid(arg)
                                                  ? "\"%s\": no profile of that name is applied (vnetcfg status lists "
                                                    "the applied ones), and no bridge has that name"
                                                  : "\"%s\": not an applied profile, a profile file or a bridge",
                                          arg);
                        goto fail;
                }
                in.profile = p;
                in.bridge = p ? NULL : arg; /* a bridge vnetcfg did not create */
                struct vnc_doctor_report rep = {0};
                r = vnc_doctor_run(&in, &rep, &c->err);
                if (r >= 0) {
                        errors |= vnc_doctor_has_errors(&rep);
                        r = subject_add(&subs, p ? p->name : arg, &rep, &c->err);
                }
                vnc_doctor_report_done(&rep);
                vnc_profile_free(p);
                if (r < 0)
                        goto fail;
        } else {
                /* Every applied profile. */
                struct vnc_status *st = NULL;
                r = vnc_engine_status(&eng, NULL, &st, &c->err);
                if (r < 0)
                        goto fail;
                for (size_t i = 0; i < st->n_entries && r >= 0; i++) {
                        if (!st->entries[i].applied)
                                continue;
                        if (!in.fw) /* one read of the rule sets serves every profile */
                                r = c->host->fw_rulesets_read(&in.fw, &c->err);
                        if (r < 0)
                                break;
                        struct vnc_doctor_report rep = {0};
                        in.profile = st->entries[i].applied;
                        r = vnc_doctor_run(&in, &rep, &c->err);
                        if (r >= 0) {
                                errors |= vnc_doctor_has_errors(&rep);
                                r = subject_add(&subs, st->entries[i].name, &rep, &c->err);
                        }
                        vnc_doctor_report_done(&rep);
                }
                vnc_status_free(st);
                c->host->fw_rulesets_free(in.fw);
                in.fw = NULL;
                if (r < 0)
                        goto fail;
        }
        r = print_doctor(c, &subs, errors);
        subjects_done(&subs);
        free(names);
        return r;
fail:
        subjects_done(&subs);
        free(names);
        return cli_fail(c);
}
