/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "state.h"

static int state_error(struct vnc_error *e, int r, const char *what, const char *path) {
        vnc_error_set(e, VNC_ERR_RUNTIME, r, "state dir: could not %s \"%s\"", what, path);
        vnc_error_detail(e, "%s", strerror(-r));
        return r;
}

int vnc_state_open(const char *dir, struct vnc_state *ret, struct vnc_error *e) {
        struct stat st;
        int fd;

        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return state_error(e, -errno, "create", dir);
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return state_error(e, -errno, "open", dir);
        if (fstat(fd, &st) < 0) {
                int r = -errno;
                close(fd);
                return state_error(e, r, "inspect", dir);
        }
        if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH))) {
                close(fd);
                return vnc_error_set(e, VNC_ERR_RUNTIME, -EPERM,
                                     "state dir \"%s\" must be owned by the user running vnetcfg and not writable "
                                     "by group or others; refusing to use it",
                                     dir);
        }
        if (mkdirat(fd, "profiles", 0700) < 0 && errno != EEXIST) {
                int r = -errno;
                close(fd);
                return state_error(e, r, "create", "profiles");
        }
        *ret = (struct vnc_state){.dir = strdup(dir), .dir_fd = fd, .lock_fd = -1};
        if (!ret->dir) {
                close(fd);
                return -ENOMEM;
        }
        return 0;
}

void vnc_state_close(struct vnc_state *s) {
        if (s->lock_fd >= 0)
                close(s->lock_fd);
        if (s->dir_fd >= 0)
                close(s->dir_fd);
        free(s->dir);
        *s = (struct vnc_state){.dir_fd = -1, .lock_fd = -1};
}

