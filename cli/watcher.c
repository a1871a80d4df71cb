/* SPDX-License-Identifier: MIT */
/*
 * The --confirm-timeout watcher: a grandchild in a session of its own, with no
 * controlling terminal (it is not a session leader, so it can never get one),
 * stdin/stdout/stderr on /dev/null, SIGHUP ignored: closing the terminal or
 * losing the SSH connection does not stop it. It sleeps until the deadline and
 * then, under the state lock, rolls the generation back unless it was confirmed.
 * If it dies, the pending record stays: status shows it, rollback completes it.
 */
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "cli.h"

int cli_spawn_watcher(const struct cli *c, const char *name, unsigned gen, long long deadline) {
        char state[PATH_MAX];
        pid_t child;
        int status, ready[2];

        if (!realpath(c->state_dir, state))
                return -errno;
        /* apply returns only once the watcher has recorded itself in the pending record. */
        if (pipe2(ready, O_CLOEXEC) < 0)
                return -errno;
        child = fork();
        if (child < 0) {
                close(ready[0]);
                close(ready[1]);
                return -errno;
        }
        if (child == 0) {
                if (setsid() < 0)
                        _exit(1);
                pid_t grandchild = fork();
                if (grandchild != 0)
                        _exit(grandchild < 0);

                close(ready[0]);
                int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (fd < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
                        _exit(1);
                if (ready[1] != 3 && (dup2(ready[1], 3) < 0 || (ready[1] = 3, false)))
                        _exit(1);
                close_range(4, ~0U, 0);
                signal(SIGHUP, SIG_IGN);
                signal(SIGPIPE, SIG_IGN);
                if (chdir("/") < 0)
                        _exit(1);

                struct vnc_engine eng = {.host = c->host, .state_dir = state, .wait_seconds = 600};
                struct vnc_error e = {0};
                int recorded = vnc_engine_pending_watcher(&eng, name, gen, getpid(), &e);
                vnc_error_clear(&e);
                if (write(ready[1], recorded >= 0 ? "1" : "0", 1) < 0) {
                        /* apply gave up waiting; carry on, the deadline still holds */
                }
                close(ready[1]);
                struct timespec ts = {.tv_sec = (time_t)deadline};
                while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, NULL) == EINTR)
                        ;
                (void)vnc_engine_confirm_expired(&eng, name, gen, &e);
                vnc_error_clear(&e);
                _exit(0);
        }
        close(ready[1]);
        if (waitpid(child, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                close(ready[0]);
                return -ECHILD;
        }
        struct pollfd pfd = {.fd = ready[0], .events = POLLIN};
        char ok = 0;
        int k = poll(&pfd, 1, 10000);
        if (k == 1 && read(ready[0], &ok, 1) != 1)
                ok = 0;
        close(ready[0]);
        return ok == '1' ? 0 : -ETIMEDOUT;
}
