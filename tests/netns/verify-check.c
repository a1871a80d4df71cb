/* SPDX-License-Identifier: MIT */
/*
 * Drives vnc_verify_profile() for test-verify.sh. Run only inside a private
 * network namespace.
 *
 *   verify-check PROFILE      one line per check:
 *                             "PASS|FAIL<TAB>network<TAB>kind<TAB>name<TAB>ms<TAB>detail"
 *                             then "total<TAB>ms"; exit 0 when every check passed, 3 when one
 *                             failed, 1 when the checks could not run
 *   verify-check cleanup      remove stale probes; prints "removed N"
 */
#include <stdio.h>
#include <time.h>

#include "host-real.h"
#include "model.h"
#include "probe.h"
#include "verify.h"

static double now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static int fail(struct vnc_error *e) {
        char *s = vnc_error_format(e);
        fprintf(stderr, "verify-check: %s\n", s ? s : "error");
        free(s);
        vnc_error_clear(e);
        return 1;
}

int main(int argc, char **argv) {
        struct vnc_error e = {0};
        struct vnc_profile *p = NULL;
        struct vnc_verify_result res = {0};

        if (argc != 2) {
                fprintf(stderr, "usage: verify-check PROFILE | cleanup\n");
                return 2;
        }
        if (streq(argv[1], "cleanup")) {
                unsigned n = 0;
                if (vnc_probe_cleanup_stale(&n, &e) < 0)
                        return fail(&e);
                printf("removed %u\n", n);
                return 0;
        }
        if (vnc_profile_load_file(argv[1], &p, &e) < 0)
                return fail(&e);
        double t0 = now_ms();
        int r = vnc_verify_profile(&vnc_host_real, p, &res, &e);
        double t1 = now_ms();
        vnc_profile_free(p);
        if (r < 0)
                return fail(&e);
        for (size_t i = 0; i < res.n_checks; i++) {
                const struct vnc_check *c = &res.checks[i];
                printf("%s\t%s\t%s\t%s\t%.1f\t%s\n", c->pass ? "PASS" : "FAIL", c->network,
                       vnc_check_kind_to_string(c->kind), c->name, c->ms, c->detail ? c->detail : "");
        }
        printf("total\t%.0f\n", t1 - t0);
        bool ok = res.ok;
        vnc_verify_result_done(&res);
        return ok ? 0 : 3;
}
