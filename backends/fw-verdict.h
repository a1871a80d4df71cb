/* SPDX-License-Identifier: MIT */
#pragma once

#include "fwverdict.h"

/*
 * The firewall verdict reader (backends/fw-verdict.c); the types are in
 * core/fwverdict.h, the core reaches these through struct vnc_host_ops.
 */

/* "admin", "vnetcfg", "ufw", "firewalld", "docker", "libvirt" */
const char *vnc_fw_owner_to_string(enum vnc_fw_owner o);

/* Both rule sets, read once; then judged for any number of flows. */
int vnc_fw_rulesets_read(struct vnc_fw_rulesets **ret, struct vnc_error *e);
/*
 * From captures, for tests: `nft -j list ruleset` and `nft -a list ruleset`
 * (its rule texts are the evidence, and the only place iptables-nft's xt
 * matches appear decoded); either may be NULL. No legacy tables.
 */
int vnc_fw_rulesets_parse(const char *nft_json, const char *nft_text, struct vnc_fw_rulesets **ret,
                          struct vnc_error *e);
void vnc_fw_rulesets_free(struct vnc_fw_rulesets *rs);

int vnc_fw_judge(const struct vnc_fw_rulesets *rs, const struct vnc_flow *f, struct vnc_verdict_result *ret,
                 struct vnc_error *e);

/* Read both rule sets and judge one flow (one-off callers). */
int vnc_fw_evaluate(const struct vnc_flow *f, struct vnc_verdict_result *ret, struct vnc_error *e);
