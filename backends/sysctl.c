/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "backends.h"
#include "model.h"
#include "record.h"
#include "sysctl.h"

#define CLAIMS_FILE "sysctl.claims"
#define CLAIMS_TMP "sysctl.claims.tmp"
#define SYSCTL_VALUE_MAX 4096

static bool component_valid(const char *s, size_t n) {
        if (n == 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '-'))
                        return false;
        return true;
}

int vnc_sysctl_path(const char *key, char **ret) {
        static const char *const per_if[] = {"net.ipv4.conf.", "net.ipv6.conf.", "net.ipv4.neigh.",
                                             "net.ipv6.neigh."};
        _cleanup_free_ char *path = NULL;

        if (!key || strlen(key) > 200 || strchr(key, '/'))
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(per_if); i++) {
                size_t pl = strlen(per_if[i]);
                if (strncmp(key, per_if[i], pl) != 0)
                        continue;
                /* <ifname>.<leaf>: the leaf is after the last dot, the ifname may contain dots. */
                const char *rest = key + pl, *dot = strrchr(rest, '.');
                if (!dot || !component_valid(dot + 1, strlen(dot + 1)))
                        return -EINVAL;
                char ifname[VNC_IFNAMSIZ];
                size_t il = (size_t)(dot - rest);
                if (il == 0 || il >= sizeof(ifname))
                        return -EINVAL;
                memcpy(ifname, rest, il);
                ifname[il] = 0;
                if (!vnc_ifname_valid(ifname))
                        return -EINVAL;
                path = vnc_strdup_printf("/proc/sys/%.*s/%s/%s", (int)(pl - 1), per_if[i], ifname, dot + 1);
                if (!path)
                        return -ENOMEM;
                for (char *p = path + strlen("/proc/sys/"); *p && p < path + strlen("/proc/sys/") + pl; p++)
                        if (*p == '.')
                                *p = '/';
                *ret = TAKE_PTR(path);
                return 0;
        }
        /* Plain keys: [A-Za-z0-9_-]+ components separated by single dots. */
        for (const char *p = key;;) {
                const char *dot = strchr(p, '.');
                size_t n = dot ? (size_t)(dot - p) : strlen(p);
                if (!component_valid(p, n))
                        return -EINVAL;
                if (!dot)
                        break;
                p = dot + 1;
        }
        path = vnc_strdup_printf("/proc/sys/%s", key);
        if (!path)
                return -ENOMEM;
        for (char *p = path + strlen("/proc/sys/"); *p; p++)
                if (*p == '.')
                        *p = '/';
        *ret = TAKE_PTR(path);
        return 0;
}

static char *trim(char *s) {
        while (isspace((unsigned char)*s))
                s++;
        size_t n = strlen(s);
        while (n > 0 && isspace((unsigned char)s[n - 1]))
                s[--n] = 0;
        return s;
}

