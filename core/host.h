/* SPDX-License-Identifier: MIT */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "backend.h"
#include "error.h"
#include "fwverdict.h"
#include "live.h"

/*
 * The one seam between the core and the host. The core (core/) reaches the
 * kernel, the firewalls, dnsmasq, libvirt, the probes and the diagnostics only
 * through a struct vnc_host_ops that its caller hands it: the CLI fills one
 * with the real backends (cli/host.c), a test can fill one with recorded host
 * state or wrap the real one (tests/faults/). Nothing in core/ includes a
 * backend header or calls a backend function (tests/arch checks it).
 *
 * The types the core shares with the backends are here; the backends include
 * this header and implement the operations.
 */

/* ---------------------------------------------------------------- doctor's diagnostics */

/* Neighbour table (RTM_GETNEIGH dump, IPv4). IPv4 addresses in host byte order. */
struct vnc_neigh {
        int ifindex;
        uint32_t ip;
        uint16_t state; /* NUD_* */
        bool has_lladdr;
        uint8_t lladdr[6];
};
struct vnc_neigh_table {
        struct vnc_neigh *v;
        size_t n, alloc;
};
void vnc_neigh_table_done(struct vnc_neigh_table *t);
const struct vnc_neigh *vnc_neigh_find(const struct vnc_neigh_table *t, int ifindex, uint32_t ip);
/* "REACHABLE", "STALE", "FAILED", "INCOMPLETE", "PERMANENT", ... (the strongest bit) */
const char *vnc_neigh_state_to_string(uint16_t state);
/* REACHABLE, STALE, DELAY, PROBE, PERMANENT, NOARP: the neighbour answered once. */
bool vnc_neigh_state_valid(uint16_t state);

/* One route lookup, as `ip route get DST`. */
struct vnc_route_lookup {
        int error;      /* 0, or the kernel's -errno (-ENETUNREACH, -EHOSTUNREACH for unreachable routes...) */
        int oif;        /* output interface */
        bool has_gw;
        uint32_t gw;
        bool has_prefsrc;
        uint32_t prefsrc;
        uint8_t type;   /* RTN_UNICAST, RTN_LOCAL... */
        uint32_t table;
};

/* A socket bound to one of the ports asked for (/proc/net/udp, /proc/net/tcp LISTEN). */
struct vnc_listener {
        uint8_t proto;  /* IPPROTO_UDP or IPPROTO_TCP */
        uint32_t addr;  /* local address; 0 = wildcard */
        uint16_t port;
        unsigned long inode;
        pid_t pid;      /* owning process, 0 when not found */
        char comm[32];  /* /proc/<pid>/comm, "" when unknown */
};

/*
 * One active ARP probe of many (vnc_host_ops.arp_probe_many): "who has
 * target_ip" out of ifindex from src_mac/sender_ip (sender_ip 0 = an RFC 5227
 * probe that poisons no cache). Free each with vnc_arp_probe_done().
 */
struct vnc_arp_probe {
        int ifindex;
        uint8_t src_mac[6];
        uint32_t sender_ip, target_ip;
        int error;           /* out */
        uint8_t (*macs)[6];  /* out: distinct MACs that answered for target_ip */
        size_t n_macs;
};
void vnc_arp_probe_done(struct vnc_arp_probe *p);

/* "aa:bb:cc:dd:ee:ff" into buf of at least 18 bytes. */
const char *vnc_diag_mac_str(const uint8_t mac[6], char buf[static 18]);

/* ---------------------------------------------------------------- doctor --target, the guest's side */

/* One echo source: the guest is asked once per try from src. */
struct vnc_guest_echo {
        uint32_t src;              /* in: a host address (the bridge's, the uplink's) */
        bool answered;             /* out: an echo reply to src left the guest */
        uint8_t reply_mac[6];      /* out: the Ethernet destination of that reply */
        bool icmp_error;           /* out: an ICMP error to src came back instead */
        uint8_t icmp_type, icmp_code;
};

