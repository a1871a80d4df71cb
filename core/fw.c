/* SPDX-License-Identifier: MIT */
/*
 * The firewall rules of SPEC section 4, as data. One generator per rule kind
 * (the functions below); the same rule deleted is the undo of it created.
 */
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>

#include "fw.h"
#include "live.h"
#include "plan.h"

static const char *const table_names[_VNC_FW_TABLE_MAX] = {
        [VNC_FW_TABLE_FILTER] = "filter",
        [VNC_FW_TABLE_NAT] = "nat",
};

static const char *const target_names[_VNC_FW_TARGET_MAX] = {
        [VNC_FW_ACCEPT] = "ACCEPT",         [VNC_FW_REJECT] = "REJECT", [VNC_FW_RETURN] = "RETURN",
        [VNC_FW_MASQUERADE] = "MASQUERADE", [VNC_FW_DNAT] = "DNAT",
};

const char *vnc_fw_table_to_string(int t) {
        return t >= 0 && t < _VNC_FW_TABLE_MAX ? table_names[t] : NULL;
}

int vnc_fw_table_from_string(const char *s) {
        for (int i = 0; s && i < _VNC_FW_TABLE_MAX; i++)
                if (streq(table_names[i], s))
                        return i;
        return -EINVAL;
}

const char *vnc_fw_target_to_string(int t) {
        return t >= 0 && t < _VNC_FW_TARGET_MAX ? target_names[t] : NULL;
}

int vnc_fw_target_from_string(const char *s) {
        for (int i = 0; s && i < _VNC_FW_TARGET_MAX; i++)
                if (streq(target_names[i], s))
                        return i;
        return -EINVAL;
}

const struct vnc_fw_chain_def vnc_fw_chains[] = {
        {VNC_FW_TABLE_FILTER, "VNETCFG_INP", "INPUT"},
        {VNC_FW_TABLE_FILTER, "VNETCFG_OUT", "OUTPUT"},
        {VNC_FW_TABLE_FILTER, "VNETCFG_FWD", "FORWARD"},
        {VNC_FW_TABLE_FILTER, "VNETCFG_FWX", "VNETCFG_FWD"},
        {VNC_FW_TABLE_FILTER, "VNETCFG_FWO", "VNETCFG_FWD"},
        {VNC_FW_TABLE_FILTER, "VNETCFG_FWI", "VNETCFG_FWD"},
        {VNC_FW_TABLE_FILTER, "VNETCFG_FWA", "VNETCFG_FWD"},
        {VNC_FW_TABLE_NAT, "VNETCFG_PRE", "PREROUTING"},
        {VNC_FW_TABLE_NAT, "VNETCFG_POST", "POSTROUTING"},
        {VNC_FW_TABLE_NAT, "VNETCFG_NOUT", "OUTPUT"},
};
const size_t vnc_fw_n_chains = ELEMENTSOF(vnc_fw_chains);

bool vnc_fw_rule_appends(const struct vnc_fw_rule *r) {
        return r->target == VNC_FW_REJECT || r->target == VNC_FW_MASQUERADE;
}

/* ---- rendering, in iptables-save's order ---- */

_printf_(2, 3) static void put(FILE *f, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vfprintf(f, fmt, ap);
        va_end(ap);
}

static const char *proto_name(uint8_t p) {
        switch (p) {
        case IPPROTO_TCP:
                return "tcp";
        case IPPROTO_UDP:
                return "udp";
        case IPPROTO_ICMP:
                return "icmp";
        default:
                return NULL;
        }
}

