/* SPDX-License-Identifier: MIT */
#pragma once

#include "error.h"

/*
 * procfs sysctls by key. Keys use dots between components; the interface
 * component of net.ipv{4,6}.{conf,neigh}.<ifname>.<leaf> may itself contain
 * dots and is checked with vnc_ifname_valid(). Nothing that could leave
 * /proc/sys ("/", "..", empty components) is accepted.
 */

/* "net.ipv4.ip_forward" -> "/proc/sys/net/ipv4/ip_forward". -EINVAL for a bad key. */
int vnc_sysctl_path(const char *key, char **ret);
/* The value with surrounding whitespace trimmed. */
int vnc_sysctl_read(const char *key, char **ret_value);
int vnc_sysctl_write(const char *key, const char *value);

/*
 * Claims, kept in <state_dir>/sysctl.claims: per key the value before the
 * first claim and the profiles claiming it. Claim records the original when
 * the key is unclaimed, adds the profile and writes value (always, so drift
 * is repaired). Release drops the profile; the last release writes the
 * original back. Both are idempotent. e names the key on failure.
 */
int vnc_sysctl_claim(const char *state_dir, const char *key, const char *value, const char *profile,
                     struct vnc_error *e);
int vnc_sysctl_release(const char *state_dir, const char *key, const char *profile, struct vnc_error *e);
