/* SPDX-License-Identifier: MIT */
/*
 * The DHCP backend: one dnsmasq per profile, serving every DHCP network of
 * the profile from one config blob (core/dhcp.c writes the text).
 *
 * dnsmasq is started with fork + execve, an explicit argv and a two-entry
 * environment, and left to daemonize itself: its first process reports every
 * startup error (bad option, socket in use, unknown user) on stderr and exits
 * non-zero, or exits 0 once the daemon has written its pid file and finished
 * starting. We read that stderr through a pipe, bounded by a deadline, and put
 * dnsmasq's own words in the error. The daemon calls setsid() and points its
 * stdio at /dev/null, so it holds nothing of ours and outlives vnetcfg.
 *
 * The soft RLIMIT_NOFILE is raised towards the hard one (at most 65536) for
 * dnsmasq: it needs two DNS sockets per served bridge address.
 *
 * Options on the command line (the blob holds the per-network ones):
 *   --conf-file=<state>/blobs/<hash>  only this file: /etc/dnsmasq.conf and
 *                                     /etc/dnsmasq.d are not read
 *   --pid-file, --dhcp-leasefile      in <state>/dnsmasq/, absolute paths
 *                                     (the daemon chdirs to /)
 *   --user=nobody                     dnsmasq drops root after opening its
 *                                     sockets, pid and lease files; the lease
 *                                     file stays writable through the fd it
 *                                     keeps, so the 0700 state dir is fine
 *   --no-hosts                        never hand the host's /etc/hosts to guests
 */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "backends.h"
#include "dnsmasq.h"
#include "dnsmasq-leases.h"
#include "model.h"
#include "record.h"

#define START_TIMEOUT_MS 5000
#define TERM_TIMEOUT_MS 5000
#define KILL_TIMEOUT_MS 2000
#define STDERR_MAX 4096
/* dnsmasq holds two DNS sockets (UDP, TCP) per address of every bridge it serves:
 * 500 bridges need more than the usual soft limit of 1024 descriptors. */
#define NOFILE_WANT 65536

static const char *const dnsmasq_candidates[] = {"/usr/sbin/dnsmasq", "/usr/bin/dnsmasq", "/sbin/dnsmasq",
                                                 "/bin/dnsmasq"};

const char *vnc_dnsmasq_binary(void) {
        for (size_t i = 0; i < ELEMENTSOF(dnsmasq_candidates); i++)
                if (access(dnsmasq_candidates[i], X_OK) == 0)
                        return dnsmasq_candidates[i];
        return NULL;
}

/* [a-z0-9][a-z0-9_-]{0,31}: checked again here because it becomes a path. */
static bool profile_valid(const char *p) {
        size_t n = p ? strlen(p) : 0;
        if (n == 0 || n > 32)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = p[i];
                bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (i > 0 && (c == '_' || c == '-'));
                if (!ok)
                        return false;
        }
        return true;
}

static bool blob_valid(const char *h) {
        if (!h || strlen(h) != 16)
                return false;
        for (size_t i = 0; i < 16; i++)
                if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
                        return false;
        return true;
}

static int64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int remaining_ms(int64_t deadline) {
        int64_t left = deadline - now_ms();
        return left < 0 ? 0 : (int)left;
}

struct dm_paths {
        char *state; /* canonical (absolute) state dir */
        char *dir;   /* <state>/dnsmasq */
        char *pid;
        char *leases;
        char *record; /* <profile>.blob */
        char *record_tmp;
        char *pid_arg; /* "--pid-file=<pid>", what /proc/<pid>/cmdline must contain */
};

static void dm_paths_done(struct dm_paths *p) {
        free(p->state);
        free(p->dir);
        free(p->pid);
        free(p->leases);
        free(p->record);
        free(p->record_tmp);
        free(p->pid_arg);
        *p = (struct dm_paths){0};
}