static void render_body(FILE *f, const struct vnc_fw_rule *r, bool with_comment) {
        char ip[16];

        if (r->table != VNC_FW_TABLE_FILTER)
                put(f, "-t %s ", vnc_fw_table_to_string(r->table));
        put(f, "-A %s", r->chain);
        if (r->has_src)
                put(f, " -s %s/%u", vnc_ipv4_str(r->src.addr, ip), r->src.prefix);
        if (r->has_dst)
                put(f, "%s -d %s/%u", r->not_dst ? " !" : "", vnc_ipv4_str(r->dst.addr, ip), r->dst.prefix);
        if (r->in[0])
                put(f, "%s -i %s", r->not_in ? " !" : "", r->in);
        if (r->out[0])
                put(f, "%s -o %s", r->not_out ? " !" : "", r->out);
        if (proto_name(r->proto))
                put(f, " -p %s", proto_name(r->proto));
        if ((r->proto == IPPROTO_TCP || r->proto == IPPROTO_UDP) && (r->sport || r->dport)) {
                put(f, " -m %s", proto_name(r->proto));
                if (r->sport)
                        put(f, " --sport %u", r->sport);
                if (r->dport)
                        put(f, " --dport %u", r->dport);
        }
        if (r->proto == IPPROTO_ICMP && r->icmp_type >= 0)
                put(f, " -m icmp --icmp-type %d", r->icmp_type);
        if (r->dst_local)
                put(f, " -m addrtype --dst-type LOCAL");
        if (r->ctstate) {
                /* iptables prints states in this order */
                const char *sep = "";
                put(f, " -m conntrack --ctstate ");
                if (r->ctstate & VNC_CT_RELATED) {
                        put(f, "%sRELATED", sep);
                        sep = ",";
                }
                if (r->ctstate & VNC_CT_ESTABLISHED) {
                        put(f, "%sESTABLISHED", sep);
                        sep = ",";
                }
                if (r->ctstate & VNC_CT_DNAT)
                        put(f, "%sDNAT", sep);
        }
        if (with_comment && r->comment[0])
                put(f, " -m comment --comment \"%s\"", r->comment);
        put(f, " -j %s", vnc_fw_target_to_string(r->target));
        if (r->target == VNC_FW_REJECT)
                put(f, " --reject-with icmp-port-unreachable");
        if (r->target == VNC_FW_DNAT)
                put(f, " --to-destination %s:%u", vnc_ipv4_str(r->to_addr, ip), r->to_port);
}

static char *render(const struct vnc_fw_rule *r, bool with_comment) {
        /* A rule renders to a few hundred bytes: a stack buffer, not open_memstream's zeroed 8 KiB
         * per call (a third of a no-op apply's planning went to clearing those). */
        char buf[2048];
        FILE *f = fmemopen(buf, sizeof(buf), "w");

        if (!f)
                return NULL;
        setbuf(f, NULL);
        render_body(f, r, with_comment);
        long len = ftell(f);
        if (fclose(f) != 0 || len < 0 || (size_t)len >= sizeof(buf) - 1)
                return NULL; /* cannot happen with the generators' fields; the caller sees ENOMEM */
        buf[len] = 0;
        return strdup(buf);
}

char *vnc_fw_rule_render(const struct vnc_fw_rule *r) {
        return render(r, true);
}

/* ---- rendering for nftables ---- */

static const struct vnc_nft_base nft_bases[] = {
        {VNC_FW_TABLE_FILTER, "INPUT", "input", "type filter hook input priority 0; policy accept;"},
        {VNC_FW_TABLE_FILTER, "FORWARD", "forward", "type filter hook forward priority 0; policy accept;"},
        {VNC_FW_TABLE_FILTER, "OUTPUT", "output", "type filter hook output priority 0; policy accept;"},
        {VNC_FW_TABLE_NAT, "PREROUTING", "prerouting", "type nat hook prerouting priority -100; policy accept;"},
        {VNC_FW_TABLE_NAT, "POSTROUTING", "postrouting", "type nat hook postrouting priority 100; policy accept;"},
        {VNC_FW_TABLE_NAT, "OUTPUT", "nat_output", "type nat hook output priority -100; policy accept;"},
};

const struct vnc_nft_base *vnc_nft_base_for(uint8_t table, const char *builtin) {
        for (size_t i = 0; i < ELEMENTSOF(nft_bases); i++)
                if (nft_bases[i].table == table && streq(nft_bases[i].builtin, builtin))
                        return &nft_bases[i];
        return NULL;
}

