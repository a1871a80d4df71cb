/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "fw.h"

/* What the host looks like now. Read by a backend (one dump per object type), used by the pure planner. */

struct vnc_live_link {
        int ifindex;
        char name[16];
        char kind[16];  /* rtnl link kind: "bridge", "tun", "veth", "vlan", "" for physical */
        int master;     /* ifindex of the master, 0 if none */
        uint32_t mtu;
        bool admin_up;  /* IFF_UP */
        bool oper_up;   /* operstate UP or UNKNOWN with carrier */
        char *alias;    /* NULL when none */
        bool has_mac;
        uint8_t mac[6];
        bool wireless;  /* /sys/class/net/<if>/wireless or phy80211 exists */
        uint8_t addr_gen; /* IPv6 address generation, enum vnc_addr_gen (action.h); 0 = not known
                           * (no IPv6 in this kernel, or a fixture that does not say) */

        /* vlan: kind "vlan": the lower link's ifindex and the 802.1Q id (0 for other kinds) */
        int vlan_link;
        uint16_t vlan_id;

        /* tun: kind "tun" carrying a vnetcfg mark: how it was made (sysfs tun_flags, owner, group),
         * so a tap no applied profile knows is deleted with an exact undo. tun_read: these are known. */
        bool tun_read;
        bool tun_vnet_hdr, tun_multi_queue;
        bool tun_has_owner, tun_has_group;
        uint32_t tun_owner, tun_group;
};

struct vnc_live_addr {
        int ifindex;
        int family; /* AF_INET or AF_INET6 */
        uint8_t addr[16];
        uint8_t prefix;
        uint32_t flags; /* IFA_F_* (IFA_F_PERMANENT, IFA_F_DYNAMIC...) */
        uint8_t scope;
        bool has_broadcast; /* IPv4 */
        uint8_t broadcast[4];
};

struct vnc_live_route {
        int family;
        uint8_t dst[16];
        uint8_t dst_len;
        bool has_gw;
        uint8_t gw[16];
        int oif;
        uint32_t table;
        uint32_t metric;
        uint8_t protocol;
        uint8_t scope;
        uint8_t type;
        bool has_prefsrc;
        uint8_t prefsrc[16];
};

struct vnc_live_sysctl {
        char *key;   /* "net.ipv4.ip_forward" */
        char *value; /* trimmed */
};

struct vnc_live_fw_rule {
        uint8_t table;   /* enum vnc_fw_table */
        char chain[32];
        char *comment;
        /* The rule read back whole by its backend (rule.backend says which); decoded when every
         * part of it was understood and it seals to its own comment (so it can be recreated). */
        struct vnc_fw_rule rule;
        bool decoded;
        uint64_t handle; /* nftables: the rule's handle */
};

/* A libvirt network as the daemon reports it (libvirt helper). */
struct vnc_live_lvnet {
        char *name;
        char uuid[37];
        char bridge[16];     /* <bridge name=...>, "" when none */
        char forward[16];    /* <forward mode=...>, "" when none (isolated) */
        char *owner;         /* "<profile>/<network>" from vnetcfg's <metadata>, NULL when none */
        bool active, persistent, autostart;
        char *xml;           /* the persistent (inactive) definition, for an exact undo */
};

enum vnc_lv_state {
        VNC_LV_UNREAD = 0,   /* not consulted (libvirt not used, or "define": false) */
        VNC_LV_UNREACHABLE,  /* no daemon answered at uri: error says why */
        VNC_LV_OK,
};

struct vnc_libvirt_view {
        enum vnc_lv_state state;
        char *uri;
        char *error;
        struct vnc_live_lvnet *nets;
        size_t n_nets;
};
void vnc_libvirt_view_done(struct vnc_libvirt_view *v);
const struct vnc_live_lvnet *vnc_libvirt_view_find(const struct vnc_libvirt_view *v, const char *name);
struct vnc_live_lvnet *vnc_libvirt_view_add(struct vnc_libvirt_view *v);

struct vnc_live {
        struct vnc_live_link *links;
        size_t n_links;
        struct vnc_live_addr *addrs;
        size_t n_addrs;
        struct vnc_live_route *routes; /* main table and others, IPv4 and IPv6 */
        size_t n_routes;
        struct vnc_live_sysctl *sysctls;
        size_t n_sysctls;

        /* Firewall (iptables legacy tables, through the firewall backend). */
        bool fw_available;      /* false: the tables could not be read (fw_error says why) */
        char *fw_error;
        unsigned fw_chains;     /* bit i: vnc_fw_chains[i] exists with its jump in place */
        struct vnc_live_fw_rule *fw_rules; /* rules carrying a "vnetcfg:" comment, in vnetcfg's chains */
        size_t n_fw_rules;      /* both backends: rule.backend tells them apart */