int vnc_state_lock(struct vnc_state *s, double wait_seconds, struct vnc_error *e) {
        struct timespec start, now;
        int fd;

        fd = openat(s->dir_fd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return state_error(e, -errno, "open", "lock");
        clock_gettime(CLOCK_MONOTONIC, &start);
        for (;;) {
                if (flock(fd, LOCK_EX | LOCK_NB) == 0)
                        break;
                if (errno != EWOULDBLOCK && errno != EINTR) {
                        int r = -errno;
                        close(fd);
                        return state_error(e, r, "lock", "lock");
                }
                clock_gettime(CLOCK_MONOTONIC, &now);
                double waited = (now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9;
                if (waited >= wait_seconds) {
                        close(fd);
                        return vnc_error_set(e, VNC_ERR_LOCKED, -EWOULDBLOCK,
                                             "another vnetcfg holds the lock on \"%s\" (waited %.0f s; see --wait)",
                                             s->dir, wait_seconds);
                }
                /* flock has no timeout; poll at a short interval until the deadline. */
                nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
        }
        s->lock_fd = fd;
        return 0;
}

static int profile_dir(struct vnc_state *s, const char *profile, bool create) {
        char path[128];

        if (!vnc_name_valid(profile))
                return -EINVAL;
        snprintf(path, sizeof(path), "profiles/%s", profile);
        if (create && mkdirat(s->dir_fd, path, 0700) < 0 && errno != EEXIST)
                return -errno;
        int fd = openat(s->dir_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        return fd < 0 ? -errno : fd;
}

static int cmp_unsigned(const void *a, const void *b) {
        unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
        return x < y ? -1 : x > y;
}

int vnc_state_generations(struct vnc_state *s, const char *profile, unsigned **ret, size_t *ret_n) {
        _cleanup_free_ unsigned *gens = NULL;
        size_t n = 0, alloc = 0;
        struct dirent *de;
        int fd = profile_dir(s, profile, false);
        DIR *d;

        *ret = NULL;
        *ret_n = 0;
        if (fd == -ENOENT)
                return 0;
        if (fd < 0)
                return fd;
        d = fdopendir(fd);
        if (!d) {
                close(fd);
                return -errno;
        }
        while ((de = readdir(d))) {
                unsigned g;
                char tail[16];
                if (sscanf(de->d_name, "gen-%u.%15s", &g, tail) != 2 || !streq(tail, "journal"))
                        continue;
                if (VNC_GROW(gens, alloc, n + 1) < 0) {
                        closedir(d);
                        return -ENOMEM;
                }
                gens[n++] = g;
        }
        closedir(d);
        if (n)
                qsort(gens, n, sizeof(*gens), cmp_unsigned);
        *ret = TAKE_PTR(gens);
        *ret_n = n;
        return 0;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

void vnc_strv_free(char **v, size_t n) {
        for (size_t i = 0; v && i < n; i++)
                free(v[i]);
        free(v);
}

int vnc_state_profiles(struct vnc_state *s, char ***ret, size_t *ret_n) {
        char **v = NULL;
        size_t n = 0, alloc = 0;
        struct dirent *de;
        int fd = openat(s->dir_fd, "profiles", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        DIR *d;

        *ret = NULL;
        *ret_n = 0;
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        d = fdopendir(fd);
        if (!d) {
                close(fd);
                return -errno;
        }
        while ((de = readdir(d))) {
                _cleanup_free_ unsigned *gens = NULL;
                size_t ng = 0;
                if (!vnc_name_valid(de->d_name))
                        continue;
                if (vnc_state_generations(s, de->d_name, &gens, &ng) < 0 || ng == 0)
                        continue;
                if (VNC_GROW(v, alloc, n + 1) < 0 || !(v[n] = strdup(de->d_name))) {
                        closedir(d);
                        vnc_strv_free(v, n);
                        return -ENOMEM;
                }
                n++;
        }
        closedir(d);
        if (n)
                qsort(v, n, sizeof(*v), cmp_str);
        *ret = v;
        *ret_n = n;
        return 0;
}


int vnc_state_save_profile(struct vnc_state *s, const char *profile, unsigned gen, const char *text, size_t len,
                           struct vnc_error *e) {
        char name[64];
        int dfd = profile_dir(s, profile, true), r;

        if (dfd < 0)
                return state_error(e, dfd, "open the directory of profile", profile);
        snprintf(name, sizeof(name), "gen-%u.json", gen);
        r = vnc_write_file_atomic(dfd, name, text, len);
        close(dfd);
        return r < 0 ? state_error(e, r, "write", name) : 0;
}

int vnc_state_load_applied(struct vnc_state *s, const char *profile, struct vnc_profile **ret, struct vnc_error *e) {
        _cleanup_free_ unsigned *gens = NULL;
        size_t n = 0;
        int r;

        *ret = NULL;
        r = vnc_state_generations(s, profile, &gens, &n);
        if (r < 0)
                return state_error(e, r, "list the generations of profile", profile);
        for (size_t i = n; i-- > 0;) {
                char path[512];
                struct stat st;
                snprintf(path, sizeof(path), "%s/profiles/%s/gen-%u.json", s->dir, profile, gens[i]);
                if (stat(path, &st) < 0)
                        continue; /* not committed */
                r = vnc_profile_load_file(path, ret, e);
                if (r < 0)
                        return r;
                return 1;
        }
        return 0;
}

int vnc_state_remove_generation(struct vnc_state *s, const char *profile, unsigned gen) {
        char name[64];
        int dfd = profile_dir(s, profile, false);

        if (dfd < 0)
                return dfd == -ENOENT ? 0 : dfd;
        snprintf(name, sizeof(name), "gen-%u.json", gen);
        if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
                goto fail;
        snprintf(name, sizeof(name), "gen-%u.journal", gen);
        if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
                goto fail;
        /* A crash in the middle of an atomic write leaves its temporary file. */
        snprintf(name, sizeof(name), ".gen-%u.json.tmp", gen);
        if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
                goto fail;
        fsync(dfd);
        close(dfd);
        /* Remove the profile's directory when it is empty; failure (not empty) is fine. */
        snprintf(name, sizeof(name), "profiles/%s", profile);
        (void)unlinkat(s->dir_fd, name, AT_REMOVEDIR);
        return 0;
fail:;
        int r = -errno;
        close(dfd);
        return r;
}

/* ---- journal ------------------------------------------------------------ */

#define JOURNAL_MAGIC "vnetcfg-journal 1\n"

int vnc_journal_begin(struct vnc_state *s, const char *profile, unsigned gen, struct vnc_journal *ret,
                      struct vnc_error *e) {
        char name[64];
        int dfd = profile_dir(s, profile, true), fd, r;

        if (dfd < 0)
                return state_error(e, dfd, "open the directory of profile", profile);
        snprintf(name, sizeof(name), "gen-%u.journal", gen);
        fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) {
                r = -errno;
                close(dfd);
                return state_error(e, r, "create", name);
        }
        r = vnc_write_all(fd, JOURNAL_MAGIC, strlen(JOURNAL_MAGIC));
        if (r == 0 && fdatasync(fd) < 0)
                r = -errno;
        if (r == 0 && fsync(dfd) < 0)
                r = -errno;
        close(dfd);
        if (r < 0) {
                close(fd);
                return state_error(e, r, "write", name);
        }
        *ret = (struct vnc_journal){.fd = fd, .gen = gen};
        return 0;
}

int vnc_journal_record(struct vnc_journal *j, const struct vnc_action *acts, size_t n, struct vnc_error *e) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        int r = 0;

        if (!f)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                struct vnc_action inv;
                _cleanup_free_ char *d = vnc_action_serialize(&acts[i]);
                vnc_action_inverse(&acts[i], &inv);
                _cleanup_free_ char *u = vnc_action_serialize(&inv);
                if (!d || !u) {
                        r = -ENOMEM;
                        break;
                }
                fprintf(f, "do %s\nundo %s\n", d, u);
        }
        if (fclose(f) != 0 && r == 0)
                r = -ENOMEM;
        if (r == 0)
                r = vnc_write_all(j->fd, buf, size);
        free(buf);
        if (r == 0 && fdatasync(j->fd) < 0)
                r = -errno;
        if (r < 0)
                return state_error(e, r, "write the journal of generation", "");
        return 0;
}

int vnc_journal_commit(struct vnc_journal *j, struct vnc_error *e) {
        int r = vnc_write_all(j->fd, "commit\n", 7);
        if (r == 0 && fdatasync(j->fd) < 0)
                r = -errno;
        return r < 0 ? state_error(e, r, "commit the journal", "") : 0;
}

void vnc_journal_close(struct vnc_journal *j) {
        if (j->fd >= 0)
                close(j->fd);
        j->fd = -1;
}

int vnc_journal_read(struct vnc_state *s, const char *profile, unsigned gen, struct vnc_action **ret_undo,
                     size_t *ret_n, bool *ret_committed, struct vnc_error *e) {
        _cleanup_free_ struct vnc_action *undo = NULL;
        _cleanup_free_ char *line = NULL;
        size_t n = 0, alloc = 0, cap = 0, lineno = 0;
        bool committed = false;
        char name[64];
        int dfd = profile_dir(s, profile, false), fd;
        FILE *f;

        if (dfd < 0)
                return state_error(e, dfd, "open the directory of profile", profile);
        snprintf(name, sizeof(name), "gen-%u.journal", gen);
        fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        close(dfd);
        if (fd < 0)
                return state_error(e, -errno, "read", name);
        f = fdopen(fd, "r");
        if (!f) {
                close(fd);
                return -ENOMEM;
        }
        ssize_t len;
        while ((len = getline(&line, &cap, f)) >= 0) {
                lineno++;
                if (len > 0 && line[len - 1] == '\n')
                        line[--len] = 0;
                else if (len > 0)
                        break; /* torn last line from a crash: the action it describes never ran */
                if (lineno == 1 || len == 0 || strncmp(line, "do ", 3) == 0)
                        continue;
                if (streq(line, "commit")) {
                        committed = true;
                        continue;
                }
                if (strncmp(line, "undo ", 5) != 0 || !ret_undo)
                        continue;
                if (VNC_GROW(undo, alloc, n + 1) < 0) {
                        fclose(f);
                        return -ENOMEM;
                }
                if (vnc_action_parse(line + 5, &undo[n]) < 0) {
                        fclose(f);
                        return vnc_error_set(e, VNC_ERR_RUNTIME, -EBADMSG, "journal \"%s/profiles/%s/%s\": line %zu is damaged",
                                             s->dir, profile, name, lineno);
                }
                n++;
        }
        fclose(f);
        if (ret_undo)
                *ret_undo = TAKE_PTR(undo);
        if (ret_n)
                *ret_n = n;
        *ret_committed = committed;
        return 0;
}

/* ---- blobs -------------------------------------------------------------- */

int vnc_state_write_blob(struct vnc_state *s, const char *hash, const char *text, struct vnc_error *e) {
        char name[64];
        struct stat st;
        int dfd, r;

        if (strlen(hash) != 16 || strspn(hash, "0123456789abcdef") != 16)
                return vnc_error_set(e, VNC_ERR_RUNTIME, -EINVAL, "\"%s\" is not a blob hash", hash);
        if (mkdirat(s->dir_fd, "blobs", 0700) < 0 && errno != EEXIST)
                return state_error(e, -errno, "create", "blobs");
        dfd = openat(s->dir_fd, "blobs", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (dfd < 0)
                return state_error(e, -errno, "open", "blobs");
        snprintf(name, sizeof(name), "%s", hash);
        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
                close(dfd); /* content-addressed: already there means already right */
                return 0;
        }
        r = vnc_write_file_atomic(dfd, name, text, strlen(text));
        close(dfd);
        return r < 0 ? state_error(e, r, "write blob", hash) : 0;
}

/* Is hash named in a journal line ("blob=" or "old_blob=") or a dnsmasq record of this state dir? */
static bool blob_referenced(struct vnc_state *s, const char *hash) {
        char **names = NULL;
        size_t n = 0;
        bool found = false;

        if (vnc_state_profiles(s, &names, &n) < 0)
                return true; /* when in doubt, keep */
        for (size_t i = 0; i < n && !found; i++) {
                _cleanup_free_ unsigned *gens = NULL;
                size_t ng = 0;
                if (vnc_state_generations(s, names[i], &gens, &ng) < 0) {
                        found = true;
                        break;
                }
                for (size_t g = 0; g < ng && !found; g++) {
                        char path[128];
                        snprintf(path, sizeof(path), "profiles/%s/gen-%u.journal", names[i], gens[g]);
                        int fd = openat(s->dir_fd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                        FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
                        char *line = NULL;
                        size_t cap = 0;
                        if (!f) {
                                if (fd >= 0)
                                        close(fd);
                                found = true;
                                break;
                        }
                        while (!found && getline(&line, &cap, f) >= 0)
                                found = strstr(line, hash) != NULL;
                        free(line);
                        fclose(f);
                }
        }
        vnc_strv_free(names, n);
        return found;
}

void vnc_state_gc_blobs(struct vnc_state *s) {
        int dfd = openat(s->dir_fd, "blobs", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        struct dirent *de;
        DIR *d;

        if (dfd < 0)
                return;
        d = fdopendir(dfd);
        if (!d) {
                close(dfd);
                return;
        }
        while ((de = readdir(d))) {
                size_t len = strlen(de->d_name);
                /* Left by a crash in the middle of an atomic write (we hold the lock: nobody writes now). */
                if (de->d_name[0] == '.' && len > 4 && streq(de->d_name + len - 4, ".tmp")) {
                        (void)unlinkat(dirfd(d), de->d_name, 0);
                        continue;
                }
                if (len != 16 || strspn(de->d_name, "0123456789abcdef") != 16)
                        continue;
                if (!blob_referenced(s, de->d_name))
                        (void)unlinkat(dirfd(d), de->d_name, 0);
        }
        closedir(d);
        (void)unlinkat(s->dir_fd, "blobs", AT_REMOVEDIR); /* only when empty */
}

/* ---- pending confirmation ------------------------------------------------ */

int vnc_state_pending_read(struct vnc_state *s, const char *profile, struct vnc_pending *ret) {
        char buf[128];
        int dfd = profile_dir(s, profile, false), fd;
        ssize_t n;

        if (dfd < 0)
                return dfd == -ENOENT ? 0 : dfd;
        fd = openat(dfd, "pending", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        close(dfd);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
                return -EBADMSG;
        buf[n] = 0;
        *ret = (struct vnc_pending){0};
        if (sscanf(buf, "gen=%u deadline=%lld watcher=%d", &ret->gen, &ret->deadline, &ret->watcher) != 3)
                return -EBADMSG;
        return 1;
}

int vnc_state_pending_write(struct vnc_state *s, const char *profile, const struct vnc_pending *p, struct vnc_error *e) {
        char buf[128];
        int dfd = profile_dir(s, profile, true), r;

        if (dfd < 0)
                return state_error(e, dfd, "open the directory of profile", profile);
        snprintf(buf, sizeof(buf), "gen=%u deadline=%lld watcher=%d\n", p->gen, p->deadline, p->watcher);
        r = vnc_write_file_atomic(dfd, "pending", buf, strlen(buf));
        close(dfd);
        return r < 0 ? state_error(e, r, "write", "pending") : 0;
}

int vnc_state_pending_remove(struct vnc_state *s, const char *profile) {
        int dfd = profile_dir(s, profile, false);

        if (dfd < 0)
                return dfd == -ENOENT ? 0 : dfd;
        int r = unlinkat(dfd, "pending", 0) < 0 && errno != ENOENT ? -errno : 0;
        (void)unlinkat(dfd, ".pending.tmp", 0);
        fsync(dfd);
        close(dfd);
        /* The profile's directory goes when nothing is left in it (rolled back to nothing). */
        char path[128];
        snprintf(path, sizeof(path), "profiles/%s", profile);
        (void)unlinkat(s->dir_fd, path, AT_REMOVEDIR);
        return r;
}

void vnc_state_prune_profile(struct vnc_state *s, const char *profile) {
        char path[128];

        if (!vnc_name_valid(profile))
                return;
        snprintf(path, sizeof(path), "profiles/%s", profile);
        (void)unlinkat(s->dir_fd, path, AT_REMOVEDIR); /* fails, harmlessly, unless empty */
}
