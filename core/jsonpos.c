/* SPDX-License-Identifier: MIT */
/* JSON path -> line:column of the profile text (jansson records no positions). */
#include <stdint.h>
#include <stdio.h>

#include "jsonpos.h"
#include "model.h"
#include "util.h"

#define JSONPOS_MAX_DEPTH 2048 /* as jansson's parser */

struct scanner {
        const char *text;
        size_t len, i;
        int line, col; /* of the character at i */
        char *path;    /* current path, NUL-terminated */
        size_t path_len, path_alloc;
        struct vnc_jsonpos *pos;
        int err; /* -ENOMEM, or 0 */
};

static bool at_end(const struct scanner *s) {
        return s->i >= s->len;
}

static char cur(const struct scanner *s) {
        return at_end(s) ? '\0' : s->text[s->i];
}

static void advance(struct scanner *s) {
        if (at_end(s))
                return;
        char c = s->text[s->i++];
        if (c == '\n') {
                s->line++;
                s->col = 1;
        } else if (at_end(s) || ((unsigned char)s->text[s->i] & 0xC0) != 0x80) {
                s->col++; /* continuation bytes share their code point's column */
        }
}

static void skip_ws(struct scanner *s) {
        while (!at_end(s) && (cur(s) == ' ' || cur(s) == '\t' || cur(s) == '\n' || cur(s) == '\r'))
                advance(s);
}

static int path_append(struct scanner *s, const char *p, size_t n) {
        if (VNC_GROW(s->path, s->path_alloc, s->path_len + n + 1) < 0)
                return s->err = -ENOMEM;
        memcpy(s->path + s->path_len, p, n);
        s->path_len += n;
        s->path[s->path_len] = '\0';
        return 0;
}

static void path_truncate(struct scanner *s, size_t n) {
        s->path_len = n;
        if (s->path)
                s->path[n] = '\0';
}

static int hex4(const char *p, size_t avail, uint32_t *ret) {
        uint32_t v = 0;
        if (avail < 4)
                return -EINVAL;
        for (int k = 0; k < 4; k++) {
                char c = p[k];
                v <<= 4;
                if (c >= '0' && c <= '9')
                        v |= (uint32_t)(c - '0');
                else if (c >= 'a' && c <= 'f')
                        v |= (uint32_t)(c - 'a' + 10);
                else if (c >= 'A' && c <= 'F')
                        v |= (uint32_t)(c - 'A' + 10);
                else
                        return -EINVAL;
        }
        *ret = v;
        return 0;
}

static int append_utf8(struct scanner *s, uint32_t cp) {
        char b[4];
        size_t n;

        if (cp < 0x80) {
                b[0] = (char)cp;
                n = 1;
        } else if (cp < 0x800) {
                b[0] = (char)(0xC0 | (cp >> 6));
                b[1] = (char)(0x80 | (cp & 0x3F));
                n = 2;
        } else if (cp < 0x10000) {
                b[0] = (char)(0xE0 | (cp >> 12));
                b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
                b[2] = (char)(0x80 | (cp & 0x3F));
                n = 3;
        } else {
                b[0] = (char)(0xF0 | (cp >> 18));
                b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
                b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
                b[3] = (char)(0x80 | (cp & 0x3F));
                n = 4;
        }
        return path_append(s, b, n);
}

/* Scan a string at s->i. With decode, append its decoded contents to the path. */
static int scan_string(struct scanner *s, bool decode) {
        if (cur(s) != '"')
                return -EINVAL;
        advance(s);
        while (!at_end(s)) {
                char c = cur(s);
                if (c == '"') {
                        advance(s);
                        return 0;
                }
                if (c != '\\') {
                        if (decode && path_append(s, &c, 1) < 0)
                                return s->err;
                        advance(s);
                        continue;
                }
                advance(s);
                c = cur(s);
                if (c == 'u') {
                        uint32_t cp, lo;
                        advance(s);
                        if (hex4(s->text + s->i, s->len - s->i, &cp) < 0)
                                return -EINVAL;
                        for (int k = 0; k < 4; k++)
                                advance(s);
                        if (cp >= 0xD800 && cp < 0xDC00 && s->len - s->i >= 6 && s->text[s->i] == '\\' &&
                            s->text[s->i + 1] == 'u' && hex4(s->text + s->i + 2, 4, &lo) == 0 && lo >= 0xDC00 &&
                            lo < 0xE000) {
                                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                                for (int k = 0; k < 6; k++)
                                        advance(s);
                        }
                        if (decode && append_utf8(s, cp) < 0)
                                return s->err;
                        continue;
                }
                if (decode) {
                        char d;
                        switch (c) {
                        case 'b': d = '\b'; break;
                        case 'f': d = '\f'; break;
                        case 'n': d = '\n'; break;
                        case 'r': d = '\r'; break;
                        case 't': d = '\t'; break;
                        default: d = c; break;
                        }
                        if (path_append(s, &d, 1) < 0)
                                return s->err;
                }
                advance(s);
        }
        return -EINVAL;
}

