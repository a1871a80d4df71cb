/* SPDX-License-Identifier: MIT */
#include <getopt.h>

#include "cli.h"

int cmd_rollback(struct cli *c, int argc, char **argv) {
        static const struct option opts[] = {
                {"all", no_argument, NULL, 'a'},
                {NULL, 0, NULL, 0},
        };
        struct vnc_rollback_result res;
        struct vnc_engine eng;
        bool all = false;
        int opt;

        optind = 0;
        while ((opt = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
                if (opt != 'a')
                        return cli_usage_error(c, "rollback", "unknown option");
                all = true;
        }
        if (optind != argc - 1)
                return cli_usage_error(c, "rollback", "expected exactly one NAME");
        const char *name = argv[optind];
        if (!vnc_name_valid(name))
                return cli_usage_error(c, "rollback", "\"%s\": not a profile name", name);

        cli_engine(c, &eng);
        if (vnc_engine_rollback(&eng, name, all, &res, &c->err) < 0)
                return cli_fail(c);
        if (c->json)
                cli_json_emit(json_pack("{s:s, s:b, s:i, s:i}", "profile", name, "changed",
                                        res.generations > 0 || res.actions > 0, "generations",
                                        (int)res.generations, "actions", (int)res.actions));
        else if (c->verbosity >= 0) {
                if (res.generations == 0 && res.actions == 0)
                        printf("\"%s\": nothing to roll back\n", name);
                else
                        printf("rolled back \"%s\": %zu generation%s, %zu action%s undone\n", name, res.generations,
                               res.generations == 1 ? "" : "s", res.actions, res.actions == 1 ? "" : "s");
        }
        return EXIT_OK;
}
