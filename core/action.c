/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <inttypes.h>
#include <sys/socket.h>
#include <stdarg.h>
#include <stdio.h>

#include "action.h"
#include "open.h"

static const char *const kind_table[_VNC_ACT_MAX] = {
        [VNC_ACT_BRIDGE] = "bridge",  [VNC_ACT_TAP] = "tap",       [VNC_ACT_LINK_SET] = "link",
        [VNC_ACT_ADDR] = "address",   [VNC_ACT_ROUTE] = "route",   [VNC_ACT_SYSCTL] = "sysctl",
        [VNC_ACT_FW_CHAINS] = "chains", [VNC_ACT_FW_RULE] = "rule",  [VNC_ACT_DHCP] = "dhcp",
        [VNC_ACT_VLAN] = "vlan",
        [VNC_ACT_FW_OPEN] = "fw-open",
        [VNC_ACT_LIBVIRT] = "libvirt",
};

static const char *const op_table[_VNC_OP_MAX] = {
        [VNC_OP_CREATE] = "create",
        [VNC_OP_DELETE] = "delete",
        [VNC_OP_MODIFY] = "modify",
};

static const char *const addr_gen_table[_VNC_ADDR_GEN_MAX] = {
        [VNC_ADDR_GEN_EUI64] = "eui64",
        [VNC_ADDR_GEN_NONE] = "none",
        [VNC_ADDR_GEN_STABLE_PRIVACY] = "stable_secret",
        [VNC_ADDR_GEN_RANDOM] = "random",
};

const char *vnc_addr_gen_to_string(uint8_t g) {
        return g < _VNC_ADDR_GEN_MAX ? addr_gen_table[g] : NULL;
}

int vnc_addr_gen_from_string(const char *s) {
        for (int i = 1; s && i < _VNC_ADDR_GEN_MAX; i++)
                if (streq(addr_gen_table[i], s))
                        return i;
        return -EINVAL;
}

const char *vnc_action_kind_to_string(enum vnc_action_kind k) {
        return k >= 0 && k < _VNC_ACT_MAX ? kind_table[k] : NULL;
}

enum vnc_action_kind vnc_action_kind_from_string(const char *s) {
        for (int i = 0; s && i < _VNC_ACT_MAX; i++)
                if (kind_table[i] && streq(kind_table[i], s))
                        return i;
        return _VNC_ACT_INVALID;
}

const char *vnc_action_op_to_string(enum vnc_action_op o) {
        return o >= 0 && o < _VNC_OP_MAX ? op_table[o] : NULL;
}

enum vnc_action_op vnc_action_op_from_string(const char *s) {
        for (int i = 0; s && i < _VNC_OP_MAX; i++)
                if (streq(op_table[i], s))
                        return i;
        return _VNC_OP_INVALID;
}

static void copy_str(char *dst, size_t size, const char *src) {
        snprintf(dst, size, "%s", src ? src : "");
}
#define COPY(dst, src) copy_str((dst), sizeof(dst), (src))

void vnc_alias_format(char buf[VNC_ALIAS_MAX], const char *profile, const char *network) {
        snprintf(buf, VNC_ALIAS_MAX, "vnetcfg:%s/%s", profile, network);
}

void vnc_action_init(struct vnc_action *a, enum vnc_action_kind kind, enum vnc_action_op op,
                     const char *profile, const char *network) {
        *a = (struct vnc_action){.kind = kind, .op = op, .rule.icmp_type = -1};
        COPY(a->profile, profile);
        COPY(a->network, network);
        if (profile && network)
                vnc_alias_format(a->alias, profile, network);
}

void vnc_action_inverse(const struct vnc_action *a, struct vnc_action *ret) {
        *ret = *a;
        switch (a->op) {
        case VNC_OP_CREATE:
                ret->op = VNC_OP_DELETE;
                break;
        case VNC_OP_DELETE:
                ret->op = VNC_OP_CREATE;
                break;
        default:
                ret->mtu = a->old_mtu;
                ret->old_mtu = a->mtu;
                memcpy(ret->master, a->old_master, sizeof(ret->master));
                memcpy(ret->old_master, a->master, sizeof(ret->old_master));
                ret->up = a->old_up;
                ret->old_up = a->up;
                memcpy(ret->alias, a->old_alias, sizeof(ret->alias));
                memcpy(ret->old_alias, a->alias, sizeof(ret->old_alias));
                ret->addr_gen = a->old_addr_gen;
                ret->old_addr_gen = a->addr_gen;
                memcpy(ret->blob, a->old_blob, sizeof(ret->blob));
                memcpy(ret->old_blob, a->blob, sizeof(ret->old_blob));
                ret->lv_active = a->old_lv_active;
                ret->old_lv_active = a->lv_active;
                ret->lv_autostart = a->old_lv_autostart;
                ret->old_lv_autostart = a->lv_autostart;
                break;
        }
}

