/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "fw.h"
#include "model.h"

/*
 * One change to the host. Every action has an inverse computed by the same
 * generator (vnc_action_inverse): create <-> delete, and modify with old and
 * new swapped. Inverses are safe to run whether or not the action happened.
 */
enum vnc_action_kind {
        VNC_ACT_BRIDGE,   /* create/delete a bridge (name, mtu, alias, up, mac) */
        VNC_ACT_TAP,      /* create/delete a persistent tap (ioctl), attributes set over netlink */
        VNC_ACT_LINK_SET, /* modify mtu / master / up / alias of a link */
        VNC_ACT_ADDR,     /* create/delete an IPv4 address on ifname */
        VNC_ACT_ROUTE,    /* create/delete an IPv4 route to addr via gateway on ifname */
        VNC_ACT_SYSCTL,   /* create = claim key=value for this profile, delete = release */
        VNC_ACT_FW_CHAINS, /* create = make sure vnetcfg's chains and jumps exist in rule.table;
                            * delete = remove them if no rule is left in any of them */
        VNC_ACT_FW_RULE,  /* create/delete rule (identified by its sealed comment) */
        VNC_ACT_DHCP,     /* the profile's one dnsmasq: create = start with config blob,
                           * modify = restart with blob (old_blob before), delete = stop */
        VNC_ACT_VLAN,     /* create/delete an 802.1Q sub-interface ifname on vlan_link with vlan_id
                           * (master, mtu, up, alias, mac as for bridges) */
        VNC_ACT_FW_OPEN,  /* create/delete an opening in a foreign firewall (core/open.h): an accept rule
                           * at the top of its INPUT/FORWARD (rule, place), or for firewalld the bridge
                           * (ifname) in a zone at runtime */
        VNC_ACT_LIBVIRT,  /* a libvirt network on the bridge: create = define from blob (its XML in
                           * <state>/blobs/), start when lv_active, autostart as lv_autostart;
                           * delete = destroy and undefine it if it is ours; modify = converge
                           * (blob, lv_active, lv_autostart), the old values in old_* */
        _VNC_ACT_MAX,
        _VNC_ACT_INVALID = -1,
};
const char *vnc_action_kind_to_string(enum vnc_action_kind k);
enum vnc_action_kind vnc_action_kind_from_string(const char *s);

enum vnc_action_op {
        VNC_OP_CREATE,
        VNC_OP_DELETE,
        VNC_OP_MODIFY,
        _VNC_OP_MAX,
        _VNC_OP_INVALID = -1,
};
const char *vnc_action_op_to_string(enum vnc_action_op o);
enum vnc_action_op vnc_action_op_from_string(const char *s);

#define VNC_ALIAS_MAX 80 /* "vnetcfg:" + profile + "/" + network + NUL */

enum {
        VNC_BRD_PLUS = 0,
        VNC_BRD_NONE = 1,
        VNC_BRD_EXACT = 2,
};

/* LINK_SET: which fields the modify changes. */
enum {
        VNC_SET_MTU = 1 << 0,
        VNC_SET_MASTER = 1 << 1,
        VNC_SET_UP = 1 << 2,
        VNC_SET_ALIAS = 1 << 3,
        VNC_SET_ADDR_GEN = 1 << 4,
};

/* IPv6 address generation of a link (IFLA_INET6_ADDR_GEN_MODE): the kernel's mode + 1, so that
 * 0 means "leave as is" (actions) or "not known" (live links). "none": no link-local address. */
enum vnc_addr_gen {
        VNC_ADDR_GEN_KEEP = 0,
        VNC_ADDR_GEN_EUI64,
        VNC_ADDR_GEN_NONE,
        VNC_ADDR_GEN_STABLE_PRIVACY,
        VNC_ADDR_GEN_RANDOM,
        _VNC_ADDR_GEN_MAX,
};
const char *vnc_addr_gen_to_string(uint8_t g);
int vnc_addr_gen_from_string(const char *s);

struct vnc_action {
        enum vnc_action_kind kind;
        enum vnc_action_op op;
        char profile[VNC_NAME_MAX + 1];
        char network[VNC_NAME_MAX + 1];

