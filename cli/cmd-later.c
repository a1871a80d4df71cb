/* SPDX-License-Identifier: MIT */
#include <signal.h>
#include <stdio.h>

#include "cli.h"

/* Is pid a vnetcfg process (the watcher), not something that took over a recycled pid? */
static bool is_vnetcfg(int pid) {
        char path[64], cmd[256] = "";
        snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
        FILE *f = fopen(path, "re");
        if (!f)
                return false;
        size_t n = fread(cmd, 1, sizeof(cmd) - 1, f);
        fclose(f);
        cmd[n] = 0;
        const char *base = strrchr(cmd, '/');
        return strstr(base ? base : cmd, "vnetcfg") != NULL;
}

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
        if (watcher > 0 && is_vnetcfg(watcher))
                (void)kill(watcher, SIGTERM);
        if (c->json)
                cli_json_emit(json_pack("{s:s, s:b}", "profile", argv[1], "confirmed", 1));
        else if (c->verbosity >= 0)
                printf("confirmed \"%s\": the changes stay\n", argv[1]);
        return EXIT_OK;
}
