/* SPDX-License-Identifier: MIT */
#include "cli.h"
#include "host-real.h"

int main(int argc, char **argv) {
        return cli_main(argc, argv, &vnc_host_real);
}