int vnc_sysctl_read(const char *key, char **ret_value) {
        _cleanup_free_ char *path = NULL, *buf = NULL;
        _cleanup_close_ int fd = -1;
        size_t n = 0;
        int r;

        r = vnc_sysctl_path(key, &path);
        if (r < 0)
                return r;
        if (vnc_record_on())
                return vnc_record_sysctl_read(key, ret_value);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        buf = malloc(SYSCTL_VALUE_MAX + 1);
        if (!buf)
                return -ENOMEM;
        while (n < SYSCTL_VALUE_MAX) {
                ssize_t k = read(fd, buf + n, SYSCTL_VALUE_MAX - n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                n += (size_t)k;
        }
        buf[n] = 0;
        char *v = strdup(trim(buf));
        if (!v)
                return -ENOMEM;
        *ret_value = v;
        return 0;
}

int vnc_sysctl_write(const char *key, const char *value) {
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -1;
        int r;

        r = vnc_sysctl_path(key, &path);
        if (r < 0)
                return r;
        if (vnc_record_on())
                return vnc_record_sysctl_write(key, value);
        fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        size_t n = strlen(value);
        ssize_t k = write(fd, value, n);
        if (k < 0)
                return -errno;
        if ((size_t)k != n)
                return -EIO;
        return 0;
}

/* ---- claims file ----
 * One line per key: "<key> <original, %-escaped> <profile>...". Keys and profile
 * names contain no whitespace; values may (ip_local_port_range), hence the escaping.
 */

struct claim {
        char *key;
        char *original;
        char **profiles;
        size_t n_profiles, alloc_profiles;
};

struct claims {
        struct claim *c;
        size_t n, alloc;
};

static void claims_done(struct claims *cl) {
        for (size_t i = 0; i < cl->n; i++) {
                free(cl->c[i].key);
                free(cl->c[i].original);
                for (size_t j = 0; j < cl->c[i].n_profiles; j++)
                        free(cl->c[i].profiles[j]);
                free(cl->c[i].profiles);
        }
        free(cl->c);
        *cl = (struct claims){0};
}

static char *escape(const char *s) {
        size_t n = strlen(s);
        char *o = malloc(3 * n + 1), *p = o;
        if (!o)
                return NULL;
        for (; *s; s++) {
                unsigned char ch = (unsigned char)*s;
                if (ch <= ' ' || ch == '%' || ch >= 0x7f)
                        p += sprintf(p, "%%%02X", ch);
                else
                        *p++ = (char)ch;
        }
        *p = 0;
        return o;
}

static char *unescape(const char *s) {
        char *o = malloc(strlen(s) + 1), *p = o;
        if (!o)
                return NULL;
        for (; *s; s++) {
                if (*s == '%' && isxdigit((unsigned char)s[1]) && isxdigit((unsigned char)s[2])) {
                        char hex[3] = {s[1], s[2], 0};
                        *p++ = (char)strtoul(hex, NULL, 16);
                        s += 2;
                } else
                        *p++ = *s;
        }
        *p = 0;
        return o;
}

static int claim_add_profile(struct claim *c, const char *profile) {
        for (size_t i = 0; i < c->n_profiles; i++)
                if (streq(c->profiles[i], profile))
                        return 0;
        if (VNC_GROW(c->profiles, c->alloc_profiles, c->n_profiles + 1) < 0)
                return -ENOMEM;
        c->profiles[c->n_profiles] = strdup(profile);
        if (!c->profiles[c->n_profiles])
                return -ENOMEM;
        c->n_profiles++;
        return 0;
}

static int open_state_dir(const char *state_dir) {
        if (!state_dir)
                return -EINVAL;
        if (mkdir(state_dir, 0700) < 0 && errno != EEXIST)
                return -errno;
        int fd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

/*
 * Claims describe the network namespace of one boot: the originals are the values found
 * there. After a reboot (or in another namespace) they describe nothing that exists, and
 * SPEC section 3 wants the next apply to record the values found at this boot, and a rollback
 * to leave them alone. So the file starts with "#boot <boot_id>/<netns>" (netns: its cookie,
 * which the kernel never reuses, else the inode of /proc/self/ns/net), and claims of another
 * boot are dropped when loaded. A file without the line (older vnetcfg) counts as this boot.
 */
#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif
static char *boot_identity(void) {
        _cleanup_free_ char *boot = NULL;
        unsigned long long ns = 0;
        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

        if (fd >= 0) {
                uint64_t cookie = 0;
                socklen_t len = sizeof(cookie);
                if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) == 0 && len == sizeof(cookie))
                        ns = cookie;
                close(fd);
        }
        struct stat st;
        if (ns == 0 && stat("/proc/self/ns/net", &st) == 0)
                ns = (unsigned long long)st.st_ino;
        if (vnc_sysctl_read("kernel.random.boot_id", &boot) < 0)
                boot = strdup("unknown");
        return boot ? vnc_strdup_printf("%s/%llu", boot, ns) : NULL;
}