static void render_nft_body(FILE *f, const struct vnc_fw_rule *r) {
        char ip[16];

        put(f, "%s", r->chain);
        if (r->in[0])
                put(f, " iifname %s\"%s\"", r->not_in ? "!= " : "", r->in);
        if (r->out[0])
                put(f, " oifname %s\"%s\"", r->not_out ? "!= " : "", r->out);
        if (r->has_src)
                put(f, " ip saddr %s/%u", vnc_ipv4_str(r->src.addr & vnc_prefix_mask(r->src.prefix), ip), r->src.prefix);
        if (r->has_dst)
                put(f, " ip daddr %s%s/%u", r->not_dst ? "!= " : "",
                    vnc_ipv4_str(r->dst.addr & vnc_prefix_mask(r->dst.prefix), ip), r->dst.prefix);
        const char *pn = proto_name(r->proto);
        if ((r->proto == IPPROTO_TCP || r->proto == IPPROTO_UDP) && (r->sport || r->dport)) {
                if (r->sport)
                        put(f, " %s sport %u", pn, r->sport);
                if (r->dport)
                        put(f, " %s dport %u", pn, r->dport);
        } else if (r->proto == IPPROTO_ICMP && r->icmp_type >= 0) {
                if (r->icmp_type == 8 || r->icmp_type == 0)
                        put(f, " icmp type %s", r->icmp_type == 8 ? "echo-request" : "echo-reply");
                else
                        put(f, " icmp type %d", r->icmp_type);
        } else if (pn)
                put(f, " meta l4proto %s", pn);
        if (r->dst_local)
                put(f, " fib daddr type local");
        if (r->ctstate & (VNC_CT_ESTABLISHED | VNC_CT_RELATED)) {
                /* nft prints states in this order */
                bool both = (r->ctstate & VNC_CT_ESTABLISHED) && (r->ctstate & VNC_CT_RELATED);
                put(f, " ct state %s%s%s", r->ctstate & VNC_CT_ESTABLISHED ? "established" : "", both ? "," : "",
                    r->ctstate & VNC_CT_RELATED ? "related" : "");
        }
        if (r->ctstate & VNC_CT_DNAT)
                put(f, " ct status dnat");
        switch (r->target) {
        case VNC_FW_ACCEPT:
                put(f, " accept");
                break;
        case VNC_FW_REJECT:
                put(f, " reject"); /* icmp port-unreachable, as iptables' REJECT */
                break;
        case VNC_FW_RETURN:
                put(f, " return");
                break;
        case VNC_FW_MASQUERADE:
                put(f, " masquerade");
                break;
        case VNC_FW_DNAT:
                put(f, " dnat to %s", vnc_ipv4_str(r->to_addr, ip));
                if (r->to_port)
                        put(f, ":%u", r->to_port);
                break;
        default:
                break;
        }
        if (r->comment[0])
                put(f, " comment \"%s\"", r->comment);
}

char *vnc_fw_rule_render_nft(const struct vnc_fw_rule *r) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        if (!f)
                return NULL;
        render_nft_body(f, r);
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

/* ---- which backend (firewall.backend "auto") ---- */

