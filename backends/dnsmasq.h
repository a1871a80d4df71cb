/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

/*
 * The profile's one dnsmasq. Files, all under <state_dir>/dnsmasq/ (0700):
 *   <profile>.pid     written by dnsmasq itself (--pid-file)
 *   <profile>.leases  dnsmasq's lease database (--dhcp-leasefile), kept across restarts
 *   <profile>.blob    the config blob hash it was started with (ours, atomic replace)
 * The config is <state_dir>/blobs/<hash>, written by the executor before any action.
 *
 * A pid is only ever signalled after /proc/<pid>/cmdline showed our exact
 * "--pid-file=<path>" argument, through a pidfd taken before the check, so a
 * recycled pid is never hit.
 */

/* Where dnsmasq is installed ("/usr/sbin/dnsmasq"...), or NULL. */
const char *vnc_dnsmasq_binary(void);

/* Make sure the profile's dnsmasq runs with config blob hash; restart it when it runs another one. */
int vnc_dnsmasq_ensure(const char *state_dir, const char *profile, const char *blob, struct vnc_error *e);
/* Stop it (SIGTERM, then SIGKILL after a deadline) and remove its files. Absent is success. */
int vnc_dnsmasq_stop(const char *state_dir, const char *profile, struct vnc_error *e);
/* The pid of the profile's running dnsmasq (verified), or 0. */
int vnc_dnsmasq_pid(const char *state_dir, const char *profile, pid_t *ret_pid);
