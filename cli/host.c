/* SPDX-License-Identifier: MIT */
/*
 * The host-ops table the CLI hands the core: the real backends. Also linked
 * by the netns test drivers (tests/netns) and wrapped by the fault
 * injector (tests/faults/), which is why it is a library of its own
 * (vnetcfg-host) rather than part of the vnetcfg executable.
 */
#include "backends.h"
#include "diag.h"
#include "fw-verdict.h"
#include "guestprobe.h"
#include "host-real.h"
#include "probe.h"

/* Asked in this order: the first backend that handles an action runs it (core/exec.c). */
static const struct vnc_backend_ops *const backends[] = {
        &vnc_backend_netlink,
        &vnc_backend_tap,
        &vnc_backend_sysctl,
        &vnc_backend_nft,
        &vnc_backend_firewall,
        &vnc_backend_dhcp,
        &vnc_backend_open,
        &vnc_backend_libvirt,
};

const struct vnc_host_ops vnc_host_real = {
        .backends = backends,
        .n_backends = ELEMENTSOF(backends),

        .live_read = vnc_live_read,
        .fw_live_read = vnc_fw_live_read,
        .open_live_read = vnc_open_live_read,
        .dhcp_status = vnc_dhcp_status,
        .libvirt_live_read = vnc_libvirt_live_read,
        .live_tun_read = vnc_live_tun_read,

        .probe_cleanup_stale = vnc_probe_cleanup_stale,
        .probe_new = vnc_probe_new,
        .probe_free = vnc_probe_free,
        .probe_set_new = vnc_probe_set_new,
        .probe_set_prepare = vnc_probe_set_prepare,
        .probe_set_link = vnc_probe_set_link,
        .probe_set_get = vnc_probe_set_get,
        .probe_set_arp_wait = vnc_probe_set_arp_wait,
        .probe_set_free = vnc_probe_set_free,
        .probe_bridge_mtu = vnc_probe_bridge_mtu,
        .probe_arp_free = vnc_probe_arp_free,
        .probe_set_ipv4 = vnc_probe_set_ipv4,
        .probe_dhcp_offer = vnc_probe_dhcp_offer,
        .probe_ipv6_ll = vnc_probe_ipv6_ll,
        .probe_bridge_ipv4 = vnc_probe_bridge_ipv4,
        .probe_echo = vnc_probe_echo,

        .diag_neigh_read = vnc_diag_neigh_read,
        .diag_route_get = vnc_diag_route_get,
        .diag_conf_int = vnc_diag_conf_int,
        .diag_br_nf_call_iptables = vnc_diag_br_nf_call_iptables,
        .diag_addr_assign_type = vnc_diag_addr_assign_type,
        .diag_listeners = vnc_diag_listeners,
        .diag_arp_probe_many = vnc_diag_arp_probe_many,
        .guest_probe_run = vnc_guest_probe_run,

        .fw_rulesets_read = vnc_fw_rulesets_read,
        .fw_rulesets_free = vnc_fw_rulesets_free,
        .fw_judge = vnc_fw_judge,
};