static int claims_load(int dirfd, struct claims *cl) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *line = NULL;
        size_t linesz = 0;
        FILE *f;

        fd = openat(dirfd, CLAIMS_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        f = fdopen(fd, "re");
        if (!f)
                return -errno;
        TAKE_FD(fd);
        int r = 0;
        while (getline(&line, &linesz, f) > 0) {
                char *save = NULL, *key = strtok_r(line, " \t\n", &save);
                char *orig = key ? strtok_r(NULL, " \t\n", &save) : NULL;
                if (!key || !orig)
                        continue;
                if (streq(key, "#boot")) {
                        _cleanup_free_ char *now = boot_identity();
                        if (!now) {
                                r = -ENOMEM;
                                break;
                        }
                        if (!streq(now, orig)) {
                                claims_done(cl); /* another boot's claims: none hold here (see boot_identity) */
                                break;
                        }
                        continue;
                }
                if (VNC_GROW(cl->c, cl->alloc, cl->n + 1) < 0) {
                        r = -ENOMEM;
                        break;
                }
                struct claim *c = &cl->c[cl->n++];
                c->key = strdup(key);
                c->original = unescape(orig);
                if (!c->key || !c->original) {
                        r = -ENOMEM;
                        break;
                }
                for (char *p; (p = strtok_r(NULL, " \t\n", &save));)
                        if ((r = claim_add_profile(c, p)) < 0)
                                break;
                if (r < 0)
                        break;
        }
        if (r == 0 && ferror(f))
                r = -EIO;
        fclose(f);
        return r;
}


