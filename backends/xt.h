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