static int record(struct scanner *s, int key_line, int key_col, size_t *ret_index) {
        struct vnc_jsonpos *pos = s->pos;
        char *p;

        if (VNC_GROW(pos->entries, pos->alloc, pos->n + 1) < 0)
                return s->err = -ENOMEM;
        p = strdup(s->path ? s->path : "");
        if (!p)
                return s->err = -ENOMEM;
        pos->entries[pos->n] = (struct vnc_jsonpos_entry){
                .path = p,
                .line = s->line,
                .col = s->col,
                .key_line = key_line,
                .key_col = key_col,
                .start = s->i,
                .end = s->i,
        };
        *ret_index = pos->n++;
        return 0;
}

static int scan_value(struct scanner *s, int key_line, int key_col, unsigned depth);

static int scan_object(struct scanner *s, unsigned depth) {
        size_t base = s->path_len;
        int r;

        advance(s); /* { */
        skip_ws(s);
        if (cur(s) == '}') {
                advance(s);
                return 0;
        }
        for (;;) {
                int kl = s->line, kc = s->col;

                skip_ws(s);
                kl = s->line;
                kc = s->col;
                if (base > 0 && path_append(s, ".", 1) < 0)
                        return s->err;
                r = scan_string(s, true);
                if (r < 0)
                        return r;
                skip_ws(s);
                if (cur(s) != ':')
                        return -EINVAL;
                advance(s);
                skip_ws(s);
                r = scan_value(s, kl, kc, depth + 1);
                if (r < 0)
                        return r;
                path_truncate(s, base);
                skip_ws(s);
                if (cur(s) == ',') {
                        advance(s);
                        continue;
                }
                if (cur(s) == '}') {
                        advance(s);
                        return 0;
                }
                return -EINVAL;
        }
}

static int scan_array(struct scanner *s, unsigned depth) {
        size_t base = s->path_len;
        int r;

        advance(s); /* [ */
        skip_ws(s);
        if (cur(s) == ']') {
                advance(s);
                return 0;
        }
        for (size_t idx = 0;; idx++) {
                char b[32];
                int n = snprintf(b, sizeof(b), "[%zu]", idx);
                if (path_append(s, b, (size_t)n) < 0)
                        return s->err;
                skip_ws(s);
                r = scan_value(s, 0, 0, depth + 1);
                if (r < 0)
                        return r;
                path_truncate(s, base);
                skip_ws(s);
                if (cur(s) == ',') {
                        advance(s);
                        continue;
                }
                if (cur(s) == ']') {
                        advance(s);
                        return 0;
                }
                return -EINVAL;
        }
}

static bool scalar_char(char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
               c == '+' || c == '.';
}

static int scan_value(struct scanner *s, int key_line, int key_col, unsigned depth) {
        size_t idx;
        int r;

        if (depth > JSONPOS_MAX_DEPTH)
                return -EINVAL;
        if (at_end(s))
                return -EINVAL;
        r = record(s, key_line, key_col, &idx);
        if (r < 0)
                return r;
        switch (cur(s)) {
        case '{':
                r = scan_object(s, depth);
                break;
        case '[':
                r = scan_array(s, depth);
                break;
        case '"':
                r = scan_string(s, false);
                break;
        default:
                if (!scalar_char(cur(s)))
                        return -EINVAL;
                while (!at_end(s) && scalar_char(cur(s)))
                        advance(s);
                r = 0;
        }
        s->pos->entries[idx].end = s->i;
        return r;
}

static int entry_cmp(const void *a, const void *b) {
        const struct vnc_jsonpos_entry *x = a, *y = b;
        int c = strcmp(x->path, y->path);
        if (c != 0)
                return c;
        /* Keep the first occurrence first, so lookups are stable. */
        return x->start < y->start ? -1 : x->start > y->start;
}

