/* SPDX-License-Identifier: MIT */
/*
 * The helpers of the types the core shares with the backends (core/host.h):
 * pure functions over data, nothing here reaches the host.
 */
#include <arpa/inet.h>
#include <linux/neighbour.h>
#include <netinet/ip_icmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "host.h"
#include "util.h"

const char *vnc_diag_mac_str(const uint8_t m[6], char buf[static 18]) {
        snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
        return buf;
}

void vnc_neigh_table_done(struct vnc_neigh_table *t) {
        if (!t)
                return;
        free(t->v);
        *t = (struct vnc_neigh_table){0};
}

const struct vnc_neigh *vnc_neigh_find(const struct vnc_neigh_table *t, int ifindex, uint32_t ip) {
        for (size_t i = 0; i < t->n; i++)
                if (t->v[i].ip == ip && (ifindex == 0 || t->v[i].ifindex == ifindex))
                        return &t->v[i];
        return NULL;
}

const char *vnc_neigh_state_to_string(uint16_t s) {
        static const struct {
                uint16_t bit;
                const char *name;
        } names[] = {
                {NUD_PERMANENT, "PERMANENT"}, {NUD_NOARP, "NOARP"}, {NUD_REACHABLE, "REACHABLE"},
                {NUD_STALE, "STALE"},         {NUD_DELAY, "DELAY"}, {NUD_PROBE, "PROBE"},
                {NUD_FAILED, "FAILED"},       {NUD_INCOMPLETE, "INCOMPLETE"},
        };
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (s & names[i].bit)
                        return names[i].name;
        return "NONE";
}

bool vnc_neigh_state_valid(uint16_t s) {
        return s & (NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE);
}

void vnc_arp_probe_done(struct vnc_arp_probe *p) {
        if (!p)
                return;
        free(p->macs);
        p->macs = NULL;
        p->n_macs = 0;
}

void vnc_guest_probe_done(struct vnc_guest_probe *p) {
        if (!p)
                return;
        free(p->arp_asked);
        p->arp_asked = NULL;
        p->n_arp_asked = 0;
}

void vnc_verdict_result_done(struct vnc_verdict_result *r) {
        if (!r)
                return;
        free(r->evidence);
        free(r->fix);
        free(r->zone);
        *r = (struct vnc_verdict_result){0};
}

static const char *icmp4_what(uint8_t type, uint8_t code) {
        static const char *const unreach[] = {
                [ICMP_NET_UNREACH] = "network unreachable",   [ICMP_HOST_UNREACH] = "host unreachable",
                [ICMP_PROT_UNREACH] = "protocol unreachable", [ICMP_PORT_UNREACH] = "port unreachable",
                [ICMP_FRAG_NEEDED] = "fragmentation needed",  [ICMP_NET_ANO] = "network prohibited",
                [ICMP_HOST_ANO] = "host prohibited",          [ICMP_PKT_FILTERED] = "administratively prohibited",
        };
        if (type == ICMP_DEST_UNREACH)
                return code < ELEMENTSOF(unreach) && unreach[code] ? unreach[code] : "destination unreachable";
        if (type == ICMP_TIME_EXCEEDED)
                return "time exceeded";
        return "ICMP error";
}

char *vnc_probe_echo_describe_error(const struct vnc_probe_echo *x) {
        char from[INET6_ADDRSTRLEN] = "?";

        if (x->error == -EMSGSIZE)
                return vnc_strdup_printf("message too long: path MTU %u", x->mtu);
        if (x->icmp_error) {
                inet_ntop(x->icmp_family == AF_INET6 ? AF_INET6 : AF_INET, x->icmp_from, from, sizeof(from));
                if (x->family == AF_INET6 || x->icmp_family == AF_INET6)
                        return vnc_strdup_printf("ICMPv6 error type %u code %u from %s", x->icmp_type, x->icmp_code,
                                                 from);
                return vnc_strdup_printf("%s (ICMP type %u code %u) from %s", icmp4_what(x->icmp_type, x->icmp_code),
                                         x->icmp_type, x->icmp_code, from);
        }
        if (x->error < 0)
                return vnc_strdup_printf("%s: %s", x->proto == VNC_PROBE_TCP_SYN ? "could not connect" : "could not send",
                                         strerror(-x->error));
        if (!x->answered && x->proto == VNC_PROBE_TCP_SYN)
                return vnc_strdup_printf("no SYN-ACK or RST within %d ms", x->tries * x->interval_ms);
        if (!x->answered && x->proto == VNC_PROBE_UDP)
                return vnc_strdup_printf("dropped by the host: the datagram never left it, no answer within %d ms "
                                         "(%d datagram%s)",
                                         x->tries * x->interval_ms, x->tries, x->tries == 1 ? "" : "s");
        if (!x->answered)
                return vnc_strdup_printf("no reply within %d ms (%d request%s)", x->tries * x->interval_ms, x->tries,
                                         x->tries == 1 ? "" : "s");
        return NULL;
}