static int dm_paths_init(const char *state_dir, const char *profile, struct dm_paths *ret) {
        _cleanup_(dm_paths_done) struct dm_paths p = {0};

        if (!state_dir || !profile_valid(profile))
                return -EINVAL;
        p.state = realpath(state_dir, NULL);
        if (!p.state)
                return -errno;
        p.dir = vnc_strdup_printf("%s/dnsmasq", p.state);
        p.pid = vnc_strdup_printf("%s/dnsmasq/%s.pid", p.state, profile);
        p.leases = vnc_dnsmasq_lease_path(p.state, profile);
        p.record = vnc_strdup_printf("%s/dnsmasq/%s.blob", p.state, profile);
        p.record_tmp = vnc_strdup_printf("%s/dnsmasq/.%s.blob.tmp", p.state, profile); /* vnc_write_file_atomic's */
        p.pid_arg = p.pid ? vnc_strdup_printf("--pid-file=%s", p.pid) : NULL;
        if (!p.dir || !p.pid || !p.leases || !p.record || !p.record_tmp || !p.pid_arg)
                return -ENOMEM;
        *ret = p;
        p = (struct dm_paths){0};
        return 0;
}

/* Whole small file, NUL-terminated; -ENOENT when absent. */
static int read_small(const char *path, size_t max, char **ret, size_t *ret_len) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        _cleanup_free_ char *buf = NULL;
        size_t n = 0, alloc = 0;

        if (fd < 0)
                return -errno;
        for (;;) {
                if (n + 1 >= alloc) {
                        if (alloc >= max)
                                return -EFBIG;
                        size_t na = alloc ? alloc * 2 : 256;
                        char *nb = realloc(buf, na);
                        if (!nb)
                                return -ENOMEM;
                        buf = nb;
                        alloc = na;
                }
                ssize_t k = read(fd, buf + n, alloc - n - 1);
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
        if (ret_len)
                *ret_len = n;
        *ret = TAKE_PTR(buf);
        return 0;
}

/* The pid in a pid file: 0 when the file is absent or holds no valid pid. */
static pid_t read_pidfile(const char *path) {
        _cleanup_free_ char *s = NULL;
        char *end;

        if (read_small(path, 64, &s, NULL) < 0)
                return 0;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (errno || end == s || v <= 1 || v > INT32_MAX)
                return 0;
        while (*end == '\n' || *end == ' ')
                end++;
        return *end ? 0 : (pid_t)v;
}

/* Does /proc/<pid>/cmdline hold exactly arg as one of its arguments? */
static bool cmdline_has(pid_t pid, const char *arg) {
        _cleanup_free_ char *path = vnc_strdup_printf("/proc/%d/cmdline", (int)pid), *buf = NULL;
        size_t n;

        if (!path || read_small(path, 1 << 20, &buf, &n) < 0)
                return false;
        for (size_t i = 0; i < n;) {
                size_t l = strnlen(buf + i, n - i);
                if (l == strlen(arg) && memcmp(buf + i, arg, l) == 0)
                        return true;
                i += l + 1;
        }
        return false;
}

