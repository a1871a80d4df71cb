/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdint.h>
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
