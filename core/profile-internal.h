/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Shared by profile.c (JSON -> model: keys, types, syntax, ranges, defaults)
 * and validate.c (the rules that relate values: modes, subnets, uniqueness).
 */

#include "model.h"

/* NULL when s is a valid interface name, else the reason. */
const char *vnc_ifname_problem(const char *s);

/* Name used in messages for the profile's file ("<stdin>" for "-"). */
const char *vnc_profile_display_file(const struct vnc_profile *p);

/*
 * Record an error about the value at path (or about its key, with key = true),
 * located through the profile's position map; when path is not in the text
 * (a default, a missing key) the nearest enclosing value is used.
 */
int vnc_profile_error(const struct vnc_profile *p, struct vnc_error *e, enum vnc_error_kind kind, bool key,
                      const char *path, const char *fmt, ...) _printf_(6, 7);

/*
 * The value at path as the user wrote it (JSON text: strings keep their quotes),
 * cut at 64 bytes; fallback (already quoted by the caller) when the text has no
 * such value. Never NULL: "?" when out of memory. Caller frees.
 */
char *vnc_profile_quote(const struct vnc_profile *p, const char *path, const char *fallback);

/* Check the rules that relate values to each other (SPEC section 2). */
int vnc_profile_validate(const struct vnc_profile *p, struct vnc_error *e);

#define VNC_LEASE_MIN 120u      /* dnsmasq's own minimum */
#define VNC_LEASE_MAX 31536000u /* one year */
