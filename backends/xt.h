/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Shared by the iptables backend and the firewall verdict reader. x_tables
 * makes a table in a namespace the first time anything opens it, iptc_init
 * included: reading must not create tables, so ask the kernel which exist.
 * 1 when table name exists, 0 when not, -errno when /proc/net/ip_tables_names
 * cannot be read (ip_tables not loaded: let iptc_init decide).
 */
int vnc_xt_table_instantiated(const char *name);

/*
 * fw-iptc.c's rule builder and comment reader, and iptables' flock, for the
 * openings in the legacy filter table (fw-open.c). vnc_iptc_entry_new returns
 * a malloc'ed ipt_entry for libiptc, or -errno when the rule cannot be built.
 */
struct ipt_entry;
struct vnc_fw_rule;
struct vnc_error;
int vnc_iptc_entry_new(const struct vnc_fw_rule *r, struct ipt_entry **ret);
/* An unconditional rule whose target is a chain or a verdict ("VNETCFG_FWD", "DROP"), the same way. */
int vnc_iptc_jump_new(const char *target, struct ipt_entry **ret);
const char *vnc_iptc_entry_comment(const struct ipt_entry *en);
int vnc_xtables_lock(int *ret_fd, struct vnc_error *e);
