/* SPDX-License-Identifier: MIT */
#pragma once

#include "util.h"

/* What went wrong, as the CLI needs it to choose an exit code. */
enum vnc_error_kind {
        VNC_ERR_NONE = 0,
        VNC_ERR_USAGE,    /* bad command line: exit 2 */
        VNC_ERR_PROFILE,  /* invalid profile: exit 2, location + JSON path */
        VNC_ERR_CONFLICT, /* refused before any change: exit 2 */
        VNC_ERR_RUNTIME,  /* failed while changing the host: exit 1 */
        VNC_ERR_LOCKED,   /* another vnetcfg holds the lock: exit 4 */
        VNC_ERR_VERIFY,   /* verification failed: exit 3 */
};

/*
 * Filled by fallible functions (which return -errno). The first error
 * wins: vnc_error_set() does nothing when an error is already recorded.
 */
struct vnc_error {
        enum vnc_error_kind kind;
        int code;       /* negative errno, 0 if none */
        char *file;     /* profile path as given, or NULL */
        int line, col;  /* 1-based; 0 when unknown */
        char *path;     /* JSON path such as networks[2].ipv4.address, or NULL */
        char *message;  /* one human sentence, user strings in quotes */
        char *detail;   /* the kernel's or library's own text, or NULL */
};

bool vnc_error_isset(const struct vnc_error *e);
void vnc_error_clear(struct vnc_error *e);

/* Record an error unless one is already set. Returns code (negative). */
int vnc_error_set(struct vnc_error *e, enum vnc_error_kind kind, int code, const char *fmt, ...)
        _printf_(4, 5);
/* Same, with a profile location. */
int vnc_error_set_at(struct vnc_error *e, enum vnc_error_kind kind, const char *file, int line, int col,
                     const char *path, const char *fmt, ...) _printf_(7, 8);
/* Attach library text to the recorded error if it has none yet. */
void vnc_error_detail(struct vnc_error *e, const char *fmt, ...) _printf_(2, 3);

/* "file:line:col: path: message (detail)" without the "vnetcfg: " prefix; caller frees. */
char *vnc_error_format(const struct vnc_error *e);
