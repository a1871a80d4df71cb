/* SPDX-License-Identifier: MIT */
/* Commands whose issues have not landed yet: they say so plainly and exit 1. */
#include "cli.h"

static int not_yet(const char *what) {
        fprintf(stderr, "vnetcfg: %s is not available in this version yet\n", what);
        return EXIT_RUNTIME;
}

int cmd_verify(struct cli *c, int argc, char **argv) {
        return not_yet("verify");
}

int cmd_confirm(struct cli *c, int argc, char **argv) {
        return not_yet("confirm");
}

int cmd_doctor(struct cli *c, int argc, char **argv) {
        return not_yet("doctor");
}
