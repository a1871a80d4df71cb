/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

#define VNC_IFNAMSIZ 16 /* 15 bytes + NUL, as IFNAMSIZ */
#define VNC_NAME_MAX 32 /* profile and network names */

enum vnc_mode {
        VNC_MODE_NAT,
        VNC_MODE_HOST_ONLY,
        VNC_MODE_BRIDGED,
        VNC_MODE_VLAN,
        VNC_MODE_ROUTED,
        VNC_MODE_ISOLATED,
        _VNC_MODE_MAX,
        _VNC_MODE_INVALID = -1,
};
const char *vnc_mode_to_string(enum vnc_mode m);
enum vnc_mode vnc_mode_from_string(const char *s);

enum vnc_fw_backend {
        VNC_FW_AUTO,
        VNC_FW_IPTABLES,
        VNC_FW_NFTABLES,
        _VNC_FW_MAX,
        _VNC_FW_INVALID = -1,
};
const char *vnc_fw_backend_to_string(enum vnc_fw_backend b);
enum vnc_fw_backend vnc_fw_backend_from_string(const char *s);

enum vnc_libvirt_define {
        VNC_LIBVIRT_AUTO,
        VNC_LIBVIRT_YES,
        VNC_LIBVIRT_NO,
};

enum vnc_proto { VNC_PROTO_TCP, VNC_PROTO_UDP };

/* IPv4 addresses are kept in host byte order. */
struct vnc_ipv4_prefix {
        uint32_t addr;
        uint8_t prefix; /* 0..32 */
};

struct vnc_dhcp_host {
        uint8_t mac[6];
        uint32_t ip;
        char *name; /* may be NULL */
};

struct vnc_dhcp {
        uint32_t start, end;
        uint32_t lease_seconds; /* default 3600 */
        struct vnc_dhcp_host *hosts;
        size_t n_hosts;
};

struct vnc_port_forward {
        enum vnc_proto proto;
        uint16_t host_port;
        uint32_t guest;
        uint16_t guest_port;
        bool has_host_address;
        uint32_t host_address;
};

struct vnc_nat {
        char uplink[VNC_IFNAMSIZ]; /* "" = any interface but the bridge */
        struct vnc_port_forward *forwards;
        size_t n_forwards;
};

struct vnc_route {
        struct vnc_ipv4_prefix to; /* network address, host bits clear */
        uint32_t via;
};

struct vnc_tap {
        char name[VNC_IFNAMSIZ];
        bool has_owner, has_group;
        uid_t owner; /* resolved from name or number by the parser */
        gid_t group;
        char *owner_name, *group_name; /* as written in the profile (for messages), may be NULL */
        bool vnet_hdr;                 /* default false */
        bool multi_queue;              /* default false */
        bool has_mac;
        uint8_t mac[6];
};

struct vnc_vlan {
        uint16_t id; /* 1..4094 */
        char trunk[VNC_IFNAMSIZ];     /* "" = no trunk: the VLAN lives inside the host */
        char interface[VNC_IFNAMSIZ]; /* with a trunk: default "<trunk>.<id>" when it fits, else required;
                                       * "" without a trunk */
        bool routed;
};

/* vlan: a tap carrying VLAN networks 802.1Q-tagged (SPEC section 2, trunk_taps). */
struct vnc_trunk_tap {
        struct vnc_tap tap;
        size_t *vlans;                        /* indexes into vnc_profile.networks (mode vlan) */
        char (*subifs)[VNC_IFNAMSIZ];         /* "<tap>.<id>" per entry of vlans, filled by validation */
        size_t n_vlans;
        char **vlan_names;                    /* as written, parallel to vlans (resolved by validation) */
};

struct vnc_verify_spec {
        uint32_t *targets;
        size_t n_targets;
        uint32_t *unreachable;
        size_t n_unreachable;
        bool has_probe_address;
        struct vnc_ipv4_prefix probe_address;
        /* verify (SPEC section 5): "tcp:IP:PORT" targets. NULL when every target is a plain
         * IP, else n_targets entries: the TCP port to try, 0 for a plain IP (port 443). */
        uint16_t *target_tcp_ports;
};

struct vnc_network {
        char name[VNC_NAME_MAX + 1];
        enum vnc_mode mode;
        char bridge[VNC_IFNAMSIZ];
        uint32_t mtu;          /* 0 = not set (leave the kernel's default) */
        bool has_ipv4;
        struct vnc_ipv4_prefix ipv4;
        bool has_dhcp;
        struct vnc_dhcp dhcp;
        bool has_nat;
        struct vnc_nat nat;
        char uplink[VNC_IFNAMSIZ]; /* bridged mode */
        bool has_vlan;
        struct vnc_vlan vlan;
        bool allow_icmp;           /* default true */
        struct vnc_route *routes;
        size_t n_routes;
        struct vnc_tap *taps;
        size_t n_taps;
        bool libvirt;              /* default true; false = opt out */
        struct vnc_verify_spec verify;
};

struct vnc_jsonpos; /* opaque: JSON path -> line:col of the profile text */

struct vnc_profile {
        char *file; /* as given on the command line ("-" for stdin) */
        char name[VNC_NAME_MAX + 1];
        char *libvirt_uri; /* default "qemu:///system" */
        enum vnc_libvirt_define libvirt_define;
        enum vnc_fw_backend fw_backend;
        struct vnc_network *networks;
        size_t n_networks;
        struct vnc_jsonpos *pos; /* may be NULL for profiles built in code */
        char *text;              /* the profile text as read, for the state dir copy */
        size_t text_len;

        /* vlan: trunk taps (top level "trunk_taps") */
        struct vnc_trunk_tap *trunk_taps;
        size_t n_trunk_taps;
};

/*
 * Parse and validate a profile. path "-" reads stdin. On error, fills e with
 * kind VNC_ERR_PROFILE, file, line, col, JSON path and a reason, and returns < 0.
 * Checks every rule of SPEC section 2 that needs no host state.
 */
int vnc_profile_load_file(const char *path, struct vnc_profile **ret, struct vnc_error *e);
int vnc_profile_load_buffer(const char *file, const char *text, size_t len, struct vnc_profile **ret,
                            struct vnc_error *e);
void vnc_profile_free(struct vnc_profile *p);

/* Line and column for a JSON path such as "networks[1].bridge" (0,0 if unknown). */
void vnc_profile_locate(const struct vnc_profile *p, const char *path, int *ret_line, int *ret_col);

/* Helpers shared by the parser, the planner and the backends. */
bool vnc_ifname_valid(const char *s);
bool vnc_name_valid(const char *s); /* [a-z0-9][a-z0-9_-]{0,31} */
uint32_t vnc_prefix_mask(uint8_t prefix);
bool vnc_ipv4_in(uint32_t ip, const struct vnc_ipv4_prefix *net);
bool vnc_prefix_overlap(const struct vnc_ipv4_prefix *a, const struct vnc_ipv4_prefix *b);
/* "a.b.c.d" into buf of at least 16 bytes. */
const char *vnc_ipv4_str(uint32_t ip, char buf[static 16]);
int vnc_ipv4_parse(const char *s, uint32_t *ret);
int vnc_ipv4_prefix_parse(const char *s, struct vnc_ipv4_prefix *ret);
int vnc_mac_parse(const char *s, uint8_t ret[6]);
