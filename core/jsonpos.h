/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * jansson keeps no positions, so this scanner walks the profile text once
 * and records, for every value, its JSON path (networks[2].ipv4.address,
 * top-level keys plain, array elements [i], the root ""), the 1-based line
 * and column of the value's first character and, for object members, of
 * the key. Columns count characters (UTF-8 code points), as jansson does.
 */

#include <stdbool.h>
#include <stddef.h>

struct vnc_jsonpos_entry {
        char *path;
        int line, col;         /* the value */
        int key_line, key_col; /* the key; 0 for array elements and the root */
        size_t start, end;     /* byte span of the value in the text, end exclusive */
};

struct vnc_jsonpos {
        struct vnc_jsonpos_entry *entries; /* sorted by path */
        size_t n, alloc;
};

/*
 * Scan text (which should be valid JSON: the scanner stops quietly at the
 * first thing it does not understand and keeps what it found so far).
 * Returns 0 or -ENOMEM.
 */
int vnc_jsonpos_build(const char *text, size_t len, struct vnc_jsonpos **ret);
void vnc_jsonpos_free(struct vnc_jsonpos *pos);

const struct vnc_jsonpos_entry *vnc_jsonpos_find(const struct vnc_jsonpos *pos, const char *path);

/* Position of the value at path (key = false) or of its key (key = true; falls back
 * to the value for array elements). Returns false and 0,0 when the path is unknown. */
bool vnc_jsonpos_lookup(const struct vnc_jsonpos *pos, const char *path, bool key, int *ret_line,
                        int *ret_col);

/* The value's source text, at most max bytes (longer text is cut and ends in "..."
 * plus the closing quote for strings); NULL if unknown or out of memory. */
char *vnc_jsonpos_raw(const struct vnc_jsonpos *pos, const char *text, size_t len, const char *path,
                      size_t max);

/* As vnc_jsonpos_lookup(), but when path is not in the text (a defaulted or missing
 * value) use the nearest enclosing value below the root. */
bool vnc_jsonpos_locate_near(const struct vnc_jsonpos *pos, const char *path, bool key, int *ret_line,
                             int *ret_col);
