/* SPDX-License-Identifier: MIT */
#include "cli.h"

int cmd_validate(struct cli *c, int argc, char **argv) {
        struct vnc_profile *p = NULL;

        if (argc != 2)
                return cli_usage_error(c, "validate", "expected exactly one PROFILE");
        if (cli_load_profile(c, argv[1], &p) < 0)
                return cli_fail(c);
        print_start(stdout, c->json);
        print_quiet(c->verbosity < 0);
        print_text("%s: ", argv[1]); /* the PROFILE argument as given, which JSON's caller passed itself */
        print_string(PRINT_ANY, "profile", "profile \"%s\" ", p->name);
        print_bool_word(PRINT_ANY, "valid", "is %s ", true, "valid", "invalid");
        print_size(PRINT_ANY, "networks", p->n_networks == 1 ? "(%zu network)\n" : "(%zu networks)\n", p->n_networks);
        int r = cli_print_end(EXIT_OK);
        vnc_profile_free(p);
        return r;
}