/* Write the claims to a temporary file, fsync it, rename it over the old one, fsync the directory. */
static int claims_save(int dirfd, const struct claims *cl) {
        _cleanup_close_ int fd = -1;
        int r = 0;

        fd = openat(dirfd, CLAIMS_TMP, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0 && errno == EEXIST) { /* left behind by a crash; we hold the state lock */
                if (unlinkat(dirfd, CLAIMS_TMP, 0) < 0)
                        return -errno;
                fd = openat(dirfd, CLAIMS_TMP, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        }
        if (fd < 0)
                return -errno;
        if (cl->n > 0) {
                _cleanup_free_ char *boot = boot_identity();
                _cleanup_free_ char *head = boot ? vnc_strdup_printf("#boot %s\n", boot) : NULL;
                r = head ? vnc_write_all(fd, head, strlen(head)) : -ENOMEM;
        }
        for (size_t i = 0; i < cl->n && r == 0; i++) {
                _cleanup_free_ char *orig = escape(cl->c[i].original);
                if (!orig) {
                        r = -ENOMEM;
                        break;
                }
                r = vnc_write_all(fd, cl->c[i].key, strlen(cl->c[i].key));
                if (r == 0)
                        r = vnc_write_all(fd, " ", 1);
                if (r == 0)
                        r = vnc_write_all(fd, orig, strlen(orig));
                for (size_t j = 0; j < cl->c[i].n_profiles && r == 0; j++) {
                        r = vnc_write_all(fd, " ", 1);
                        if (r == 0)
                                r = vnc_write_all(fd, cl->c[i].profiles[j], strlen(cl->c[i].profiles[j]));
                }
                if (r == 0)
                        r = vnc_write_all(fd, "\n", 1);
        }
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (r == 0 && renameat(dirfd, CLAIMS_TMP, dirfd, CLAIMS_FILE) < 0)
                r = -errno;
        if (r < 0) {
                (void)unlinkat(dirfd, CLAIMS_TMP, 0);
                return r;
        }
        if (fsync(dirfd) < 0)
                return -errno;
        return 0;
}

static struct claim *claims_find(struct claims *cl, const char *key) {
        for (size_t i = 0; i < cl->n; i++)
                if (streq(cl->c[i].key, key))
                        return &cl->c[i];
        return NULL;
}

static bool profile_name_ok(const char *p) {
        if (!p || !*p)
                return false;
        for (; *p; p++)
                if ((unsigned char)*p <= ' ' || *p == '%')
                        return false;
        return true;
}

/*
 * Writing net.ipv4.ip_forward with a new value makes the kernel rewrite other
 * keys (inet_forward_change): conf/all/accept_redirects becomes the opposite of
 * forwarding, conf/default/forwarding and every interface's conf/<if>/forwarding
 * follow it. Before such a write, their values are recorded as claims of the
 * pseudo-profile FORWARD_SIDE (no profile name contains '@'), so the release
 * that writes ip_forward back can write them back too, exactly.
 */
#define IP_FORWARD "net.ipv4.ip_forward"
#define FORWARD_SIDE "@" IP_FORWARD

static int side_claim(struct claims *cl, const char *key, bool *changed) {
        _cleanup_free_ char *cur = NULL;
        struct claim *c = claims_find(cl, key);
        int r;

        if (!c) {
                r = vnc_sysctl_read(key, &cur);
                if (r == -ENOENT)
                        return 0; /* the interface just went away */
                if (r < 0)
                        return r;
                if (VNC_GROW(cl->c, cl->alloc, cl->n + 1) < 0)
                        return -ENOMEM;
                c = &cl->c[cl->n++];
                *c = (struct claim){.key = strdup(key), .original = TAKE_PTR(cur)};
                if (!c->key)
                        return -ENOMEM;
                *changed = true;
        }
        size_t before = c->n_profiles;
        r = claim_add_profile(c, FORWARD_SIDE);
        if (r < 0)
                return r;
        *changed = *changed || c->n_profiles != before;
        return 0;
}

static int record_forward_side_effects(struct claims *cl, const char *value, bool *changed) {
        _cleanup_free_ char *cur = NULL;
        DIR *d;
        int r;

        r = vnc_sysctl_read(IP_FORWARD, &cur);
        if (r < 0)
                return r;
        if (streq(cur, value))
                return 0; /* the kernel changes nothing else when the value stays */
        static const char *const fixed[] = {"net.ipv4.conf.all.accept_redirects",
                                            "net.ipv4.conf.default.accept_redirects",
                                            "net.ipv4.conf.default.forwarding"};
        for (size_t i = 0; i < ELEMENTSOF(fixed); i++)
                if ((r = side_claim(cl, fixed[i], changed)) < 0)
                        return r;
        if (vnc_record_on()) {
                /* The recorded host's interfaces (tests/record). */
                const struct vnc_live *h = vnc_record_host();
                for (size_t i = 0; i < h->n_links; i++) {
                        _cleanup_free_ char *key = vnc_strdup_printf("net.ipv4.conf.%s.forwarding", h->links[i].name);
                        if ((r = key ? side_claim(cl, key, changed) : -ENOMEM) < 0)
                                return r;
                }
                return 0;
        }
        d = opendir("/proc/sys/net/ipv4/conf");
        if (!d)
                return -errno;
        r = 0;
        for (struct dirent *de; r == 0 && (de = readdir(d));) {
                if (de->d_name[0] == '.' || streq(de->d_name, "all") || streq(de->d_name, "default") ||
                    !vnc_ifname_valid(de->d_name))
                        continue;
                _cleanup_free_ char *key = vnc_strdup_printf("net.ipv4.conf.%s.forwarding", de->d_name);
                r = key ? side_claim(cl, key, changed) : -ENOMEM;
        }
        closedir(d);
        return r;
}

/* After ip_forward got its original back: every recorded side value too (vanished interfaces skipped). */
static int restore_forward_side_effects(struct claims *cl, struct vnc_error *e) {
        int first = 0;

        for (size_t i = 0; i < cl->n;) {
                struct claim *c = &cl->c[i];
                size_t j;
                for (j = 0; j < c->n_profiles; j++)
                        if (streq(c->profiles[j], FORWARD_SIDE))
                                break;
                if (j == c->n_profiles) {
                        i++;
                        continue;
                }
                free(c->profiles[j]);
                c->profiles[j] = c->profiles[--c->n_profiles];
                if (c->n_profiles > 0) {
                        i++;
                        continue;
                }
                int r = vnc_sysctl_write(c->key, c->original);
                if (r < 0 && r != -ENOENT && first == 0) {
                        first = vnc_error_set(e, VNC_ERR_RUNTIME, r, "sysctl \"%s\": could not restore \"%s\"",
                                              c->key, c->original);
                        vnc_error_detail(e, "%s", strerror(-r));
                }
                free(c->key);
                free(c->original);
                free(c->profiles);
                *c = cl->c[--cl->n];
        }
        return first;
}

int vnc_sysctl_claim(const char *state_dir, const char *key, const char *value, const char *profile,
                     struct vnc_error *e) {
        _cleanup_(claims_done) struct claims cl = {0};
        _cleanup_free_ char *path = NULL, *cur = NULL;
        _cleanup_close_ int dirfd = -1;
        int r;

        if (vnc_sysctl_path(key, &path) < 0 || !profile_name_ok(profile) || strpbrk(value, "\n"))
                return vnc_error_set(e, VNC_ERR_RUNTIME, -EINVAL, "sysctl \"%s\": invalid key, value or profile",
                                     key);
        dirfd = open_state_dir(state_dir);
        if (dirfd < 0) {
                r = vnc_error_set(e, VNC_ERR_RUNTIME, dirfd, "sysctl \"%s\": could not open state directory \"%s\"",
                                  key, state_dir ? state_dir : "");
                vnc_error_detail(e, "%s", strerror(-dirfd));
                return r;
        }
        r = claims_load(dirfd, &cl);
        if (r < 0)
                goto fail_file;
        struct claim *c = claims_find(&cl, key);
        bool changed = false;
        if (!c) {
                r = vnc_sysctl_read(key, &cur);
                if (r < 0) {
                        int rr = vnc_error_set(e, VNC_ERR_RUNTIME, r, "sysctl \"%s\": could not read", key);
                        vnc_error_detail(e, "%s", strerror(-r));
                        return rr;
                }
                if (VNC_GROW(cl.c, cl.alloc, cl.n + 1) < 0)
                        return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "sysctl \"%s\": out of memory", key);
                c = &cl.c[cl.n++];
                c->key = strdup(key);
                c->original = TAKE_PTR(cur);
                if (!c->key)
                        return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "sysctl \"%s\": out of memory", key);
                changed = true;
        }
        size_t before = c->n_profiles;
        r = claim_add_profile(c, profile);
        if (r < 0)
                return vnc_error_set(e, VNC_ERR_RUNTIME, r, "sysctl \"%s\": out of memory", key);
        changed = changed || c->n_profiles != before;
        if (streq(key, IP_FORWARD)) {
                bool side = false;
                r = record_forward_side_effects(&cl, value, &side);
                if (r < 0) {
                        int rr = vnc_error_set(e, VNC_ERR_RUNTIME, r,
                                               "sysctl \"%s\": could not record what writing it changes", key);
                        vnc_error_detail(e, "%s", strerror(-r));
                        return rr;
                }
                changed = changed || side;
        }
        /* The record of the original value is durable before the value changes. */
        if (changed) {
                r = claims_save(dirfd, &cl);
                if (r < 0)
                        goto fail_file;
        }
        r = vnc_sysctl_write(key, value);
        if (r < 0) {
                int rr = vnc_error_set(e, VNC_ERR_RUNTIME, r, "sysctl \"%s\": could not set to \"%s\"", key, value);
                vnc_error_detail(e, "%s", strerror(-r));
                return rr;
        }
        return 0;