/* What vnc_host_ops.guest_probe_run asks the guest and what it saw (backends/guestprobe.c). */
struct vnc_guest_probe {
        /* in */
        int bridge_ifindex;
        uint8_t bridge_mac[6];
        uint32_t guest_ip;
        uint8_t guest_mac[6];
        struct vnc_guest_echo echo[2];
        size_t n_echo;
        int tries;                 /* requests per source, spread over timeout_ms */
        unsigned timeout_ms;       /* the whole exchange; ends early once every source is answered */
        /* out */
        unsigned sent;             /* requests that left */
        uint32_t *arp_asked;       /* distinct addresses the guest asked ARP for (sender guest_ip) */
        size_t n_arp_asked;
        unsigned ms;               /* how long it took */
};
void vnc_guest_probe_done(struct vnc_guest_probe *p);

/* ---------------------------------------------------------------- verify's probes */

/* A probe namespace on a bridge, and a set of them (backends/probe.h tells how they are made). */
struct vnc_probe;
struct vnc_probe_set;

/*
 * What one exchange sends. Guests do not live on ICMP alone: a host firewall
 * that forwards echo and drops TCP (ufw does) must fail verify.
 */
enum vnc_probe_proto {
        VNC_PROBE_ICMP_ECHO, /* echo request; answered by an echo reply */
        VNC_PROBE_TCP_SYN,   /* connect() to dst4:port; answered by SYN-ACK or RST */
        VNC_PROBE_UDP,       /* a datagram to dst4:port; see forwarded below */
        VNC_PROBE_DNS,       /* a DNS query (CHAOS TXT version.bind) to dst4:port; answered by any response */
};

/* One exchange (IPv4 or ICMPv6 echo, or IPv4 TCP/UDP/DNS), run together with others by probe_echo. */
struct vnc_probe_echo {
        /* in */
        bool from_probe;      /* true: from inside the probe; false: from the host */
        int family;           /* AF_INET or AF_INET6 */
        uint32_t dst4;        /* host byte order */
        struct in6_addr dst6; /* link-local ones are scoped to eth0 (probe) or the bridge (host) */
        uint32_t payload;     /* ICMP payload bytes; 0 means 56 */
        bool dont_fragment;   /* IP_PMTUDISC_DO / IPV6_DONTFRAG */
        int tries;            /* requests sent, interval_ms apart; deadline tries * interval_ms */
        int interval_ms;
        /* out */
        bool answered;
        double ms;            /* round trip of the answered request, -1 when none */
        int error;            /* -errno when a request could not be sent (-EMSGSIZE, -ENETUNREACH...) */
        uint32_t mtu;         /* with -EMSGSIZE: the path MTU the kernel knows */
        bool icmp_error;      /* an ICMP error came back instead of a reply */
        uint8_t icmp_type, icmp_code;
        int icmp_family;
        uint8_t icmp_from[16]; /* who sent the ICMP error (network byte order) */
        /* protocols beyond echo (in: proto, port; IPv4 only, from either side) */
        enum vnc_probe_proto proto;
        uint16_t port;        /* TCP/UDP/DNS destination port */
        bool refused;         /* out, TCP: answered by a RST (connection refused), not a SYN-ACK */
        bool forwarded;       /* out, UDP: the datagram was seen leaving the host through another
                               * interface than the probe's bridge, or the target itself answered
                               * (a datagram, or an ICMP port unreachable from dst4) */
        bool reached;         /* out, UDP: the target itself answered */
        int dns_rcode;        /* out, DNS: the response's RCODE (0 NOERROR, 5 REFUSED, ...) */
};

/* "destination unreachable (port unreachable) from 10.0.0.1", for messages; caller frees. */
char *vnc_probe_echo_describe_error(const struct vnc_probe_echo *x);

/* ---------------------------------------------------------------- the table */

/*
 * Every operation has the semantics of the backend function of the same name
 * (vnc_<name>, documented in the backends' headers). Whoever fills a table
 * sets every operation the code it hands the table to may call.
 */
struct vnc_host_ops {
        /* The executor's backends, asked in this order (core/exec.c). */
        const struct vnc_backend_ops *const *backends;
        size_t n_backends;

