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
        bool changed = res.generations > 0 || res.actions > 0;
        /* Nothing undone: the text says "nothing to roll back" rather than "0 generations, 0 actions". */
        enum print_type counts = changed ? PRINT_ANY : PRINT_JSON;

        print_start(stdout, c->json);
        print_quiet(c->verbosity < 0);
        print_string(PRINT_ANY, "profile", changed ? "rolled back \"%s\": " : "\"%s\": ", name);
        print_bool(PRINT_JSON, "changed", NULL, changed); /* the text says it with its verb */
        print_size(counts, "generations", res.generations == 1 ? "%zu generation, " : "%zu generations, ",
                   res.generations);
        print_size(counts, "actions", res.actions == 1 ? "%zu action undone\n" : "%zu actions undone\n", res.actions);
        if (!changed)
                print_text("nothing to roll back\n");
        return cli_print_end(EXIT_OK);
}