enum vnc_fw_backend vnc_fw_backend_choose(const struct vnc_profile *p, const struct vnc_live *live,
                                          char ret_reason[VNC_FW_REASON_MAX]) {
        const char *how = live->fw_host_iptables_how ? live->fw_host_iptables_how : "";

        if (p && p->fw_backend != VNC_FW_AUTO) {
                snprintf(ret_reason, VNC_FW_REASON_MAX, "firewall.backend is \"%s\" in the profile",
                         vnc_fw_backend_to_string(p->fw_backend));
                return p->fw_backend;
        }
        if (!live->nft_available && live->fw_available) {
                snprintf(ret_reason, VNC_FW_REASON_MAX, "auto: nftables cannot be used here (%s)",
                         live->nft_error ? live->nft_error : "unknown reason");
                return VNC_FW_IPTABLES;
        }
        if (live->nft_available && !live->fw_available) {
                snprintf(ret_reason, VNC_FW_REASON_MAX, "auto: the legacy iptables tables cannot be used here (%s)",
                         live->fw_error ? live->fw_error : "unknown reason");
                return VNC_FW_NFTABLES;
        }
        if (live->fw_foreign_nft > 0) {
                snprintf(ret_reason, VNC_FW_REASON_MAX, "auto: the host's nftables ruleset has %zu base chain%s (%s)",
                         live->fw_foreign_nft, live->fw_foreign_nft == 1 ? "" : "s",
                         live->fw_foreign_nft_first ? live->fw_foreign_nft_first : "?");
                return VNC_FW_NFTABLES;
        }
        if (live->fw_foreign_legacy > 0) {
                snprintf(ret_reason, VNC_FW_REASON_MAX, "auto: the host's rules are in the legacy iptables tables "
                         "(%zu rule%s or policies)", live->fw_foreign_legacy, live->fw_foreign_legacy == 1 ? "" : "s");
                return VNC_FW_IPTABLES;
        }
        if (live->fw_host_iptables == VNC_FW_NFTABLES) {
                snprintf(ret_reason, VNC_FW_REASON_MAX, "auto: the host's iptables is iptables-nft (%s)", how);
                return VNC_FW_NFTABLES;
        }
        if (live->fw_host_iptables == VNC_FW_IPTABLES) {
                snprintf(ret_reason, VNC_FW_REASON_MAX, "auto: the host's iptables is iptables-legacy (%s)", how);
                return VNC_FW_IPTABLES;
        }
        snprintf(ret_reason, VNC_FW_REASON_MAX, "auto: no host firewall and no iptables command found; nftables "
                 "is the kernel's current interface");
        return VNC_FW_NFTABLES;
}

void vnc_fw_rule_seal(struct vnc_fw_rule *r, const char *profile, const char *network) {
        _cleanup_free_ char *body = render(r, false);
        char hash[17];

        vnc_blob_hash(body ? body : "", hash);
        /* The alias says whose; all 64 bits of the digest tell rules apart (8 hex digits
         * collided among 20000 rules). Longest: 8 + 32 + 1 + 32 + 2 + 16 = 91 bytes. */
        snprintf(r->comment, sizeof(r->comment), "vnetcfg:%s/%s #%s", profile, network, hash);
}

/* ---- the generators ---- */

struct gen {
        const struct vnc_profile *p;
        const struct vnc_network *n;
        struct vnc_fw_rule *rules;
        size_t n_rules, alloc;
        int error;
};

static struct vnc_fw_rule *rule(struct gen *g, uint8_t table, const char *chain, uint8_t target) {
        if (g->error || VNC_GROW(g->rules, g->alloc, g->n_rules + 1) < 0) {
                g->error = -ENOMEM;
                return NULL;
        }
        struct vnc_fw_rule *r = &g->rules[g->n_rules++];
        *r = (struct vnc_fw_rule){.table = table, .target = target, .icmp_type = -1};
        snprintf(r->chain, sizeof(r->chain), "%s", chain);
        return r;
}

static struct vnc_ipv4_prefix subnet(const struct vnc_network *n) {
        return (struct vnc_ipv4_prefix){n->ipv4.addr & vnc_prefix_mask(n->ipv4.prefix), n->ipv4.prefix};
}

static struct vnc_ipv4_prefix host(uint32_t a) {
        return (struct vnc_ipv4_prefix){a, 32};
}

#define BR(r, field) snprintf((r)->field, sizeof((r)->field), "%s", g->n->bridge)

/* Guests on one bridge reach each other, whatever the mode (bridged frames pass FORWARD with br_netfilter). */
static void gen_same_bridge(struct gen *g) {
        struct vnc_fw_rule *r = rule(g, VNC_FW_TABLE_FILTER, "VNETCFG_FWX", VNC_FW_ACCEPT);
        if (r) {
                BR(r, in);
                BR(r, out);
        }
}