fail_file:;
        int rr = vnc_error_set(e, VNC_ERR_RUNTIME, r, "sysctl \"%s\": could not update \"%s/%s\"", key, state_dir,
                               CLAIMS_FILE);
        vnc_error_detail(e, "%s", strerror(-r));
        return rr;
}

int vnc_sysctl_release(const char *state_dir, const char *key, const char *profile, struct vnc_error *e) {
        _cleanup_(claims_done) struct claims cl = {0};
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int dirfd = -1;
        int r;

        if (vnc_sysctl_path(key, &path) < 0 || !profile_name_ok(profile))
                return vnc_error_set(e, VNC_ERR_RUNTIME, -EINVAL, "sysctl \"%s\": invalid key or profile", key);
        dirfd = open_state_dir(state_dir);
        if (dirfd < 0) {
                r = vnc_error_set(e, VNC_ERR_RUNTIME, dirfd, "sysctl \"%s\": could not open state directory \"%s\"",
                                  key, state_dir ? state_dir : "");
                vnc_error_detail(e, "%s", strerror(-dirfd));
                return r;
        }
        r = claims_load(dirfd, &cl);
        if (r < 0)
                goto fail_file;
        struct claim *c = claims_find(&cl, key);
        if (!c)
                return 0;
        size_t j;
        for (j = 0; j < c->n_profiles; j++)
                if (streq(c->profiles[j], profile))
                        break;
        if (j == c->n_profiles)
                return 0; /* not ours: nothing to release */
        free(c->profiles[j]);
        c->profiles[j] = c->profiles[--c->n_profiles];
        if (c->n_profiles == 0) {
                /* Last claimer: restore first, then forget (a crash in between repeats the restore). */
                r = vnc_sysctl_write(key, c->original);
                if (r < 0) {
                        int rr = vnc_error_set(e, VNC_ERR_RUNTIME, r, "sysctl \"%s\": could not restore \"%s\"", key,
                                               c->original);
                        vnc_error_detail(e, "%s", strerror(-r));
                        return rr;
                }
                free(c->key);
                free(c->original);
                free(c->profiles);
                *c = cl.c[--cl.n];
                if (streq(key, IP_FORWARD)) {
                        r = restore_forward_side_effects(&cl, e);
                        if (r < 0)
                                return r;
                }
        }
        r = claims_save(dirfd, &cl);
        if (r < 0)
                goto fail_file;
        return 0;

fail_file:;
        int rr = vnc_error_set(e, VNC_ERR_RUNTIME, r, "sysctl \"%s\": could not update \"%s/%s\"", key, state_dir,
                               CLAIMS_FILE);
        vnc_error_detail(e, "%s", strerror(-r));
        return rr;
}

/* ---- backend ---- */

static bool sysctl_handles(enum vnc_action_kind k) {
        return k == VNC_ACT_SYSCTL;
}

static int sysctl_one(struct vnc_backend_ctx *ctx, const struct vnc_action *a, struct vnc_error *e) {
        if (a->kind != VNC_ACT_SYSCTL)
                return vnc_error_set(e, VNC_ERR_RUNTIME, -EINVAL, "sysctl backend: a %s action is not a sysctl",
                                     vnc_action_kind_to_string(a->kind));
        if (a->op == VNC_OP_CREATE || a->op == VNC_OP_MODIFY)
                return vnc_sysctl_claim(ctx->state_dir, a->key, a->value, a->profile, e);
        return vnc_sysctl_release(ctx->state_dir, a->key, a->profile, e);
}

static int sysctl_run(struct vnc_backend_ctx *ctx, const struct vnc_action *acts, size_t n, unsigned flags,
                      size_t *ret_done, struct vnc_error *e) {
        return vnc_backend_run_each(ctx, acts, n, flags, ret_done, e, sysctl_one);
}

const struct vnc_backend_ops vnc_backend_sysctl = {
        .name = "sysctl",
        .handles = sysctl_handles,
        .run = sysctl_run,
};
