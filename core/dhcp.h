/* SPDX-License-Identifier: MIT */
#pragma once

#include "model.h"

/*
 * The dnsmasq configuration serving every network of p that has "dhcp": one
 * process per profile, each bridge tagged by its name, bound to those bridges
 * only. NULL in *ret when no network has dhcp. Pure: paths of the pid and
 * lease files are given by the backend on dnsmasq's command line.
 */
int vnc_dhcp_config(const struct vnc_profile *p, char **ret);
