/* SPDX-License-Identifier: MIT */
#pragma once

#include "host.h"

/* The real host: every operation of core/host.h done by the backends (cli/host.c). */
extern const struct vnc_host_ops vnc_host_real;