int vnc_jsonpos_build(const char *text, size_t len, struct vnc_jsonpos **ret) {
        struct vnc_jsonpos *pos = calloc(1, sizeof(*pos));
        struct scanner s = {.text = text, .len = text ? len : 0, .line = 1, .col = 1, .pos = pos};

        if (!pos)
                return -ENOMEM;
        if (path_append(&s, "", 0) < 0)
                goto oom;
        skip_ws(&s);
        (void)scan_value(&s, 0, 0, 0); /* a syntax error just ends the scan */
        free(s.path);
        if (s.err < 0)
                goto oom_nopath;
        if (pos->n > 1)
                qsort(pos->entries, pos->n, sizeof(pos->entries[0]), entry_cmp);
        *ret = pos;
        return 0;
oom:
        free(s.path);
oom_nopath:
        vnc_jsonpos_free(pos);
        return -ENOMEM;
}

void vnc_jsonpos_free(struct vnc_jsonpos *pos) {
        if (!pos)
                return;
        for (size_t i = 0; i < pos->n; i++)
                free(pos->entries[i].path);
        free(pos->entries);
        free(pos);
}

const struct vnc_jsonpos_entry *vnc_jsonpos_find(const struct vnc_jsonpos *pos, const char *path) {
        size_t lo = 0, hi;

        if (!pos || !path)
                return NULL;
        hi = pos->n;
        /* Lower bound, so the first of equal paths is found. */
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (strcmp(pos->entries[mid].path, path) < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        if (lo < pos->n && streq(pos->entries[lo].path, path))
                return &pos->entries[lo];
        return NULL;
}

bool vnc_jsonpos_lookup(const struct vnc_jsonpos *pos, const char *path, bool key, int *ret_line,
                        int *ret_col) {
        const struct vnc_jsonpos_entry *en = vnc_jsonpos_find(pos, path);
        int line = 0, col = 0;

        if (en) {
                line = en->line;
                col = en->col;
                if (key && en->key_line > 0) {
                        line = en->key_line;
                        col = en->key_col;
                }
        }
        if (ret_line)
                *ret_line = line;
        if (ret_col)
                *ret_col = col;
        return en != NULL;
}

char *vnc_jsonpos_raw(const struct vnc_jsonpos *pos, const char *text, size_t len, const char *path,
                      size_t max) {
        const struct vnc_jsonpos_entry *en = vnc_jsonpos_find(pos, path);
        size_t n, cut;
        bool is_string;

        if (!en || !text || en->end > len || en->end <= en->start)
                return NULL;
        n = en->end - en->start;
        if (max < 8)
                max = 8;
        if (n <= max)
                return strndup(text + en->start, n);
        is_string = text[en->start] == '"';
        cut = max - (is_string ? 4 : 3);
        /* Do not split a UTF-8 sequence. */
        while (cut > 1 && ((unsigned char)text[en->start + cut] & 0xC0) == 0x80)
                cut--;
        return vnc_strdup_printf("%.*s...%s", (int)cut, text + en->start, is_string ? "\"" : "");
}

void vnc_profile_locate(const struct vnc_profile *p, const char *path, int *ret_line, int *ret_col) {
        if (ret_line)
                *ret_line = 0;
        if (ret_col)
                *ret_col = 0;
        if (!p || !p->pos || !path)
                return;
        (void)vnc_jsonpos_locate_near(p->pos, path, false, ret_line, ret_col);
}

/* Length of the parent path: "networks[1].bridge" -> "networks[1]" -> "networks" -> 0. */
static size_t parent_len(const char *path, size_t n) {
        while (n > 0) {
                n--;
                if (path[n] == '.' || path[n] == '[')
                        return n;
        }
        return 0;
}

bool vnc_jsonpos_locate_near(const struct vnc_jsonpos *pos, const char *path, bool key, int *ret_line,
                             int *ret_col) {
        _cleanup_free_ char *p = NULL;
        size_t n;

        if (vnc_jsonpos_lookup(pos, path, key, ret_line, ret_col))
                return true;
        if (!path)
                return false;
        p = strdup(path);
        if (!p)
                return false;
        /* A value that is not in the text (a default, a missing key): point at its parent. */
        n = strlen(p);
        while ((n = parent_len(p, n)) > 0) {
                p[n] = '\0';
                if (vnc_jsonpos_lookup(pos, p, false, ret_line, ret_col))
                        return true;
        }
        return false;
}
