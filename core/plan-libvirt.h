/* SPDX-License-Identifier: MIT */
#pragma once

#include "host.h"
#include "live.h"
#include "plan.h"

/*
 * libvirt networks named like vnetcfg's networks, on vnetcfg's bridges
 * (SPEC section 2, "libvirt"). The planner part is pure: what libvirt has
 * comes in through live->lv, read by the engine with vnc_libvirt_read_for().
 */

/* The namespace of vnetcfg's <metadata> element in the definitions it hands libvirt. */
#define VNC_LIBVIRT_OWNER_NS "https://vnetcfg.invalid/libvirt/1"

/* The uuid vnetcfg gives the libvirt network of profile/network (derived from the names). */
void vnc_libvirt_uuid(const char *profile, const char *network, char ret[37]);
/* The network definition vnetcfg hands libvirt. Caller frees. */
char *vnc_libvirt_xml(const char *profile, const char *network, const char *bridge);
/* Does a libvirt network as read belong to profile/network? */
bool vnc_libvirt_owned(const struct vnc_live_lvnet *n, const char *profile, const char *network);

/* Does this network of p want a libvirt network? (define not false, network not opted out) */
bool vnc_libvirt_wanted(const struct vnc_profile *p, const struct vnc_network *n);

/*
 * Fill live->lv for planning want against applied (either may be NULL): the
 * daemon at the profile's uri is asked only when one of them has a network
 * that uses libvirt. A daemon that does not answer is not an error here
 * (live->lv.state = VNC_LV_UNREACHABLE): the planner decides.
 */
int vnc_libvirt_read_for(const struct vnc_host_ops *host, struct vnc_live *live, const struct vnc_profile *want,
                         const struct vnc_profile *applied, struct vnc_error *e);

/*
 * Plan the libvirt networks: deletions into del, definitions and repairs into
 * add, XML into blobs' blob store, notes (what is skipped and why) into
 * blobs' notes. Conflicts (a libvirt network of that name that is not ours,
 * define: true with no daemon) are VNC_ERR_CONFLICT.
 */
int vnc_plan_libvirt(const struct vnc_profile *want, const struct vnc_profile *applied, const struct vnc_live *live,
                     struct vnc_plan *del, struct vnc_plan *add, struct vnc_plan *blobs, struct vnc_error *e);
