/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>

#include "plan-libvirt.h"

/* Small readers of the network XML libvirt returns (exposed for the unit tests). */

/* The value of attribute attr of the first <elem> element of xml into ret, "" when absent. */
void vnc_libvirt_xml_attr(const char *xml, const char *elem, const char *attr, char *ret, size_t size);
/* "<profile>/<network>" from vnetcfg's <metadata> element, NULL when absent. Caller frees. */
char *vnc_libvirt_xml_owner(const char *xml);
