/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <string.h>

#include "util.h"
#include "xt.h"

int vnc_xt_table_instantiated(const char *name) {
        _cleanup_close_ int fd = open("/proc/net/ip_tables_names", O_RDONLY | O_CLOEXEC);
        char buf[512];
        size_t len = 0;

        if (fd < 0)
                return -errno;
        for (;;) {
                ssize_t k = read(fd, buf + len, sizeof(buf) - 1 - len);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0 || (len += (size_t)k) >= sizeof(buf) - 1)
                        break;
        }
        buf[len] = 0;
        for (char *save = NULL, *tok = strtok_r(buf, "\n", &save); tok; tok = strtok_r(NULL, "\n", &save))
                if (streq(tok, name))
                        return 1;
        return 0;
}
