/* SPDX-License-Identifier: MIT */
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>

#include "cli.h"

const struct cli_command cli_commands[] = {
        {"validate", "PROFILE", "parse and check a profile; change nothing", cmd_validate},
        {"plan", "PROFILE", "print the actions apply would take against the live host; change nothing", cmd_plan},
        {"apply", "PROFILE [--no-verify] [--confirm-timeout SECONDS] [--keep-on-verify-failure]",
         "make the host match the profile", cmd_apply},
        {"verify", "NAME|PROFILE", "run the connectivity checks against what is applied now", cmd_verify},
        {"status", "[NAME]", "applied profiles, their objects, and drift", cmd_status},
        {"rollback", "NAME [--all]", "undo the last apply of NAME that changed something", cmd_rollback},
        {"confirm", "NAME", "keep an apply made with --confirm-timeout", cmd_confirm},
        {"doctor", "[NAME|PROFILE|BRIDGE] [--target IP]", "diagnose connectivity (a bridge vnetcfg did not create too); change nothing", cmd_doctor},
        {"leases", "[NAME]", "the DHCP leases of a profile's networks (MAC, IP, hostname, expiry)", cmd_leases},
        {NULL, NULL, NULL, NULL},
};

const struct cli_command *cli_command_find(const char *name) {
        for (const struct cli_command *c = cli_commands; c->name; c++)
                if (streq(c->name, name))
                        return c;
        return NULL;
}

static void usage(FILE *f) {
        fprintf(f,
                "Usage: vnetcfg [--json] [--state-dir DIR] [--wait SECONDS] [-v|-q] COMMAND ...\n"
                "       vnetcfg [--json] --version\n"
                "\n"
                "Host-side virtual networks for VM labs, from one JSON profile.\n"
                "\n"
                "Commands:\n");
        for (const struct cli_command *c = cli_commands; c->name; c++)
                fprintf(f, "  %-9s %s\n            %s\n", c->name, c->args, c->help);
        fprintf(f,
                "\n"
                "Options:\n"
                "  --json            one JSON document on stdout\n"
                "  --state-dir DIR   state and journal (default %s, or $VNETCFG_STATE_DIR)\n"
                "  --wait SECONDS    wait this long for another vnetcfg's lock (default 10)\n"
                "  -v, --verbose     say more\n"
                "  -q, --quiet       say only errors\n"
                "  -h, --help        this help; COMMAND --help for one command\n"
                "  --version         print the version\n"
                "\n"
                "Exit codes: 0 ok, 1 runtime failure (host restored), 2 invalid input or conflict (nothing\n"
                "changed), 3 verification failed, 4 another vnetcfg holds the lock.\n",
                VNC_STATE_DIR_DEFAULT);
}

bool cli_want_help(const struct cli_command *cmd, int argc, char **argv) {
        for (int i = 1; i < argc; i++) {
                if (streq(argv[i], "--"))
                        break;
                if (streq(argv[i], "-h") || streq(argv[i], "--help")) {
                        printf("Usage: vnetcfg %s %s\n\n%s.\n", cmd->name, cmd->args, cmd->help);
                        return true;
                }
        }
        return false;
}

int cli_usage_error(struct cli *c, const char *cmd, const char *fmt, ...) {
        va_list ap;

        fprintf(stderr, "vnetcfg: %s%s", cmd ? cmd : "", cmd ? ": " : "");
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "\nTry \"vnetcfg%s%s --help\".\n", cmd ? " " : "", cmd ? cmd : "");
        return EXIT_INVALID;
}

int cli_fail(struct cli *c) {
        _cleanup_free_ char *msg = vnc_error_format(&c->err);

        fprintf(stderr, "vnetcfg: %s\n", msg ? msg : "unknown error");
        switch (c->err.kind) {
        case VNC_ERR_USAGE:
        case VNC_ERR_PROFILE:
        case VNC_ERR_CONFLICT:
                return EXIT_INVALID;
        case VNC_ERR_LOCKED:
                return EXIT_LOCKED;
        case VNC_ERR_VERIFY:
                return EXIT_VERIFY;
        default:
                return EXIT_RUNTIME;
        }
}

void cli_engine(const struct cli *c, struct vnc_engine *ret) {
        *ret = (struct vnc_engine){.host = c->host, .state_dir = c->state_dir, .wait_seconds = c->wait_seconds};
}

int cli_load_profile(struct cli *c, const char *path, struct vnc_profile **ret) {
        return vnc_profile_load_file(path, ret, &c->err);
}

int cli_resolve_profile(struct cli *c, const char *arg, struct vnc_profile **ret) {
        struct vnc_engine eng;
        int r;

        cli_engine(c, &eng);
        r = vnc_engine_load_applied(&eng, arg, ret, &c->err);
        if (r < 0 || *ret)
                return r;
        if (vnc_name_valid(arg) && access(arg, F_OK) < 0)
                return vnc_error_set(&c->err, VNC_ERR_USAGE, -ENOENT,
                                     "\"%s\": no applied profile of that name, and no such file", arg);
        return cli_load_profile(c, arg, ret);
}

static int parse_seconds(const char *s, double *ret) {
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (errno || end == s || *end || v < 0 || v > 86400)
                return -EINVAL;
        *ret = v;
        return 0;
}

int cli_main(int argc, char **argv, const struct vnc_host_ops *host) {
        static const struct option opts[] = {
                {"json", no_argument, NULL, 'j'},      {"state-dir", required_argument, NULL, 'd'},
                {"wait", required_argument, NULL, 'w'}, {"verbose", no_argument, NULL, 'v'},
                {"quiet", no_argument, NULL, 'q'},     {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, 'V'},
                {NULL, 0, NULL, 0},
        };
        struct cli c = {.host = host, .wait_seconds = 10};
        const char *env = getenv("VNETCFG_STATE_DIR");
        bool version = false;
        int opt, r;

        c.state_dir = env && *env ? env : VNC_STATE_DIR_DEFAULT;
        /* "+": stop at the command; its own options are parsed by the command. */
        while ((opt = getopt_long(argc, argv, "+vqh", opts, NULL)) >= 0) {
                switch (opt) {
                case 'j':
                        c.json = true;
                        break;
                case 'd':
                        c.state_dir = optarg;
                        break;
                case 'w':
                        if (parse_seconds(optarg, &c.wait_seconds) < 0)
                                return cli_usage_error(&c, NULL, "--wait \"%s\": expected seconds (0..86400)", optarg);
                        break;
                case 'v':
                        c.verbosity = 1;
                        break;
                case 'q':
                        c.verbosity = -1;
                        break;
                case 'h':
                        usage(stdout);
                        return EXIT_OK;
                case 'V':
                        version = true;
                        break;
                default:
                        usage(stderr);
                        return EXIT_INVALID;
                }
        }
        if (version) {
                /* After every option, so that "--version --json" and "--json --version" agree. */
                print_start(stdout, c.json);
                print_string(PRINT_ANY, "name", "%s ", "vnetcfg");
                print_string(PRINT_ANY, "version", "%s\n", VNC_VERSION);
                return cli_print_end(EXIT_OK);
        }
        if (optind >= argc) {
                usage(stderr);
                return EXIT_INVALID;
        }
        const struct cli_command *cmd = cli_command_find(argv[optind]);
        if (!cmd)
                return cli_usage_error(&c, NULL, "unknown command \"%s\"", argv[optind]);
        if (cli_want_help(cmd, argc - optind, argv + optind))
                return EXIT_OK;
        r = cmd->run(&c, argc - optind, argv + optind);
        vnc_error_clear(&c.err);
        return r;
}
