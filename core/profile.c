/* SPDX-License-Identifier: MIT */
/*
 * Profile loading: JSON text -> typed model. jansson ends here.
 *
 * This file checks what a single value can tell: unknown keys (with a
 * "did you mean" hint), JSON types, required keys, syntax (names, interface
 * names, addresses, MACs), enums and numeric ranges; it fills in defaults.
 * validate.c then checks the rules that relate values to one another, and
 * tap owners and groups are resolved last (they need the host's user
 * database, and a name missing there is a conflict, not a profile error).
 */
#include <fcntl.h>
#include <grp.h>
#include <jansson.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>

#include "jsonpos.h"
#include "model.h"
#include "profile-internal.h"

#define PROFILE_MAX_BYTES (64u << 20)
#define QUOTE_MAX 64

/* ---------------------------------------------------------------- errors */

const char *vnc_profile_display_file(const struct vnc_profile *p) {
        if (!p || !p->file)
                return NULL;
        return streq(p->file, "-") ? "<stdin>" : p->file;
}

int vnc_profile_error(const struct vnc_profile *p, struct vnc_error *e, enum vnc_error_kind kind, bool key,
                      const char *path, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        int line = 0, col = 0;
        va_list ap;

        if (p && p->pos && path)
                (void)vnc_jsonpos_locate_near(p->pos, path, key, &line, &col);
        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        return vnc_error_set_at(e, kind, vnc_profile_display_file(p), line, col, path && *path ? path : NULL,
                                "%s", msg ? msg : "out of memory");
}

char *vnc_profile_quote(const struct vnc_profile *p, const char *path, const char *fallback) {
        char *s = NULL;

        if (p && p->pos)
                s = vnc_jsonpos_raw(p->pos, p->text, p->text_len, path, QUOTE_MAX);
        if (!s && fallback)
                s = strdup(fallback);
        return s ? s : strdup("?");
}

/* ------------------------------------------------------------ path + ctx */

struct pctx {
        struct vnc_profile *p;
        struct vnc_error *e;
        char *path; /* JSON path of the value being converted */
        size_t len, alloc;
        bool oom;
};

