/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * One printer call per field serves the human text and the --json document,
 * as iproute2's lib/json_print.c does:
 *
 *         print_uint(PRINT_ANY, "mtu", "mtu %u ", l->mtu);
 *
 * prints "mtu 1500 " in text mode and adds "mtu": 1500 to the JSON document in
 * --json mode, so the two forms cannot drift apart. The document is built
 * behind the printer (jansson) and written by print_end() with stable key order:
 * the order of the calls.
 *
 * PRINT_TEXT and PRINT_JSON restrict a field to one form. They are for the rare
 * field that has no place in the other form, and each use says why in a comment.
 * Text that is no field (indentation, punctuation, a column heading) goes through
 * print_text().
 *
 * Formats are checked at compile time against the value's type (the macros
 * below); a NULL format means "no text", which only PRINT_JSON and absent
 * (null) values may use.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "util.h"

enum print_type {
        PRINT_TEXT = 1 << 0, /* the human text only */
        PRINT_JSON = 1 << 1, /* the --json document only */
        PRINT_ANY = PRINT_TEXT | PRINT_JSON,
};

/* Start one command's output on f: JSON (the document's root object) or text. */
void print_start(FILE *f, bool json);
/* Text off (-q) or on again; returns the previous setting. The JSON document is unaffected. */
bool print_quiet(bool quiet);
bool print_is_json(void);
/* Ends the output: in JSON mode writes the document and a newline. -ENOMEM when it could not be built. */
int print_end(void);
/* Ends the output and writes nothing (the command failed: its error goes to stderr). */
void print_discard(void);

/* A nested object or array under key (key NULL inside an array). JSON only: text has no brackets. */
void print_open_object(const char *key);
void print_close_object(void);
void print_open_array(const char *key);
void print_close_array(void);

/* Text only, never a field: layout, punctuation, headings. */
void print_text(const char *fmt, ...) _printf_(1, 2);

/* Fields. key is NULL for an element of an array. */
void print_string_(enum print_type t, const char *key, const char *fmt, const char *value); /* NULL: JSON null, no text */
void print_bool_(enum print_type t, const char *key, const char *fmt, bool value, const char *yes, const char *no);
void print_uint_(enum print_type t, const char *key, const char *fmt, unsigned value);
void print_int_(enum print_type t, const char *key, const char *fmt, long long value);
void print_size_(enum print_type t, const char *key, const char *fmt, size_t value);
void print_double_(enum print_type t, const char *key, const char *fmt, double value);
/* A time in seconds since the epoch: a JSON integer; the text prints fmt with it as local time. */
void print_time_(enum print_type t, const char *key, const char *fmt, long long epoch);
/* JSON null; the text prints fmt with text (a placeholder such as "-"), or nothing when fmt is NULL. */
void print_null_(enum print_type t, const char *key, const char *fmt, const char *text);

/* Compile-time check of fmt against the value (never evaluated, so the value is computed once). */
_printf_(1, 2) static inline void print_fmt_check(const char *fmt, ...) {
        (void)fmt;
}
#define PRINT_FMT_CHECK(fmt, dflt, v) ((void)(0 && (print_fmt_check((fmt) ? (fmt) : (dflt), v), 1)))

#define print_string(t, key, fmt, v) (PRINT_FMT_CHECK(fmt, "%s", (const char *)(v)), print_string_(t, key, fmt, v))
/* Text: fmt with "true" or "false". */
#define print_bool(t, key, fmt, v) print_bool_word(t, key, fmt, v, "true", "false")
/* Text: fmt with yes or no ("pass"/"FAIL", "on"/"off"). */
#define print_bool_word(t, key, fmt, v, yes, no)                                                                       \
        (PRINT_FMT_CHECK(fmt, "%s", (const char *)(yes)), print_bool_(t, key, fmt, v, yes, no))
#define print_uint(t, key, fmt, v) (PRINT_FMT_CHECK(fmt, "%u", (unsigned)(v)), print_uint_(t, key, fmt, v))
#define print_int(t, key, fmt, v) (PRINT_FMT_CHECK(fmt, "%lld", (long long)(v)), print_int_(t, key, fmt, v))
#define print_size(t, key, fmt, v) (PRINT_FMT_CHECK(fmt, "%zu", (size_t)(v)), print_size_(t, key, fmt, v))
#define print_double(t, key, fmt, v) (PRINT_FMT_CHECK(fmt, "%f", (double)(v)), print_double_(t, key, fmt, v))
#define print_time(t, key, fmt, v) (PRINT_FMT_CHECK(fmt, "%s", ""), print_time_(t, key, fmt, v))
#define print_null(t, key, fmt, text) (PRINT_FMT_CHECK(fmt, "%s", (const char *)(text)), print_null_(t, key, fmt, text))
/* v, or JSON null and fmt with placeholder as text ("-") when v is NULL. v is evaluated twice. */
#define print_string_or(t, key, fmt, v, placeholder)                                                                  \
        ((v) ? print_string(t, key, fmt, v) : print_null(t, key, fmt, placeholder))
/* fmt with ms ("%6.1f ms"); JSON null and the placeholder's text when ms < 0 (not measured). */
#define print_ms(t, key, fmt, ms, placeholder_fmt)                                                                     \
        ((ms) >= 0 ? print_double(t, key, fmt, ms) : print_null(t, key, placeholder_fmt, ""))