        /* links: BRIDGE, TAP, LINK_SET; ADDR/ROUTE: the device */
        char ifname[VNC_IFNAMSIZ];
        char alias[VNC_ALIAS_MAX]; /* ownership mark: "vnetcfg:<profile>/<network>" */
        uint32_t mtu;              /* 0 = leave as is */
        char master[VNC_IFNAMSIZ]; /* "" = none */
        bool up;
        bool has_mac;
        uint8_t mac[6];

        /* LINK_SET modify: what changes, and the previous values */
        unsigned set;
        uint32_t old_mtu;
        char old_master[VNC_IFNAMSIZ];
        bool old_up;
        char old_alias[VNC_ALIAS_MAX];
        /* BRIDGE create (set once it exists), LINK_SET with VNC_SET_ADDR_GEN: enum vnc_addr_gen */
        uint8_t addr_gen, old_addr_gen;

        /* TAP */
        bool has_owner, has_group;
        uint32_t owner, group;
        bool vnet_hdr, multi_queue;

        /* ADDR: addr/prefix; ROUTE: destination addr/prefix via gateway */
        struct vnc_ipv4_prefix addr;
        uint32_t via;
        /* ADDR/ROUTE of any family, in any table (bridged mode moves what the uplink
         * holds). Defaults (all zero) mean IPv4 with the fields above, main table. */
        uint8_t family;    /* AF_INET6: ip6/gw6 instead of addr.addr/via; prefix stays in addr.prefix */
        uint8_t ip6[16];
        bool has_gw6;
        uint8_t gw6[16];
        uint32_t table;    /* ROUTE: 0 = main */
        uint32_t metric;   /* ROUTE: priority */
        uint8_t protocol;  /* ROUTE: 0 = static (what vnetcfg adds itself) */
        uint32_t prefsrc;  /* ROUTE, IPv4: preferred source, 0 = none */
        uint8_t brd_mode;  /* ADDR, IPv4: VNC_BRD_PLUS (host bits set, "brd +"), _NONE, or _EXACT (brd) */
        uint32_t brd;

        /* SYSCTL */
        char key[128];
        char value[64];

        /* FW_CHAINS (rule.table only), FW_RULE */
        struct vnc_fw_rule rule;

        /* DHCP: content hashes of config blobs kept in <state>/blobs/ */
        char blob[17];
        char old_blob[17];

        /* vlan: VLAN: the lower link (trunk or trunk tap) and the 802.1Q id */
        char vlan_link[VNC_IFNAMSIZ];
        uint16_t vlan_id;

        /* FW_OPEN (hostfw): where the opening is (enum vnc_open_place); rule holds an iptables
         * opening; firewalld: ifname is the bridge, zone the zone it goes into */
        uint8_t place;
        char zone[32];

        /* LIBVIRT (libvirt helper): the network is a->network, its bridge a->ifname, its XML a->blob */
        char lv_uri[128];
        char lv_uuid[37];       /* ownership: the network with this name is ours only with this uuid */
        bool lv_active, lv_autostart;
        bool old_lv_active, old_lv_autostart; /* modify */
};

void vnc_action_init(struct vnc_action *a, enum vnc_action_kind kind, enum vnc_action_op op,
                     const char *profile, const char *network);
/* The undo of a: same generator, other direction. */
void vnc_action_inverse(const struct vnc_action *a, struct vnc_action *ret);
/* The object name shown in plans: ifname, "10.0.0.1/24 dev br0", sysctl key... caller frees. */
char *vnc_action_name(const struct vnc_action *a);
/* The details shown in plans: "mtu 9000 master vn-lab". caller frees. */
char *vnc_action_detail(const struct vnc_action *a);
/* One line, no newline, for the journal; parse gives it back. */
char *vnc_action_serialize(const struct vnc_action *a);
int vnc_action_parse(const char *line, struct vnc_action *ret);
/* "vnetcfg:<profile>/<network>" */
void vnc_alias_format(char buf[VNC_ALIAS_MAX], const char *profile, const char *network);
