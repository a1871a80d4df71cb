/* SPDX-License-Identifier: MIT */
#pragma once

#include <libiptc/libiptc.h>

/*
 * The recorded host's iptables legacy tables (record-iptc.c): libiptc's calls,
 * same signatures, for fw-iptc.c while recording is on. IPTC(fn) picks the
 * recorder's or libiptc's function.
 */
#define IPTC(fn) (vnc_record_on() ? vnc_record_iptc_##fn : iptc_##fn)

struct xtc_handle *vnc_record_iptc_init(const char *tablename);
void vnc_record_iptc_free(struct xtc_handle *h);
int vnc_record_iptc_is_chain(const char *chain, struct xtc_handle *const h);
int vnc_record_iptc_builtin(const char *chain, struct xtc_handle *const h);
const char *vnc_record_iptc_first_chain(struct xtc_handle *h);
const char *vnc_record_iptc_next_chain(struct xtc_handle *h);
const char *vnc_record_iptc_get_policy(const char *chain, struct xt_counters *counter, struct xtc_handle *h);
const struct ipt_entry *vnc_record_iptc_first_rule(const char *chain, struct xtc_handle *h);
const struct ipt_entry *vnc_record_iptc_next_rule(const struct ipt_entry *prev, struct xtc_handle *h);
const char *vnc_record_iptc_get_target(const struct ipt_entry *e, struct xtc_handle *h);
int vnc_record_iptc_get_references(unsigned int *ref, const xt_chainlabel chain, struct xtc_handle *h);
int vnc_record_iptc_insert_entry(const xt_chainlabel chain, const struct ipt_entry *e, unsigned int rulenum,
                                 struct xtc_handle *h);
int vnc_record_iptc_append_entry(const xt_chainlabel chain, const struct ipt_entry *e, struct xtc_handle *h);
int vnc_record_iptc_delete_num_entry(const xt_chainlabel chain, unsigned int rulenum, struct xtc_handle *h);
int vnc_record_iptc_flush_entries(const xt_chainlabel chain, struct xtc_handle *h);
int vnc_record_iptc_create_chain(const xt_chainlabel chain, struct xtc_handle *h);
int vnc_record_iptc_delete_chain(const xt_chainlabel chain, struct xtc_handle *h);
int vnc_record_iptc_commit(struct xtc_handle *h);