/* host-only, isolated: nothing is forwarded into or out of the bridge. */
static void gen_closed(struct gen *g) {
        struct vnc_fw_rule *r = rule(g, VNC_FW_TABLE_FILTER, "VNETCFG_FWO", VNC_FW_REJECT);
        if (r)
                BR(r, in);
        r = rule(g, VNC_FW_TABLE_FILTER, "VNETCFG_FWI", VNC_FW_REJECT);
        if (r)
                BR(r, out);
}

/*
 * nat, routed: the subnet leaves the bridge (through the uplink only, when one
 * is named); anything else out of the bridge (spoofed sources, other
 * interfaces) is rejected at the end of FWA, after every ingress decision.
 */
static void gen_egress(struct gen *g, const char *uplink) {
        struct vnc_fw_rule *r = rule(g, VNC_FW_TABLE_FILTER, "VNETCFG_FWA", VNC_FW_ACCEPT);
        if (r) {
                r->has_src = true;
                r->src = subnet(g->n);
                BR(r, in);
                if (uplink && *uplink)
                        snprintf(r->out, sizeof(r->out), "%s", uplink);
        }
        r = rule(g, VNC_FW_TABLE_FILTER, "VNETCFG_FWA", VNC_FW_REJECT);
        if (r)
                BR(r, in);
}

/* nat: replies come back in; nothing else enters unless forwarded. */
static void gen_nat_ingress(struct gen *g) {
        struct vnc_fw_rule *r = rule(g, VNC_FW_TABLE_FILTER, "VNETCFG_FWI", VNC_FW_ACCEPT);
        if (r) {
                r->has_dst = true;
                r->dst = subnet(g->n);
                BR(r, out);
                r->ctstate = VNC_CT_RELATED | VNC_CT_ESTABLISHED;
        }
        r = rule(g, VNC_FW_TABLE_FILTER, "VNETCFG_FWI", VNC_FW_REJECT);
        if (r)
                BR(r, out);
}

/* routed: the subnet is reachable from anywhere the host routes from. */
static void gen_routed_ingress(struct gen *g) {
        struct vnc_fw_rule *r = rule(g, VNC_FW_TABLE_FILTER, "VNETCFG_FWI", VNC_FW_ACCEPT);
        if (r) {
                r->has_dst = true;
                r->dst = subnet(g->n);
                BR(r, out);
        }
        r = rule(g, VNC_FW_TABLE_FILTER, "VNETCFG_FWI", VNC_FW_REJECT);
        if (r)
                BR(r, out);
}

/* Masquerade what leaves the subnet, except multicast and broadcast (as libvirt does). */
static void gen_masquerade(struct gen *g) {
        static const struct vnc_ipv4_prefix exempt[] = {{0xe0000000, 24}, {0xffffffff, 32}};
        struct vnc_fw_rule *r;

        for (size_t i = 0; i < ELEMENTSOF(exempt); i++) {
                r = rule(g, VNC_FW_TABLE_NAT, "VNETCFG_POST", VNC_FW_RETURN);
                if (r) {
                        r->has_src = true;
                        r->src = subnet(g->n);
                        r->has_dst = true;
                        r->dst = exempt[i];
                }
        }
        r = rule(g, VNC_FW_TABLE_NAT, "VNETCFG_POST", VNC_FW_MASQUERADE);
        if (r) {
                r->has_src = true;
                r->src = subnet(g->n);
                r->has_dst = true;
                r->not_dst = true;
                r->dst = subnet(g->n);
                if (g->n->nat.uplink[0])
                        snprintf(r->out, sizeof(r->out), "%s", g->n->nat.uplink);
                else {
                        BR(r, out);
                        r->not_out = true;
                }
        }
}

