/* SPDX-License-Identifier: MIT */
/*
 * Test driver for the doctor (core/doctor.c), used by test-doctor.sh inside
 * its sandbox:
 *
 *   doctor-check [--state-dir DIR] --profile FILE [--target IP]
 *   doctor-check --bridge NAME [--target IP]
 *
 * Prints one line per finding, "CODE SEVERITY | EVIDENCE | FIX", then one per
 * hop, "hop I ok|BROKEN NAME | DETAIL", then "broken_hop I" (or "none").
 * Exit 0 when no finding has severity error, 3 when one has (like `vnetcfg
 * doctor`), 1 when the doctor could not run, 2 on usage errors.
 */
#include <stdio.h>

#include "doctor.h"
#include "host-real.h"
#include "model.h"

static void profile_freep(struct vnc_profile **p) { vnc_profile_free(*p); }

int main(int argc, char **argv) {
        _cleanup_(profile_freep) struct vnc_profile *p = NULL;
        struct vnc_doctor_input in = {.host = &vnc_host_real};
        struct vnc_doctor_report rep = {0};
        struct vnc_error e = {0};
        const char *profile = NULL;

        for (int i = 1; i < argc; i++) {
                const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
                if (!v) {
                        fprintf(stderr, "doctor-check: %s needs a value\n", a);
                        return 2;
                }
                if (streq(a, "--state-dir"))
                        in.state_dir = v;
                else if (streq(a, "--profile"))
                        profile = v;
                else if (streq(a, "--bridge"))
                        in.bridge = v;
                else if (streq(a, "--target")) {
                        if (vnc_ipv4_parse(v, &in.target) < 0) {
                                fprintf(stderr, "doctor-check: bad target \"%s\"\n", v);
                                return 2;
                        }
                        in.has_target = true;
                } else {
                        fprintf(stderr, "doctor-check: unknown option \"%s\"\n", a);
                        return 2;
                }
                i++;
        }
        if (!profile == !in.bridge) {
                fprintf(stderr, "doctor-check: give --profile FILE or --bridge NAME\n");
                return 2;
        }
        if (profile && vnc_profile_load_file(profile, &p, &e) < 0) {
                char *msg = vnc_error_format(&e);
                fprintf(stderr, "doctor-check: %s\n", msg ? msg : "cannot load the profile");
                free(msg);
                vnc_error_clear(&e);
                return 2;
        }
        in.profile = p;
        if (vnc_doctor_run(&in, &rep, &e) < 0) {
                char *msg = vnc_error_format(&e);
                fprintf(stderr, "doctor-check: %s\n", msg ? msg : "doctor failed");
                free(msg);
                vnc_error_clear(&e);
                return 1;
        }
        for (size_t i = 0; i < rep.n_findings; i++) {
                const struct vnc_finding *f = &rep.findings[i];
                printf("%s %s | %s%s%s | %s\n", f->code, vnc_severity_to_string(f->severity),
                       f->network ? f->network : "", f->network ? ": " : "", f->evidence ? f->evidence : "",
                       f->fix ? f->fix : "");
        }
        for (size_t i = 0; i < rep.n_hops; i++)
                printf("hop %zu %s %s | %s\n", i, rep.hops[i].ok ? "ok" : "BROKEN", rep.hops[i].name,
                       rep.hops[i].detail ? rep.hops[i].detail : "");
        if (in.has_target) {
                if (rep.broken_hop < rep.n_hops)
                        printf("broken_hop %zu\n", rep.broken_hop);
                else
                        printf("broken_hop none\n");
        }
        int rc = vnc_doctor_has_errors(&rep) ? 3 : 0;
        vnc_doctor_report_done(&rep);
        return rc;
}
