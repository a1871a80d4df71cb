/* SPDX-License-Identifier: MIT */
/*
 * Drives the DHCP (dnsmasq) backend directly, for test-dhcp.sh. Run only
 * inside a private network namespace.
 *
 *   dhcp-check create STATE PROFILE BLOB          start (or keep) dnsmasq with <STATE>/blobs/BLOB
 *   dhcp-check modify STATE PROFILE BLOB OLDBLOB  restart with BLOB
 *   dhcp-check delete STATE PROFILE               stop, remove its files
 *   dhcp-check status STATE PROFILE               prints "running BLOB" or "stopped BLOB" ("-" for none)
 *   dhcp-check pid STATE PROFILE                  prints the verified pid, or 0
 *
 * --undo before the verb runs the action with VNC_RUN_UNDO. On failure the
 * error is printed on stderr as vnetcfg would print it, and the exit code is 1.
 */
#include <stdio.h>

#include "backends.h"
#include "dnsmasq.h"

static int usage(void) {
        fprintf(stderr, "usage: dhcp-check [--undo] create|modify|delete|status|pid STATE PROFILE [BLOB [OLDBLOB]]\n");
        return 2;
}

static void copy(char *dst, size_t n, const char *src) {
        snprintf(dst, n, "%s", src ? src : "");
}

int main(int argc, char **argv) {
        struct vnc_error e = {0};
        unsigned flags = 0;
        int i = 1, r;

        if (i < argc && streq(argv[i], "--undo")) {
                flags |= VNC_RUN_UNDO;
                i++;
        }
        if (argc - i < 3)
                return usage();
        const char *verb = argv[i], *state = argv[i + 1], *profile = argv[i + 2];
        const char *blob = argc - i > 3 ? argv[i + 3] : NULL, *old = argc - i > 4 ? argv[i + 4] : NULL;

        if (streq(verb, "status")) {
                bool running;
                char b[17];
                r = vnc_dhcp_status(state, profile, &running, b);
                if (r < 0) {
                        fprintf(stderr, "dhcp-check: status: %s\n", strerror(-r));
                        return 1;
                }
                printf("%s %s\n", running ? "running" : "stopped", b[0] ? b : "-");
                return 0;
        }
        if (streq(verb, "pid")) {
                pid_t pid;
                r = vnc_dnsmasq_pid(state, profile, &pid);
                if (r < 0) {
                        fprintf(stderr, "dhcp-check: pid: %s\n", strerror(-r));
                        return 1;
                }
                printf("%d\n", (int)pid);
                return 0;
        }

        struct vnc_action a;
        memset(&a, 0, sizeof(a));
        a.kind = VNC_ACT_DHCP;
        if (streq(verb, "create") && blob)
                a.op = VNC_OP_CREATE;
        else if (streq(verb, "modify") && blob && old)
                a.op = VNC_OP_MODIFY;
        else if (streq(verb, "delete"))
                a.op = VNC_OP_DELETE;
        else
                return usage();
        copy(a.profile, sizeof(a.profile), profile);
        copy(a.blob, sizeof(a.blob), blob);
        copy(a.old_blob, sizeof(a.old_blob), old);

        struct vnc_backend_ctx ctx = {.state_dir = state};
        size_t done = 99;
        r = vnc_backend_dhcp.run(&ctx, &a, 1, flags, &done, &e);
        if (r < 0) {
                char *s = vnc_error_format(&e);
                fprintf(stderr, "vnetcfg: %s\n", s ? s : "?");
                free(s);
                vnc_error_clear(&e);
                if (done != 0) {
                        fprintf(stderr, "dhcp-check: failed run reported done=%zu\n", done);
                        return 3;
                }
                return 1;
        }
        if (done != 1 || vnc_error_isset(&e)) {
                fprintf(stderr, "dhcp-check: success with done=%zu, error set=%d\n", done, vnc_error_isset(&e));
                return 3;
        }
        return 0;
}
