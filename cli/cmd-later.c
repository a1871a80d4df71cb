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
        if (c->json)
                cli_json_emit(json_pack("{s:s, s:b}", "profile", argv[1], "confirmed", 1));
        else if (c->verbosity >= 0)
                printf("confirmed \"%s\": the changes stay\n", argv[1]);
        return EXIT_OK;
}