static void gen_port_forward(struct gen *g, const struct vnc_port_forward *pf) {
        uint8_t proto = pf->proto == VNC_PROTO_UDP ? IPPROTO_UDP : IPPROTO_TCP;
        static const char *const dnat_chains[] = {"VNETCFG_PRE", "VNETCFG_NOUT"};
        struct vnc_fw_rule *r;

        /* To the host (one address, or any of its own), from outside and from the host itself. */
        for (size_t i = 0; i < ELEMENTSOF(dnat_chains); i++) {
                r = rule(g, VNC_FW_TABLE_NAT, dnat_chains[i], VNC_FW_DNAT);
                if (!r)
                        return;
                if (pf->has_host_address) {
                        r->has_dst = true;
                        r->dst = host(pf->host_address);
                } else
                        r->dst_local = true;
                r->proto = proto;
                r->dport = pf->host_port;
                r->to_addr = pf->guest;
                r->to_port = pf->guest_port;
        }
        /* The forwarded flow may enter the bridge. */
        r = rule(g, VNC_FW_TABLE_FILTER, "VNETCFG_FWI", VNC_FW_ACCEPT);
        if (r) {
                r->has_dst = true;
                r->dst = host(pf->guest);
                BR(r, out);
                r->proto = proto;
                r->dport = pf->guest_port;
                r->ctstate = VNC_CT_DNAT;
        }
        /* Hairpin: a guest of the same bridge reaching the forward gets its reply through the host. */
        r = rule(g, VNC_FW_TABLE_NAT, "VNETCFG_POST", VNC_FW_MASQUERADE);
        if (r) {
                r->has_src = true;
                r->src = subnet(g->n);
                r->has_dst = true;
                r->dst = host(pf->guest);
                BR(r, out);
                r->proto = proto;
                r->dport = pf->guest_port;
        }
}

/* ICMP echo between the host and the subnet, whatever INPUT/OUTPUT's policy. */
static void gen_icmp(struct gen *g) {
        static const int16_t types[] = {8, 0}; /* echo-request, echo-reply */
        struct vnc_fw_rule *r;

        for (size_t i = 0; i < ELEMENTSOF(types); i++) {
                r = rule(g, VNC_FW_TABLE_FILTER, "VNETCFG_INP", VNC_FW_ACCEPT);
                if (r) {
                        r->has_src = true;
                        r->src = subnet(g->n);
                        BR(r, in);
                        r->proto = IPPROTO_ICMP;
                        r->icmp_type = types[i];
                }
                r = rule(g, VNC_FW_TABLE_FILTER, "VNETCFG_OUT", VNC_FW_ACCEPT);
                if (r) {
                        r->has_dst = true;
                        r->dst = subnet(g->n);
                        BR(r, out);
                        r->proto = IPPROTO_ICMP;
                        r->icmp_type = types[i];
                }
        }
}

/* DHCP and DNS from the bridge to the host's dnsmasq, and DHCP replies back. */
static void gen_dhcp(struct gen *g) {
        static const struct {
                uint8_t proto;
                uint16_t dport;
        } in[] = {{IPPROTO_UDP, 67}, {IPPROTO_UDP, 53}, {IPPROTO_TCP, 53}};
        struct vnc_fw_rule *r;

        for (size_t i = 0; i < ELEMENTSOF(in); i++) {
                r = rule(g, VNC_FW_TABLE_FILTER, "VNETCFG_INP", VNC_FW_ACCEPT);
                if (r) {
                        BR(r, in);
                        r->proto = in[i].proto;
                        r->dport = in[i].dport;
                }
        }
        r = rule(g, VNC_FW_TABLE_FILTER, "VNETCFG_OUT", VNC_FW_ACCEPT);
        if (r) {
                BR(r, out);
                r->proto = IPPROTO_UDP;
                r->sport = 67;
                r->dport = 68;
        }
        /* DNS answers, so they leave even when OUTPUT's policy drops. */
        for (size_t i = 1; i < ELEMENTSOF(in); i++) {
                r = rule(g, VNC_FW_TABLE_FILTER, "VNETCFG_OUT", VNC_FW_ACCEPT);
                if (r) {
                        BR(r, out);
                        r->proto = in[i].proto;
                        r->sport = 53;
                }
        }
}

