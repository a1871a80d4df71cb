/* SPDX-License-Identifier: MIT */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))

static inline void freep(void *p) { free(*(void **)p); }
#define _cleanup_free_ _cleanup_(freep)

static inline void closep(int *fd) {
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}
#define _cleanup_close_ _cleanup_(closep)

/* Hand ownership of a pointer over, leaving NULL behind. */
#define TAKE_PTR(p)                                                            \
        ({                                                                     \
                __typeof__(p) *_pp = &(p);                                     \
                __typeof__(p) _v = *_pp;                                       \
                *_pp = NULL;                                                   \
                _v;                                                            \
        })
#define TAKE_FD(fd)                                                            \
        ({                                                                     \
                int *_pfd = &(fd);                                             \
                int _v = *_pfd;                                                \
                *_pfd = -1;                                                    \
                _v;                                                            \
        })

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))
#define streq(a, b) (strcmp((a), (b)) == 0)

static inline bool streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return streq(a, b);
}

/* Grow *array so that it can hold at least need elements. */
int vnc_grow(void **array, size_t *alloc, size_t need, size_t elem_size);
#define VNC_GROW(arr, alloc, need) vnc_grow((void **)&(arr), &(alloc), (need), sizeof(*(arr)))

char *vnc_strdup_printf(const char *fmt, ...) _printf_(1, 2);

/* write(2) until done (EINTR retried). 0 or -errno. */
int vnc_write_all(int fd, const void *buf, size_t len);
/* Replace dirfd/name by buf, crash-safe: written to ".<name>.tmp" (0600, O_NOFOLLOW),
 * fsync'd, renamed over name, then the directory fsync'd. 0 or -errno. */
int vnc_write_file_atomic(int dirfd, const char *name, const void *buf, size_t len);
