/* SPDX-License-Identifier: MIT */
#pragma once

#include "backends.h"

/* firewalld over D-Bus (fwd-dbus.c): FW_OPEN actions of place VNC_OPEN_FIREWALLD. */
int vnc_fwd_run(struct vnc_backend_ctx *ctx, const struct vnc_action *acts, size_t n, unsigned flags,
                struct vnc_error *e);
/* Is firewalld running on the system bus; the zone of every interface bound to one. */
int vnc_fwd_live_read(struct vnc_live *live, struct vnc_error *e);