static const char *mac_str(const uint8_t m[6], char buf[static 18]) {
        snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
        return buf;
}

char *vnc_action_name(const struct vnc_action *a) {
        char ip[16], gw[16], ip6[INET6_ADDRSTRLEN], g6[INET6_ADDRSTRLEN];

        switch (a->kind) {
        case VNC_ACT_ADDR:
                if (a->family == AF_INET6)
                        return vnc_strdup_printf("%s/%u dev %s", inet_ntop(AF_INET6, a->ip6, ip6, sizeof(ip6)),
                                                 a->addr.prefix, a->ifname);
                return vnc_strdup_printf("%s/%u dev %s", vnc_ipv4_str(a->addr.addr, ip), a->addr.prefix,
                                         a->ifname);
        case VNC_ACT_ROUTE:
                if (a->family == AF_INET6)
                        return vnc_strdup_printf("%s/%u%s%s dev %s", inet_ntop(AF_INET6, a->ip6, ip6, sizeof(ip6)),
                                                 a->addr.prefix, a->has_gw6 ? " via " : "",
                                                 a->has_gw6 ? inet_ntop(AF_INET6, a->gw6, g6, sizeof(g6)) : "",
                                                 a->ifname);
                if (a->via)
                        return vnc_strdup_printf("%s/%u via %s dev %s", vnc_ipv4_str(a->addr.addr, ip),
                                                 a->addr.prefix, vnc_ipv4_str(a->via, gw), a->ifname);
                return vnc_strdup_printf("%s/%u dev %s", vnc_ipv4_str(a->addr.addr, ip), a->addr.prefix,
                                         a->ifname);
        case VNC_ACT_SYSCTL:
                return strdup(a->key);
        case VNC_ACT_FW_RULE:
                return vnc_fw_rule_is_nft(&a->rule) ? vnc_fw_rule_render_nft(&a->rule)
                                                    : vnc_fw_rule_render(&a->rule);
        case VNC_ACT_FW_CHAINS:
                if (vnc_fw_rule_is_nft(&a->rule))
                        return vnc_strdup_printf("nftables ip vnetcfg (%s chains)", vnc_fw_table_to_string(a->rule.table));
                return vnc_strdup_printf("%s table", vnc_fw_table_to_string(a->rule.table));
        case VNC_ACT_DHCP:
                return vnc_strdup_printf("dnsmasq of profile %s", a->profile);
        case VNC_ACT_FW_OPEN: {
                if (a->place == VNC_OPEN_FIREWALLD)
                        return vnc_strdup_printf("firewalld: interface %s in zone %s", a->ifname, a->zone);
                _cleanup_free_ char *rule = vnc_fw_rule_render(&a->rule);
                return rule ? vnc_strdup_printf("%s: %s", vnc_open_place_to_string(a->place), rule) : NULL;
        }
        case VNC_ACT_LIBVIRT:
                return vnc_strdup_printf("network %s", a->network);
        default:
                return strdup(a->ifname);
        }
}

/* Appends " fmt" to *s. */
_printf_(2, 3) static void append(char **s, const char *fmt, ...) {
        va_list ap;
        char *piece = NULL, *n;

        va_start(ap, fmt);
        if (vasprintf(&piece, fmt, ap) < 0)
                piece = NULL;
        va_end(ap);
        if (!piece)
                return;
        n = vnc_strdup_printf("%s%s%s", *s ? *s : "", *s && **s ? " " : "", piece);
        free(piece);
        if (n) {
                free(*s);
                *s = n;
        }
}

