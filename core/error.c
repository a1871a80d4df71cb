/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>

#include "error.h"

bool vnc_error_isset(const struct vnc_error *e) {
        return e && e->kind != VNC_ERR_NONE;
}

void vnc_error_clear(struct vnc_error *e) {
        if (!e)
                return;
        free(e->file);
        free(e->path);
        free(e->message);
        free(e->detail);
        *e = (struct vnc_error){0};
}

static int error_setv(struct vnc_error *e, enum vnc_error_kind kind, int code, const char *file, int line,
                      int col, const char *path, const char *fmt, va_list ap) {
        if (code > 0)
                code = -code;
        if (code == 0)
                code = -EINVAL;
        if (!e || vnc_error_isset(e))
                return code;
        e->kind = kind;
        e->code = code;
        e->file = file ? strdup(file) : NULL;
        e->line = line;
        e->col = col;
        e->path = path ? strdup(path) : NULL;
        if (vasprintf(&e->message, fmt, ap) < 0)
                e->message = NULL;
        return code;
}

int vnc_error_set(struct vnc_error *e, enum vnc_error_kind kind, int code, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        int r = error_setv(e, kind, code, NULL, 0, 0, NULL, fmt, ap);
        va_end(ap);
        return r;
}

int vnc_error_set_at(struct vnc_error *e, enum vnc_error_kind kind, const char *file, int line, int col,
                     const char *path, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        int r = error_setv(e, kind, -EINVAL, file, line, col, path, fmt, ap);
        va_end(ap);
        return r;
}

void vnc_error_detail(struct vnc_error *e, const char *fmt, ...) {
        va_list ap;

        if (!e || e->detail)
                return;
        va_start(ap, fmt);
        if (vasprintf(&e->detail, fmt, ap) < 0)
                e->detail = NULL;
        va_end(ap);
}

char *vnc_error_format(const struct vnc_error *e) {
        char *loc = NULL, *out = NULL;

        if (e->file && e->line > 0)
                loc = vnc_strdup_printf("%s:%d:%d: ", e->file, e->line, e->col);
        else if (e->file)
                loc = vnc_strdup_printf("%s: ", e->file);
        out = vnc_strdup_printf("%s%s%s%s%s%s%s", loc ? loc : "", e->path ? e->path : "", e->path ? ": " : "",
                                e->message ? e->message : "unknown error", e->detail ? " (" : "",
                                e->detail ? e->detail : "", e->detail ? ")" : "");
        free(loc);
        return out;
}
