/* SPDX-License-Identifier: MIT */
/* The printer of print.h: one call per field, text or JSON (iproute2's lib/json_print.c). */
#include <assert.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <time.h>

#include "print.h"

#define PRINT_MAX_DEPTH 16

static struct {
        FILE *f;
        bool json;
        bool quiet;
        bool oom;
        size_t depth;
        json_t *stack[PRINT_MAX_DEPTH]; /* stack[0] is the root object */
} P;

void print_start(FILE *f, bool json) {
        assert(P.depth == 0);
        P.f = f;
        P.json = json;
        P.quiet = false;
        P.oom = false;
        if (json) {
                P.stack[0] = json_object();
                P.oom = !P.stack[0];
                P.depth = 1;
        }
}

bool print_quiet(bool quiet) {
        bool old = P.quiet;
        P.quiet = quiet;
        return old;
}

bool print_is_json(void) {
        return P.json;
}

void print_discard(void) {
        while (P.depth > 0)
                json_decref(P.stack[--P.depth]);
}

int print_end(void) {
        int r = 0;

        if (P.json) {
                assert(P.depth == 1); /* every open object and array closed */
                if (P.oom || json_dumpf(P.stack[0], P.f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0)
                        r = -ENOMEM;
                else
                        fputc('\n', P.f);
        }
        print_discard();
        fflush(P.f);
        return r;
}

static bool want_text(enum print_type t) {
        return !P.json && !P.quiet && (t & PRINT_TEXT);
}

static bool want_json(enum print_type t) {
        return P.json && (t & PRINT_JSON);
}

/* Adds v (a new reference, NULL after a failed allocation) under key to the innermost container. */
static void json_put(const char *key, json_t *v) {
        json_t *parent;

        assert(P.depth > 0);
        parent = P.stack[P.depth - 1];
        if (!v) {
                P.oom = true;
                return;
        }
        if (!parent) { /* inside a container that could not be allocated */
                json_decref(v);
                return;
        }
        if (json_is_array(parent)) {
                assert(!key);
                if (json_array_append_new(parent, v) < 0)
                        P.oom = true;
        } else {
                assert(key);
                if (json_object_set_new(parent, key, v) < 0)
                        P.oom = true;
        }
}

/* The stack holds a reference of its own to each open container (NULL when it could not be allocated). */
static void open_container(const char *key, json_t *c) {
        if (!P.json)
                return;
        assert(P.depth < PRINT_MAX_DEPTH);
        json_put(key, json_incref(c));
        P.stack[P.depth++] = c;
}

static void close_container(void) {
        if (!P.json)
                return;
        assert(P.depth > 1);
        json_decref(P.stack[--P.depth]);
}

void print_open_object(const char *key) {
        open_container(key, P.json ? json_object() : NULL);
}

void print_open_array(const char *key) {
        open_container(key, P.json ? json_array() : NULL);
}

void print_close_object(void) {
        close_container();
}

void print_close_array(void) {
        close_container();
}

/* The formats come from the callers' literals, checked there by print.h's macros. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"

void print_text(const char *fmt, ...) {
        va_list ap;

        if (!want_text(PRINT_TEXT))
                return;
        va_start(ap, fmt);
        vfprintf(P.f, fmt, ap);
        va_end(ap);
}

void print_string_(enum print_type t, const char *key, const char *fmt, const char *value) {
        if (want_json(t))
                json_put(key, value ? json_string(value) : json_null());
        else if (want_text(t) && fmt && value)
                fprintf(P.f, fmt, value);
}

void print_bool_(enum print_type t, const char *key, const char *fmt, bool value, const char *yes, const char *no) {
        if (want_json(t))
                json_put(key, json_boolean(value));
        else if (want_text(t) && fmt)
                fprintf(P.f, fmt, value ? yes : no);
}

void print_uint_(enum print_type t, const char *key, const char *fmt, unsigned value) {
        if (want_json(t))
                json_put(key, json_integer((json_int_t)value));
        else if (want_text(t) && fmt)
                fprintf(P.f, fmt, value);
}

void print_int_(enum print_type t, const char *key, const char *fmt, long long value) {
        if (want_json(t))
                json_put(key, json_integer((json_int_t)value));
        else if (want_text(t) && fmt)
                fprintf(P.f, fmt, value);
}

void print_size_(enum print_type t, const char *key, const char *fmt, size_t value) {
        if (want_json(t))
                json_put(key, json_integer((json_int_t)value));
        else if (want_text(t) && fmt)
                fprintf(P.f, fmt, value);
}

void print_double_(enum print_type t, const char *key, const char *fmt, double value) {
        if (want_json(t))
                json_put(key, json_real(value));
        else if (want_text(t) && fmt)
                fprintf(P.f, fmt, value);
}

void print_time_(enum print_type t, const char *key, const char *fmt, long long epoch) {
        if (want_json(t)) {
                json_put(key, json_integer((json_int_t)epoch));
        } else if (want_text(t) && fmt) {
                char when[64] = "?";
                time_t tt = (time_t)epoch;
                struct tm tm;
                if (localtime_r(&tt, &tm))
                        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
                fprintf(P.f, fmt, when);
        }
}

void print_null_(enum print_type t, const char *key, const char *fmt, const char *text) {
        if (want_json(t))
                json_put(key, json_null());
        else if (want_text(t) && fmt)
                fprintf(P.f, fmt, text ? text : "");
}

#pragma GCC diagnostic pop