char *vnc_action_detail(const struct vnc_action *a) {
        char *s = strdup("");
        char mac[18];

        switch (a->kind) {
        case VNC_ACT_VLAN:
        case VNC_ACT_BRIDGE:
        case VNC_ACT_TAP:
                if (a->op == VNC_OP_DELETE)
                        break;
                if (a->kind == VNC_ACT_VLAN)
                        append(&s, "link %s id %u", a->vlan_link, a->vlan_id);
                if (a->master[0])
                        append(&s, "master %s", a->master);
                if (a->mtu)
                        append(&s, "mtu %" PRIu32, a->mtu);
                if (a->has_owner)
                        append(&s, "owner %" PRIu32, a->owner);
                if (a->has_group)
                        append(&s, "group %" PRIu32, a->group);
                if (a->vnet_hdr)
                        append(&s, "vnet_hdr");
                if (a->multi_queue)
                        append(&s, "multi_queue");
                if (a->has_mac)
                        append(&s, "address %s", mac_str(a->mac, mac));
                if (a->addr_gen)
                        append(&s, "addrgenmode %s", vnc_addr_gen_to_string(a->addr_gen));
                if (a->up)
                        append(&s, "up");
                break;
        case VNC_ACT_LINK_SET:
                if (a->set & VNC_SET_MTU)
                        append(&s, "mtu %" PRIu32 " -> %" PRIu32, a->old_mtu, a->mtu);
                if (a->set & VNC_SET_MASTER)
                        append(&s, "master %s -> %s", a->old_master[0] ? a->old_master : "none",
                               a->master[0] ? a->master : "none");
                if (a->set & VNC_SET_UP)
                        append(&s, "%s -> %s", a->old_up ? "up" : "down", a->up ? "up" : "down");
                if (a->set & VNC_SET_ALIAS)
                        append(&s, "alias \"%s\" -> \"%s\"", a->old_alias, a->alias);
                if (a->set & VNC_SET_ADDR_GEN)
                        append(&s, "addrgenmode %s -> %s", vnc_addr_gen_to_string(a->old_addr_gen) ?: "unknown",
                               vnc_addr_gen_to_string(a->addr_gen) ?: "unknown");
                break;
        case VNC_ACT_ROUTE:
                if (a->table)
                        append(&s, "table %" PRIu32, a->table);
                if (a->metric)
                        append(&s, "metric %" PRIu32, a->metric);
                if (a->prefsrc) {
                        char src[16];
                        append(&s, "src %s", vnc_ipv4_str(a->prefsrc, src));
                }
                break;
        case VNC_ACT_SYSCTL:
                if (a->op == VNC_OP_CREATE)
                        append(&s, "= %s", a->value);
                else
                        append(&s, "release (restore the value before the first claim)");
                break;
        case VNC_ACT_FW_OPEN:
                append(&s, a->op == VNC_OP_CREATE ? "opening in the host's firewall, at the top"
                                                   : "remove the opening");
                break;
        case VNC_ACT_FW_CHAINS:
                append(&s, a->op == VNC_OP_CREATE ? "vnetcfg's chains and their jumps"
                                                   : "vnetcfg's chains, if no rule is left in them");
                break;
        case VNC_ACT_DHCP:
                if (a->op == VNC_OP_MODIFY)
                        append(&s, "restart: config %s -> %s, leases kept", a->old_blob[0] ? a->old_blob : "none",
                               a->blob);
                else if (a->op == VNC_OP_CREATE)
                        append(&s, "start with config %s", a->blob);
                else
                        append(&s, "stop");
                break;
        case VNC_ACT_LIBVIRT:
                if (a->op == VNC_OP_DELETE) {
                        append(&s, "destroy and undefine at %s", a->lv_uri);
                        break;
                }
                if (a->op == VNC_OP_MODIFY) {
                        if (!streq(a->blob, a->old_blob))
                                append(&s, "redefine on bridge %s (forward mode bridge)", a->ifname);
                        if (a->lv_active != a->old_lv_active)
                                append(&s, "%s", a->lv_active ? "start" : "stop");
                        if (a->lv_autostart != a->old_lv_autostart)
                                append(&s, "autostart %s", a->lv_autostart ? "on" : "off");
                } else
                        append(&s, "define on bridge %s (forward mode bridge)%s%s", a->ifname,
                               a->lv_active ? ", start" : "", a->lv_autostart ? ", autostart" : "");
                append(&s, "at %s", a->lv_uri);
                break;
        default:
                break;
        }
        return s;
}

