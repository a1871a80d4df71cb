/* SPDX-License-Identifier: MIT */
#include "cli.h"

int cmd_verify(struct cli *c, int argc, char **argv) {
        struct vnc_verify_result res = {0};
        struct vnc_profile *p = NULL;
        struct vnc_engine eng;
        int r;

        if (argc != 2)
                return cli_usage_error(c, "verify", "expected exactly one NAME or PROFILE");
        if (cli_resolve_profile(c, argv[1], &p) < 0)
                return cli_fail(c);
        cli_engine(c, &eng);
        r = vnc_engine_verify(&eng, p, &res, &c->err);
        if (r < 0) {
                vnc_profile_free(p);
                return cli_fail(c);
        }
        print_start(stdout, c->json);
        print_quiet(c->verbosity < 0 && res.ok); /* -q: only a failure is shown */
        print_string(PRINT_ANY, "profile", "verify \"%s\": ", p->name);
        cli_verify_print(&res);
        r = cli_print_end(res.ok ? EXIT_OK : EXIT_VERIFY);
        vnc_verify_result_done(&res);
        vnc_profile_free(p);
        return r;
}
