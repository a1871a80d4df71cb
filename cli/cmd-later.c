/* SPDX-License-Identifier: MIT */
#include <signal.h>

#include "cli.h"

int cmd_confirm(struct cli *c, int argc, char **argv) {
        struct vnc_engine eng;
        int watcher = 0;

        if (argc != 2)
                return cli_usage_error(c, "confirm", "expected exactly one NAME");
        if (!vnc_name_valid(argv[1]))
                return cli_usage_error(c, "confirm", "\"%s\": not a profile name", argv[1]);
        cli_engine(c, &eng);
        if (vnc_engine_confirm(&eng, argv[1], &watcher, &c->err) < 0)
                return cli_fail(c);
        /* The record is gone, so the watcher would do nothing at the deadline; stop it now. */
        if (vnc_watcher_alive(watcher))
                (void)kill(watcher, SIGTERM);
        print_start(stdout, c->json);
        print_quiet(c->verbosity < 0);
        print_string(PRINT_ANY, "profile", "confirmed \"%s\": ", argv[1]);
        print_bool_word(PRINT_ANY, "confirmed", "%s\n", true, "the changes stay", "not confirmed");
        return cli_print_end(EXIT_OK);
}