/* Journal encoding: space separated key=value, values %XX-escaped outside a safe set. */
static bool safe_char(unsigned char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               strchr("_.:/-+,@", c);
}

static void put_kv(FILE *f, const char *key, const char *value) {
        fprintf(f, " %s=", key);
        for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
                if (safe_char(*p))
                        fputc(*p, f);
                else
                        fprintf(f, "%%%02X", *p);
        }
}

static void put_u(FILE *f, const char *key, uint32_t v) {
        fprintf(f, " %s=%" PRIu32, key, v);
}

static void put_prefix(FILE *f, const char *key, const struct vnc_ipv4_prefix *p) {
        char ip[16];
        fprintf(f, " %s=%s/%u", key, vnc_ipv4_str(p->addr, ip), p->prefix);
}

static void put_rule(FILE *f, const struct vnc_fw_rule *r, bool full) {
        char ip[16];

        /* Rules and chains of the nftables backend say so; iptables is the default (older journals). */
        if (vnc_fw_rule_is_nft(r))
                put_kv(f, "fw", "nftables");
        put_kv(f, "table", vnc_fw_table_to_string(r->table));
        if (!full)
                return;
        put_kv(f, "chain", r->chain);
        if (r->in[0])
                put_kv(f, "in", r->in);
        if (r->not_in)
                put_u(f, "not_in", 1);
        if (r->out[0])
                put_kv(f, "out", r->out);
        if (r->not_out)
                put_u(f, "not_out", 1);
        if (r->has_src)
                put_prefix(f, "src", &r->src);
        if (r->has_dst)
                put_prefix(f, "dst", &r->dst);
        if (r->not_dst)
                put_u(f, "not_dst", 1);
        if (r->proto)
                put_u(f, "proto", r->proto);
        if (r->sport)
                put_u(f, "sport", r->sport);
        if (r->dport)
                put_u(f, "dport", r->dport);
        if (r->icmp_type >= 0)
                put_u(f, "icmp", (uint32_t)r->icmp_type);
        if (r->ctstate)
                put_u(f, "ct", r->ctstate);
        if (r->dst_local)
                put_u(f, "local", 1);
        put_kv(f, "target", vnc_fw_target_to_string(r->target));
        if (r->target == VNC_FW_DNAT) {
                put_kv(f, "to", vnc_ipv4_str(r->to_addr, ip));
                put_u(f, "to_port", r->to_port);
        }
        put_kv(f, "comment", r->comment);
        if (r->opaque)
                put_u(f, "opaque", 1);
}

