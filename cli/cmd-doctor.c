/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <getopt.h>
#include <net/if.h>

#include "cli.h"
#include "doctor.h"
#include "fwverdict.h"

/* --json: {"findings": [{"code","severity","evidence","fix","subject","network"}], "path": [...]} */
static void print_report(struct cli *c, const char *what, const struct vnc_doctor_report *rep, json_t *findings,
                         json_t *hops) {

        for (size_t i = 0; i < rep->n_findings; i++) {
                const struct vnc_finding *f = &rep->findings[i];
                json_array_append_new(findings,
                                      json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?}", "code", f->code, "severity",
                                                vnc_severity_to_string(f->severity), "evidence",
                                                f->evidence ? f->evidence : "", "fix", f->fix ? f->fix : "", "subject",
                                                what, "network", f->network));
        }
        for (size_t i = 0; i < rep->n_hops; i++)
                json_array_append_new(hops, json_pack("{s:s, s:b, s:s, s:b}", "hop", rep->hops[i].name, "ok",
                                                      rep->hops[i].ok, "detail",
                                                      rep->hops[i].detail ? rep->hops[i].detail : "", "breaks_here",
                                                      i == rep->broken_hop));
        if (c->json)
                return;
        printf("doctor %s: %s\n", what,
               vnc_doctor_has_errors(rep) ? "problems found"
               : rep->n_findings         ? "no errors (see notes)"
                                         : "nothing wrong found");
        for (size_t i = 0; i < rep->n_findings; i++) {
                const struct vnc_finding *f = &rep->findings[i];
                printf("\n  %-7s %s%s%s%s\n", vnc_severity_to_string(f->severity), f->code, f->network ? " (" : "",
                       f->network ? f->network : "", f->network ? ")" : "");
                if (f->evidence)
                        printf("          evidence: %s\n", f->evidence);
                if (f->fix)
                        printf("          fix:      %s\n", f->fix);
        }
        if (rep->n_hops) {
                printf("\n  path to the target:\n");
                for (size_t i = 0; i < rep->n_hops; i++)
                        printf("    %s %s%s%s%s\n", rep->hops[i].ok ? "ok  " : "FAIL", rep->hops[i].name,
                               rep->hops[i].detail ? ": " : "", rep->hops[i].detail ? rep->hops[i].detail : "",
                               i == rep->broken_hop ? "   <- it breaks here" : "");
        }
}

int cmd_doctor(struct cli *c, int argc, char **argv) {
        static const struct option opts[] = {
                {"target", required_argument, NULL, 't'},
                {NULL, 0, NULL, 0},
        };
        struct vnc_doctor_input in = {.host = c->host, .state_dir = c->state_dir};
        struct vnc_engine eng;
        char **names = NULL;
        size_t n_names = 0;
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

        json_t *findings = json_array(), *hops = json_array();
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
                        print_report(c, p ? p->name : arg, &rep, findings, hops);
                        errors |= vnc_doctor_has_errors(&rep);
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
                                print_report(c, st->entries[i].name, &rep, findings, hops);
                                errors |= vnc_doctor_has_errors(&rep);
                        }
                        vnc_doctor_report_done(&rep);
                        n_names++;
                }
                vnc_status_free(st);
                c->host->fw_rulesets_free(in.fw);
                in.fw = NULL;
                if (r < 0)
                        goto fail;
                if (!c->json && n_names == 0)
                        printf("no applied profiles; name a bridge to examine one vnetcfg did not create\n");
        }
        if (c->json)
                cli_json_emit(json_pack("{s:b, s:o, s:o}", "ok", !errors, "findings", findings, "path", hops));
        else {
                json_decref(findings);
                json_decref(hops);
        }
        free(names);
        return errors ? EXIT_VERIFY : EXIT_OK;
fail:
        json_decref(findings);
        json_decref(hops);
        free(names);
        return cli_fail(c);
}