/*
 * vlan: a VLAN network without "routed" is closed like host-only: nothing is
 * forwarded into or out of its bridge, whoever turned ip_forward on. A routed
 * one (it has ipv4) lets in only the subnets of the other routed VLAN networks
 * of the profile, from their bridges, and lets nothing else out (FWA's reject
 * comes after every ingress accept), so routed VLANs reach each other and
 * nothing beyond.
 */
static void gen_vlan(struct gen *g) {
        struct vnc_fw_rule *r;

        if (!g->n->vlan.routed) {
                gen_closed(g);
                return;
        }
        for (size_t i = 0; i < g->p->n_networks; i++) {
                const struct vnc_network *o = &g->p->networks[i];
                if (o == g->n || o->mode != VNC_MODE_VLAN || !o->vlan.routed || !o->has_ipv4)
                        continue;
                r = rule(g, VNC_FW_TABLE_FILTER, "VNETCFG_FWI", VNC_FW_ACCEPT);
                if (r) {
                        r->has_src = true;
                        r->src = subnet(o);
                        r->has_dst = true;
                        r->dst = subnet(g->n);
                        snprintf(r->in, sizeof(r->in), "%s", o->bridge);
                        BR(r, out);
                }
        }
        r = rule(g, VNC_FW_TABLE_FILTER, "VNETCFG_FWI", VNC_FW_REJECT);
        if (r)
                BR(r, out);
        r = rule(g, VNC_FW_TABLE_FILTER, "VNETCFG_FWA", VNC_FW_REJECT);
        if (r)
                BR(r, in);
}

static void gen_network(struct gen *g) {
        const struct vnc_network *n = g->n;

        switch (n->mode) {
        case VNC_MODE_NAT:
                gen_same_bridge(g);
                gen_nat_ingress(g);
                gen_egress(g, n->nat.uplink);
                gen_masquerade(g);
                for (size_t i = 0; i < n->nat.n_forwards; i++)
                        gen_port_forward(g, &n->nat.forwards[i]);
                break;
        case VNC_MODE_ROUTED:
                gen_same_bridge(g);
                gen_routed_ingress(g);
                gen_egress(g, NULL);
                break;
        case VNC_MODE_HOST_ONLY:
                gen_same_bridge(g);
                gen_closed(g);
                break;
        case VNC_MODE_ISOLATED: {
                gen_same_bridge(g);
                gen_closed(g);
                /* Guests reach only each other: not the host either, on any of its addresses. */
                struct vnc_fw_rule *r = rule(g, VNC_FW_TABLE_FILTER, "VNETCFG_INP", VNC_FW_REJECT);
                if (r)
                        BR(r, in);
                break;
        }
        case VNC_MODE_BRIDGED:
                /* Guests and the LAN meet at layer 2; with br_netfilter those frames pass FORWARD. */
                gen_same_bridge(g);
                return;
        case VNC_MODE_VLAN:
                gen_same_bridge(g);
                gen_vlan(g);
                break;
        default:
                return;
        }
        if (n->has_ipv4 && n->allow_icmp)
                gen_icmp(g);
        if (n->has_dhcp)
                gen_dhcp(g);
}

int vnc_fw_rules_for_profile(const struct vnc_profile *p, struct vnc_fw_rule **ret, size_t *ret_n) {
        struct gen g = {.p = p};

        for (size_t i = 0; p && i < p->n_networks; i++) {
                size_t first = g.n_rules;
                g.n = &p->networks[i];
                gen_network(&g);
                for (size_t k = first; !g.error && k < g.n_rules; k++)
                        vnc_fw_rule_seal(&g.rules[k], p->name, g.n->name);
        }
        if (g.error) {
                free(g.rules);
                return g.error;
        }
        *ret = g.rules;
        *ret_n = g.n_rules;
        return 0;
}