char *vnc_action_serialize(const struct vnc_action *a) {
        char *buf = NULL, ip[16], mac[18];
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        if (!f)
                return NULL;
        fprintf(f, "%s %s", vnc_action_op_to_string(a->op), vnc_action_kind_to_string(a->kind));
        put_kv(f, "profile", a->profile);
        put_kv(f, "network", a->network);
        if (a->ifname[0])
                put_kv(f, "ifname", a->ifname);
        if (a->alias[0])
                put_kv(f, "alias", a->alias);
        if (a->mtu)
                put_u(f, "mtu", a->mtu);
        if (a->master[0])
                put_kv(f, "master", a->master);
        if (a->up)
                put_u(f, "up", 1);
        if (a->has_mac)
                put_kv(f, "mac", mac_str(a->mac, mac));
        if (a->set)
                put_u(f, "set", a->set);
        if (a->old_mtu)
                put_u(f, "old_mtu", a->old_mtu);
        if (a->old_master[0])
                put_kv(f, "old_master", a->old_master);
        if (a->old_up)
                put_u(f, "old_up", 1);
        if (a->old_alias[0])
                put_kv(f, "old_alias", a->old_alias);
        /* Only when set: journals written before the field parse as "leave as is". */
        if (a->addr_gen)
                put_kv(f, "addr_gen", vnc_addr_gen_to_string(a->addr_gen));
        if (a->old_addr_gen)
                put_kv(f, "old_addr_gen", vnc_addr_gen_to_string(a->old_addr_gen));
        if (a->has_owner)
                put_u(f, "owner", a->owner);
        if (a->has_group)
                put_u(f, "group", a->group);
        if (a->vnet_hdr)
                put_u(f, "vnet_hdr", 1);
        if (a->multi_queue)
                put_u(f, "multi_queue", 1);
        if ((a->kind == VNC_ACT_ADDR || a->kind == VNC_ACT_ROUTE) && a->family == AF_INET6) {
                char b6[INET6_ADDRSTRLEN];
                fprintf(f, " ip6=%s/%u", inet_ntop(AF_INET6, a->ip6, b6, sizeof(b6)), a->addr.prefix);
                if (a->has_gw6)
                        fprintf(f, " gw6=%s", inet_ntop(AF_INET6, a->gw6, b6, sizeof(b6)));
        } else if (a->kind == VNC_ACT_ADDR || a->kind == VNC_ACT_ROUTE) {
                fprintf(f, " addr=%s/%u", vnc_ipv4_str(a->addr.addr, ip), a->addr.prefix);
                if (a->via)
                        put_kv(f, "via", vnc_ipv4_str(a->via, ip));
                if (a->prefsrc)
                        put_kv(f, "prefsrc", vnc_ipv4_str(a->prefsrc, ip));
                if (a->brd_mode == VNC_BRD_NONE)
                        put_kv(f, "brd", "none");
                else if (a->brd_mode == VNC_BRD_EXACT)
                        put_kv(f, "brd", vnc_ipv4_str(a->brd, ip));
        }
        if (a->table)
                put_u(f, "rt_table", a->table);
        if (a->metric)
                put_u(f, "rt_metric", a->metric);
        if (a->protocol)
                put_u(f, "rt_proto", a->protocol);
        if (a->key[0])
                put_kv(f, "key", a->key);
        if (a->value[0])
                put_kv(f, "value", a->value);
        if (a->kind == VNC_ACT_FW_RULE || a->kind == VNC_ACT_FW_CHAINS)
                put_rule(f, &a->rule, a->kind == VNC_ACT_FW_RULE);
        if (a->kind == VNC_ACT_FW_OPEN) {
                put_kv(f, "place", vnc_open_place_to_string(a->place));
                if (a->place == VNC_OPEN_FIREWALLD)
                        put_kv(f, "zone", a->zone);
                else
                        put_rule(f, &a->rule, true);
        }
        if (a->blob[0])
                put_kv(f, "blob", a->blob);
        if (a->old_blob[0])
                put_kv(f, "old_blob", a->old_blob);
        if (a->vlan_link[0])
                put_kv(f, "vlan_link", a->vlan_link);
        if (a->vlan_id)
                put_u(f, "vlan_id", a->vlan_id);
        if (a->kind == VNC_ACT_LIBVIRT) {
                put_kv(f, "uri", a->lv_uri);
                put_kv(f, "uuid", a->lv_uuid);
                put_u(f, "active", a->lv_active);
                put_u(f, "autostart", a->lv_autostart);
                if (a->op == VNC_OP_MODIFY) {
                        put_u(f, "old_active", a->old_lv_active);
                        put_u(f, "old_autostart", a->old_lv_autostart);
                }
        }
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

static int unescape(const char *s, size_t len, char *dst, size_t size) {
        size_t o = 0;
        for (size_t i = 0; i < len; i++) {
                unsigned c = (unsigned char)s[i];
                if (c == '%') {
                        if (i + 2 >= len)
                                return -EINVAL;
                        if (sscanf(s + i + 1, "%2x", &c) != 1)
                                return -EINVAL;
                        i += 2;
                }
                if (o + 1 >= size)
                        return -ENAMETOOLONG;
                dst[o++] = (char)c;
        }
        dst[o] = 0;
        return 0;
}

static int parse_u32(const char *s, uint32_t *ret) {
        char *end;
        errno = 0;
        unsigned long v = strtoul(s, &end, 10);
        if (errno || end == s || *end || v > UINT32_MAX)
                return -EINVAL;
        *ret = (uint32_t)v;
        return 0;
}

static int parse_rule_field(struct vnc_fw_rule *r, const char *key, const char *val) {
        uint32_t u = 0;
        int t;

#define RSTR(name)                                                                                         \
        if (streq(key, #name)) {                                                                           \
                if (strlen(val) >= sizeof(r->name))                                                        \
                        return -EINVAL;                                                                    \
                COPY(r->name, val);                                                                        \
                return 0;                                                                                  \
        }
        RSTR(chain)
        RSTR(in)
        RSTR(out)
        RSTR(comment)
#undef RSTR
        if (streq(key, "table")) {
                if ((t = vnc_fw_table_from_string(val)) < 0)
                        return -EINVAL;
                r->table = (uint8_t)t;
                return 0;
        }
        if (streq(key, "fw")) {
                if (!streq(val, "nftables") && !streq(val, "iptables"))
                        return -EINVAL;
                r->backend = streq(val, "nftables") ? VNC_FW_NFTABLES : VNC_FW_IPTABLES;
                return 0;
        }
        if (streq(key, "target")) {
                if ((t = vnc_fw_target_from_string(val)) < 0)
                        return -EINVAL;
                r->target = (uint8_t)t;
                return 0;
        }
        if (streq(key, "src") || streq(key, "dst")) {
                bool src = streq(key, "src");
                if (vnc_ipv4_prefix_parse(val, src ? &r->src : &r->dst) < 0)
                        return -EINVAL;
                *(src ? &r->has_src : &r->has_dst) = true;
                return 0;
        }
        if (streq(key, "to"))
                return vnc_ipv4_parse(val, &r->to_addr) < 0 ? -EINVAL : 0;
        if (parse_u32(val, &u) < 0)
                return -EINVAL;
        if (streq(key, "not_in"))
                r->not_in = u;
        else if (streq(key, "not_out"))
                r->not_out = u;
        else if (streq(key, "not_dst"))
                r->not_dst = u;
        else if (streq(key, "proto") && u <= 255)
                r->proto = (uint8_t)u;
        else if (streq(key, "sport") && u <= 65535)
                r->sport = (uint16_t)u;
        else if (streq(key, "dport") && u <= 65535)
                r->dport = (uint16_t)u;
        else if (streq(key, "icmp") && u <= 255)
                r->icmp_type = (int16_t)u;
        else if (streq(key, "ct") && u <= 255)
                r->ctstate = (uint8_t)u;
        else if (streq(key, "local"))
                r->dst_local = u;
        else if (streq(key, "opaque"))
                r->opaque = u;
        else if (streq(key, "to_port") && u <= 65535)
                r->to_port = (uint16_t)u;
        else
                return -EINVAL;
        return 0;
}

int vnc_action_parse(const char *line, struct vnc_action *ret) {
        struct vnc_action a = {.rule.icmp_type = -1};
        char word[16], kind[16];
        int n = 0, r;

        if (sscanf(line, "%15s %15s%n", word, kind, &n) != 2)
                return -EINVAL;
        a.op = vnc_action_op_from_string(word);
        a.kind = vnc_action_kind_from_string(kind);
        if (a.op < 0 || a.kind < 0)
                return -EINVAL;

        for (const char *p = line + n; *p;) {
                while (*p == ' ')
                        p++;
                if (!*p || *p == '\n')
                        break;
                const char *eq = strchr(p, '=');
                if (!eq)
                        return -EINVAL;
                const char *end = eq + 1 + strcspn(eq + 1, " \n");
                char key[32], val[256];
                if ((size_t)(eq - p) >= sizeof(key))
                        return -EINVAL;
                memcpy(key, p, eq - p);
                key[eq - p] = 0;
                r = unescape(eq + 1, end - eq - 1, val, sizeof(val));
                if (r < 0)
                        return r;
                p = end;

                uint32_t u = 0;
#define STR(name)                                                                                          \
        else if (streq(key, #name)) {                                                                      \
                if (strlen(val) >= sizeof(a.name))                                                         \
                        return -EINVAL;                                                                    \
                COPY(a.name, val);                                                                         \
        }
#define U32(name)                                                                                          \
        else if (streq(key, #name)) {                                                                      \
                if (parse_u32(val, &u) < 0)                                                                \
                        return -EINVAL;                                                                    \
                a.name = u;                                                                                \
        }
#define FLAG(name, has)                                                                                    \
        else if (streq(key, #name)) {                                                                      \
                if (parse_u32(val, &u) < 0)                                                                \
                        return -EINVAL;                                                                    \
                a.name = u;                                                                                \
                a.has = true;                                                                              \
        }
                if (0) {
                }
                STR(profile) STR(network) STR(ifname) STR(alias) STR(master) STR(old_master) STR(old_alias)
                STR(key) STR(value) U32(mtu) U32(up) U32(set) U32(old_mtu) U32(old_up) U32(vnet_hdr)
                U32(multi_queue) FLAG(owner, has_owner) FLAG(group, has_group)
                else if (streq(key, "mac")) {
                        if (vnc_mac_parse(val, a.mac) < 0)
                                return -EINVAL;
                        a.has_mac = true;
                }
                else if (streq(key, "addr")) {
                        if (vnc_ipv4_prefix_parse(val, &a.addr) < 0)
                                return -EINVAL;
                }
                else if (streq(key, "via")) {
                        if (vnc_ipv4_parse(val, &a.via) < 0)
                                return -EINVAL;
                }
                else if (streq(key, "addr_gen") || streq(key, "old_addr_gen")) {
                        int g = vnc_addr_gen_from_string(val);
                        if (g < 0)
                                return -EINVAL;
                        *(streq(key, "addr_gen") ? &a.addr_gen : &a.old_addr_gen) = (uint8_t)g;
                }
                STR(blob) STR(old_blob) STR(vlan_link)
                else if (streq(key, "vlan_id")) {
                        if (parse_u32(val, &u) < 0 || u < 1 || u > 4094)
                                return -EINVAL;
                        a.vlan_id = (uint16_t)u;
                }
                STR(zone)
                else if (streq(key, "place")) {
                        int pl = vnc_open_place_from_string(val);
                        if (pl < 0)
                                return -EINVAL;
                        a.place = (uint8_t)pl;
                }
                else if (a.kind == VNC_ACT_LIBVIRT && streq(key, "uri")) {
                        if (strlen(val) >= sizeof(a.lv_uri))
                                return -EINVAL;
                        COPY(a.lv_uri, val);
                }
                else if (a.kind == VNC_ACT_LIBVIRT && streq(key, "uuid")) {
                        if (strlen(val) >= sizeof(a.lv_uuid))
                                return -EINVAL;
                        COPY(a.lv_uuid, val);
                }
                else if (a.kind == VNC_ACT_LIBVIRT &&
                         (streq(key, "active") || streq(key, "autostart") || streq(key, "old_active") ||
                          streq(key, "old_autostart"))) {
                        if (parse_u32(val, &u) < 0 || u > 1)
                                return -EINVAL;
                        *(streq(key, "active")      ? &a.lv_active
                          : streq(key, "autostart") ? &a.lv_autostart
                          : streq(key, "old_active") ? &a.old_lv_active
                                                     : &a.old_lv_autostart) = u;
                }
                else if (streq(key, "rt_table") || streq(key, "rt_metric")) {
                        if (parse_u32(val, &u) < 0)
                                return -EINVAL;
                        *(streq(key, "rt_table") ? &a.table : &a.metric) = u;
                }
                else if (streq(key, "rt_proto")) {
                        if (parse_u32(val, &u) < 0 || u > 255)
                                return -EINVAL;
                        a.protocol = (uint8_t)u;
                }
                else if (streq(key, "brd")) {
                        if (streq(val, "none"))
                                a.brd_mode = VNC_BRD_NONE;
                        else if (vnc_ipv4_parse(val, &a.brd) == 0)
                                a.brd_mode = VNC_BRD_EXACT;
                        else
                                return -EINVAL;
                }
                else if (streq(key, "prefsrc")) {
                        if (vnc_ipv4_parse(val, &a.prefsrc) < 0)
                                return -EINVAL;
                }
                else if (streq(key, "ip6")) {
                        char *slash = strchr(val, '/');
                        if (!slash || parse_u32(slash + 1, &u) < 0 || u > 128)
                                return -EINVAL;
                        *slash = 0;
                        if (inet_pton(AF_INET6, val, a.ip6) != 1)
                                return -EINVAL;
                        a.addr.prefix = (uint8_t)u;
                        a.family = AF_INET6;
                }
                else if (streq(key, "gw6")) {
                        if (inet_pton(AF_INET6, val, a.gw6) != 1)
                                return -EINVAL;
                        a.has_gw6 = true;
                }
                else if (parse_rule_field(&a.rule, key, val) == 0) {
                }
                else return -EINVAL;
#undef STR
#undef U32
#undef FLAG
        }
        *ret = a;
        return 0;
}
