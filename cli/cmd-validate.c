/* SPDX-License-Identifier: MIT */
#include "cli.h"

int cmd_validate(struct cli *c, int argc, char **argv) {
        struct vnc_profile *p = NULL;

        if (argc != 2)
                return cli_usage_error(c, "validate", "expected exactly one PROFILE");
        if (cli_load_profile(c, argv[1], &p) < 0)
                return cli_fail(c);
        if (c->json)
                cli_json_emit(json_pack("{s:s, s:b, s:i}", "profile", p->name, "valid", 1, "networks",
                                        (int)p->n_networks));
        else if (c->verbosity >= 0)
                printf("%s: profile \"%s\" is valid (%zu network%s)\n", argv[1], p->name, p->n_networks,
                       p->n_networks == 1 ? "" : "s");
        vnc_profile_free(p);
        return EXIT_OK;
}