static int oom(struct pctx *c) {
        c->oom = true;
        return vnc_error_set(c->e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
}

static int path_add(struct pctx *c, const char *fmt, ...) _printf_(2, 3);
static int path_add(struct pctx *c, const char *fmt, ...) {
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(NULL, 0, fmt, ap);
        va_end(ap);
        if (n < 0 || VNC_GROW(c->path, c->alloc, c->len + (size_t)n + 1) < 0)
                return oom(c);
        va_start(ap, fmt);
        vsnprintf(c->path + c->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
        c->len += (size_t)n;
        return 0;
}

/* Enter a member (returns the mark to leave with). */
static int push_key(struct pctx *c, const char *key, size_t *mark) {
        *mark = c->len;
        return c->len > 0 ? path_add(c, ".%s", key) : path_add(c, "%s", key);
}

static int push_index(struct pctx *c, size_t i, size_t *mark) {
        *mark = c->len;
        return path_add(c, "[%zu]", i);
}

static void pop(struct pctx *c, size_t mark) {
        c->len = mark;
        if (c->path)
                c->path[mark] = '\0';
}

static const char *cpath(struct pctx *c) {
        return c->path ? c->path : "";
}

#define perr(c, ...) vnc_profile_error((c)->p, (c)->e, VNC_ERR_PROFILE, false, cpath(c), __VA_ARGS__)

/* The current value as the user wrote it. */
static char *quote_cur(struct pctx *c, json_t *v) {
        _cleanup_free_ char *fb = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
        return vnc_profile_quote(c->p, cpath(c), fb);
}

static int type_error(struct pctx *c, json_t *v, const char *what) {
        if (json_is_object(v))
                return perr(c, "must be %s, not an object", what);
        if (json_is_array(v))
                return perr(c, "must be %s, not an array", what);
        _cleanup_free_ char *q = quote_cur(c, v);
        return perr(c, "%s: must be %s", q, what);
}

/* -------------------------------------------------------- did you mean */

/* Optimal string alignment distance (a transposition counts as one edit). */
static size_t edit_distance(const char *a, const char *b) {
        size_t n = strlen(a), m = strlen(b);
        _cleanup_free_ size_t *d = NULL;

        if (n > 64 || m > 64)
                return SIZE_MAX;
        d = calloc((n + 1) * (m + 1), sizeof(*d));
        if (!d)
                return SIZE_MAX;
#define D(i, j) d[(i) * (m + 1) + (j)]
        for (size_t i = 0; i <= n; i++)
                D(i, 0) = i;
        for (size_t j = 0; j <= m; j++)
                D(0, j) = j;
        for (size_t i = 1; i <= n; i++)
                for (size_t j = 1; j <= m; j++) {
                        size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
                        size_t v = D(i - 1, j) + 1;
                        if (D(i, j - 1) + 1 < v)
                                v = D(i, j - 1) + 1;
                        if (D(i - 1, j - 1) + cost < v)
                                v = D(i - 1, j - 1) + cost;
                        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && D(i - 2, j - 2) + 1 < v)
                                v = D(i - 2, j - 2) + 1;
                        D(i, j) = v;
                }
        size_t r = D(n, m);
#undef D
        return r;
}

/* The known word closest to s: within 1 or 2 edits, or s (3+ characters) a prefix of it. */
static const char *closest(const char *s, const char *const *known) {
        const char *best = NULL;
        size_t best_d = SIZE_MAX, n = strlen(s);

        for (size_t i = 0; known[i]; i++) {
                size_t d = edit_distance(s, known[i]);
                /* One edit in short words, two in longer ones: "icmp" is not a typo of "tcp". */
                if (d <= (strlen(known[i]) > 4 ? 2u : 1u) && d < best_d) {
                        best = known[i];
                        best_d = d;
                }
        }
        if (best)
                return best;
        for (size_t i = 0; known[i]; i++)
                if (n >= 3 && strncasecmp(known[i], s, n) == 0)
                        return known[i];
        return NULL;
}

static int check_keys(struct pctx *c, json_t *obj, const char *const *known) {
        const char *key;
        json_t *v = NULL;

        json_object_foreach(obj, key, v) {
                bool ok = false;
                for (size_t i = 0; known[i]; i++)
                        if (streq(known[i], key)) {
                                ok = true;
                                break;
                        }
                if (ok)
                        continue;

                size_t mark = 0;
                const char *hint = closest(key, known);
                _cleanup_free_ char *q = NULL;
                json_t *jk = json_string(key);

                if (push_key(c, key, &mark) < 0) {
                        json_decref(jk);
                        return -ENOMEM;
                }
                q = jk ? json_dumps(jk, JSON_ENCODE_ANY | JSON_ENSURE_ASCII) : NULL;
                json_decref(jk);
                if (hint)
                        return vnc_profile_error(c->p, c->e, VNC_ERR_PROFILE, true, cpath(c),
                                                 "unknown key %s; did you mean \"%s\"?", q ? q : "?", hint);
                return vnc_profile_error(c->p, c->e, VNC_ERR_PROFILE, true, cpath(c), "unknown key %s",
                                         q ? q : "?");
        }
        return 0;
}

static int require(struct pctx *c, json_t *obj, const char *const *keys) {
        for (size_t i = 0; keys[i]; i++)
                if (!json_object_get(obj, keys[i]))
                        return perr(c, "missing required key \"%s\"", keys[i]);
        return 0;
}

/* Enter obj[key] if present: returns 1 and sets *ret_v and *mark, 0 if absent. */
static int enter(struct pctx *c, json_t *obj, const char *key, json_t **ret_v, size_t *mark) {
        json_t *v = json_object_get(obj, key);
        if (!v)
                return 0;
        if (push_key(c, key, mark) < 0)
                return -ENOMEM;
        *ret_v = v;
        return 1;
}

/* ------------------------------------------------------ typed getters */

/* Each getter works on obj[key]: absent -> 0 (nothing written), present and fine -> 1. */

static int get_string(struct pctx *c, json_t *obj, const char *key, char **ret) {
        json_t *v = NULL;
        size_t mark = 0;
        int r = enter(c, obj, key, &v, &mark);
        if (r <= 0)
                return r;
        if (!json_is_string(v))
                return type_error(c, v, "a string");
        char *s = strdup(json_string_value(v));
        if (!s)
                return oom(c);
        free(*ret);
        *ret = s;
        pop(c, mark);
        return 1;
}

static int get_bool(struct pctx *c, json_t *obj, const char *key, bool *ret) {
        json_t *v = NULL;
        size_t mark = 0;
        int r = enter(c, obj, key, &v, &mark);
        if (r <= 0)
                return r;
        if (!json_is_boolean(v))
                return type_error(c, v, "true or false");
        *ret = json_is_true(v);
        pop(c, mark);
        return 1;
}

static int get_int(struct pctx *c, json_t *obj, const char *key, long long min, long long max, long long *ret) {
        json_t *v = NULL;
        size_t mark = 0;
        int r = enter(c, obj, key, &v, &mark);
        if (r <= 0)
                return r;
        if (!json_is_integer(v))
                return type_error(c, v, "an integer");
        long long x = json_integer_value(v);
        if (x < min || x > max) {
                _cleanup_free_ char *q = quote_cur(c, v);
                return perr(c, "%s: must be %lld..%lld", q, min, max);
        }
        *ret = x;
        pop(c, mark);
        return 1;
}

/* A string value at the current path; type error otherwise. */
static int cur_string(struct pctx *c, json_t *v, const char **ret) {
        if (!json_is_string(v))
                return type_error(c, v, "a string");
        *ret = json_string_value(v);
        return 0;
}

static int check_ifname_cur(struct pctx *c, json_t *v, char out[static VNC_IFNAMSIZ]) {
        const char *s = NULL, *why = NULL;
        int r = cur_string(c, v, &s);
        if (r < 0)
                return r;
        why = vnc_ifname_problem(s);
        if (why || strlen(s) != json_string_length(v)) {
                _cleanup_free_ char *q = quote_cur(c, v);
                return perr(c, "%s: %s", q, why ? why : "interface name may only contain A-Z a-z 0-9 _ . -");
        }
        memcpy(out, s, strlen(s) + 1);
        return 0;
}

static int get_ifname(struct pctx *c, json_t *obj, const char *key, char out[static VNC_IFNAMSIZ]) {
        json_t *v = NULL;
        size_t mark = 0;
        int r = enter(c, obj, key, &v, &mark);
        if (r <= 0)
                return r;
        r = check_ifname_cur(c, v, out);
        if (r < 0)
                return r;
        pop(c, mark);
        return 1;
}

static int get_name(struct pctx *c, json_t *obj, const char *key, char out[static VNC_NAME_MAX + 1]) {
        json_t *v = NULL;
        size_t mark = 0;
        const char *s = NULL;
        int r = enter(c, obj, key, &v, &mark);
        if (r <= 0)
                return r;
        r = cur_string(c, v, &s);
        if (r < 0)
                return r;
        if (!vnc_name_valid(s) || strlen(s) != json_string_length(v)) {
                _cleanup_free_ char *q = quote_cur(c, v);
                return perr(c, "%s: must be 1..32 characters of a-z 0-9 _ -, starting with a letter or digit",
                            q);
        }
        memcpy(out, s, strlen(s) + 1);
        pop(c, mark);
        return 1;
}

static int ipv4_cur(struct pctx *c, json_t *v, uint32_t *ret) {
        const char *s = NULL;
        int r = cur_string(c, v, &s);
        if (r < 0)
                return r;
        if (vnc_ipv4_parse(s, ret) < 0 || strlen(s) != json_string_length(v)) {
                _cleanup_free_ char *q = quote_cur(c, v);
                return perr(c, "%s: not an IPv4 address (expected A.B.C.D)", q);
        }
        return 0;
}

static int get_ipv4(struct pctx *c, json_t *obj, const char *key, uint32_t *ret) {
        json_t *v = NULL;
        size_t mark = 0;
        int r = enter(c, obj, key, &v, &mark);
        if (r <= 0)
                return r;
        r = ipv4_cur(c, v, ret);
        if (r < 0)
                return r;
        pop(c, mark);
        return 1;
}

static int get_prefix(struct pctx *c, json_t *obj, const char *key, struct vnc_ipv4_prefix *ret) {
        json_t *v = NULL;
        size_t mark = 0;
        const char *s = NULL;
        int r = enter(c, obj, key, &v, &mark);
        if (r <= 0)
                return r;
        r = cur_string(c, v, &s);
        if (r < 0)
                return r;
        r = vnc_ipv4_prefix_parse(s, ret);
        if (r < 0 || strlen(s) != json_string_length(v)) {
                _cleanup_free_ char *q = quote_cur(c, v);
                uint32_t dummy;
                if (r == -ERANGE)
                        return perr(c, "%s: prefix length must be 0..32", q);
                if (vnc_ipv4_parse(s, &dummy) == 0)
                        return perr(c, "%s: prefix length missing (expected A.B.C.D/N)", q);
                return perr(c, "%s: not an IPv4 prefix (expected A.B.C.D/N)", q);
        }
        pop(c, mark);
        return 1;
}

static int get_mac(struct pctx *c, json_t *obj, const char *key, uint8_t ret[6]) {
        json_t *v = NULL;
        size_t mark = 0;
        const char *s = NULL;
        int r = enter(c, obj, key, &v, &mark);
        if (r <= 0)
                return r;
        r = cur_string(c, v, &s);
        if (r < 0)
                return r;
        if (vnc_mac_parse(s, ret) < 0 || strlen(s) != json_string_length(v)) {
                _cleanup_free_ char *q = quote_cur(c, v);
                return perr(c, "%s: not a MAC address (expected xx:xx:xx:xx:xx:xx)", q);
        }
        pop(c, mark);
        return 1;
}

/* obj[key] as an object (ret NULL when absent). */
static int get_object(struct pctx *c, json_t *obj, const char *key, json_t **ret, size_t *mark) {
        json_t *v = NULL;
        int r = enter(c, obj, key, &v, mark);
        *ret = NULL;
        if (r <= 0)
                return r;
        if (!json_is_object(v))
                return type_error(c, v, "an object");
        *ret = v;
        return 1;
}

static int get_array(struct pctx *c, json_t *obj, const char *key, json_t **ret, size_t *mark) {
        json_t *v = NULL;
        int r = enter(c, obj, key, &v, mark);
        *ret = NULL;
        if (r <= 0)
                return r;
        if (!json_is_array(v))
                return type_error(c, v, "an array");
        *ret = v;
        return 1;
}

static int enum_error(struct pctx *c, json_t *v, const char *const *known, const char *expected) {
        _cleanup_free_ char *q = quote_cur(c, v);
        const char *hint = json_is_string(v) ? closest(json_string_value(v), known) : NULL;
        if (hint)
                return perr(c, "%s: must be %s; did you mean \"%s\"?", q, expected, hint);
        return perr(c, "%s: must be %s", q, expected);
}

/* --------------------------------------------------------- owner/group */

static bool all_digits(const char *s) {
        if (!*s)
                return false;
        for (; *s; s++)
                if (*s < '0' || *s > '9')
                        return false;
        return true;
}

static bool account_name_ok(const char *s) {
        if (!*s || *s == '-' || strlen(s) > 256)
                return false;
        for (; *s; s++)
                if ((unsigned char)*s <= ' ' || *s == ':' || *s == '/' || *s == 0x7f)
                        return false;
        return true;
}

#define ID_MAX 4294967294LL /* (uid_t)-1 means "no change" to the kernel */

static int get_account(struct pctx *c, json_t *obj, const char *key, bool *has, uint32_t *id, char **name) {
        json_t *v = NULL;
        size_t mark = 0;
        int r = enter(c, obj, key, &v, &mark);
        const char *what = streq(key, "owner") ? "user" : "group";

        if (r <= 0)
                return r;
        if (json_is_integer(v)) {
                long long x = json_integer_value(v);
                if (x < 0 || x > ID_MAX) {
                        _cleanup_free_ char *q = quote_cur(c, v);
                        return perr(c, "%s: %s id must be 0..%lld", q, what, ID_MAX);
                }
                *id = (uint32_t)x;
        } else if (json_is_string(v)) {
                const char *s = json_string_value(v);
                if (strlen(s) != json_string_length(v) || !account_name_ok(s)) {
                        _cleanup_free_ char *q = quote_cur(c, v);
                        return perr(c, "%s: not a %s name or number", q, what);
                }
                if (all_digits(s)) {
                        unsigned long long x = strlen(s) > 10 ? ULLONG_MAX : strtoull(s, NULL, 10);
                        if (x > (unsigned long long)ID_MAX) {
                                _cleanup_free_ char *q = quote_cur(c, v);
                                return perr(c, "%s: %s id must be 0..%lld", q, what, ID_MAX);
                        }
                        *id = (uint32_t)x;
                }
                *name = strdup(s);
                if (!*name)
                        return oom(c);
        } else {
                return type_error(c, v, streq(key, "owner") ? "a user name or number" : "a group name or number");
        }
        *has = true;
        pop(c, mark);
        return 1;
}

/* Resolve a non-numeric owner or group name on this host. */
static int resolve_account(const struct vnc_profile *p, struct vnc_error *e, const char *path, bool group,
                           const char *name, uint32_t *ret) {
        long hint = sysconf(group ? _SC_GETGR_R_SIZE_MAX : _SC_GETPW_R_SIZE_MAX);
        size_t size = hint > 0 ? (size_t)hint : 1024;

        for (;;) {
                _cleanup_free_ char *buf = malloc(size);
                int r;

                if (!buf)
                        return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
                if (group) {
                        struct group gr, *res = NULL;
                        r = getgrnam_r(name, &gr, buf, size, &res);
                        if (r == 0 && res) {
                                *ret = res->gr_gid;
                                return 0;
                        }
                } else {
                        struct passwd pw, *res = NULL;
                        r = getpwnam_r(name, &pw, buf, size, &res);
                        if (r == 0 && res) {
                                *ret = res->pw_uid;
                                return 0;
                        }
                }
                if (r == ERANGE && size < (1u << 20)) {
                        size *= 2;
                        continue;
                }
                _cleanup_free_ char *q = vnc_profile_quote(p, path, NULL);
                if (r != 0 && r != ENOENT && r != ESRCH && r != EBADF && r != EPERM) {
                        vnc_profile_error(p, e, VNC_ERR_RUNTIME, false, path, "%s: cannot look up %s", q,
                                          group ? "group" : "user");
                        vnc_error_detail(e, "%s", strerror(r));
                        return -r;
                }
                return vnc_profile_error(p, e, VNC_ERR_CONFLICT, false, path, "%s: no such %s on this host", q,
                                         group ? "group" : "user");
        }
}

static int resolve_tap_accounts(struct vnc_profile *p, struct vnc_error *e, const char *base, struct vnc_tap *t);

static int resolve_accounts(struct vnc_profile *p, struct vnc_error *e) {
        for (size_t i = 0; i < p->n_trunk_taps; i++) {
                _cleanup_free_ char *base = vnc_strdup_printf("trunk_taps[%zu]", i);
                int r = base ? resolve_tap_accounts(p, e, base, &p->trunk_taps[i].tap) : -ENOMEM;
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < p->n_networks; i++)
                for (size_t j = 0; j < p->networks[i].n_taps; j++) {
                        struct vnc_tap *t = &p->networks[i].taps[j];
                        int r;

                        if (t->has_owner && t->owner_name && !all_digits(t->owner_name)) {
                                _cleanup_free_ char *path = vnc_strdup_printf("networks[%zu].taps[%zu].owner", i, j);
                                uint32_t id = 0;
                                r = resolve_account(p, e, path, false, t->owner_name, &id);
                                if (r < 0)
                                        return r;
                                t->owner = id;
                        }
                        if (t->has_group && t->group_name && !all_digits(t->group_name)) {
                                _cleanup_free_ char *path = vnc_strdup_printf("networks[%zu].taps[%zu].group", i, j);
                                uint32_t id = 0;
                                r = resolve_account(p, e, path, true, t->group_name, &id);
                                if (r < 0)
                                        return r;
                                t->group = id;
                        }
                }
        return 0;
}

static int resolve_tap_accounts(struct vnc_profile *p, struct vnc_error *e, const char *base, struct vnc_tap *t) {
        uint32_t id = 0;
        int r;

        if (t->has_owner && t->owner_name && !all_digits(t->owner_name)) {
                _cleanup_free_ char *path = vnc_strdup_printf("%s.owner", base);
                if ((r = resolve_account(p, e, path, false, t->owner_name, &id)) < 0)
                        return r;
                t->owner = id;
        }
        if (t->has_group && t->group_name && !all_digits(t->group_name)) {
                _cleanup_free_ char *path = vnc_strdup_printf("%s.group", base);
                if ((r = resolve_account(p, e, path, true, t->group_name, &id)) < 0)
                        return r;
                t->group = id;
        }
        return 0;
}

/* ------------------------------------------------------------ sections */

static const char *const top_keys[] = {"$schema", "version", "name", "libvirt", "firewall", "networks", "trunk_taps", NULL};
static const char *const top_required[] = {"version", "name", "networks", NULL};
static const char *const libvirt_keys[] = {"uri", "define", NULL};
static const char *const firewall_keys[] = {"backend", NULL};
static const char *const network_keys[] = {"name",   "mode",       "bridge", "mtu",  "ipv4",    "dhcp",
                                           "nat",    "uplink",     "vlan",   "allow_icmp", "routes", "taps",
                                           "libvirt", "verify",    NULL};
static const char *const network_required[] = {"name", "mode", NULL};
static const char *const ipv4_keys[] = {"address", NULL};
static const char *const dhcp_keys[] = {"start", "end", "lease_seconds", "hosts", NULL};
static const char *const dhcp_required[] = {"start", "end", NULL};
static const char *const host_keys[] = {"mac", "ip", "name", NULL};
static const char *const host_required[] = {"mac", "ip", NULL};
static const char *const nat_keys[] = {"uplink", "port_forwards", NULL};
static const char *const forward_keys[] = {"proto", "host_port", "guest", "guest_port", "host_address", NULL};
static const char *const forward_required[] = {"proto", "host_port", "guest", "guest_port", NULL};
static const char *const vlan_keys[] = {"id", "trunk", "interface", "routed", NULL};
static const char *const vlan_required[] = {"id", NULL};
static const char *const route_keys[] = {"to", "via", NULL};
static const char *const route_required[] = {"to", "via", NULL};
static const char *const tap_keys[] = {"name", "owner", "group", "vnet_hdr", "multi_queue", "mac", NULL};
static const char *const tap_required[] = {"name", NULL};
static const char *const trunk_tap_keys[] = {"name", "vlans", "owner", "group", "vnet_hdr", "multi_queue", "mac", NULL};
static const char *const trunk_tap_required[] = {"name", "vlans", NULL};
static const char *const verify_keys[] = {"targets", "unreachable", "probe_address", NULL};
static const char *const mode_names[] = {"nat", "host-only", "bridged", "vlan", "routed", "isolated", NULL};
static const char *const backend_names[] = {"auto", "iptables", "nftables", NULL};
static const char *const proto_names[] = {"tcp", "udp", NULL};

/* Check obj is an object at the current path, with only known keys and all required ones. */
static int object_shape(struct pctx *c, json_t *obj, const char *const *keys, const char *const *required) {
        int r;
        if (!json_is_object(obj))
                return type_error(c, obj, "an object");
        r = check_keys(c, obj, keys);
        if (r < 0)
                return r;
        return required ? require(c, obj, required) : 0;
}

/* Allocate and walk array elements; each element's path is pushed for cb. */
#define FOREACH_ELEMENT(c, arr, i, el, mark)                                                                   \
        for (size_t i = 0, mark = 0; i < json_array_size(arr) && ((el) = json_array_get(arr, i)) &&           \
                                      push_index(c, i, &mark) == 0;                                            \
             pop(c, mark), i++)

static int parse_ipv4_list(struct pctx *c, json_t *obj, const char *key, uint32_t **ret, size_t *ret_n) {
        json_t *arr, *el;
        size_t mark = 0;
        int r = get_array(c, obj, key, &arr, &mark);
        if (r <= 0)
                return r;
        if (json_array_size(arr) > 0) {
                *ret = calloc(json_array_size(arr), sizeof(**ret));
                if (!*ret)
                        return oom(c);
        }
        FOREACH_ELEMENT(c, arr, i, el, m) {
                r = ipv4_cur(c, el, &(*ret)[i]);
                if (r < 0)
                        return r;
                (*ret_n)++;
        }
        if (c->oom)
                return -ENOMEM;
        pop(c, mark);
        return 1;
}

/* verify.targets: "A.B.C.D", or "tcp:A.B.C.D:PORT" for the TCP check of SPEC section 5. */
static int parse_targets(struct pctx *c, json_t *obj, struct vnc_verify_spec *vs) {
        json_t *arr, *el;
        size_t mark = 0, n;
        int r = get_array(c, obj, "targets", &arr, &mark);
        if (r <= 0)
                return r;
        n = json_array_size(arr);
        if (n > 0) {
                vs->targets = calloc(n, sizeof(*vs->targets));
                if (!vs->targets)
                        return oom(c);
        }
        FOREACH_ELEMENT(c, arr, i, el, m) {
                const char *s = NULL;
                if ((r = cur_string(c, el, &s)) < 0)
                        return r;
                if (strncmp(s, "tcp:", 4) != 0) {
                        if ((r = ipv4_cur(c, el, &vs->targets[i])) < 0)
                                return r;
                        vs->n_targets++;
                        continue;
                }
                const char *colon = strrchr(s + 4, ':');
                char ip[16];
                long long port = 0;
                char *end = NULL;
                size_t iplen = colon ? (size_t)(colon - (s + 4)) : 0;
                if (colon && iplen < sizeof(ip)) {
                        memcpy(ip, s + 4, iplen);
                        ip[iplen] = 0;
                        errno = 0;
                        port = strtoll(colon + 1, &end, 10);
                }
                if (!colon || iplen >= sizeof(ip) || vnc_ipv4_parse(ip, &vs->targets[i]) < 0 || !end ||
                    *end || end == colon + 1 || colon[1] == '+' || colon[1] == '-' || errno || port < 1 ||
                    port > 65535 || strlen(s) != json_string_length(el)) {
                        _cleanup_free_ char *q = quote_cur(c, el);
                        return perr(c, "%s: not a target (expected A.B.C.D or tcp:A.B.C.D:PORT, PORT 1..65535)", q);
                }
                if (!vs->target_tcp_ports) {
                        vs->target_tcp_ports = calloc(n, sizeof(*vs->target_tcp_ports));
                        if (!vs->target_tcp_ports)
                                return oom(c);
                }
                vs->target_tcp_ports[i] = (uint16_t)port;
                vs->n_targets++;
        }
        if (c->oom)
                return -ENOMEM;
        pop(c, mark);
        return 1;
}

static int parse_dhcp(struct pctx *c, json_t *obj, struct vnc_dhcp *d) {
        json_t *arr, *el;
        long long x;
        size_t mark = 0;
        int r;

        r = object_shape(c, obj, dhcp_keys, dhcp_required);
        if (r < 0)
                return r;
        d->lease_seconds = 3600;
        if ((r = get_ipv4(c, obj, "start", &d->start)) < 0 || (r = get_ipv4(c, obj, "end", &d->end)) < 0)
                return r;
        r = get_int(c, obj, "lease_seconds", VNC_LEASE_MIN, VNC_LEASE_MAX, &x);
        if (r < 0)
                return r;
        if (r > 0)
                d->lease_seconds = (uint32_t)x;
        r = get_array(c, obj, "hosts", &arr, &mark);
        if (r <= 0)
                return r;
        if (json_array_size(arr) > 0) {
                d->hosts = calloc(json_array_size(arr), sizeof(*d->hosts));
                if (!d->hosts)
                        return oom(c);
        }
        FOREACH_ELEMENT(c, arr, i, el, m) {
                struct vnc_dhcp_host *h = &d->hosts[i];
                d->n_hosts++;
                if ((r = object_shape(c, el, host_keys, host_required)) < 0 ||
                    (r = get_mac(c, el, "mac", h->mac)) < 0 || (r = get_ipv4(c, el, "ip", &h->ip)) < 0 ||
                    (r = get_string(c, el, "name", &h->name)) < 0)
                        return r;
        }
        if (c->oom)
                return -ENOMEM;
        pop(c, mark);
        return 0;
}

static int parse_nat(struct pctx *c, json_t *obj, struct vnc_nat *nat) {
        json_t *arr, *el;
        size_t mark = 0;
        int r;

        if ((r = object_shape(c, obj, nat_keys, NULL)) < 0 || (r = get_ifname(c, obj, "uplink", nat->uplink)) < 0)
                return r;
        r = get_array(c, obj, "port_forwards", &arr, &mark);
        if (r <= 0)
                return r;
        if (json_array_size(arr) > 0) {
                nat->forwards = calloc(json_array_size(arr), sizeof(*nat->forwards));
                if (!nat->forwards)
                        return oom(c);
        }
        FOREACH_ELEMENT(c, arr, i, el, m) {
                struct vnc_port_forward *f = &nat->forwards[i];
                json_t *pv = NULL;
                size_t pm = 0;
                long long x;

                nat->n_forwards++;
                if ((r = object_shape(c, el, forward_keys, forward_required)) < 0)
                        return r;
                if ((r = enter(c, el, "proto", &pv, &pm)) < 0)
                        return r;
                if (!json_is_string(pv))
                        return type_error(c, pv, "a string");
                if (streq(json_string_value(pv), "tcp"))
                        f->proto = VNC_PROTO_TCP;
                else if (streq(json_string_value(pv), "udp"))
                        f->proto = VNC_PROTO_UDP;
                else
                        return enum_error(c, pv, proto_names, "\"tcp\" or \"udp\"");
                pop(c, pm);
                if ((r = get_int(c, el, "host_port", 1, 65535, &x)) < 0)
                        return r;
                f->host_port = (uint16_t)x;
                if ((r = get_int(c, el, "guest_port", 1, 65535, &x)) < 0)
                        return r;
                f->guest_port = (uint16_t)x;
                if ((r = get_ipv4(c, el, "guest", &f->guest)) < 0)
                        return r;
                if ((r = get_ipv4(c, el, "host_address", &f->host_address)) < 0)
                        return r;
                f->has_host_address = r > 0;
        }
        if (c->oom)
                return -ENOMEM;
        pop(c, mark);
        return 0;
}

static int parse_vlan(struct pctx *c, json_t *obj, struct vnc_vlan *vl) {
        long long x;
        int r;

        if ((r = object_shape(c, obj, vlan_keys, vlan_required)) < 0 ||
            (r = get_int(c, obj, "id", 1, 4094, &x)) < 0)
                return r;
        vl->id = (uint16_t)x;
        if ((r = get_ifname(c, obj, "trunk", vl->trunk)) < 0 || (r = get_bool(c, obj, "routed", &vl->routed)) < 0)
                return r;
        bool has_trunk = vl->trunk[0] != 0;
        r = get_ifname(c, obj, "interface", vl->interface);
        if (r < 0)
                return r;
        if (r > 0 && !has_trunk) {
                size_t im;
                if ((r = push_key(c, "interface", &im)) < 0)
                        return r;
                return perr(c, "\"%s\": only with \"trunk\" (a VLAN without a trunk lives inside the host and "
                            "has no sub-interface)", vl->interface);
        }
        if (r == 0 && has_trunk) {
                _cleanup_free_ char *def = vnc_strdup_printf("%s.%u", vl->trunk, vl->id);
                if (!def)
                        return oom(c);
                if (strlen(def) > VNC_IFNAMSIZ - 1)
                        return perr(c, "default interface name \"%s\" is longer than 15 bytes; set \"interface\"",
                                    def);
                memcpy(vl->interface, def, strlen(def) + 1);
        }
        return 0;
}

static int parse_routes(struct pctx *c, json_t *arr, struct vnc_network *n) {
        json_t *el;
        int r;

        if (json_array_size(arr) > 0) {
                n->routes = calloc(json_array_size(arr), sizeof(*n->routes));
                if (!n->routes)
                        return oom(c);
        }
        FOREACH_ELEMENT(c, arr, i, el, m) {
                n->n_routes++;
                if ((r = object_shape(c, el, route_keys, route_required)) < 0 ||
                    (r = get_prefix(c, el, "to", &n->routes[i].to)) < 0 ||
                    (r = get_ipv4(c, el, "via", &n->routes[i].via)) < 0)
                        return r;
        }
        return c->oom ? -ENOMEM : 0;
}

/* The fields of a tap (taps[] and trunk_taps[]); el's shape is checked by the caller. */
static int parse_tap_fields(struct pctx *c, json_t *el, struct vnc_tap *t) {
        uint32_t id = 0;
        int r;

        if ((r = get_ifname(c, el, "name", t->name)) < 0)
                return r;
        if ((r = get_account(c, el, "owner", &t->has_owner, &id, &t->owner_name)) < 0)
                return r;
        t->owner = id;
        id = 0;
        if ((r = get_account(c, el, "group", &t->has_group, &id, &t->group_name)) < 0)
                return r;
        t->group = id;
        if ((r = get_bool(c, el, "vnet_hdr", &t->vnet_hdr)) < 0 ||
            (r = get_bool(c, el, "multi_queue", &t->multi_queue)) < 0 || (r = get_mac(c, el, "mac", t->mac)) < 0)
                return r;
        t->has_mac = r > 0;
        return 0;
}

/* trunk_taps[]: a tap and the names of the vlan networks it carries tagged (resolved by validation). */
static int parse_trunk_taps(struct pctx *c, json_t *arr, struct vnc_profile *p) {
        json_t *el, *vl, *name;
        size_t vm;
        int r;

        if (json_array_size(arr) > 0) {
                p->trunk_taps = calloc(json_array_size(arr), sizeof(*p->trunk_taps));
                if (!p->trunk_taps)
                        return oom(c);
        }
        FOREACH_ELEMENT(c, arr, i, el, m) {
                struct vnc_trunk_tap *tt = &p->trunk_taps[i];

                p->n_trunk_taps++;
                if ((r = object_shape(c, el, trunk_tap_keys, trunk_tap_required)) < 0 ||
                    (r = parse_tap_fields(c, el, &tt->tap)) < 0 || (r = get_array(c, el, "vlans", &vl, &vm)) < 0)
                        return r;
                size_t n = json_array_size(vl);
                if (n == 0)
                        return perr(c, "must list at least one network of mode \"vlan\"");
                tt->vlans = calloc(n, sizeof(*tt->vlans));
                tt->subifs = calloc(n, sizeof(*tt->subifs));
                tt->vlan_names = calloc(n, sizeof(*tt->vlan_names));
                if (!tt->vlans || !tt->subifs || !tt->vlan_names)
                        return oom(c);
                FOREACH_ELEMENT(c, vl, k, name, km) {
                        if (!json_is_string(name))
                                return type_error(c, name, "a network name (a string)");
                        tt->vlan_names[k] = strdup(json_string_value(name));
                        if (!tt->vlan_names[k])
                                return oom(c);
                        tt->n_vlans++;
                }
                pop(c, vm);
        }
        return c->oom ? -ENOMEM : 0;
}

static int parse_taps(struct pctx *c, json_t *arr, struct vnc_network *n) {
        json_t *el;
        int r;

        if (json_array_size(arr) > 0) {
                n->taps = calloc(json_array_size(arr), sizeof(*n->taps));
                if (!n->taps)
                        return oom(c);
        }
        FOREACH_ELEMENT(c, arr, i, el, m) {
                struct vnc_tap *t = &n->taps[i];

                n->n_taps++;
                if ((r = object_shape(c, el, tap_keys, tap_required)) < 0 || (r = parse_tap_fields(c, el, t)) < 0)
                        return r;
        }
        return c->oom ? -ENOMEM : 0;
}

static int parse_network(struct pctx *c, json_t *obj, struct vnc_network *n) {
        json_t *v = NULL, *mv = NULL;
        size_t mark = 0;
        long long x;
        int r;

        n->allow_icmp = true;
        n->libvirt = true;
        if ((r = object_shape(c, obj, network_keys, network_required)) < 0 ||
            (r = get_name(c, obj, "name", n->name)) < 0)
                return r;

        if ((r = enter(c, obj, "mode", &mv, &mark)) < 0)
                return r;
        if (!json_is_string(mv))
                return type_error(c, mv, "a string");
        n->mode = vnc_mode_from_string(json_string_value(mv));
        if (n->mode == _VNC_MODE_INVALID || strlen(json_string_value(mv)) != json_string_length(mv))
                return enum_error(c, mv, mode_names,
                                  "\"nat\", \"host-only\", \"bridged\", \"vlan\", \"routed\" or \"isolated\"");
        pop(c, mark);

        r = get_ifname(c, obj, "bridge", n->bridge);
        if (r < 0)
                return r;
        if (r == 0) {
                if (strlen(n->name) + 3 > VNC_IFNAMSIZ - 1) {
                        size_t nm;
                        if ((r = push_key(c, "name", &nm)) < 0)
                                return r;
                        return perr(c,
                                    "\"%s\": default bridge name \"vn-%s\" is longer than 15 bytes; set \"bridge\"",
                                    n->name, n->name);
                }
                /* Length checked above: "vn-" + name fits in 15 bytes. */
                memcpy(n->bridge, "vn-", 3);
                memcpy(n->bridge + 3, n->name, strlen(n->name) + 1);
        }

        if ((r = get_int(c, obj, "mtu", 68, 65535, &x)) < 0)
                return r;
        if (r > 0)
                n->mtu = (uint32_t)x;

        if ((r = get_object(c, obj, "ipv4", &v, &mark)) < 0)
                return r;
        if (r > 0) {
                if ((r = object_shape(c, v, ipv4_keys, ipv4_keys)) < 0 ||
                    (r = get_prefix(c, v, "address", &n->ipv4)) < 0)
                        return r;
                n->has_ipv4 = true;
                pop(c, mark);
        }

        if ((r = get_object(c, obj, "dhcp", &v, &mark)) < 0)
                return r;
        if (r > 0) {
                if ((r = parse_dhcp(c, v, &n->dhcp)) < 0)
                        return r;
                n->has_dhcp = true;
                pop(c, mark);
        }

        if ((r = get_object(c, obj, "nat", &v, &mark)) < 0)
                return r;
        if (r > 0) {
                if ((r = parse_nat(c, v, &n->nat)) < 0)
                        return r;
                n->has_nat = true;
                pop(c, mark);
        }

        if ((r = get_ifname(c, obj, "uplink", n->uplink)) < 0)
                return r;

        if ((r = get_object(c, obj, "vlan", &v, &mark)) < 0)
                return r;
        if (r > 0) {
                if ((r = parse_vlan(c, v, &n->vlan)) < 0)
                        return r;
                n->has_vlan = true;
                pop(c, mark);
        }

        if ((r = get_bool(c, obj, "allow_icmp", &n->allow_icmp)) < 0)
                return r;

        if ((r = get_array(c, obj, "routes", &v, &mark)) < 0)
                return r;
        if (r > 0) {
                if ((r = parse_routes(c, v, n)) < 0)
                        return r;
                pop(c, mark);
        }

        if ((r = get_array(c, obj, "taps", &v, &mark)) < 0)
                return r;
        if (r > 0) {
                if ((r = parse_taps(c, v, n)) < 0)
                        return r;
                pop(c, mark);
        }

        if ((r = get_bool(c, obj, "libvirt", &n->libvirt)) < 0)
                return r;

        if ((r = get_object(c, obj, "verify", &v, &mark)) < 0)
                return r;
        if (r > 0) {
                struct vnc_verify_spec *vs = &n->verify;
                if ((r = object_shape(c, v, verify_keys, NULL)) < 0 ||
                    (r = parse_targets(c, v, vs)) < 0 ||
                    (r = parse_ipv4_list(c, v, "unreachable", &vs->unreachable, &vs->n_unreachable)) < 0 ||
                    (r = get_prefix(c, v, "probe_address", &vs->probe_address)) < 0)
                        return r;
                vs->has_probe_address = r > 0;
                pop(c, mark);
        }
        return 0;
}

static int parse_top(struct pctx *c, json_t *root) {
        struct vnc_profile *p = c->p;
        json_t *v, *arr, *el;
        size_t mark = 0;
        long long x = 0;
        int r;

        if (!json_is_object(root))
                return perr(c, "a profile must be a JSON object");
        if ((r = check_keys(c, root, top_keys)) < 0 || (r = require(c, root, top_required)) < 0)
                return r;

        if ((r = enter(c, root, "$schema", &v, &mark)) < 0)
                return r;
        if (r > 0) {
                if (!json_is_string(v))
                        return type_error(c, v, "a string");
                pop(c, mark);
        }

        if ((r = get_int(c, root, "version", LLONG_MIN, LLONG_MAX, &x)) < 0)
                return r;
        if (x != 1) {
                if ((r = enter(c, root, "version", &v, &mark)) < 0)
                        return r;
                _cleanup_free_ char *q = quote_cur(c, v);
                return perr(c, "%s: unsupported version (this vnetcfg reads version 1)", q);
        }
        if ((r = get_name(c, root, "name", p->name)) < 0)
                return r;

        p->libvirt_define = VNC_LIBVIRT_AUTO;
        if ((r = get_object(c, root, "libvirt", &v, &mark)) < 0)
                return r;
        if (r > 0) {
                json_t *d;
                size_t dm;
                if ((r = object_shape(c, v, libvirt_keys, NULL)) < 0 || (r = get_string(c, v, "uri", &p->libvirt_uri)) < 0)
                        return r;
                if (r > 0) {
                        const char *u = p->libvirt_uri;
                        size_t k = 0;
                        while ((u[k] >= 'a' && u[k] <= 'z') || (k > 0 && ((u[k] >= '0' && u[k] <= '9') || u[k] == '+' ||
                                                                        u[k] == '-' || u[k] == '.')))
                                k++;
                        if (k == 0 || u[k] != ':' || strchr(u, '\n')) {
                                size_t um;
                                if ((r = push_key(c, "uri", &um)) < 0)
                                        return r;
                                _cleanup_free_ char *q = vnc_profile_quote(p, cpath(c), NULL);
                                return perr(c, "%s: not a libvirt URI (such as \"qemu:///system\")", q);
                        }
                }
                if ((r = enter(c, v, "define", &d, &dm)) < 0)
                        return r;
                if (r > 0) {
                        if (json_is_true(d))
                                p->libvirt_define = VNC_LIBVIRT_YES;
                        else if (json_is_false(d))
                                p->libvirt_define = VNC_LIBVIRT_NO;
                        else if (json_is_string(d) && streq(json_string_value(d), "auto"))
                                p->libvirt_define = VNC_LIBVIRT_AUTO;
                        else
                                return type_error(c, d, "true, false or \"auto\"");
                        pop(c, dm);
                }
                pop(c, mark);
        }
        if (!p->libvirt_uri) {
                p->libvirt_uri = strdup("qemu:///system");
                if (!p->libvirt_uri)
                        return oom(c);
        }

        p->fw_backend = VNC_FW_AUTO;
        if ((r = get_object(c, root, "firewall", &v, &mark)) < 0)
                return r;
        if (r > 0) {
                json_t *b;
                size_t bm;
                if ((r = object_shape(c, v, firewall_keys, NULL)) < 0 || (r = enter(c, v, "backend", &b, &bm)) < 0)
                        return r;
                if (r > 0) {
                        if (!json_is_string(b))
                                return type_error(c, b, "a string");
                        p->fw_backend = vnc_fw_backend_from_string(json_string_value(b));
                        if (p->fw_backend == _VNC_FW_INVALID ||
                            strlen(json_string_value(b)) != json_string_length(b))
                                return enum_error(c, b, backend_names, "\"auto\", \"iptables\" or \"nftables\"");
                        pop(c, bm);
                }
                pop(c, mark);
        }

        if ((r = get_array(c, root, "networks", &arr, &mark)) < 0)
                return r;
        if (json_array_size(arr) == 0)
                return perr(c, "must list at least one network");
        p->networks = calloc(json_array_size(arr), sizeof(*p->networks));
        if (!p->networks)
                return oom(c);
        FOREACH_ELEMENT(c, arr, i, el, m) {
                p->n_networks++;
                r = parse_network(c, el, &p->networks[i]);
                if (r < 0)
                        return r;
        }
        if (c->oom)
                return -ENOMEM;
        pop(c, mark);

        if ((r = get_array(c, root, "trunk_taps", &arr, &mark)) < 0)
                return r;
        if (r > 0) {
                if ((r = parse_trunk_taps(c, arr, p)) < 0)
                        return r;
                pop(c, mark);
        }
        return 0;
}

/* trunk_taps[].vlans: network names -> indexes (SIZE_MAX when none), and the sub-interface names.
 * validate.c reports what does not resolve or does not fit. */
static void resolve_trunk_taps(struct vnc_profile *p) {
        for (size_t i = 0; i < p->n_trunk_taps; i++) {
                struct vnc_trunk_tap *tt = &p->trunk_taps[i];
                for (size_t k = 0; k < tt->n_vlans; k++) {
                        tt->vlans[k] = SIZE_MAX;
                        tt->subifs[k][0] = 0;
                        for (size_t n = 0; n < p->n_networks; n++)
                                if (streq(p->networks[n].name, tt->vlan_names[k])) {
                                        tt->vlans[k] = n;
                                        break;
                                }
                        size_t n = tt->vlans[k];
                        if (n != SIZE_MAX && p->networks[n].has_vlan) {
                                char buf[32];
                                snprintf(buf, sizeof(buf), "%s.%u", tt->tap.name, p->networks[n].vlan.id);
                                if (strlen(buf) < VNC_IFNAMSIZ)
                                        memcpy(tt->subifs[k], buf, strlen(buf) + 1);
                        }
                }
        }
}

/* ---------------------------------------------------------------- load */

int vnc_profile_load_buffer(const char *file, const char *text, size_t len, struct vnc_profile **ret,
                            struct vnc_error *e) {
        _cleanup_(json_decrefp) json_t *root = NULL;
        struct vnc_profile *p = NULL;
        struct pctx c = {.e = e};
        json_error_t jerr;
        int r;

        p = calloc(1, sizeof(*p));
        if (!p)
                return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
        c.p = p;
        p->file = strdup(file ? file : "-");
        p->text = malloc(len + 1);
        if (!p->file || !p->text) {
                r = oom(&c);
                goto fail;
        }
        if (len > 0)
                memcpy(p->text, text, len);
        p->text[len] = '\0';
        p->text_len = len;

        root = json_loadb(p->text, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!root) {
                r = vnc_error_set_at(e, VNC_ERR_PROFILE, vnc_profile_display_file(p), jerr.line > 0 ? jerr.line : 0,
                                     jerr.line > 0 ? jerr.column : 0, NULL, "invalid JSON: %s", jerr.text);
                goto fail;
        }
        r = vnc_jsonpos_build(p->text, len, &p->pos);
        if (r < 0) {
                r = oom(&c);
                goto fail;
        }

        r = parse_top(&c, root);
        if (r < 0)
                goto fail;
        resolve_trunk_taps(p);
        r = vnc_profile_validate(p, e);
        if (r < 0)
                goto fail;
        r = resolve_accounts(p, e);
        if (r < 0)
                goto fail;

        free(c.path);
        *ret = p;
        return 0;
fail:
        if (r >= 0)
                r = -EINVAL;
        free(c.path);
        vnc_profile_free(p);
        return r;
}

static int read_all(int fd, char **ret, size_t *ret_len) {
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, alloc = 0;

        for (;;) {
                ssize_t n;
                if (VNC_GROW(buf, alloc, len + 65536) < 0)
                        return -ENOMEM;
                n = read(fd, buf + len, alloc - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
                if (len > PROFILE_MAX_BYTES)
                        return -EFBIG;
        }
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

int vnc_profile_load_file(const char *path, struct vnc_profile **ret, struct vnc_error *e) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        const char *shown;
        size_t len = 0;
        int r;

        if (!path)
                return vnc_error_set(e, VNC_ERR_USAGE, -EINVAL, "no profile given");
        shown = streq(path, "-") ? "<stdin>" : path;
        if (!streq(path, "-")) {
                fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (fd < 0) {
                        r = -errno;
                        vnc_error_set_at(e, VNC_ERR_USAGE, shown, 0, 0, NULL, "cannot open profile");
                        vnc_error_detail(e, "%s", strerror(-r));
                        return r;
                }
        }
        r = read_all(fd >= 0 ? fd : STDIN_FILENO, &buf, &len);
        if (r < 0) {
                if (r == -EFBIG)
                        return vnc_error_set_at(e, VNC_ERR_PROFILE, shown, 0, 0, NULL,
                                                "profile is larger than %u MiB", PROFILE_MAX_BYTES >> 20);
                vnc_error_set_at(e, VNC_ERR_USAGE, shown, 0, 0, NULL, "cannot read profile");
                vnc_error_detail(e, "%s", strerror(-r));
                return r;
        }
        return vnc_profile_load_buffer(path, buf, len, ret, e);
}

void vnc_profile_free(struct vnc_profile *p) {
        if (!p)
                return;
        for (size_t i = 0; i < p->n_networks; i++) {
                struct vnc_network *n = &p->networks[i];
                for (size_t j = 0; j < n->dhcp.n_hosts; j++)
                        free(n->dhcp.hosts[j].name);
                free(n->dhcp.hosts);
                free(n->nat.forwards);
                free(n->routes);
                for (size_t j = 0; j < n->n_taps; j++) {
                        free(n->taps[j].owner_name);
                        free(n->taps[j].group_name);
                }
                free(n->taps);
                free(n->verify.targets);
                free(n->verify.target_tcp_ports);
                free(n->verify.unreachable);
        }
        free(p->networks);
        for (size_t i = 0; i < p->n_trunk_taps; i++) {
                struct vnc_trunk_tap *tt = &p->trunk_taps[i];
                free(tt->tap.owner_name);
                free(tt->tap.group_name);
                for (size_t k = 0; k < tt->n_vlans; k++)
                        free(tt->vlan_names[k]);
                free(tt->vlan_names);
                free(tt->vlans);
                free(tt->subifs);
        }
        free(p->trunk_taps);
        free(p->file);
        free(p->libvirt_uri);
        vnc_jsonpos_free(p->pos);
        free(p->text);
        free(p);
}
