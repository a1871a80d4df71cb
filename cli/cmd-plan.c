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
        if (c->json) {
                json_t *doc = json_pack("{s:s, s:o, s:o}", "profile", p->name, "actions", cli_plan_json(&plan),
                                        "firewall", cli_firewall_json(&plan));
                cli_plan_notes_json(doc, &plan);
                cli_json_emit(doc);
        } else if (plan.n_actions == 0) {
                printf("profile \"%s\": nothing to change\n", p->name);
                cli_firewall_print(stdout, &plan, "  ");
        } else {
                printf("profile \"%s\": %zu action%s\n", p->name, plan.n_actions, plan.n_actions == 1 ? "" : "s");
                cli_firewall_print(stdout, &plan, "  ");
                cli_plan_print(stdout, &plan, "  ");
        }
        if (!c->json)
                cli_plan_notes_print(stdout, &plan, "  ");
        vnc_plan_done(&plan);
        vnc_profile_free(p);
        return EXIT_OK;
}
