/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the profile parser (JSON, position map, validation).
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Icore \
 *         tests/fuzz/fuzz-profile.c core/profile.c core/validate.c core/jsonpos.c \
 *         core/netaddr.c core/error.c core/util.c -ljansson -o fuzz-profile
 *   ./fuzz-profile -max_total_time=60 -dict=tests/fuzz/profile.dict profiles/
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct vnc_error e = {0};
        struct vnc_profile *p = NULL;

        if (vnc_profile_load_buffer("fuzz.json", (const char *)data, size, &p, &e) >= 0) {
                int line, col;
                vnc_profile_locate(p, "networks[0].bridge", &line, &col);
                vnc_profile_free(p);
        } else {
                free(vnc_error_format(&e));
        }
        vnc_error_clear(&e);
        return 0;
}