static int pidfd_open_(pid_t pid) {
        return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int pidfd_signal(int pidfd, int sig) {
        return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/* The uid dnsmasq drops to (--user=nobody); (uid_t)-1 when there is no such user. */
static uid_t nobody_uid(void) {
        struct passwd pw, *res = NULL;
        char buf[1024];

        if (getpwnam_r("nobody", &pw, buf, sizeof(buf), &res) != 0 || !res)
                return (uid_t)-1;
        return pw.pw_uid;
}

static void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

/*
 * A dnsmasq of this profile that its pid file does not name (the file removed,
 * a state dir restored from a backup, a crash between spawn and pid file): found
 * by its argv, which names the profile's pid file. Only processes called
 * dnsmasq and owned by root or by the user dnsmasq drops to count, so no other
 * user can make vnetcfg signal a process by putting that argument in its own.
 * 0 when none.
 */
static pid_t scan_ours(const struct dm_paths *p) {
        _cleanup_(closedirp) DIR *d = opendir("/proc");
        uid_t nobody = (uid_t)-2;
        struct dirent *de;

        if (!d)
                return 0;
        while ((de = readdir(d))) {
                char *end, comm[32];
                struct stat st;
                long v = strtol(de->d_name, &end, 10);
                if (*end || v <= 1 || v > INT32_MAX || v == getpid())
                        continue;
                _cleanup_free_ char *path = vnc_strdup_printf("/proc/%ld/comm", v);
                _cleanup_close_ int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
                ssize_t n = fd >= 0 ? read(fd, comm, sizeof(comm) - 1) : -1;
                if (n <= 0)
                        continue;
                comm[n] = 0;
                if (!streq(comm, "dnsmasq\n") || fstatat(dirfd(d), de->d_name, &st, 0) < 0)
                        continue;
                if (st.st_uid != 0) {
                        if (nobody == (uid_t)-2)
                                nobody = nobody_uid();
                        if (st.st_uid != nobody)
                                continue;
                }
                if (cmdline_has((pid_t)v, p->pid_arg))
                        return (pid_t)v;
        }
        return 0;
}

/* Is pid the profile's dnsmasq? 1 (yes: its pid and a pidfd), 0 (no) or -errno. */
static int check_ours(const struct dm_paths *p, pid_t pid, pid_t *ret_pid, int *ret_pidfd) {
        _cleanup_close_ int pidfd = pidfd_open_(pid);
        if (pidfd < 0) {
                if (errno == ESRCH)
                        return 0;
                return -errno;
        }
        if (!cmdline_has(pid, p->pid_arg))
                return 0; /* dead (zombies have an empty cmdline), or a recycled pid */
        /* Still the same process after the check? */
        struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
        if (poll(&pfd, 1, 0) > 0)
                return 0;
        if (ret_pid)
                *ret_pid = pid;
        if (ret_pidfd)
                *ret_pidfd = TAKE_FD(pidfd);
        return 1;
}

/*
 * The profile's dnsmasq, if one runs: its pid and a pidfd taken before the
 * cmdline check, so what we later signal is the process we checked. The pid
 * file first; without a live process behind it, what runs with the profile's
 * argv. Returns 1 (found), 0 (none) or -errno.
 */
static int find_ours(const struct dm_paths *p, pid_t *ret_pid, int *ret_pidfd) {
        if (vnc_record_on()) {
                /* The recorded host's daemons (tests/record): no pid, no pidfd. */
                if (ret_pid)
                        *ret_pid = 0;
                if (ret_pidfd)
                        *ret_pidfd = -1;
                return vnc_record_dnsmasq_running(p->pid);
        }
        pid_t pid = read_pidfile(p->pid);
        if (pid > 0) {
                int r = check_ours(p, pid, ret_pid, ret_pidfd);
                if (r != 0)
                        return r;
        }
        pid = scan_ours(p);
        return pid > 0 ? check_ours(p, pid, ret_pid, ret_pidfd) : 0;
}

int vnc_dnsmasq_pid(const char *state_dir, const char *profile, pid_t *ret_pid) {
        _cleanup_(dm_paths_done) struct dm_paths p = {0};
        pid_t pid = 0;
        int r;

        r = dm_paths_init(state_dir, profile, &p);
        if (r == -ENOENT)
                r = 0;
        else if (r >= 0)
                r = find_ours(&p, &pid, NULL);
        if (r < 0)
                return r;
        *ret_pid = r > 0 ? pid : 0;
        return 0;
}

static int read_record(const struct dm_paths *p, char ret_blob[17]) {
        _cleanup_free_ char *s = NULL;
        int r;

        ret_blob[0] = 0;
        r = read_small(p->record, 64, &s, NULL);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        s[strcspn(s, "\n")] = 0;
        if (blob_valid(s))
                memcpy(ret_blob, s, 17);
        return 0;
}

/*
 * The config blob a running dnsmasq of ours was started with: its argv's
 * --conf-file=<state>/blobs/<hash>, what runs rather than what was last
 * recorded; the record when the argv names none.
 */
static int running_blob(const struct dm_paths *p, pid_t pid, char ret_blob[17]) {
        _cleanup_free_ char *path = vnc_strdup_printf("/proc/%d/cmdline", (int)pid), *buf = NULL;
        _cleanup_free_ char *prefix = vnc_strdup_printf("--conf-file=%s/blobs/", p->state);
        size_t n;

        if (!path || !prefix)
                return -ENOMEM;
        if (read_small(path, 1 << 20, &buf, &n) >= 0)
                for (size_t i = 0; i < n; i += strnlen(buf + i, n - i) + 1)
                        if (strncmp(buf + i, prefix, strlen(prefix)) == 0 && blob_valid(buf + i + strlen(prefix))) {
                                memcpy(ret_blob, buf + i + strlen(prefix), 17);
                                return 0;
                        }
        return read_record(p, ret_blob);
}

int vnc_dhcp_status(const char *state_dir, const char *profile, bool *ret_running, char ret_blob[17]) {
        _cleanup_(dm_paths_done) struct dm_paths p = {0};
        pid_t pid = 0;
        int r;

        *ret_running = false;
        ret_blob[0] = 0;
        r = dm_paths_init(state_dir, profile, &p);
        if (r == -ENOENT)
                return 0; /* no state dir, nothing runs */
        if (r < 0)
                return r;
        r = find_ours(&p, &pid, NULL);
        if (r < 0)
                return r;
        *ret_running = r > 0;
        return r > 0 ? running_blob(&p, pid, ret_blob) : read_record(&p, ret_blob);
}


/* <profile>.blob, written crash-safe. */
static int write_record(const struct dm_paths *p, const char *profile, const char *blob) {
        _cleanup_close_ int dfd = open(p->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        _cleanup_free_ char *name = vnc_strdup_printf("%s.blob", profile);
        char line[18];

        if (dfd < 0)
                return -errno;
        if (!name)
                return -ENOMEM;
        snprintf(line, sizeof(line), "%s\n", blob);
        return vnc_write_file_atomic(dfd, name, line, strlen(line));
}

static int unlink_missing_ok(const char *path) {
        if (unlink(path) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

/* Wait until the process behind pidfd has exited, at most timeout ms. True when it has. */
static bool wait_exit(int pidfd, int timeout_ms) {
        int64_t deadline = now_ms() + timeout_ms;
        for (;;) {
                struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
                int k = poll(&pfd, 1, remaining_ms(deadline));
                if (k > 0)
                        return true;
                if (k == 0)
                        return false;
                if (errno != EINTR)
                        return false;
        }
}

static int stop_one(const struct dm_paths *p, const char *profile, struct vnc_error *e);

/* Stop the profile's dnsmasq if it runs; its pid file and blob record go with it. */
static int stop_process(const struct dm_paths *p, const char *profile, struct vnc_error *e) {
        int r;

        /* Every one of ours: one the pid file names, and any more that run with the profile's argv. */
        for (int k = 0; k < 16; k++) {
                r = stop_one(p, profile, e);
                if (r <= 0)
                        break;
        }
        if (r < 0)
                return r;
        /* dnsmasq runs as nobody and cannot remove its pid file from our 0700 directory. */
        r = unlink_missing_ok(p->pid);
        if (r == 0)
                r = unlink_missing_ok(p->record);
        if (r < 0) {
                vnc_error_set(e, VNC_ERR_RUNTIME, r, "dnsmasq of profile \"%s\": could not remove its files in \"%s\"",
                              profile, p->dir);
                vnc_error_detail(e, "%s", strerror(-r));
        }
        return r;
}

/* Stop one dnsmasq of the profile: 1 when one was stopped, 0 when none runs, or -errno. */
static int stop_one(const struct dm_paths *p, const char *profile, struct vnc_error *e) {
        _cleanup_close_ int pidfd = -1;
        pid_t pid = 0;
        int r;

        r = find_ours(p, &pid, &pidfd);
        if (r < 0) {
                vnc_error_set(e, VNC_ERR_RUNTIME, r, "dnsmasq of profile \"%s\": could not check \"%s\"", profile,
                              p->pid);
                vnc_error_detail(e, "%s", strerror(-r));
                return r;
        }
        if (r > 0 && vnc_record_on())
                vnc_record_dnsmasq_stop(p->pid, profile);
        else if (r > 0) {
                if (pidfd_signal(pidfd, SIGTERM) < 0 && errno != ESRCH) {
                        r = -errno;
                        vnc_error_set(e, VNC_ERR_RUNTIME, r, "dnsmasq of profile \"%s\" (pid %d): could not stop",
                                      profile, (int)pid);
                        vnc_error_detail(e, "SIGTERM: %s", strerror(-r));
                        return r;
                }
                if (!wait_exit(pidfd, TERM_TIMEOUT_MS)) {
                        (void)pidfd_signal(pidfd, SIGKILL);
                        if (!wait_exit(pidfd, KILL_TIMEOUT_MS)) {
                                vnc_error_set(e, VNC_ERR_RUNTIME, -ETIMEDOUT,
                                              "dnsmasq of profile \"%s\" (pid %d): could not stop", profile, (int)pid);
                                vnc_error_detail(e, "still running %d ms after SIGTERM and SIGKILL",
                                                 TERM_TIMEOUT_MS + KILL_TIMEOUT_MS);
                                return -ETIMEDOUT;
                        }
                }
        }
        return r;
}

/* dnsmasq's stderr as one line: "dnsmasq: ...; dnsmasq: ..." */
static void one_line(char *s) {
        size_t lead = strspn(s, "\n ");
        memmove(s, s + lead, strlen(s + lead) + 1);
        size_t n = strlen(s);
        while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
                s[--n] = 0;
        for (char *c = s; *c; c++)
                if (*c == '\n' || (unsigned char)*c < ' ')
                        *c = ' ';
}

/*
 * fork + execve dnsmasq and wait for its first process to report. Only
 * async-signal-safe calls between fork and execve: everything is prepared before.
 */
static int spawn_dnsmasq(const struct dm_paths *p, const char *profile, const char *conf, struct vnc_error *e) {
        _cleanup_free_ char *conf_arg = NULL, *lease_arg = NULL;
        _cleanup_close_ int rfd = -1, wfd = -1, nullfd = -1, childfd = -1;
        char errbuf[STDERR_MAX + 1];
        size_t errlen = 0;
        int fds[2], status = 0, r;
        /* Recording: the binary's path is the host's business; the transcript says "dnsmasq". */
        const char *bin = vnc_record_on() ? "dnsmasq" : vnc_dnsmasq_binary();

        if (!bin)
                return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOENT,
                                     "dnsmasq of profile \"%s\": dnsmasq is not installed (apt-get install dnsmasq-base)",
                                     profile);
        conf_arg = vnc_strdup_printf("--conf-file=%s", conf);
        lease_arg = vnc_strdup_printf("--dhcp-leasefile=%s", p->leases);
        if (!conf_arg || !lease_arg)
                return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
        char *const argv[] = {(char *)bin,      conf_arg, p->pid_arg, lease_arg, (char *)"--user=nobody",
                              (char *)"--no-hosts", NULL};
        char *const envp[] = {(char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin", (char *)"LC_ALL=C", NULL};

        struct rlimit nofile;
        bool raise_nofile = getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < NOFILE_WANT &&
                            nofile.rlim_cur < nofile.rlim_max;
        if (raise_nofile)
                nofile.rlim_cur = nofile.rlim_max < NOFILE_WANT ? nofile.rlim_max : NOFILE_WANT;

        if (vnc_record_on()) {
                vnc_record_dnsmasq_start(p->pid, argv);
                return 0;
        }
        nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (nullfd < 0 || pipe2(fds, O_CLOEXEC) < 0) {
                r = -errno;
                vnc_error_set(e, VNC_ERR_RUNTIME, r, "dnsmasq of profile \"%s\": could not start", profile);
                vnc_error_detail(e, "%s", strerror(-r));
                return r;
        }
        rfd = fds[0];
        wfd = fds[1];

        pid_t pid = fork();
        if (pid < 0) {
                r = -errno;
                vnc_error_set(e, VNC_ERR_RUNTIME, r, "dnsmasq of profile \"%s\": could not start", profile);
                vnc_error_detail(e, "fork: %s", strerror(-r));
                return r;
        }
        if (pid == 0) {
                sigset_t none;
                struct sigaction dfl = {.sa_handler = SIG_DFL};

                sigemptyset(&none);
                for (int s = 1; s < NSIG; s++)
                        (void)sigaction(s, &dfl, NULL);
                (void)sigprocmask(SIG_SETMASK, &none, NULL);
                if (dup2(nullfd, 0) < 0 || dup2(nullfd, 1) < 0 || dup2(wfd, 2) < 0)
                        _exit(126);
                /* Nothing of ours, not even what our caller leaked to us, reaches the daemon. */
                if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0)
                        for (int fd = 3; fd < 65536; fd++)
                                (void)close(fd);
                if (raise_nofile)
                        (void)setrlimit(RLIMIT_NOFILE, &nofile);
                umask(0077);
                execve(bin, argv, envp);
                static const char msg[] = "vnetcfg: could not execute dnsmasq\n";
                (void)!write(2, msg, sizeof(msg) - 1);
                _exit(127);
        }

        closep(&wfd);
        wfd = -1;
        (void)fcntl(rfd, F_SETFL, O_NONBLOCK);
        childfd = pidfd_open_(pid);
        if (childfd < 0) {
                /* A kernel without pidfds (< 5.3): wait for the child blocking; dnsmasq's first
                 * process exits once the daemon is up or has failed. */
                while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                        ;
        }

        int64_t deadline = now_ms() + START_TIMEOUT_MS;
        bool exited = childfd < 0, eof = false;
        while (!exited || !eof) {
                struct pollfd pfd[2] = {{.fd = eof ? -1 : rfd, .events = POLLIN},
                                        {.fd = exited ? -1 : childfd, .events = POLLIN}};
                int k = poll(pfd, 2, exited ? 0 : remaining_ms(deadline));
                if (k < 0 && errno != EINTR)
                        break;
                if (k > 0 && (pfd[0].revents & (POLLIN | POLLHUP))) {
                        char tmp[512];
                        ssize_t m = read(rfd, tmp, sizeof(tmp));
                        if (m == 0)
                                eof = true;
                        else if (m > 0) {
                                size_t c = (size_t)m < STDERR_MAX - errlen ? (size_t)m : STDERR_MAX - errlen;
                                memcpy(errbuf + errlen, tmp, c);
                                errlen += c;
                        } else if (errno != EAGAIN && errno != EINTR)
                                eof = true;
                }
                if (k > 0 && (pfd[1].revents & POLLIN)) {
                        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                                ;
                        exited = true;
                        continue; /* drain what is buffered, then stop */
                }
                if (exited && k == 0)
                        break; /* the daemon may still hold the write end: do not wait for EOF */
                if (!exited && remaining_ms(deadline) == 0) {
                        (void)kill(pid, SIGKILL);
                        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                                ;
                        errbuf[errlen] = 0;
                        one_line(errbuf);
                        vnc_error_set(e, VNC_ERR_RUNTIME, -ETIMEDOUT,
                                      "dnsmasq of profile \"%s\": did not start within %d ms", profile,
                                      START_TIMEOUT_MS);
                        if (errlen)
                                vnc_error_detail(e, "%s", errbuf);
                        return -ETIMEDOUT;
                }
        }
        errbuf[errlen] = 0;
        one_line(errbuf);

        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                r = -EIO;
                vnc_error_set(e, VNC_ERR_RUNTIME, r, "dnsmasq of profile \"%s\": could not start", profile);
                if (errlen)
                        vnc_error_detail(e, "%s", errbuf);
                else if (WIFEXITED(status))
                        vnc_error_detail(e, "dnsmasq exited with status %d", WEXITSTATUS(status));
                else
                        vnc_error_detail(e, "dnsmasq killed by signal %d", WTERMSIG(status));
                return r;
        }

        /* dnsmasq writes its pid file before its first process exits; still, poll for it briefly. */
        for (;;) {
                r = find_ours(p, NULL, NULL);
                if (r > 0)
                        return 0;
                if (r < 0 || remaining_ms(deadline) == 0)
                        break;
                (void)poll(NULL, 0, 5);
        }
        vnc_error_set(e, VNC_ERR_RUNTIME, r < 0 ? r : -ESRCH,
                      "dnsmasq of profile \"%s\": started but is not running (pid file \"%s\")", profile, p->pid);
        if (errlen)
                vnc_error_detail(e, "%s", errbuf);
        else
                vnc_error_detail(e, "it exited right after starting; see the system log");
        return r < 0 ? r : -ESRCH;
}

int vnc_dnsmasq_ensure(const char *state_dir, const char *profile, const char *blob, struct vnc_error *e) {
        _cleanup_(dm_paths_done) struct dm_paths p = {0};
        _cleanup_free_ char *conf = NULL;
        char cur[17];
        int r;

        if (!profile_valid(profile) || !blob_valid(blob))
                return vnc_error_set(e, VNC_ERR_RUNTIME, -EINVAL, "dnsmasq of profile \"%s\": invalid profile or blob \"%s\"",
                                     profile ? profile : "", blob ? blob : "");
        r = dm_paths_init(state_dir, profile, &p);
        if (r < 0) {
                vnc_error_set(e, VNC_ERR_RUNTIME, r, "dnsmasq of profile \"%s\": state directory \"%s\"", profile,
                              state_dir ? state_dir : "");
                vnc_error_detail(e, "%s", strerror(-r));
                return r;
        }
        conf = vnc_strdup_printf("%s/blobs/%s", p.state, blob);
        if (!conf)
                return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");

        pid_t pid = 0;
        r = find_ours(&p, &pid, NULL);
        if (r > 0 && running_blob(&p, pid, cur) == 0 && streq(cur, blob))
                return 0; /* already running with this config */

        if (access(conf, R_OK) < 0) {
                r = -errno;
                vnc_error_set(e, VNC_ERR_RUNTIME, r, "dnsmasq of profile \"%s\": config \"%s\" is not readable",
                              profile, conf);
                vnc_error_detail(e, "%s", strerror(-r));
                return r;
        }
        /* Running with another config, or a stale pid file: stop first. The lease file stays. */
        r = stop_process(&p, profile, e);
        if (r < 0)
                return r;
        if (mkdir(p.dir, 0700) < 0 && errno != EEXIST) {
                r = -errno;
                vnc_error_set(e, VNC_ERR_RUNTIME, r, "dnsmasq of profile \"%s\": could not create \"%s\"", profile,
                              p.dir);
                vnc_error_detail(e, "%s", strerror(-r));
                return r;
        }
        r = spawn_dnsmasq(&p, profile, conf, e);
        if (r < 0)
                return r;
        r = write_record(&p, profile, blob);
        if (r < 0) {
                vnc_error_set(e, VNC_ERR_RUNTIME, r, "dnsmasq of profile \"%s\": could not write \"%s\"", profile,
                              p.record);
                vnc_error_detail(e, "%s", strerror(-r));
                struct vnc_error ignored = {0};
                (void)stop_process(&p, profile, &ignored);
                vnc_error_clear(&ignored);
                return r;
        }
        return 0;
}

int vnc_dnsmasq_stop(const char *state_dir, const char *profile, struct vnc_error *e) {
        _cleanup_(dm_paths_done) struct dm_paths p = {0};
        int r;

        if (!profile_valid(profile))
                return vnc_error_set(e, VNC_ERR_RUNTIME, -EINVAL, "dnsmasq of profile \"%s\": invalid profile name",
                                     profile ? profile : "");
        r = dm_paths_init(state_dir, profile, &p);
        if (r == -ENOENT)
                return 0; /* no state dir: nothing of ours can run */
        if (r < 0) {
                vnc_error_set(e, VNC_ERR_RUNTIME, r, "dnsmasq of profile \"%s\": state directory \"%s\"", profile,
                              state_dir ? state_dir : "");
                vnc_error_detail(e, "%s", strerror(-r));
                return r;
        }
        r = stop_process(&p, profile, e);
        if (r < 0)
                return r;
        r = unlink_missing_ok(p.leases);
        if (r == 0)
                r = unlink_missing_ok(p.record_tmp);
        if (r < 0) {
                vnc_error_set(e, VNC_ERR_RUNTIME, r, "dnsmasq of profile \"%s\": could not remove \"%s\"", profile,
                              p.leases);
                vnc_error_detail(e, "%s", strerror(-r));
                return r;
        }
        /* The directory goes when no other profile's dnsmasq keeps files in it. */
        if (rmdir(p.dir) < 0 && errno != ENOENT && errno != ENOTEMPTY && errno != EEXIST) {
                r = -errno;
                vnc_error_set(e, VNC_ERR_RUNTIME, r, "dnsmasq of profile \"%s\": could not remove \"%s\"", profile,
                              p.dir);
                vnc_error_detail(e, "%s", strerror(-r));
                return r;
        }
        return 0;
}

/* ---- backend ---- */

static bool dhcp_handles(enum vnc_action_kind k) {
        return k == VNC_ACT_DHCP;
}

static int dhcp_one(struct vnc_backend_ctx *ctx, const struct vnc_action *a, struct vnc_error *e) {
        if (a->kind != VNC_ACT_DHCP)
                return vnc_error_set(e, VNC_ERR_RUNTIME, -EINVAL, "dhcp backend: a %s action is not dhcp",
                                     vnc_action_kind_to_string(a->kind));
        if (a->op == VNC_OP_CREATE || a->op == VNC_OP_MODIFY)
                /* modify restarts with the new blob; its inverse (blobs swapped) with the old one */
                return vnc_dnsmasq_ensure(ctx->state_dir, a->profile, a->blob, e);
        return vnc_dnsmasq_stop(ctx->state_dir, a->profile, e);
}

static int dhcp_run(struct vnc_backend_ctx *ctx, const struct vnc_action *acts, size_t n, unsigned flags,
                    size_t *ret_done, struct vnc_error *e) {
        return vnc_backend_run_each(ctx, acts, n, flags, ret_done, e, dhcp_one);
}

const struct vnc_backend_ops vnc_backend_dhcp = {
        .name = "dhcp",
        .handles = dhcp_handles,
        .run = dhcp_run,
};