        /* Live state: links, addresses, routes, sysctls; the firewall rulesets; the openings in the
         * host's firewalls; the profile's dnsmasq; the libvirt networks at uri. */
        int (*live_read)(struct vnc_live **ret, struct vnc_error *e);
        int (*fw_live_read)(struct vnc_live *live, struct vnc_error *e);
        int (*open_live_read)(struct vnc_live *live, struct vnc_error *e);
        int (*dhcp_status)(const char *state_dir, const char *profile, bool *ret_running, char ret_blob[17]);
        int (*libvirt_live_read)(struct vnc_libvirt_view *v, const char *uri, struct vnc_error *e);
        /* How a tap of live_read's was made (owner, group, vnet_hdr, multi_queue; sets tun_read):
         * asked only for the taps the planner may delete with no applied profile to re-create them from. */
        void (*live_tun_read)(struct vnc_live_link *l);

        /* verify's probes (backends/probe.h). */
        int (*probe_cleanup_stale)(unsigned *ret_removed, struct vnc_error *e);
        int (*probe_new)(const char *bridge, const char *profile, const char *network, struct vnc_probe **ret,
                         struct vnc_error *e);
        void (*probe_free)(struct vnc_probe *p);
        int (*probe_set_new)(const char *profile, size_t n, struct vnc_probe_set **ret, struct vnc_error *e);
        /* ret_free is filled when probe_set_arp_wait(s, i) returns: the ARP wait overlaps the set's making */
        int (*probe_set_prepare)(struct vnc_probe_set *s, size_t i, const char *bridge, const char *network,
                                 const uint32_t *cands, size_t n_cands, int wait_ms, bool *ret_free,
                                 struct vnc_error *e);
        int (*probe_set_link)(struct vnc_probe_set *s, struct vnc_error *e);
        int (*probe_set_get)(struct vnc_probe_set *s, size_t i, struct vnc_probe **ret, struct vnc_error *e);
        int (*probe_set_arp_wait)(struct vnc_probe_set *s, size_t i, struct vnc_error *e);
        void (*probe_set_free)(struct vnc_probe_set *s);
        uint32_t (*probe_bridge_mtu)(const struct vnc_probe *p);
        int (*probe_arp_free)(struct vnc_probe *p, const uint32_t *cands, size_t n, int wait_ms, bool *ret_free,
                              struct vnc_error *e);
        int (*probe_set_ipv4)(struct vnc_probe *p, uint32_t addr, uint8_t prefix, uint32_t gateway,
                              bool default_onlink, struct vnc_error *e);
        int (*probe_dhcp_offer)(struct vnc_probe *p, int tries, int interval_ms, uint32_t *ret_offer,
                                uint32_t *ret_server, double *ret_ms, struct vnc_error *e);
        int (*probe_ipv6_ll)(struct vnc_probe *p, bool probe_side, struct in6_addr *ret, struct vnc_error *e);
        int (*probe_bridge_ipv4)(struct vnc_probe *p, uint32_t *ret, struct vnc_error *e);
        int (*probe_echo)(struct vnc_probe *p, struct vnc_probe_echo *echoes, size_t n, struct vnc_error *e);

        /* doctor's diagnostics (backends/diag.h, backends/guestprobe.h). */
        int (*diag_neigh_read)(struct vnc_neigh_table *ret, struct vnc_error *e);
        int (*diag_route_get)(uint32_t dst, struct vnc_route_lookup *ret, struct vnc_error *e);
        int (*diag_conf_int)(const char *ifname, const char *leaf, int *ret);
        int (*diag_br_nf_call_iptables)(int *ret);
        int (*diag_addr_assign_type)(const char *ifname, int *ret);
        int (*diag_listeners)(const uint16_t *ports, size_t n_ports, struct vnc_listener **ret, size_t *ret_n,
                              struct vnc_error *e);
        int (*diag_arp_probe_many)(struct vnc_arp_probe *probes, size_t n, unsigned timeout_ms, struct vnc_error *e);
        int (*guest_probe_run)(struct vnc_guest_probe *p, struct vnc_error *e);

        /* What the host's firewalls would do with a flow (backends/fw-verdict.h). */
        int (*fw_rulesets_read)(struct vnc_fw_rulesets **ret, struct vnc_error *e);
        void (*fw_rulesets_free)(struct vnc_fw_rulesets *rs);
        int (*fw_judge)(const struct vnc_fw_rulesets *rs, const struct vnc_flow *f, struct vnc_verdict_result *ret,
                        struct vnc_error *e);
};
