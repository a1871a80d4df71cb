/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdio.h>

#include "engine.h"
#include "print.h"

struct cli {
        const struct vnc_host_ops *host; /* how the commands reach the host (cli/host.c: the real one) */
        bool json;
        int verbosity; /* -1 quiet, 0 normal, 1 verbose */
        const char *state_dir;
        double wait_seconds;
        struct vnc_error err;
};

struct cli_command {
        const char *name;
        const char *args;
        const char *help;
        int (*run)(struct cli *c, int argc, char **argv);
};

/* Exit codes of SPEC section 1. */
enum {
        EXIT_OK = 0,
        EXIT_RUNTIME = 1,
        EXIT_INVALID = 2,
        EXIT_VERIFY = 3,
        EXIT_LOCKED = 4,
};

/* Report c->err on stderr and map its kind to an exit code. */
int cli_fail(struct cli *c);
/* Usage error: message on stderr, exit 2. */
int cli_usage_error(struct cli *c, const char *cmd, const char *fmt, ...) _printf_(3, 4);
/* True when argv has -h/--help; prints the command's help. */
bool cli_want_help(const struct cli_command *cmd, int argc, char **argv);
void cli_engine(const struct cli *c, struct vnc_engine *ret);
int cli_load_profile(struct cli *c, const char *path, struct vnc_profile **ret);
/* NAME of an applied profile, else a profile file. */
int cli_resolve_profile(struct cli *c, const char *arg, struct vnc_profile **ret);

int cli_spawn_watcher(const struct cli *c, const char *name, unsigned gen, long long deadline);

/* Output (print.h: one printer call per field serves the text and the --json document). */
/* The firewall backend a plan is for and why (SPEC section 4): "firewall", null when none was chosen. */
void cli_firewall_print(const struct vnc_plan *p, const char *indent);
/* The libvirt networks of a status entry: "libvirt" and a line each (libvirt helper). */
void cli_status_libvirt(const struct vnc_status_entry *en);
/* Verify's result: "ok" ("pass"/"FAIL") and the checks, into the object being printed. */
void cli_verify_print(const struct vnc_verify_result *v);
/* The plan's notes ("libvirt: no daemon answers ..."), a "note:" line each. */
void cli_notes_print(const struct vnc_plan *p, const char *indent);
/* print_end(); rc, or EXIT_RUNTIME when the output could not be made. */
int cli_print_end(int rc);
/* The actions of p as the array key, one line each after indent. */
void cli_actions_print(enum print_type t, const char *key, const struct vnc_plan *p, const char *indent);

int cmd_validate(struct cli *c, int argc, char **argv);
int cmd_plan(struct cli *c, int argc, char **argv);
int cmd_apply(struct cli *c, int argc, char **argv);
int cmd_verify(struct cli *c, int argc, char **argv);
int cmd_status(struct cli *c, int argc, char **argv);
int cmd_rollback(struct cli *c, int argc, char **argv);
int cmd_confirm(struct cli *c, int argc, char **argv);
int cmd_doctor(struct cli *c, int argc, char **argv);
int cmd_leases(struct cli *c, int argc, char **argv);

extern const struct cli_command cli_commands[];
/* The whole command line, on the host given (main.c: the real one; tests/faults: a wrapped one). */
int cli_main(int argc, char **argv, const struct vnc_host_ops *host);
const struct cli_command *cli_command_find(const char *name);
