/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>

#include "util.h"

int vnc_grow(void **array, size_t *alloc, size_t need, size_t elem_size) {
        if (need <= *alloc)
                return 0;
        size_t n = *alloc ? *alloc : 8;
        while (n < need)
                n *= 2;
        if (n > SIZE_MAX / elem_size)
                return -ENOMEM;
        void *p = realloc(*array, n * elem_size);
        if (!p)
                return -ENOMEM;
        memset((char *)p + *alloc * elem_size, 0, (n - *alloc) * elem_size);
        *array = p;
        *alloc = n;
        return 0;
}

char *vnc_strdup_printf(const char *fmt, ...) {
        va_list ap;
        char *s = NULL;

        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        return s;
}

int vnc_write_all(int fd, const void *buf, size_t len) {
        const char *p = buf;

        while (len > 0) {
                ssize_t k = write(fd, p, len);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += k;
                len -= (size_t)k;
        }
        return 0;
}

int vnc_write_file_atomic(int dirfd, const char *name, const void *buf, size_t len) {
        _cleanup_free_ char *tmp = vnc_strdup_printf(".%s.tmp", name);
        int fd, r;

        if (!tmp)
                return -ENOMEM;
        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        r = vnc_write_all(fd, buf, len);
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        close(fd);
        if (r == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
                r = -errno;
        if (r < 0) {
                (void)unlinkat(dirfd, tmp, 0);
                return r;
        }
        return fsync(dirfd) < 0 ? -errno : 0;
}
