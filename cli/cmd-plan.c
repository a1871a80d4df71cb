/* SPDX-License-Identifier: MIT */
#include "cli.h"

int cmd_plan(struct cli *c, int argc, char **argv) {
        struct vnc_profile *p = NULL;
        struct vnc_plan plan = {0};
        struct vnc_engine eng;
        int r;

        if (argc != 2)
                return cli_usage_error(c, "plan", "expected exactly one PROFILE");
        if (cli_load_profile(c, argv[1], &p) < 0)
                return cli_fail(c);
        cli_engine(c, &eng);
        r = vnc_engine_plan(&eng, p, &plan, &c->err);
        if (r < 0) {
                vnc_profile_free(p);
                return cli_fail(c);
        }
        print_start(stdout, c->json);
        print_string(PRINT_ANY, "profile", "profile \"%s\": ", p->name);
        if (plan.n_actions == 0)
                print_text("nothing to change\n");
        else
                print_text("%zu action%s\n", plan.n_actions, plan.n_actions == 1 ? "" : "s");
        cli_firewall_print(&plan, "  ");
        cli_actions_print(PRINT_ANY, "actions", &plan, "  ");
        cli_notes_print(&plan, "  ");
        r = cli_print_end(EXIT_OK);
        vnc_plan_done(&plan);
        vnc_profile_free(p);
        return r;
}