        /* nftables: vnetcfg's table "ip vnetcfg" (fw-nft.c), read with the whole ruleset. */
        bool nft_available;     /* false: the ruleset could not be read (nft_error says why) */
        char *nft_error;
        unsigned nft_chains;    /* bit i: vnc_fw_chains[i] exists in it, hooked like the iptables one */

        /* What the host's own firewall lives in, for firewall.backend "auto" (vnc_fw_backend_choose). */
        uint8_t fw_host_iptables;   /* what `iptables` is: VNC_FW_NFTABLES (iptables-nft),
                                     * VNC_FW_IPTABLES (iptables-legacy), VNC_FW_AUTO (unknown) */
        char *fw_host_iptables_how; /* "/usr/sbin/iptables -> /etc/alternatives/iptables -> ..." */
        size_t fw_foreign_nft;      /* nftables base chains outside vnetcfg's table */
        char *fw_foreign_nft_first; /* "table inet filter chain input" */
        size_t fw_foreign_legacy;   /* rules (and non-ACCEPT policies) in the legacy filter/nat
                                     * tables that are not vnetcfg's */

        /* The dnsmasq of the profile being planned (filled by the engine). */
        bool dhcp_running;
        char dhcp_blob[17];     /* config blob it runs with, "" when unknown */

        /* vlan: can this kernel make 802.1Q sub-interfaces? (enum vnc_8021q, read with the links) */
        int vlan_8021q;
        /* Foreign firewalls (hostfw, core/open.h), filled by vnc_open_live_read. */
        uint8_t open_need[3];   /* per enum vnc_open_place: VNC_OPEN_INPUT/FORWARD where the host's own
                                 * firewall would drop (firewalld: nonzero when it runs) */
        struct vnc_live_opening {
                uint8_t place;  /* enum vnc_open_place */
                char chain[32]; /* iptables places: INPUT/FORWARD; firewalld: the zone */
                char *comment;  /* iptables places: the mark; firewalld: the interface */
        } *openings;            /* iptables: rules carrying a "vnetcfg:" comment; firewalld: every
                                 * interface bound to a zone */
        size_t n_openings;

        /* libvirt networks at the profile's uri (filled by the engine; libvirt helper) */
        struct vnc_libvirt_view lv;

        /* Lookup indexes over links (positions sorted by name and by ifindex),
         * built on the first lookup after links change. Private to live.c. */
        size_t *by_name, *by_ifindex;
        size_t n_indexed;
};

/* vlan: the kernel's 802.1Q support. */
enum vnc_8021q {
        VNC_8021Q_UNKNOWN,    /* not read (fixtures default to this; treated as available) */
        VNC_8021Q_LOADED,     /* /proc/net/vlan exists */
        VNC_8021Q_BUILTIN,    /* built into the kernel (modules.builtin) */
        VNC_8021Q_LOADABLE,   /* a module the kernel loads on first use */
        VNC_8021Q_MISSING,    /* neither loaded, built in, nor a module of this kernel */
        VNC_8021Q_UNLOADABLE, /* a module, but loading is disabled (kernel.modules_disabled = 1) */
};
const char *vnc_8021q_to_string(int s);

void vnc_live_free(struct vnc_live *l);
const struct vnc_live_link *vnc_live_link_by_name(const struct vnc_live *l, const char *name);
const struct vnc_live_link *vnc_live_link_by_index(const struct vnc_live *l, int ifindex);
const char *vnc_live_sysctl_get(const struct vnc_live *l, const char *key);
/* Builders used by readers and by unit-test fixtures. They copy strings. */
struct vnc_live_link *vnc_live_add_link(struct vnc_live *l);
struct vnc_live_addr *vnc_live_add_addr(struct vnc_live *l);
struct vnc_live_route *vnc_live_add_route(struct vnc_live *l);
int vnc_live_set_sysctl(struct vnc_live *l, const char *key, const char *value);
/* Copies chain and comment. */
int vnc_live_add_opening(struct vnc_live *l, uint8_t place, const char *chain, const char *comment);
/* Copies comment. An iptables rule known by its comment only (not decoded). */
int vnc_live_add_fw_rule(struct vnc_live *l, uint8_t table, const char *chain, const char *comment);
/* A rule read back by a backend (rule->backend set); decoded: every field of rule is known. */
int vnc_live_add_fw_rule_full(struct vnc_live *l, const struct vnc_fw_rule *rule, bool decoded, uint64_t handle);
