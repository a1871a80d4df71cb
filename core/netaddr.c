/* SPDX-License-Identifier: MIT */
/* Address, name and enum helpers shared by the parser, the planner and the backends. */
#include <stdio.h>

#include "model.h"
#include "profile-internal.h"

static const char *const mode_table[_VNC_MODE_MAX] = {
        [VNC_MODE_NAT] = "nat",
        [VNC_MODE_HOST_ONLY] = "host-only",
        [VNC_MODE_BRIDGED] = "bridged",
        [VNC_MODE_VLAN] = "vlan",
        [VNC_MODE_ROUTED] = "routed",
        [VNC_MODE_ISOLATED] = "isolated",
};

static const char *const fw_backend_table[_VNC_FW_MAX] = {
        [VNC_FW_AUTO] = "auto",
        [VNC_FW_IPTABLES] = "iptables",
        [VNC_FW_NFTABLES] = "nftables",
};

static int table_lookup(const char *const *table, size_t n, const char *s) {
        if (!s)
                return -1;
        for (size_t i = 0; i < n; i++)
                if (table[i] && streq(table[i], s))
                        return (int)i;
        return -1;
}

const char *vnc_mode_to_string(enum vnc_mode m) {
        if (m < 0 || m >= _VNC_MODE_MAX)
                return NULL;
        return mode_table[m];
}

enum vnc_mode vnc_mode_from_string(const char *s) {
        return (enum vnc_mode)table_lookup(mode_table, ELEMENTSOF(mode_table), s);
}

const char *vnc_fw_backend_to_string(enum vnc_fw_backend b) {
        if (b < 0 || b >= _VNC_FW_MAX)
                return NULL;
        return fw_backend_table[b];
}

enum vnc_fw_backend vnc_fw_backend_from_string(const char *s) {
        return (enum vnc_fw_backend)table_lookup(fw_backend_table, ELEMENTSOF(fw_backend_table), s);
}

static bool ifname_char_ok(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
               c == '.' || c == '-';
}

const char *vnc_ifname_problem(const char *s) {
        if (!s || !*s)
                return "interface name must not be empty";
        size_t n = strlen(s);
        if (n > VNC_IFNAMSIZ - 1)
                return "interface name is longer than 15 bytes";
        for (size_t i = 0; i < n; i++)
                if (!ifname_char_ok(s[i]))
                        return "interface name may only contain A-Z a-z 0-9 _ . -";
        if (streq(s, ".") || streq(s, ".."))
                return "not a valid interface name";
        return NULL;
}

bool vnc_ifname_valid(const char *s) {
        return !vnc_ifname_problem(s);
}

bool vnc_name_valid(const char *s) {
        if (!s || !*s)
                return false;
        if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
                return false;
        size_t n = strlen(s);
        if (n > VNC_NAME_MAX)
                return false;
        for (size_t i = 1; i < n; i++) {
                char c = s[i];
                if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
                        return false;
        }
        return true;
}

uint32_t vnc_prefix_mask(uint8_t prefix) {
        if (prefix == 0)
                return 0;
        if (prefix >= 32)
                return UINT32_MAX;
        return UINT32_MAX << (32 - prefix);
}

bool vnc_ipv4_in(uint32_t ip, const struct vnc_ipv4_prefix *net) {
        uint32_t m = vnc_prefix_mask(net->prefix);
        return (ip & m) == (net->addr & m);
}

bool vnc_prefix_overlap(const struct vnc_ipv4_prefix *a, const struct vnc_ipv4_prefix *b) {
        /* Two prefixes overlap iff they agree on the bits of the shorter mask. */
        uint32_t m = vnc_prefix_mask(a->prefix < b->prefix ? a->prefix : b->prefix);
        return (a->addr & m) == (b->addr & m);
}

const char *vnc_ipv4_str(uint32_t ip, char buf[static 16]) {
        snprintf(buf, 16, "%u.%u.%u.%u", (ip >> 24) & 0xff, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff);
        return buf;
}

/* Parse a decimal number of at most max_digits digits without leading zeros; returns chars consumed. */
static size_t parse_dec(const char *s, unsigned max_digits, unsigned *ret) {
        size_t i = 0;
        unsigned v = 0;

        while (s[i] >= '0' && s[i] <= '9') {
                if (i >= max_digits)
                        return 0;
                v = v * 10 + (unsigned)(s[i] - '0');
                i++;
        }
        if (i == 0 || (i > 1 && s[0] == '0'))
                return 0;
        *ret = v;
        return i;
}

/* Strict dotted quad; parses a prefix of s and returns the length consumed, 0 on error. */
static size_t ipv4_scan(const char *s, uint32_t *ret) {
        uint32_t ip = 0;
        size_t pos = 0;

        for (int i = 0; i < 4; i++) {
                unsigned v;
                size_t n;

                if (i > 0) {
                        if (s[pos] != '.')
                                return 0;
                        pos++;
                }
                n = parse_dec(s + pos, 3, &v);
                if (n == 0 || v > 255)
                        return 0;
                pos += n;
                ip = (ip << 8) | v;
        }
        *ret = ip;
        return pos;
}

int vnc_ipv4_parse(const char *s, uint32_t *ret) {
        uint32_t ip;
        size_t n;

        if (!s)
                return -EINVAL;
        n = ipv4_scan(s, &ip);
        if (n == 0 || s[n] != '\0')
                return -EINVAL;
        *ret = ip;
        return 0;
}

/* -EINVAL: not "A.B.C.D/N"; -ERANGE: the address is fine but N is not 0..32. */
int vnc_ipv4_prefix_parse(const char *s, struct vnc_ipv4_prefix *ret) {
        uint32_t ip;
        unsigned plen;
        size_t n, m;

        if (!s)
                return -EINVAL;
        n = ipv4_scan(s, &ip);
        if (n == 0 || s[n] != '/')
                return -EINVAL;
        m = parse_dec(s + n + 1, 2, &plen);
        if (m == 0 || s[n + 1 + m] != '\0' || plen > 32)
                return -ERANGE;
        *ret = (struct vnc_ipv4_prefix){.addr = ip, .prefix = (uint8_t)plen};
        return 0;
}

static int hexval(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

int vnc_mac_parse(const char *s, uint8_t ret[6]) {
        uint8_t mac[6];

        if (!s || strlen(s) != 17)
                return -EINVAL;
        for (int i = 0; i < 6; i++) {
                int hi = hexval(s[i * 3]), lo = hexval(s[i * 3 + 1]);
                if (hi < 0 || lo < 0)
                        return -EINVAL;
                if (i < 5 && s[i * 3 + 2] != ':')
                        return -EINVAL;
                mac[i] = (uint8_t)(hi << 4 | lo);
        }
        memcpy(ret, mac, 6);
        return 0;
}
