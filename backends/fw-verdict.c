/* SPDX-License-Identifier: MIT */
/*
 * What would the host's firewall do with one flow, which rule or policy
 * decides, whose it is, and what that owner's tool would change?
 *
 * Both rule sets the kernel runs are read once per run
 * (vnc_fw_rulesets_read): the iptables legacy tables (x_tables, through
 * libiptc) and nf_tables (through libnftables, as JSON, plus its text for
 * evidence and for iptables-nft's xt matches, which only the text shows
 * decoded). Each is loaded into one flow-independent model: chains of rules,
 * each rule a list of predicates on flow fields (interface, addresses,
 * protocol, ports, ICMP type, conntrack state and status, address type) and
 * what it does. nft verdict maps are expanded into one rule per element.
 *
 * vnc_fw_judge is pure: for a flow it walks that model as the kernel would,
 * rule by rule, into jumped-to and gone-to chains and back, until a verdict
 * or the base chain's policy. Conntrack state is the flow's: a new flow is
 * NEW, a reply ESTABLISHED. A predicate that cannot be decided (a mark, a
 * rate limit, a named set not listed) is followed both ways; when both ways
 * end in the same verdict it does not matter, otherwise the answer is UNKNOWN
 * and names that rule. Nothing is guessed.
 *
 * At a filter hook every base chain runs (legacy filter table and each nft
 * base chain of family ip or inet, by priority); an accept ends only its own
 * chain, a drop anywhere drops. At the nat hook the first chain that
 * translates decides.
 *
 * Reading only: nothing here writes to the kernel, and no x_tables table is
 * instantiated by looking at it (a table the kernel has not created yet is
 * empty). The xtables lock is not taken: iptc_init copies a consistent
 * snapshot in one getsockopt, and a diagnosis must not wait for a writer.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <jansson.h>
#include <libiptc/libiptc.h>
#include <linux/if_packet.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/xt_addrtype.h>
#include <linux/netfilter/xt_comment.h>
#include <linux/netfilter/xt_conntrack.h>
#include <linux/netfilter/xt_mark.h>
#include <linux/netfilter/xt_multiport.h>
#include <linux/netfilter/xt_pkttype.h>
#include <linux/netfilter/xt_state.h>
#include <linux/netfilter/xt_tcpudp.h>
#include <linux/netfilter_ipv4/ipt_REJECT.h>
#include <netinet/in.h>
#include <nftables/libnftables.h>
#include <stdarg.h>
#include <stdio.h>

#include "fw-verdict.h"
#include "xt.h"

#define COMMENT_PREFIX "vnetcfg:"
#define FORK_BUDGET 4096 /* undecidable rules followed both ways, per base chain and flow */
#define JUMP_DEPTH 64

enum tri { T_NO, T_YES, T_MAYBE };

static enum tri tri_not(enum tri a) {
        return a == T_MAYBE ? T_MAYBE : a == T_YES ? T_NO : T_YES;
}

/* ============================ the model ============================ */

/* Flow fields a predicate looks at. */
enum key {
        K_IIF,       /* names (patterns "vn-*") */
        K_OIF,
        K_SADDR,     /* ranges of addresses */
        K_DADDR,
        K_PROTO,     /* ranges of protocol numbers */
        K_SPORT,
        K_DPORT,
        K_ICMPTYPE,
        K_ICMPCODE,
        K_CTSTATE,   /* bit masks: XT_CONNTRACK_STATE_* */
        K_CTSTATUS,  /* IPS_* */
        K_SADDRTYPE, /* XT_ADDRTYPE_* */
        K_DADDRTYPE,
        K_PKTTYPE,   /* PACKET_HOST/BROADCAST/MULTICAST */
        K_NFPROTO,   /* NFPROTO_IPV4 ... */
        K_FALSE,     /* never matches an IPv4 flow (an IPv6 header field) */
        K_UNKNOWN,   /* cannot be decided: why says what */
};

struct val {
        uint32_t lo, hi; /* a range, or lo = a bit mask */
        char *name;      /* interface name pattern */
};

struct pred {
        enum key key;
        bool neg;
        struct val *v;
        size_t n, alloc;
        char *why; /* K_UNKNOWN */
};

/* What a rule does when it matches. */
enum tgt {
        TG_CONTINUE, /* counter, LOG, MARK...: the next rule runs */
        TG_ACCEPT,
        TG_DROP,     /* DROP and REJECT */
        TG_RETURN,
        TG_JUMP,
        TG_GOTO,
        TG_NAT,      /* MASQUERADE, SNAT */
        TG_UNKNOWN,  /* a verdict we cannot foresee (queue to userspace...) */
};

struct xrule {
        struct pred *preds;
        size_t n_preds, alloc_preds;
        enum tgt tgt;
        int target;     /* chain index of a jump/goto, -1 unresolved */
        char *target_name;
        char *text;     /* as the tool prints it */
        char *why;      /* TG_UNKNOWN: what could not be foreseen */
        unsigned num;   /* legacy: 1-based position in the chain; nft: handle */
        unsigned pos;   /* 1-based position in the chain (iptables-nft's rule number) */
        bool ours;      /* sealed with a vnetcfg comment */
        char *comment;
};

struct xchain {
        char *name;
        char *family, *table; /* nft: "inet", "filter"; legacy: NULL, "filter" */
        char *type, *hook;    /* nft base chains */
        bool base;
        int prio;
        enum tgt policy;      /* TG_ACCEPT or TG_DROP */
        struct xrule *rules;
        size_t n, alloc;
};

struct ruleset {
        bool nft;
        bool read;    /* false: not readable, see error */
        char *error;
        char *absent; /* read as empty: the kernel has no such rule set (why) */
        struct xchain *chains;
        size_t n, alloc;
};

struct vnc_fw_rulesets {
        struct ruleset legacy; /* filter and nat tables */
        struct ruleset nft;
};

static void pred_done(struct pred *p) {
        for (size_t i = 0; i < p->n; i++)
                free(p->v[i].name);
        free(p->v);
        free(p->why);
}

static void rule_done(struct xrule *r) {
        for (size_t i = 0; i < r->n_preds; i++)
                pred_done(&r->preds[i]);
        free(r->preds);
        free(r->target_name);
        free(r->text);
        free(r->why);
        free(r->comment);
}

static void ruleset_done(struct ruleset *s) {
        for (size_t i = 0; i < s->n; i++) {
                struct xchain *c = &s->chains[i];
                for (size_t k = 0; k < c->n; k++)
                        rule_done(&c->rules[k]);
                free(c->rules);
                free(c->name);
                free(c->family);
                free(c->table);
                free(c->type);
                free(c->hook);
        }
        free(s->chains);
        free(s->error);
        free(s->absent);
        *s = (struct ruleset){0};
}

void vnc_fw_rulesets_free(struct vnc_fw_rulesets *rs) {
        if (!rs)
                return;
        ruleset_done(&rs->legacy);
        ruleset_done(&rs->nft);
        free(rs);
}

static struct xchain *ruleset_add_chain(struct ruleset *s) {
        if (VNC_GROW(s->chains, s->alloc, s->n + 1) < 0)
                return NULL;
        struct xchain *c = &s->chains[s->n++];
        *c = (struct xchain){.policy = TG_ACCEPT};
        return c;
}

static struct xrule *chain_add_rule(struct xchain *c) {
        if (VNC_GROW(c->rules, c->alloc, c->n + 1) < 0)
                return NULL;
        struct xrule *r = &c->rules[c->n++];
        *r = (struct xrule){.tgt = TG_CONTINUE, .target = -1, .pos = (unsigned)c->n};
        return r;
}

static struct pred *rule_add_pred(struct xrule *r, enum key k, bool neg) {
        if (VNC_GROW(r->preds, r->alloc_preds, r->n_preds + 1) < 0)
                return NULL;
        struct pred *p = &r->preds[r->n_preds++];
        *p = (struct pred){.key = k, .neg = neg};
        return p;
}

static int pred_add(struct pred *p, uint32_t lo, uint32_t hi, const char *name) {
        if (VNC_GROW(p->v, p->alloc, p->n + 1) < 0)
                return -ENOMEM;
        struct val *v = &p->v[p->n];
        *v = (struct val){.lo = lo, .hi = hi};
        if (name && !(v->name = strdup(name)))
                return -ENOMEM;
        p->n++;
        return 0;
}

/* A predicate that cannot be decided, saying why. */
static int rule_add_unknown(struct xrule *r, const char *fmt, ...) _printf_(2, 3);
static int rule_add_unknown(struct xrule *r, const char *fmt, ...) {
        struct pred *p = rule_add_pred(r, K_UNKNOWN, false);
        va_list ap;
        if (!p)
                return -ENOMEM;
        va_start(ap, fmt);
        if (vasprintf(&p->why, fmt, ap) < 0)
                p->why = NULL;
        va_end(ap);
        return p->why ? 0 : -ENOMEM;
}

/* A single-valued predicate. */
static int rule_add_value(struct xrule *r, enum key k, bool neg, uint32_t lo, uint32_t hi) {
        struct pred *p = rule_add_pred(r, k, neg);
        return p ? pred_add(p, lo, hi, NULL) : -ENOMEM;
}

static int chain_find(const struct ruleset *s, const char *family, const char *table, const char *name) {
        for (size_t i = 0; i < s->n; i++)
                if (streq(s->chains[i].name, name) && streq_ptr(s->chains[i].family, family) &&
                    streq_ptr(s->chains[i].table, table))
                        return (int)i;
        return -1;
}

/* Jump targets by name -> index; an unknown target makes the rule undecidable. */
static void ruleset_resolve(struct ruleset *s) {
        for (size_t i = 0; i < s->n; i++) {
                struct xchain *c = &s->chains[i];
                for (size_t k = 0; k < c->n; k++) {
                        struct xrule *r = &c->rules[k];
                        if (r->tgt != TG_JUMP && r->tgt != TG_GOTO)
                                continue;
                        r->target = r->target_name ? chain_find(s, c->family, c->table, r->target_name) : -1;
                        if (r->target < 0) {
                                r->tgt = TG_UNKNOWN;
                                if (!r->why)
                                        r->why = vnc_strdup_printf("its target chain \"%s\" was not found",
                                                                   r->target_name ? r->target_name : "?");
                        }
                }
        }
}

/* ---- a growing string ---- */

struct sbuf {
        char *s;
        size_t len, alloc;
        bool oom;
};

static void _printf_(2, 3) sb_printf(struct sbuf *b, const char *fmt, ...) {
        va_list ap;
        if (b->oom)
                return;
        for (;;) {
                size_t room = b->alloc - b->len;
                va_start(ap, fmt);
                int k = vsnprintf(b->s ? b->s + b->len : NULL, room, fmt, ap);
                va_end(ap);
                if (k < 0) {
                        b->oom = true;
                        return;
                }
                if ((size_t)k < room) {
                        b->len += (size_t)k;
                        return;
                }
                if (VNC_GROW(b->s, b->alloc, b->len + (size_t)k + 64) < 0) {
                        b->oom = true;
                        return;
                }
        }
}

/* The string (caller frees), or NULL when out of memory. */
static char *sb_take(struct sbuf *b) {
        if (b->oom || !b->s) {
                free(b->s);
                bool oom = b->oom;
                *b = (struct sbuf){0};
                return oom ? NULL : strdup("");
        }
        char *s = b->s;
        *b = (struct sbuf){0};
        return s;
}

static void sb_done(struct sbuf *b) {
        free(b->s);
        *b = (struct sbuf){0};
}

static const char *ip_str(uint32_t host, char buf[INET_ADDRSTRLEN]) {
        struct in_addr a = {.s_addr = htonl(host)};
        return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN) ? buf : "?";
}

static const char *proto_name(unsigned p) {
        switch (p) {
        case IPPROTO_ICMP:
                return "icmp";
        case IPPROTO_TCP:
                return "tcp";
        case IPPROTO_UDP:
                return "udp";
        default:
                return NULL;
        }
}

/* ============================ names of values ============================ */

static const struct {
        const char *name;
        int type;
} icmp_types[] = {
        {"echo-reply", 0},          {"destination-unreachable", 3}, {"source-quench", 4},
        {"redirect", 5},            {"echo-request", 8},            {"router-advertisement", 9},
        {"router-solicitation", 10}, {"time-exceeded", 11},         {"parameter-problem", 12},
        {"timestamp-request", 13},  {"timestamp-reply", 14},        {"info-request", 15},
        {"info-reply", 16},         {"address-mask-request", 17},   {"address-mask-reply", 18},
};

static long proto_num(const char *s) {
        static const struct {
                const char *name;
                int num;
        } p[] = {{"icmp", 1}, {"igmp", 2}, {"tcp", 6}, {"udp", 17}, {"gre", 47}, {"esp", 50}, {"ah", 51},
                 {"ipv6-icmp", 58}, {"icmpv6", 58}, {"sctp", 132}, {"udplite", 136}, {"dccp", 33}};
        for (size_t i = 0; i < ELEMENTSOF(p); i++)
                if (streq(s, p[i].name))
                        return p[i].num;
        return -1;
}

struct bitname {
        const char *name;
        uint32_t bit;
};

static const struct bitname ct_states[] = {
        {"invalid", XT_CONNTRACK_STATE_INVALID},
        {"new", XT_CONNTRACK_STATE_BIT(IP_CT_NEW)},
        {"related", XT_CONNTRACK_STATE_BIT(IP_CT_RELATED)},
        {"established", XT_CONNTRACK_STATE_BIT(IP_CT_ESTABLISHED)},
        {"untracked", XT_CONNTRACK_STATE_UNTRACKED},
        {"snat", XT_CONNTRACK_STATE_SNAT},
        {"dnat", XT_CONNTRACK_STATE_DNAT},
};

static const struct bitname ct_statuses[] = {
        {"expected", IPS_EXPECTED}, {"seen-reply", IPS_SEEN_REPLY}, {"assured", IPS_ASSURED},
        {"confirmed", IPS_CONFIRMED}, {"snat", IPS_SRC_NAT},       {"dnat", IPS_DST_NAT},
        {"dying", IPS_DYING},
};

static const struct bitname addr_types[] = {
        {"unspec", XT_ADDRTYPE_UNSPEC},       {"unicast", XT_ADDRTYPE_UNICAST},
        {"local", XT_ADDRTYPE_LOCAL},         {"broadcast", XT_ADDRTYPE_BROADCAST},
        {"anycast", XT_ADDRTYPE_ANYCAST},     {"multicast", XT_ADDRTYPE_MULTICAST},
        {"blackhole", XT_ADDRTYPE_BLACKHOLE}, {"unreachable", XT_ADDRTYPE_UNREACHABLE},
        {"prohibit", XT_ADDRTYPE_PROHIBIT},   {"throw", XT_ADDRTYPE_THROW},
        {"nat", XT_ADDRTYPE_NAT},             {"xresolve", XT_ADDRTYPE_XRESOLVE},
};

static const struct bitname pkt_types[] = {
        {"host", PACKET_HOST}, {"unicast", PACKET_HOST}, {"broadcast", PACKET_BROADCAST},
        {"multicast", PACKET_MULTICAST}, {"other", PACKET_OTHERHOST},
};

static long bit_of(const struct bitname *t, size_t n, const char *s) {
        for (size_t i = 0; i < n; i++)
                if (strcasecmp(s, t[i].name) == 0)
                        return t[i].bit;
        return -1;
}

/* A value named in a rule (nft JSON or text) as a number for key k; -1 when not understood. */
static long value_num(enum key k, const char *s) {
        char *end;
        if (k == K_SADDR || k == K_DADDR) {
                struct in_addr a;
                return inet_pton(AF_INET, s, &a) == 1 ? (long)ntohl(a.s_addr) : -1;
        }
        if (isdigit((unsigned char)s[0]) || (s[0] == '0' && s[1] == 'x')) {
                errno = 0;
                unsigned long v = strtoul(s, &end, 0);
                return errno || *end || v > UINT32_MAX ? -1 : (long)v;
        }
        switch (k) {
        case K_PROTO:
                return proto_num(s);
        case K_ICMPTYPE:
                for (size_t i = 0; i < ELEMENTSOF(icmp_types); i++)
                        if (streq(s, icmp_types[i].name))
                                return icmp_types[i].type;
                return -1;
        case K_CTSTATE:
                return bit_of(ct_states, ELEMENTSOF(ct_states), s);
        case K_CTSTATUS:
                return bit_of(ct_statuses, ELEMENTSOF(ct_statuses), s);
        case K_SADDRTYPE:
        case K_DADDRTYPE:
                return bit_of(addr_types, ELEMENTSOF(addr_types), s);
        case K_PKTTYPE:
                return bit_of(pkt_types, ELEMENTSOF(pkt_types), s);
        case K_NFPROTO:
                return streq(s, "ipv4") || streq(s, "ip") ? NFPROTO_IPV4
                       : streq(s, "ipv6") || streq(s, "ip6") ? NFPROTO_IPV6
                       : streq(s, "arp")                    ? NFPROTO_ARP
                                                            : -1;
        case K_SPORT:
        case K_DPORT: {
                static const struct {
                        const char *name;
                        int port;
                } svc[] = {{"domain", 53}, {"bootps", 67}, {"bootpc", 68}, {"ssh", 22}, {"http", 80},
                           {"https", 443}, {"ntp", 123}, {"netbios-ns", 137}, {"netbios-dgm", 138},
                           {"netbios-ssn", 139}, {"microsoft-ds", 445}, {"mdns", 5353}, {"ssdp", 1900}};
                for (size_t i = 0; i < ELEMENTSOF(svc); i++)
                        if (streq(s, svc[i].name))
                                return svc[i].port;
                return -1;
        }
        default:
                return -1;
        }
}

static bool key_is_mask(enum key k) {
        return k == K_CTSTATE || k == K_CTSTATUS || k == K_SADDRTYPE || k == K_DADDRTYPE;
}

/* ============================ the flow's values ============================ */

static uint32_t flow_addrtype(const struct vnc_flow *f, bool dst) {
        uint32_t a = dst ? f->dst : f->src;
        if (a == 0xffffffffU)
                return XT_ADDRTYPE_BROADCAST;
        if ((a >> 28) == 0xe)
                return XT_ADDRTYPE_MULTICAST;
        if (dst ? f->hook == VNC_HOOK_INPUT : f->hook == VNC_HOOK_OUTPUT)
                return XT_ADDRTYPE_LOCAL;
        if (a == 0)
                return 0; /* 0.0.0.0 (a DHCP client): not decided here */
        return XT_ADDRTYPE_UNICAST;
}

/*
 * The flow's value for a numeric or mask key. For mask keys *ret_known says
 * which bits are known (the others may be either). false: not known at all.
 */
static bool flow_value(const struct vnc_flow *f, enum key k, uint32_t *ret, uint32_t *ret_known) {
        *ret_known = ~0U;
        switch (k) {
        case K_SADDR:
                *ret = f->src;
                return true;
        case K_DADDR:
                *ret = f->dst;
                return true;
        case K_PROTO:
                *ret = f->proto;
                return f->proto != 0;
        case K_SPORT:
                *ret = f->sport;
                return f->sport != 0;
        case K_DPORT:
                *ret = f->dport;
                return f->dport != 0;
        case K_ICMPTYPE:
                *ret = (uint32_t)f->icmp_type;
                return f->icmp_type >= 0;
        case K_ICMPCODE:
                *ret = 0; /* echo request and reply have code 0 */
                return f->icmp_type == 0 || f->icmp_type == 8;
        case K_CTSTATE:
                *ret = f->established ? XT_CONNTRACK_STATE_BIT(IP_CT_ESTABLISHED) : XT_CONNTRACK_STATE_BIT(IP_CT_NEW);
                if (f->dnat)
                        *ret |= XT_CONNTRACK_STATE_DNAT;
                /* A reply of a masqueraded connection is SNAT; a new flow is not translated yet. */
                if (f->established)
                        *ret_known &= ~(uint32_t)XT_CONNTRACK_STATE_SNAT;
                return true;
        case K_CTSTATUS:
                *ret = f->dnat ? IPS_DST_NAT : 0;
                if (f->established) {
                        *ret |= IPS_SEEN_REPLY | IPS_CONFIRMED;
                        *ret_known &= ~(uint32_t)(IPS_ASSURED | IPS_SRC_NAT);
                }
                return true;
        case K_SADDRTYPE:
        case K_DADDRTYPE:
                *ret = flow_addrtype(f, k == K_DADDRTYPE);
                return *ret != 0;
        case K_PKTTYPE:
                *ret = f->hook == VNC_HOOK_OUTPUT ? PACKET_OUTGOING
                       : f->dst == 0xffffffffU   ? PACKET_BROADCAST
                       : (f->dst >> 28) == 0xe   ? PACKET_MULTICAST
                                                 : PACKET_HOST;
                return true;
        case K_NFPROTO:
                *ret = NFPROTO_IPV4;
                return true;
        default:
                return false;
        }
}

/* nft's interface name match: a trailing "*" is a prefix match ("\*" a literal star). */
static bool ifname_matches(const char *flow_if, const char *pat) {
        size_t n = strlen(pat);
        if (n > 0 && pat[n - 1] == '*' && (n < 2 || pat[n - 2] != '\\'))
                return strncmp(flow_if, pat, n - 1) == 0;
        if (n > 1 && pat[n - 1] == '*') /* "\*" */
                return strlen(flow_if) == n - 1 && strncmp(flow_if, pat, n - 2) == 0 && flow_if[n - 2] == '*';
        return streq(flow_if, pat);
}

static const char *key_what(enum key k) {
        switch (k) {
        case K_PROTO:
                return "protocol";
        case K_SPORT:
                return "source port";
        case K_DPORT:
                return "destination port";
        case K_ICMPTYPE:
                return "ICMP type";
        case K_ICMPCODE:
                return "ICMP code";
        case K_SADDRTYPE:
                return "source address type";
        case K_DADDRTYPE:
                return "destination address type";
        case K_CTSTATE:
                return "conntrack state";
        case K_CTSTATUS:
                return "conntrack status";
        default:
                return "value";
        }
}

static enum tri pred_match(const struct pred *p, const struct vnc_flow *f) {
        enum tri t = T_NO;
        uint32_t v, known;

        switch (p->key) {
        case K_FALSE:
                return T_NO;
        case K_UNKNOWN:
                return T_MAYBE;
        case K_IIF:
        case K_OIF: {
                const char *name = p->key == K_IIF ? f->in : f->out;
                for (size_t i = 0; i < p->n && t == T_NO; i++)
                        if (p->v[i].name && ifname_matches(name, p->v[i].name))
                                t = T_YES;
                break;
        }
        default:
                if (!flow_value(f, p->key, &v, &known))
                        return T_MAYBE;
                for (size_t i = 0; i < p->n; i++) {
                        if (key_is_mask(p->key)) {
                                if (v & p->v[i].lo & known)
                                        return p->neg ? T_NO : T_YES;
                                if (p->v[i].lo & ~known)
                                        t = T_MAYBE;
                        } else if (v >= p->v[i].lo && v <= p->v[i].hi)
                                return p->neg ? T_NO : T_YES;
                }
                break;
        }
        return p->neg ? tri_not(t) : t;
}

/* Does the rule match the flow? On T_MAYBE, *ret_why (static or owned by the rule) says what is undecided. */
static enum tri rule_match(const struct xrule *r, const struct vnc_flow *f, const char **ret_why) {
        enum tri t = T_YES;
        const char *why = NULL;
        for (size_t i = 0; i < r->n_preds; i++) {
                enum tri u = pred_match(&r->preds[i], f);
                if (u == T_NO)
                        return T_NO;
                if (u == T_MAYBE) {
                        t = T_MAYBE;
                        if (!why)
                                why = r->preds[i].why ? r->preds[i].why : key_what(r->preds[i].key);
                }
        }
        if (ret_why)
                *ret_why = why;
        return t;
}

/* ============================ evaluation ============================ */

enum okind { O_ACCEPT, O_DROP, O_NAT, O_UNKNOWN };

struct outcome {
        enum okind kind;
        int chain; /* where it was decided */
        int rule;  /* index in chain, -1 = the policy of base chain `chain` */
};

struct frame {
        int chain;
        size_t rule;
        const struct frame *up;
};

struct walk {
        const struct ruleset *s;
        const struct vnc_flow *f;
        int base;
        unsigned budget;
        const struct xrule *skip; /* pretend it is deleted (to check a fix) */
};

static struct outcome run(struct walk *w, int c, size_t i, const struct frame *up, int depth);

static struct outcome at(enum okind k, int c, int i) {
        return (struct outcome){.kind = k, .chain = c, .rule = i};
}

static struct outcome policy(struct walk *w) {
        const struct xchain *b = &w->s->chains[w->base];
        return at(b->policy == TG_DROP ? O_DROP : O_ACCEPT, w->base, -1);
}

/* Leave chain c: back to the rule after the jump, or the base chain's policy. */
static struct outcome leave(struct walk *w, const struct frame *up, int depth) {
        if (!up)
                return policy(w);
        return run(w, up->chain, up->rule + 1, up->up, depth - 1);
}

/* Rule i of chain c matched: what happens. */
static struct outcome take(struct walk *w, int c, size_t i, const struct frame *up, int depth) {
        const struct xrule *r = &w->s->chains[c].rules[i];
        switch (r->tgt) {
        case TG_ACCEPT:
                return at(O_ACCEPT, c, (int)i);
        case TG_DROP:
                return at(O_DROP, c, (int)i);
        case TG_NAT:
                return at(O_NAT, c, (int)i);
        case TG_RETURN:
                return leave(w, up, depth);
        case TG_JUMP: {
                if (depth >= JUMP_DEPTH)
                        return at(O_UNKNOWN, c, (int)i);
                struct frame fr = {.chain = c, .rule = i, .up = up};
                return run(w, r->target, 0, &fr, depth + 1);
        }
        case TG_GOTO:
                if (depth >= JUMP_DEPTH)
                        return at(O_UNKNOWN, c, (int)i);
                return run(w, r->target, 0, up, depth);
        case TG_CONTINUE:
                return run(w, c, i + 1, up, depth);
        case TG_UNKNOWN:
        default:
                return at(O_UNKNOWN, c, (int)i);
        }
}

static struct outcome run(struct walk *w, int c, size_t i, const struct frame *up, int depth) {
        const struct xchain *ch = &w->s->chains[c];
        for (; i < ch->n; i++) {
                const struct xrule *r = &ch->rules[i];
                if (r == w->skip || r->tgt == TG_CONTINUE)
                        continue;
                enum tri m = rule_match(r, w->f, NULL);
                if (m == T_NO)
                        continue;
                if (m == T_YES)
                        return take(w, c, i, up, depth);
                /* Cannot tell: follow both ways; only an agreement is an answer. */
                if (w->budget == 0)
                        return at(O_UNKNOWN, c, (int)i);
                w->budget--;
                struct outcome a = take(w, c, i, up, depth);
                struct outcome b = run(w, c, i + 1, up, depth);
                if (a.kind == b.kind && a.kind != O_UNKNOWN)
                        return b;
                return at(O_UNKNOWN, c, (int)i);
        }
        return leave(w, up, depth);
}

static struct outcome evaluate_base(const struct ruleset *s, int base, const struct vnc_flow *f,
                                    const struct xrule *skip) {
        struct walk w = {.s = s, .f = f, .base = base, .budget = FORK_BUDGET, .skip = skip};
        return run(&w, base, 0, NULL, 0);
}

/* ============================ iptables legacy ============================ */

static void iptc_freep(struct xtc_handle **h) {
        if (*h)
                iptc_free(*h);
}

static int mask_len(uint32_t m) {
        int n = __builtin_popcount(m);
        return m == (n == 0 ? 0 : ~0U << (32 - n)) ? n : -1;
}

static void sb_addr(struct sbuf *b, const char *opt, bool inv, struct in_addr a, struct in_addr m) {
        char ab[INET_ADDRSTRLEN], mb[INET_ADDRSTRLEN];
        int n = mask_len(ntohl(m.s_addr));
        if (n >= 0)
                sb_printf(b, " %s%s %s/%d", inv ? "! " : "", opt, ip_str(ntohl(a.s_addr), ab), n);
        else
                sb_printf(b, " %s%s %s/%s", inv ? "! " : "", opt, ip_str(ntohl(a.s_addr), ab),
                          ip_str(ntohl(m.s_addr), mb));
}

/* iptables-save's quoting of a string option. */
static void sb_quoted(struct sbuf *b, const char *s) {
        if (*s && !strpbrk(s, " \t\"'\\!#$&;|<>(){}*?[]`")) {
                sb_printf(b, "%s", s);
                return;
        }
        sb_printf(b, "\"");
        for (; *s; s++)
                sb_printf(b, *s == '"' || *s == '\\' ? "\\%c" : "%c", *s);
        sb_printf(b, "\"");
}

static void sb_ports(struct sbuf *b, const char *opt, bool inv, const uint16_t p[2]) {
        if (p[0] == 0 && p[1] == 0xffff)
                return;
        if (p[0] == p[1])
                sb_printf(b, " %s--%s %u", inv ? "! " : "", opt, p[0]);
        else
                sb_printf(b, " %s--%s %u:%u", inv ? "! " : "", opt, p[0], p[1]);
}

static void sb_bits(struct sbuf *b, const struct bitname *t, size_t n, uint32_t mask, bool upper) {
        const char *sep = " ";
        for (size_t i = 0; i < n; i++)
                if (mask & t[i].bit) {
                        sb_printf(b, "%s", sep);
                        for (const char *c = t[i].name; *c; c++)
                                sb_printf(b, "%c", upper ? toupper((unsigned char)*c) : *c);
                        sep = ",";
                }
}

/* The kernel's ifname_compare as a pattern: a mask shorter than the name plus its NUL is a prefix ("vn+"). */
static int legacy_iface(struct xrule *r, enum key k, bool inv, const char iface[IFNAMSIZ],
                        const unsigned char mask[IFNAMSIZ]) {
        char name[IFNAMSIZ + 1] = {0};
        size_t len = strnlen(iface, IFNAMSIZ), m = 0;
        memcpy(name, iface, len);
        while (m < IFNAMSIZ && mask[m])
                m++;
        if (m <= len && len < IFNAMSIZ) {
                name[m] = '*';
                name[m + 1] = 0;
        }
        struct pred *p = rule_add_pred(r, k, inv);
        return p ? pred_add(p, 0, 0, name) : -ENOMEM;
}

static int ports_pred(struct xrule *r, enum key k, bool inv, const uint16_t p[2]) {
        if (p[0] == 0 && p[1] == 0xffff)
                return 0; /* any port; even inverted, iptables prints and the kernel checks nothing useful */
        return rule_add_value(r, k, inv, p[0], p[1]);
}

static int ctstate_pred(struct xrule *r, uint32_t mask, bool inv) {
        return rule_add_value(r, K_CTSTATE, inv, mask, mask);
}

/* One xt match: its predicates, and its text as iptables-save prints it. */
static int legacy_xt_match(struct xrule *r, const struct xt_entry_match *m, struct sbuf *b) {
        const char *name = m->u.user.name;
        size_t dlen = m->u.match_size - XT_ALIGN(sizeof(*m));

        if (streq(name, "comment") && dlen >= sizeof(struct xt_comment_info)) {
                const struct xt_comment_info *ci = (const void *)m->data;
                char c[XT_MAX_COMMENT_LEN + 1] = {0};
                memcpy(c, ci->comment, XT_MAX_COMMENT_LEN);
                sb_printf(b, " -m comment --comment ");
                sb_quoted(b, c);
                if (strncmp(c, COMMENT_PREFIX, strlen(COMMENT_PREFIX)) == 0)
                        r->ours = true;
                if (!r->comment && !(r->comment = strdup(c)))
                        return -ENOMEM;
                return 0;
        }
        if (streq(name, "icmp") && dlen >= sizeof(struct ipt_icmp)) {
                const struct ipt_icmp *ic = (const void *)m->data;
                bool inv = ic->invflags & IPT_ICMP_INV;
                sb_printf(b, " -m icmp %s--icmp-type ", inv ? "! " : "");
                if (ic->type == 0xff)
                        sb_printf(b, "any");
                else if (ic->code[0] == 0 && ic->code[1] == 0xff)
                        sb_printf(b, "%u", ic->type);
                else
                        sb_printf(b, "%u/%u", ic->type, ic->code[0]);
                if (rule_add_value(r, K_PROTO, false, IPPROTO_ICMP, IPPROTO_ICMP) < 0)
                        return -ENOMEM;
                if (ic->type == 0xff)
                        return inv ? rule_add_value(r, K_FALSE, false, 0, 0) : 0;
                /* type and code range together, inverted together */
                if (ic->code[0] == 0 && ic->code[1] == 0xff)
                        return rule_add_value(r, K_ICMPTYPE, inv, ic->type, ic->type);
                if (!inv) {
                        if (rule_add_value(r, K_ICMPTYPE, false, ic->type, ic->type) < 0)
                                return -ENOMEM;
                        return rule_add_value(r, K_ICMPCODE, false, ic->code[0], ic->code[1]);
                }
                return rule_add_unknown(r, "an inverted ICMP type/code match");
        }
        if ((streq(name, "tcp") && dlen >= sizeof(struct xt_tcp)) ||
            (streq(name, "udp") && dlen >= sizeof(struct xt_udp))) {
                bool tcp = streq(name, "tcp");
                const uint16_t *spts, *dpts;
                uint8_t inv;
                if (tcp) {
                        const struct xt_tcp *x = (const void *)m->data;
                        spts = x->spts, dpts = x->dpts, inv = x->invflags;
                } else {
                        const struct xt_udp *x = (const void *)m->data;
                        spts = x->spts, dpts = x->dpts, inv = x->invflags;
                }
                sb_printf(b, " -m %s", name);
                sb_ports(b, "sport", inv & XT_TCP_INV_SRCPT, spts);
                sb_ports(b, "dport", inv & XT_TCP_INV_DSTPT, dpts);
                if (rule_add_value(r, K_PROTO, false, tcp ? IPPROTO_TCP : IPPROTO_UDP, tcp ? IPPROTO_TCP : IPPROTO_UDP) <
                            0 ||
                    ports_pred(r, K_SPORT, inv & XT_TCP_INV_SRCPT, spts) < 0 ||
                    ports_pred(r, K_DPORT, inv & XT_TCP_INV_DSTPT, dpts) < 0)
                        return -ENOMEM;
                if (tcp) {
                        const struct xt_tcp *x = (const void *)m->data;
                        if (x->flg_mask || x->option) {
                                sb_printf(b, " (tcp flags/options)");
                                return rule_add_unknown(r, "TCP flags are not part of the flow");
                        }
                }
                return 0;
        }
        if (streq(name, "multiport") && m->u.user.revision == 1 && dlen >= sizeof(struct xt_multiport_v1)) {
                const struct xt_multiport_v1 *x = (const void *)m->data;
                if (x->flags != XT_MULTIPORT_SOURCE && x->flags != XT_MULTIPORT_DESTINATION) {
                        sb_printf(b, " -m multiport --ports ...");
                        return rule_add_unknown(r, "a multiport match on either port");
                }
                bool src = x->flags == XT_MULTIPORT_SOURCE;
                sb_printf(b, " -m multiport %s--%s ", x->invert ? "! " : "", src ? "sports" : "dports");
                struct pred *p = rule_add_pred(r, src ? K_SPORT : K_DPORT, x->invert);
                if (!p)
                        return -ENOMEM;
                for (unsigned i = 0; i < x->count && i < XT_MULTI_PORTS; i++) {
                        bool range = x->pflags[i] && i + 1 < x->count;
                        uint16_t lo = x->ports[i], hi = range ? x->ports[i + 1] : lo;
                        sb_printf(b, "%s%u", i ? "," : "", lo);
                        if (range)
                                sb_printf(b, ":%u", hi);
                        if (pred_add(p, lo, hi, NULL) < 0)
                                return -ENOMEM;
                        i += range;
                }
                return 0;
        }
        if (streq(name, "conntrack") && m->u.user.revision >= 1 && m->u.user.revision <= 3) {
                uint16_t flags, invert;
                unsigned state;
                if (m->u.user.revision == 1 && dlen >= sizeof(struct xt_conntrack_mtinfo1)) {
                        const struct xt_conntrack_mtinfo1 *x = (const void *)m->data;
                        flags = x->match_flags, invert = x->invert_flags, state = x->state_mask;
                } else if (m->u.user.revision == 2 && dlen >= sizeof(struct xt_conntrack_mtinfo2)) {
                        const struct xt_conntrack_mtinfo2 *x = (const void *)m->data;
                        flags = x->match_flags, invert = x->invert_flags, state = x->state_mask;
                } else if (m->u.user.revision == 3 && dlen >= sizeof(struct xt_conntrack_mtinfo3)) {
                        const struct xt_conntrack_mtinfo3 *x = (const void *)m->data;
                        flags = x->match_flags, invert = x->invert_flags, state = x->state_mask;
                } else {
                        sb_printf(b, " -m conntrack");
                        return rule_add_unknown(r, "the conntrack match could not be read");
                }
                sb_printf(b, " -m conntrack");
                if (flags & XT_CONNTRACK_STATE) {
                        sb_printf(b, "%s --ctstate", invert & XT_CONNTRACK_STATE ? " !" : "");
                        sb_bits(b, ct_states, ELEMENTSOF(ct_states), state, true);
                        if (ctstate_pred(r, state, invert & XT_CONNTRACK_STATE) < 0)
                                return -ENOMEM;
                }
                if (flags & ~(unsigned)XT_CONNTRACK_STATE) {
                        sb_printf(b, " (more conntrack criteria)");
                        return rule_add_unknown(r, "conntrack criteria beyond the state");
                }
                return 0;
        }
        if (streq(name, "state") && dlen >= sizeof(struct xt_state_info)) {
                const struct xt_state_info *x = (const void *)m->data;
                sb_printf(b, " -m state --state");
                sb_bits(b, ct_states, ELEMENTSOF(ct_states), x->statemask, true);
                return ctstate_pred(r, x->statemask, false);
        }
        if (streq(name, "addrtype")) {
                uint16_t src = 0, dst = 0;
                bool inv_src = false, inv_dst = false, limited = false;
                if (m->u.user.revision == 1 && dlen >= sizeof(struct xt_addrtype_info_v1)) {
                        const struct xt_addrtype_info_v1 *x = (const void *)m->data;
                        src = x->source, dst = x->dest;
                        inv_src = x->flags & XT_ADDRTYPE_INVERT_SOURCE;
                        inv_dst = x->flags & XT_ADDRTYPE_INVERT_DEST;
                        limited = x->flags & (XT_ADDRTYPE_LIMIT_IFACE_IN | XT_ADDRTYPE_LIMIT_IFACE_OUT);
                } else if (m->u.user.revision == 0 && dlen >= sizeof(struct xt_addrtype_info)) {
                        const struct xt_addrtype_info *x = (const void *)m->data;
                        src = x->source, dst = x->dest, inv_src = x->invert_source, inv_dst = x->invert_dest;
                }
                sb_printf(b, " -m addrtype");
                if (src) {
                        sb_printf(b, "%s --src-type", inv_src ? " !" : "");
                        sb_bits(b, addr_types, ELEMENTSOF(addr_types), src, true);
                }
                if (dst) {
                        sb_printf(b, "%s --dst-type", inv_dst ? " !" : "");
                        sb_bits(b, addr_types, ELEMENTSOF(addr_types), dst, true);
                }
                if (limited)
                        sb_printf(b, " --limit-iface-...");
                if ((src && rule_add_value(r, K_SADDRTYPE, inv_src, src, src) < 0) ||
                    (dst && rule_add_value(r, K_DADDRTYPE, inv_dst, dst, dst) < 0))
                        return -ENOMEM;
                return limited ? rule_add_unknown(r, "an address type limited to one interface") : 0;
        }
        if (streq(name, "pkttype") && dlen >= sizeof(struct xt_pkttype_info)) {
                const struct xt_pkttype_info *x = (const void *)m->data;
                const char *pn = x->pkttype == PACKET_BROADCAST   ? "broadcast"
                                 : x->pkttype == PACKET_MULTICAST ? "multicast"
                                 : x->pkttype == PACKET_HOST      ? "unicast"
                                                                  : "other";
                sb_printf(b, " -m pkttype %s--pkt-type %s", x->invert ? "! " : "", pn);
                return rule_add_value(r, K_PKTTYPE, x->invert, (uint32_t)x->pkttype, (uint32_t)x->pkttype);
        }
        if (streq(name, "mark") && m->u.user.revision == 1 && dlen >= sizeof(struct xt_mark_mtinfo1)) {
                const struct xt_mark_mtinfo1 *x = (const void *)m->data;
                sb_printf(b, " -m mark %s--mark 0x%x", x->invert ? "! " : "", x->mark);
                if (x->mask != 0xffffffffU)
                        sb_printf(b, "/0x%x", x->mask);
        } else
                sb_printf(b, " -m %s", name);
        return rule_add_unknown(r, "the %s match cannot be decided for this flow", name);
}

static const char *const non_terminating[] = {
        "LOG",    "NFLOG", "ULOG",   "MARK",   "CONNMARK", "CLASSIFY", "TRACE",    "CT",       "NOTRACK",
        "TCPMSS", "DSCP",  "TOS",    "TTL",    "SECMARK",  "CONNSECMARK", "AUDIT", "CHECKSUM", "IDLETIMER",
        "LED",    "RATEEST", "HMARK", "TEE",
};

static int legacy_load_rule(struct xtc_handle *h, const char *chain, const struct ipt_entry *en, unsigned num,
                            struct xrule *r) {
        struct sbuf b = {0};
        const struct ipt_ip *ip = &en->ip;

        r->num = num;
        sb_printf(&b, "-A %s", chain);
        if (ip->smsk.s_addr) {
                sb_addr(&b, "-s", ip->invflags & IPT_INV_SRCIP, ip->src, ip->smsk);
                uint32_t a = ntohl(ip->src.s_addr), m = ntohl(ip->smsk.s_addr);
                if (rule_add_value(r, K_SADDR, ip->invflags & IPT_INV_SRCIP, a & m, (a & m) | ~m) < 0)
                        goto oom;
        }
        if (ip->dmsk.s_addr) {
                sb_addr(&b, "-d", ip->invflags & IPT_INV_DSTIP, ip->dst, ip->dmsk);
                uint32_t a = ntohl(ip->dst.s_addr), m = ntohl(ip->dmsk.s_addr);
                if (rule_add_value(r, K_DADDR, ip->invflags & IPT_INV_DSTIP, a & m, (a & m) | ~m) < 0)
                        goto oom;
        }
        if (ip->iniface[0]) {
                sb_printf(&b, " %s-i %.*s", ip->invflags & IPT_INV_VIA_IN ? "! " : "", IFNAMSIZ, ip->iniface);
                if (legacy_iface(r, K_IIF, ip->invflags & IPT_INV_VIA_IN, ip->iniface, ip->iniface_mask) < 0)
                        goto oom;
        }
        if (ip->outiface[0]) {
                sb_printf(&b, " %s-o %.*s", ip->invflags & IPT_INV_VIA_OUT ? "! " : "", IFNAMSIZ, ip->outiface);
                if (legacy_iface(r, K_OIF, ip->invflags & IPT_INV_VIA_OUT, ip->outiface, ip->outiface_mask) < 0)
                        goto oom;
        }
        if (ip->proto) {
                const char *pn = proto_name(ip->proto);
                if (pn)
                        sb_printf(&b, " %s-p %s", ip->invflags & XT_INV_PROTO ? "! " : "", pn);
                else
                        sb_printf(&b, " %s-p %u", ip->invflags & XT_INV_PROTO ? "! " : "", ip->proto);
                if (rule_add_value(r, K_PROTO, ip->invflags & XT_INV_PROTO, ip->proto, ip->proto) < 0)
                        goto oom;
        }
        if (ip->flags & IPT_F_FRAG) {
                sb_printf(&b, " %s-f", ip->invflags & IPT_INV_FRAG ? "! " : "");
                /* The flow is a whole packet (or a first fragment): -f never matches it. */
                if (!(ip->invflags & IPT_INV_FRAG) && rule_add_value(r, K_FALSE, false, 0, 0) < 0)
                        goto oom;
        }
        for (size_t off = sizeof(struct ipt_entry); off < en->target_offset;) {
                const struct xt_entry_match *m = (const void *)((const char *)en + off);
                if (m->u.match_size < sizeof(*m))
                        break;
                if (legacy_xt_match(r, m, &b) < 0)
                        goto oom;
                off += m->u.match_size;
        }

        const char *tg = iptc_get_target(en, h);
        if (!tg)
                tg = "";
        bool jump_opt_g = ip->flags & IPT_F_GOTO;
        if (streq(tg, "ACCEPT"))
                r->tgt = TG_ACCEPT;
        else if (streq(tg, "DROP") || streq(tg, "REJECT"))
                r->tgt = TG_DROP;
        else if (streq(tg, "RETURN"))
                r->tgt = TG_RETURN;
        else if (streq(tg, "MASQUERADE") || streq(tg, "SNAT") || streq(tg, "NETMAP"))
                r->tgt = TG_NAT;
        else if (iptc_is_chain(tg, h)) {
                r->tgt = jump_opt_g ? TG_GOTO : TG_JUMP;
                r->target_name = strdup(tg);
                if (!r->target_name)
                        goto oom;
        } else {
                r->tgt = TG_UNKNOWN;
                for (size_t i = 0; i < ELEMENTSOF(non_terminating); i++)
                        if (streq(tg, non_terminating[i]))
                                r->tgt = TG_CONTINUE;
                if (r->tgt == TG_UNKNOWN &&
                    !(r->why = vnc_strdup_printf("its target %s decides outside the rule set", *tg ? tg : "(none)")))
                        goto oom;
        }
        if (*tg)
                sb_printf(&b, " %s %s", jump_opt_g ? "-g" : "-j", tg);
        if (streq(tg, "REJECT")) {
                const struct xt_entry_target *xt = (const void *)((const char *)en + en->target_offset);
                if (xt->u.target_size >= XT_ALIGN(sizeof(*xt)) + sizeof(struct ipt_reject_info)) {
                        static const char *const with[] = {
                                [IPT_ICMP_NET_UNREACHABLE] = "icmp-net-unreachable",
                                [IPT_ICMP_HOST_UNREACHABLE] = "icmp-host-unreachable",
                                [IPT_ICMP_PROT_UNREACHABLE] = "icmp-proto-unreachable",
                                [IPT_ICMP_PORT_UNREACHABLE] = "icmp-port-unreachable",
                                [IPT_ICMP_ECHOREPLY] = "echo-reply",
                                [IPT_ICMP_NET_PROHIBITED] = "icmp-net-prohibited",
                                [IPT_ICMP_HOST_PROHIBITED] = "icmp-host-prohibited",
                                [IPT_TCP_RESET] = "tcp-reset",
                                [IPT_ICMP_ADMIN_PROHIBITED] = "icmp-admin-prohibited",
                        };
                        unsigned w = ((const struct ipt_reject_info *)xt->data)->with;
                        if (w < ELEMENTSOF(with) && with[w])
                                sb_printf(&b, " --reject-with %s", with[w]);
                }
        }
        r->text = sb_take(&b);
        return r->text ? 0 : -ENOMEM;
oom:
        sb_done(&b);
        return -ENOMEM;
}

static int legacy_load_table(const char *table, struct ruleset *s) {
        _cleanup_(iptc_freep) struct xtc_handle *h = NULL;

        int k = vnc_xt_table_instantiated(table);
        if (k == 0) /* never used in this namespace: empty, all policies ACCEPT */
                return 0;
        if (k < 0 && k != -ENOENT) {
                s->error = vnc_strdup_printf("/proc/net/ip_tables_names: %s", strerror(-k));
                return s->error ? 1 : -ENOMEM;
        }
        h = iptc_init(table);
        if (!h) {
                int err = errno;
                if (err == ENOPROTOOPT || err == ENOENT) {
                        /* No x_tables in this kernel: no legacy rule can exist. */
                        if (!s->absent)
                                s->absent = vnc_strdup_printf("%s", iptc_strerror(err));
                        return s->absent ? 0 : -ENOMEM;
                }
                s->error = vnc_strdup_printf("table %s: %s", table, iptc_strerror(err));
                return s->error ? 1 : -ENOMEM;
        }
        for (const char *cn = iptc_first_chain(h); cn; cn = iptc_next_chain(h)) {
                struct xchain *c = ruleset_add_chain(s);
                if (!c || !(c->name = strdup(cn)) || !(c->table = strdup(table)))
                        return -ENOMEM;
                c->base = iptc_builtin(cn, h);
                if (c->base) {
                        struct xt_counters cnt;
                        const char *pol = iptc_get_policy(cn, &cnt, h);
                        c->policy = pol && streq(pol, "DROP") ? TG_DROP : TG_ACCEPT;
                        c->prio = streq(table, "nat") ? 100 : 0; /* NF_IP_PRI_FILTER, NF_IP_PRI_NAT_SRC */
                }
                unsigned num = 1;
                for (const struct ipt_entry *en = iptc_first_rule(cn, h); en; en = iptc_next_rule(en, h), num++) {
                        struct xrule *r = chain_add_rule(c);
                        if (!r || legacy_load_rule(h, cn, en, num, r) < 0)
                                return -ENOMEM;
                }
        }
        return 0;
}

/* The filter and nat tables. 0 (s->read or s->error set) or -ENOMEM. */
static int legacy_load(struct ruleset *s) {
        s->nft = false;
        for (size_t i = 0; i < 2; i++) {
                int r = legacy_load_table(i == 0 ? "filter" : "nat", s);
                if (r < 0)
                        return r;
                if (r > 0)
                        return 0; /* s->error */
        }
        ruleset_resolve(s);
        s->read = true;
        return 0;
}

/* ============================ nf_tables ============================ */

static bool json_is(const json_t *o, const char *key, const char *val) {
        const char *s = json_string_value(json_object_get(o, key));
        return s && streq(s, val);
}

/* The single key of a one-key object {"key": value}. */
static const char *json_only_key(json_t *o, json_t **ret_val) {
        const char *k;
        json_t *v;
        if (!json_is_object(o) || json_object_size(o) != 1)
                return NULL;
        json_object_foreach(o, k, v) {
                *ret_val = v;
                return k;
        }
        return NULL;
}

static int pred_copy(struct pred *dst, const struct pred *src) {
        *dst = (struct pred){.key = src->key, .neg = src->neg};
        if (src->why && !(dst->why = strdup(src->why)))
                return -ENOMEM;
        for (size_t i = 0; i < src->n; i++)
                if (pred_add(dst, src->v[i].lo, src->v[i].hi, src->v[i].name) < 0)
                        return -ENOMEM;
        return 0;
}

/* Named sets and maps of the rule set, for "@name" on a right-hand side. */
struct nft_named {
        json_t *items; /* the "nftables" array */
};

static json_t *named_elems(const struct nft_named *nm, const char *family, const char *table, const char *name) {
        size_t i;
        json_t *it;
        json_array_foreach(nm->items, i, it) {
                json_t *s = json_object_get(it, "set");
                if (!s)
                        s = json_object_get(it, "map");
                if (s && json_is(s, "family", family) && json_is(s, "table", table) && json_is(s, "name", name))
                        return json_object_get(s, "elem");
        }
        return NULL;
}

struct nft_where {
        const char *family, *table;
        const struct nft_named *named;
};

/* Add the values of a right-hand side to p. 1: not understood, 0: added, -ENOMEM. */
static int add_values(struct pred *p, const struct nft_where *w, json_t *r) {
        json_t *inner = NULL;
        const char *key = json_only_key(r, &inner);
        size_t i;
        json_t *x;
        int k;

        if (json_is_array(r) || (key && streq(key, "set"))) {
                json_t *arr = json_is_array(r) ? r : inner;
                if (!json_is_array(arr))
                        return add_values(p, w, arr);
                json_array_foreach(arr, i, x) {
                        k = add_values(p, w, x);
                        if (k != 0)
                                return k;
                }
                return 0;
        }
        if (key && streq(key, "elem"))
                return add_values(p, w, json_object_get(inner, "val"));
        if (json_is_integer(r)) {
                json_int_t v = json_integer_value(r);
                if (v < 0 || v > UINT32_MAX)
                        return 1;
                return pred_add(p, (uint32_t)v, (uint32_t)v, NULL);
        }
        const char *s = json_string_value(r);
        if (s && s[0] == '@') {
                json_t *el = named_elems(w->named, w->family, w->table, s + 1);
                if (!el)
                        return 1;
                return add_values(p, w, el);
        }
        if (s && (p->key == K_IIF || p->key == K_OIF))
                return pred_add(p, 0, 0, s);
        if (s) {
                long v = value_num(p->key, s);
                return v < 0 ? 1 : pred_add(p, (uint32_t)v, (uint32_t)v, NULL);
        }
        if (key && streq(key, "prefix")) {
                json_t *a = json_object_get(inner, "addr"), *len = json_object_get(inner, "len");
                long av = json_string_value(a) ? value_num(p->key, json_string_value(a)) : -1;
                if (av < 0 || !json_is_integer(len))
                        return 1;
                json_int_t l = json_integer_value(len);
                uint32_t mask = l <= 0 ? 0 : l >= 32 ? 0xffffffffU : ~0U << (32 - l);
                return pred_add(p, (uint32_t)av & mask, ((uint32_t)av & mask) | ~mask, NULL);
        }
        if (key && streq(key, "range") && json_is_array(inner) && json_array_size(inner) == 2) {
                long lo = -1, hi = -1;
                for (size_t j = 0; j < 2; j++) {
                        json_t *e = json_array_get(inner, j);
                        long v = json_is_integer(e)      ? (long)json_integer_value(e)
                                 : json_string_value(e) ? value_num(p->key, json_string_value(e))
                                                        : -1;
                        *(j ? &hi : &lo) = v;
                }
                return lo < 0 || hi < 0 ? 1 : pred_add(p, (uint32_t)lo, (uint32_t)hi, NULL);
        }
        return 1;
}

/* The key a left-hand side reads, with the protocol it implies (0: none). K_UNKNOWN: not modelled. */
static enum key left_key(json_t *left, uint8_t *ret_dep, const char **ret_what) {
        json_t *lv = NULL;
        const char *lk = json_only_key(left, &lv);

        *ret_dep = 0;
        *ret_what = lk ? lk : "complex";
        if (!lk)
                return K_UNKNOWN;
        if (streq(lk, "meta")) {
                const char *key = json_string_value(json_object_get(lv, "key"));
                if (!key)
                        return K_UNKNOWN;
                *ret_what = key;
                if (streq(key, "iifname") || streq(key, "iif"))
                        return K_IIF;
                if (streq(key, "oifname") || streq(key, "oif"))
                        return K_OIF;
                if (streq(key, "l4proto"))
                        return K_PROTO;
                if (streq(key, "nfproto") || streq(key, "protocol"))
                        return K_NFPROTO;
                if (streq(key, "pkttype"))
                        return K_PKTTYPE;
                return K_UNKNOWN;
        }
        if (streq(lk, "payload")) {
                const char *proto = json_string_value(json_object_get(lv, "protocol"));
                const char *field = json_string_value(json_object_get(lv, "field"));
                if (!proto || !field)
                        return K_UNKNOWN;
                *ret_what = field;
                if (streq(proto, "ip6") || streq(proto, "icmpv6"))
                        return K_FALSE; /* an IPv6 header: the flow is IPv4 */
                if (streq(proto, "ip"))
                        return streq(field, "saddr")      ? K_SADDR
                               : streq(field, "daddr")    ? K_DADDR
                               : streq(field, "protocol") ? K_PROTO
                                                          : K_UNKNOWN;
                long pn = streq(proto, "th") ? 0 : proto_num(proto);
                if (pn > 0)
                        *ret_dep = (uint8_t)pn;
                if (streq(proto, "icmp"))
                        return streq(field, "type") ? K_ICMPTYPE : streq(field, "code") ? K_ICMPCODE : K_UNKNOWN;
                if (streq(proto, "tcp") || streq(proto, "udp") || streq(proto, "th") || streq(proto, "udplite") ||
                    streq(proto, "sctp") || streq(proto, "dccp"))
                        return streq(field, "dport") ? K_DPORT : streq(field, "sport") ? K_SPORT : K_UNKNOWN;
                return K_UNKNOWN;
        }
        if (streq(lk, "ct")) {
                const char *key = json_string_value(json_object_get(lv, "key"));
                *ret_what = key ? key : "ct";
                if (!key || json_object_get(lv, "dir"))
                        return K_UNKNOWN;
                return streq(key, "state") ? K_CTSTATE : streq(key, "status") ? K_CTSTATUS : K_UNKNOWN;
        }
        if (streq(lk, "fib")) {
                json_t *fl = json_object_get(lv, "flags");
                const char *one = json_is_string(fl) ? json_string_value(fl)
                                  : json_is_array(fl) && json_array_size(fl) == 1 ? json_string_value(json_array_get(fl, 0))
                                                                                   : NULL;
                *ret_what = "fib";
                if (!json_is(lv, "result", "type") || !one)
                        return K_UNKNOWN;
                return streq(one, "daddr") ? K_DADDRTYPE : streq(one, "saddr") ? K_SADDRTYPE : K_UNKNOWN;
        }
        return K_UNKNOWN;
}

/* th dport: TCP or UDP (the protocols a guest's flow has). */
static int add_dep(struct xrule *r, uint8_t dep, bool th) {
        if (dep)
                return rule_add_value(r, K_PROTO, false, dep, dep);
        if (!th)
                return 0;
        struct pred *p = rule_add_pred(r, K_PROTO, false);
        if (!p || pred_add(p, IPPROTO_TCP, IPPROTO_TCP, NULL) < 0 || pred_add(p, IPPROTO_UDP, IPPROTO_UDP, NULL) < 0 ||
            pred_add(p, IPPROTO_UDPLITE, IPPROTO_UDPLITE, NULL) < 0 || pred_add(p, IPPROTO_SCTP, IPPROTO_SCTP, NULL) < 0 ||
            pred_add(p, IPPROTO_DCCP, IPPROTO_DCCP, NULL) < 0)
                return -ENOMEM;
        return 0;
}

/* One {"match": {...}} expression: its predicates. */
static int nft_match(struct xrule *r, const struct nft_where *w, json_t *m) {
        const char *op = json_string_value(json_object_get(m, "op"));
        json_t *left = json_object_get(m, "left"), *right = json_object_get(m, "right"), *lv = NULL;
        const char *what;
        uint8_t dep;
        enum key k = left_key(left, &dep, &what);
        const char *lk = json_only_key(left, &lv);
        bool th = lk && streq(lk, "payload") && json_is(lv, "protocol", "th");

        if (add_dep(r, dep, th) < 0)
                return -ENOMEM;
        if (k == K_FALSE)
                return rule_add_value(r, K_FALSE, false, 0, 0);
        if (k == K_UNKNOWN || !op || !right)
                return rule_add_unknown(r, "its %s match cannot be decided for this flow", what);
        bool neg = streq(op, "!=");
        struct pred *p = rule_add_pred(r, k, neg);
        if (!p)
                return -ENOMEM;
        int rr;
        if (streq(op, "==") || streq(op, "in") || streq(op, "!="))
                rr = add_values(p, w, right);
        else if ((streq(op, "<") || streq(op, ">") || streq(op, "<=") || streq(op, ">=")) && json_is_integer(right) &&
                 !key_is_mask(k)) {
                json_int_t v = json_integer_value(right);
                uint32_t lo = 0, hi = UINT32_MAX;
                if (op[0] == '<')
                        hi = (uint32_t)(op[1] ? v : v - 1);
                else
                        lo = (uint32_t)(op[1] ? v : v + 1);
                rr = pred_add(p, lo, hi, NULL);
        } else
                rr = 1;
        if (rr < 0)
                return rr;
        if (rr > 0) {
                pred_done(p);
                r->n_preds--;
                return rule_add_unknown(r, "its %s match cannot be decided for this flow", what);
        }
        return 0;
}

/* A verdict object {"accept": null}, {"jump": {"target": "x"}}: into r. 1: not a verdict. */
static int nft_verdict(struct xrule *r, json_t *v) {
        json_t *inner = NULL;
        const char *k = json_only_key(v, &inner);
        if (!k)
                return 1;
        if (streq(k, "accept"))
                r->tgt = TG_ACCEPT;
        else if (streq(k, "drop"))
                r->tgt = TG_DROP;
        else if (streq(k, "return"))
                r->tgt = TG_RETURN;
        else if (streq(k, "continue"))
                r->tgt = TG_CONTINUE;
        else if (streq(k, "jump") || streq(k, "goto")) {
                const char *t = json_string_value(json_object_get(inner, "target"));
                r->tgt = streq(k, "jump") ? TG_JUMP : TG_GOTO;
                free(r->target_name);
                r->target_name = NULL;
                if (t && !(r->target_name = strdup(t)))
                        return -ENOMEM;
        } else
                return 1;
        return 0;
}

struct rulelist {
        struct xrule *v;
        size_t n, alloc;
};

static void rulelist_done(struct rulelist *l) {
        for (size_t i = 0; i < l->n; i++)
                rule_done(&l->v[i]);
        free(l->v);
        *l = (struct rulelist){0};
}

/* A copy of base's predicates, for one element of a verdict map. */
static struct xrule *rulelist_fork(struct rulelist *l, const struct xrule *base) {
        if (VNC_GROW(l->v, l->alloc, l->n + 1) < 0)
                return NULL;
        struct xrule *r = &l->v[l->n++];
        *r = (struct xrule){.tgt = TG_CONTINUE, .target = -1};
        for (size_t i = 0; i < base->n_preds; i++) {
                if (VNC_GROW(r->preds, r->alloc_preds, r->n_preds + 1) < 0)
                        return NULL;
                if (pred_copy(&r->preds[r->n_preds++], &base->preds[i]) < 0)
                        return NULL;
        }
        return r;
}

/*
 * "iifname vmap { "a" : goto x, "b" : accept }": one rule per element, in
 * order; at most one element matches, so they are equivalent to the map.
 */
static int nft_vmap(struct rulelist *out, const struct xrule *base, const struct nft_where *w, json_t *vm) {
        json_t *key = json_object_get(vm, "key"), *data = json_object_get(vm, "data"), *inner = NULL;
        uint8_t dep;
        const char *what, *k = json_only_key(data, &inner);
        enum key kk = left_key(key, &dep, &what);
        json_t *elems = NULL;
        size_t i;
        json_t *e;

        if (k && streq(k, "set"))
                elems = inner;
        else if (json_string_value(data) && json_string_value(data)[0] == '@')
                elems = named_elems(w->named, w->family, w->table, json_string_value(data) + 1);
        if (kk == K_UNKNOWN || kk == K_FALSE || !json_is_array(elems)) {
                struct xrule *r = rulelist_fork(out, base);
                if (!r)
                        return -ENOMEM;
                r->tgt = kk == K_FALSE ? TG_CONTINUE : TG_UNKNOWN;
                if (kk == K_FALSE)
                        return rule_add_value(r, K_FALSE, false, 0, 0);
                r->why = vnc_strdup_printf("its verdict map on %s cannot be decided for this flow", what);
                return r->why ? 0 : -ENOMEM;
        }
        json_array_foreach(elems, i, e) {
                json_t *kv = json_array_get(e, 0), *vv = json_array_get(e, 1);
                if (!json_is_array(e) || !kv || !vv)
                        continue;
                struct xrule *r = rulelist_fork(out, base);
                if (!r || add_dep(r, dep, false) < 0)
                        return -ENOMEM;
                struct pred *p = rule_add_pred(r, kk, false);
                if (!p)
                        return -ENOMEM;
                int rr = add_values(p, w, kv);
                if (rr < 0)
                        return rr;
                if (rr > 0) {
                        pred_done(p);
                        r->n_preds--;
                        if (rule_add_unknown(r, "an element of its verdict map on %s cannot be read", what) < 0)
                                return -ENOMEM;
                }
                rr = nft_verdict(r, vv);
                if (rr < 0)
                        return rr;
                if (rr > 0) {
                        r->tgt = TG_UNKNOWN;
                        if (!(r->why = strdup("a verdict of its map cannot be read")))
                                return -ENOMEM;
                }
        }
        return 0;
}

static void rule_move(struct rulelist *out, struct xrule *r) {
        /* out has room: callers grow first */
        out->v[out->n++] = *r;
        *r = (struct xrule){0};
}

/*
 * One rule's expressions: its rules (more than one for a verdict map) into
 * out. *ret_xt: it holds xt expressions, which only the text shows decoded.
 */
static int nft_load_rule(json_t *expr, const struct nft_where *w, struct rulelist *out, bool *ret_xt) {
        struct xrule r = {.tgt = TG_CONTINUE, .target = -1};
        size_t i;
        json_t *x;
        int rr = 0;

        *ret_xt = false;
        json_array_foreach(expr, i, x) {
                json_t *v = NULL;
                const char *k = json_only_key(x, &v);
                if (!k) {
                        rr = rule_add_unknown(&r, "an expression that cannot be read");
                } else if (streq(k, "match")) {
                        rr = nft_match(&r, w, v);
                } else if (streq(k, "counter") || streq(k, "log") || streq(k, "mangle") || streq(k, "notrack") ||
                           streq(k, "dup"))
                        continue;
                else if (nft_verdict(&r, x) == 0) {
                        ;
                } else if (streq(k, "reject"))
                        r.tgt = TG_DROP;
                else if (streq(k, "masquerade") || streq(k, "snat"))
                        r.tgt = TG_NAT;
                else if (streq(k, "vmap")) {
                        size_t before = out->n;
                        rr = nft_vmap(out, &r, w, v);
                        rule_done(&r);
                        if (rr < 0)
                                return rr;
                        (void)before;
                        return 0;
                } else if (streq(k, "xt")) {
                        *ret_xt = true;
                        const char *name = json_string_value(json_object_get(v, "name"));
                        if (json_is(v, "type", "target")) {
                                if (name && (streq(name, "REJECT")))
                                        r.tgt = TG_DROP;
                                else if (name && (streq(name, "LOG") || streq(name, "NFLOG") || streq(name, "MARK") ||
                                                  streq(name, "CONNMARK")))
                                        continue;
                                else {
                                        r.tgt = TG_UNKNOWN;
                                        r.why = vnc_strdup_printf("its iptables-nft target %s decides outside the rule set",
                                                                  name ? name : "?");
                                }
                        } else if (name && streq(name, "comment"))
                                continue;
                        else
                                rr = rule_add_unknown(&r, "its iptables-nft \"%s\" match cannot be decided",
                                                      name ? name : "?");
                } else if (streq(k, "limit") || streq(k, "quota") || streq(k, "meter") || streq(k, "set") ||
                           streq(k, "ct count")) {
                        /* limit and quota stop the rule when exceeded; others change state we do not model */
                        rr = rule_add_unknown(&r, "its %s statement cannot be decided", k);
                } else if (streq(k, "queue") || streq(k, "dnat") || streq(k, "redirect") || streq(k, "tproxy") ||
                           streq(k, "fwd")) {
                        r.tgt = TG_UNKNOWN;
                        r.why = vnc_strdup_printf("its %s statement decides outside what is modelled", k);
                } else
                        rr = rule_add_unknown(&r, "its %s expression cannot be decided", k);
                if (rr < 0)
                        break;
                if (r.tgt != TG_CONTINUE)
                        break; /* a verdict ends the rule */
        }
        if (rr >= 0 && VNC_GROW(out->v, out->alloc, out->n + 1) < 0)
                rr = -ENOMEM;
        if (rr < 0) {
                rule_done(&r);
                return rr;
        }
        rule_move(out, &r);
        return 0;
}

/* ---- rules as nft prints them (iptables-nft's xt matches decoded by libxtables) ---- */

struct toks {
        char **v;
        size_t n, alloc;
};

static void toks_done(struct toks *t) {
        for (size_t i = 0; i < t->n; i++)
                free(t->v[i]);
        free(t->v);
        *t = (struct toks){0};
}

/* Words; "quoted strings" keep their quotes; "{ a, b }" is one word. */
static int tokenize(const char *s, struct toks *t) {
        while (*s) {
                while (*s == ' ' || *s == '\t')
                        s++;
                if (!*s)
                        break;
                const char *b = s;
                if (*s == '"') {
                        for (s++; *s && *s != '"'; s++)
                                if (*s == '\\' && s[1])
                                        s++;
                        if (*s)
                                s++;
                } else if (*s == '{') {
                        int depth = 0;
                        for (; *s; s++) {
                                depth += *s == '{' ? 1 : *s == '}' ? -1 : 0;
                                if (depth == 0) {
                                        s++;
                                        break;
                                }
                        }
                } else
                        while (*s && *s != ' ' && *s != '\t')
                                s++;
                if (VNC_GROW(t->v, t->alloc, t->n + 1) < 0 || !(t->v[t->n] = strndup(b, (size_t)(s - b))))
                        return -ENOMEM;
                t->n++;
        }
        return 0;
}

/* One element of a value list: "vn-*", 10.0.0.0/8, 80-90, established. 1: not understood. */
static int text_value(struct pred *p, const char *e) {
        _cleanup_free_ char *s = NULL;
        size_t n = strlen(e);
        if (n >= 2 && e[0] == '"' && e[n - 1] == '"')
                s = strndup(e + 1, n - 2);
        else
                s = strdup(e);
        if (!s)
                return -ENOMEM;
        if (p->key == K_IIF || p->key == K_OIF)
                return pred_add(p, 0, 0, s);
        long v = value_num(p->key, s);
        if (v >= 0)
                return pred_add(p, (uint32_t)v, (uint32_t)v, NULL);
        char *sl = strchr(s, '/'), *dash = strchr(s, '-');
        if (sl && (p->key == K_SADDR || p->key == K_DADDR)) {
                *sl = 0;
                long a = value_num(p->key, s);
                char *end;
                unsigned long l = strtoul(sl + 1, &end, 10);
                if (a < 0 || *end || l > 32)
                        return 1;
                uint32_t mask = l == 0 ? 0 : ~0U << (32 - l);
                return pred_add(p, (uint32_t)a & mask, ((uint32_t)a & mask) | ~mask, NULL);
        }
        if (dash) {
                *dash = 0;
                long lo = value_num(p->key, s), hi = value_num(p->key, dash + 1);
                return lo < 0 || hi < 0 ? 1 : pred_add(p, (uint32_t)lo, (uint32_t)hi, NULL);
        }
        return 1;
}

/* A value word: "{ a, b }" or "a,b" or "a". */
static int text_values(struct pred *p, const char *w) {
        _cleanup_free_ char *s = NULL;
        size_t n = strlen(w);
        if (n >= 2 && w[0] == '{' && w[n - 1] == '}')
                s = strndup(w + 1, n - 2);
        else
                s = strdup(w);
        if (!s)
                return -ENOMEM;
        int any = 0;
        for (char *save = NULL, *e = strtok_r(s, ", \t", &save); e; e = strtok_r(NULL, ", \t", &save)) {
                int r = text_value(p, e);
                if (r != 0)
                        return r;
                any = 1;
        }
        return any ? 0 : 1;
}

static bool is_op(const char *w) {
        return streq(w, "!=") || streq(w, "==") || streq(w, "<") || streq(w, ">") || streq(w, "<=") ||
               streq(w, ">=");
}

/* The selector at words i.. (advanced past it): its key, protocol implied, and whether "th". */
static enum key text_selector(const struct toks *t, size_t *i, uint8_t *dep, bool *th, const char **what) {
        const char *a = t->v[*i], *b = *i + 1 < t->n ? t->v[*i + 1] : "";
        *dep = 0;
        *th = false;
        *what = a;
        if (streq(a, "iifname") || streq(a, "iif") || streq(a, "oifname") || streq(a, "oif")) {
                (*i)++;
                return a[0] == 'i' ? K_IIF : K_OIF;
        }
        if (streq(a, "meta")) {
                *i += 2;
                *what = b;
                if (streq(b, "iifname") || streq(b, "iif"))
                        return K_IIF;
                if (streq(b, "oifname") || streq(b, "oif"))
                        return K_OIF;
                return streq(b, "l4proto")                              ? K_PROTO
                       : streq(b, "nfproto") || streq(b, "protocol") ? K_NFPROTO
                       : streq(b, "pkttype")                         ? K_PKTTYPE
                                                                     : K_UNKNOWN;
        }
        if (streq(a, "ip6") || streq(a, "icmpv6")) {
                *i += 2;
                return K_FALSE;
        }
        if (streq(a, "ip")) {
                *i += 2;
                *what = b;
                return streq(b, "saddr") ? K_SADDR : streq(b, "daddr") ? K_DADDR : streq(b, "protocol") ? K_PROTO
                                                                                                          : K_UNKNOWN;
        }
        if (streq(a, "tcp") || streq(a, "udp") || streq(a, "th") || streq(a, "icmp")) {
                *i += 2;
                *what = b;
                *th = streq(a, "th");
                *dep = (uint8_t)(streq(a, "th") ? 0 : proto_num(a));
                if (streq(a, "icmp"))
                        return streq(b, "type") ? K_ICMPTYPE : streq(b, "code") ? K_ICMPCODE : K_UNKNOWN;
                return streq(b, "dport") ? K_DPORT : streq(b, "sport") ? K_SPORT : K_UNKNOWN;
        }
        if (streq(a, "ct")) {
                *i += 2;
                *what = b;
                return streq(b, "state") ? K_CTSTATE : streq(b, "status") ? K_CTSTATUS : K_UNKNOWN;
        }
        if (streq(a, "fib")) {
                /* fib daddr type local; fib daddr . iif type local (not modelled) */
                size_t j = *i + 1;
                bool one = j + 1 < t->n && streq(t->v[j + 1], "type");
                enum key k = one && streq(b, "daddr") ? K_DADDRTYPE : one && streq(b, "saddr") ? K_SADDRTYPE : K_UNKNOWN;
                while (j < t->n && !streq(t->v[j], "type") && !streq(t->v[j], "oif") && !streq(t->v[j], "oifname"))
                        j++;
                *i = j + 1;
                *what = "fib";
                return k;
        }
        return K_UNKNOWN;
}

static bool is_verdict_word(const char *w) {
        return streq(w, "accept") || streq(w, "drop") || streq(w, "reject") || streq(w, "return") ||
               streq(w, "jump") || streq(w, "goto") || streq(w, "masquerade") || streq(w, "snat") ||
               streq(w, "queue") || streq(w, "dnat") || streq(w, "redirect") || streq(w, "continue");
}

/* A rule from its text. 0, or -ENOMEM. */
static int text_load_rule(const char *text, struct xrule *r) {
        struct toks t = {0};
        int rr = tokenize(text, &t);

        for (size_t i = 0; rr >= 0 && i < t.n && r->tgt == TG_CONTINUE;) {
                const char *w = t.v[i];
                if (streq(w, "counter")) {
                        i++;
                        if (i < t.n && streq(t.v[i], "packets"))
                                i += 4;
                } else if (streq(w, "log")) {
                        for (i++; i + 1 < t.n && (streq(t.v[i], "prefix") || streq(t.v[i], "level") ||
                                                  streq(t.v[i], "flags") || streq(t.v[i], "group") ||
                                                  streq(t.v[i], "snaplen") || streq(t.v[i], "queue-threshold"));)
                                i += 2;
                } else if (streq(w, "comment")) {
                        i += 2;
                } else if (streq(w, "limit") || streq(w, "quota")) {
                        rr = rule_add_unknown(r, "its %s statement cannot be decided", w);
                        for (i++; i < t.n && !is_verdict_word(t.v[i]) && !streq(t.v[i], "counter") &&
                                  !streq(t.v[i], "log");)
                                i++;
                } else if (streq(w, "xt")) {
                        const char *kind = i + 1 < t.n ? t.v[i + 1] : "", *name = i + 2 < t.n ? t.v[i + 2] : "?";
                        i += 3;
                        if (streq(kind, "target")) {
                                if (strstr(name, "LOG"))
                                        continue;
                                r->tgt = strstr(name, "REJECT") ? TG_DROP : TG_UNKNOWN;
                                if (r->tgt == TG_UNKNOWN &&
                                    !(r->why = vnc_strdup_printf("its iptables-nft target %s decides outside the rule set", name)))
                                        rr = -ENOMEM;
                        } else
                                rr = rule_add_unknown(r, "its iptables-nft %s match cannot be decided", name);
                } else if (streq(w, "accept") || streq(w, "drop") || streq(w, "return") || streq(w, "continue")) {
                        r->tgt = w[0] == 'a' ? TG_ACCEPT : w[0] == 'd' ? TG_DROP : w[0] == 'r' ? TG_RETURN : TG_CONTINUE;
                        i++;
                        if (r->tgt == TG_CONTINUE)
                                break;
                } else if (streq(w, "reject")) {
                        r->tgt = TG_DROP;
                } else if (streq(w, "masquerade") || streq(w, "snat")) {
                        r->tgt = TG_NAT;
                } else if ((streq(w, "jump") || streq(w, "goto")) && i + 1 < t.n) {
                        r->tgt = w[0] == 'j' ? TG_JUMP : TG_GOTO;
                        if (!(r->target_name = strdup(t.v[i + 1])))
                                rr = -ENOMEM;
                } else if (streq(w, "queue") || streq(w, "dnat") || streq(w, "redirect")) {
                        r->tgt = TG_UNKNOWN;
                        if (!(r->why = vnc_strdup_printf("its %s statement decides outside what is modelled", w)))
                                rr = -ENOMEM;
                } else {
                        uint8_t dep;
                        bool th;
                        const char *what;
                        size_t j = i;
                        enum key k = text_selector(&t, &j, &dep, &th, &what);
                        bool neg = false;
                        if (k == K_UNKNOWN && j == i) {
                                rr = rule_add_unknown(r, "its \"%s\" expression cannot be decided", w);
                                i++;
                                continue;
                        }
                        if (j < t.n && is_op(t.v[j])) {
                                neg = streq(t.v[j], "!=");
                                if (!streq(t.v[j], "!=") && !streq(t.v[j], "=="))
                                        k = K_UNKNOWN;
                                j++;
                        }
                        const char *val = j < t.n ? t.v[j] : NULL;
                        i = j + 1;
                        if (add_dep(r, dep, th) < 0) {
                                rr = -ENOMEM;
                                break;
                        }
                        if (k == K_FALSE) {
                                rr = rule_add_value(r, K_FALSE, false, 0, 0);
                                continue;
                        }
                        if (k == K_UNKNOWN || !val) {
                                rr = rule_add_unknown(r, "its %s match cannot be decided for this flow", what);
                                continue;
                        }
                        struct pred *p = rule_add_pred(r, k, neg);
                        if (!p) {
                                rr = -ENOMEM;
                                break;
                        }
                        rr = text_values(p, val);
                        if (rr > 0) {
                                pred_done(p);
                                r->n_preds--;
                                rr = rule_add_unknown(r, "its %s match cannot be decided for this flow", what);
                        }
                }
        }
        toks_done(&t);
        return rr < 0 ? rr : 0;
}

struct nft_text {
        char *family, *table, *chain;
        unsigned long handle;
        char *text;
};

struct nft_texts {
        struct nft_text *v;
        size_t n, alloc;
};

static void nft_texts_done(struct nft_texts *t) {
        for (size_t i = 0; i < t->n; i++) {
                free(t->v[i].family);
                free(t->v[i].table);
                free(t->v[i].chain);
                free(t->v[i].text);
        }
        free(t->v);
        *t = (struct nft_texts){0};
}

/* Rule texts from "nft -a list ruleset" output: "table inet filter {", "chain forward {", "... # handle 7". */
static int nft_texts_parse(const char *out, struct nft_texts *t) {
        char family[32] = "", table[256] = "", chain[256] = "";
        int depth = 0;
        bool in_chain = false;

        for (const char *p = out; p && *p;) {
                const char *eol = strchr(p, '\n');
                size_t len = eol ? (size_t)(eol - p) : strlen(p);
                _cleanup_free_ char *line = strndup(p, len);
                p = eol ? eol + 1 : NULL;
                if (!line)
                        return -ENOMEM;
                char *s = line;
                while (*s == '\t' || *s == ' ')
                        s++;
                unsigned long handle = 0;
                char *h = strstr(s, " # handle ");
                if (h) {
                        handle = strtoul(h + strlen(" # handle "), NULL, 10);
                        *h = 0;
                }
                size_t sl = strlen(s);
                if (streq(s, "}")) {
                        depth--;
                        if (depth < 2)
                                in_chain = false;
                        continue;
                }
                if (sl > 0 && s[sl - 1] == '{') {
                        if (depth == 0 && sscanf(s, "table %31s %255s", family, table) == 2)
                                ;
                        else if (depth == 1 && sscanf(s, "chain %255s", chain) == 1)
                                in_chain = true;
                        depth += !strchr(s, '}'); /* "elements = { ... }" on one line opens nothing */
                        continue;
                }
                if (in_chain && depth == 2 && h) {
                        /* Counters are state, not the rule: "counter packets 0 bytes 0" prints as "counter". */
                        for (char *c; (c = strstr(s, "counter packets "));) {
                                char *q = c + strlen("counter");
                                unsigned long a, b;
                                int used = 0;
                                if (sscanf(q, " packets %lu bytes %lu%n", &a, &b, &used) != 2)
                                        break;
                                memmove(q, q + used, strlen(q + used) + 1);
                        }
                        /* An xt expression nft cannot translate prints as nothing: "443  counter". */
                        for (char *d; (d = strstr(s, "  "));)
                                memmove(d, d + 1, strlen(d + 1) + 1);
                        if (VNC_GROW(t->v, t->alloc, t->n + 1) < 0)
                                return -ENOMEM;
                        struct nft_text *x = &t->v[t->n];
                        *x = (struct nft_text){.family = strdup(family), .table = strdup(table),
                                               .chain = strdup(chain), .handle = handle, .text = strdup(s)};
                        t->n++;
                        if (!x->family || !x->table || !x->chain || !x->text)
                                return -ENOMEM;
                }
        }
        return 0;
}

static const char *nft_texts_find(const struct nft_texts *t, const char *family, const char *table, const char *chain,
                                  unsigned long handle) {
        for (size_t i = 0; i < t->n; i++)
                if (t->v[i].handle == handle && streq(t->v[i].family, family) && streq(t->v[i].table, table) &&
                    streq(t->v[i].chain, chain))
                        return t->v[i].text;
        return NULL;
}

/* JSON (and text) into s. 0, 1 with s->error set (not parseable), or -ENOMEM. */
static int nft_parse(const char *json, const char *text, struct ruleset *s) {
        _cleanup_(json_decrefp) json_t *root = NULL;
        struct nft_texts texts = {0};
        json_error_t jerr;
        int r = 0;

        s->nft = true;
        if (text && nft_texts_parse(text, &texts) < 0) {
                nft_texts_done(&texts);
                return -ENOMEM;
        }
        root = json_loads(json, 0, &jerr);
        json_t *items = json_object_get(root, "nftables");
        if (!json_is_array(items)) {
                nft_texts_done(&texts);
                s->error = vnc_strdup_printf("could not parse libnftables' JSON: %s",
                                             root ? "no \"nftables\" list" : jerr.text);
                return s->error ? 1 : -ENOMEM;
        }
        struct nft_named named = {.items = items};
        size_t i;
        json_t *it;
        /* Chains first (rules refer to them by name), then rules in listing order. */
        json_array_foreach(items, i, it) {
                json_t *c = json_object_get(it, "chain");
                const char *fam = json_string_value(json_object_get(c, "family"));
                if (!c || !fam || !(streq(fam, "ip") || streq(fam, "inet")))
                        continue;
                struct xchain *x = ruleset_add_chain(s);
                const char *name = json_string_value(json_object_get(c, "name"));
                const char *table = json_string_value(json_object_get(c, "table"));
                const char *type = json_string_value(json_object_get(c, "type"));
                const char *hook = json_string_value(json_object_get(c, "hook"));
                if (!x || !(x->name = strdup(name ?: "?")) || !(x->family = strdup(fam)) ||
                    !(x->table = strdup(table ?: "?"))) {
                        r = -ENOMEM;
                        goto out;
                }
                if (hook && type) {
                        x->base = true;
                        x->hook = strdup(hook);
                        x->type = strdup(type);
                        if (!x->hook || !x->type) {
                                r = -ENOMEM;
                                goto out;
                        }
                        x->prio = (int)json_integer_value(json_object_get(c, "prio"));
                        x->policy = json_is(c, "policy", "drop") ? TG_DROP : TG_ACCEPT;
                }
        }
        json_array_foreach(items, i, it) {
                json_t *rj = json_object_get(it, "rule");
                const char *fam = json_string_value(json_object_get(rj, "family"));
                if (!rj || !fam || !(streq(fam, "ip") || streq(fam, "inet")))
                        continue;
                const char *table = json_string_value(json_object_get(rj, "table"));
                const char *chain = json_string_value(json_object_get(rj, "chain"));
                int ci = table && chain ? chain_find(s, fam, table, chain) : -1;
                if (ci < 0)
                        continue;
                struct nft_where w = {.family = fam, .table = table, .named = &named};
                struct rulelist rl = {0};
                bool xt = false;
                unsigned handle = (unsigned)json_integer_value(json_object_get(rj, "handle"));
                const char *t = nft_texts_find(&texts, fam, table, chain, handle);
                r = nft_load_rule(json_object_get(rj, "expr"), &w, &rl, &xt);
                if (r >= 0 && xt && t) {
                        /* What libxtables decoded beats the opaque xt expression. */
                        struct xrule tr = {.tgt = TG_CONTINUE, .target = -1};
                        r = text_load_rule(t, &tr);
                        if (r >= 0) {
                                rulelist_done(&rl);
                                if (VNC_GROW(rl.v, rl.alloc, 1) < 0)
                                        r = -ENOMEM;
                                else
                                        rule_move(&rl, &tr);
                        }
                        rule_done(&tr);
                }
                const char *comment = json_string_value(json_object_get(rj, "comment"));
                struct xchain *c = &s->chains[ci];
                size_t pos = c->n + 1;
                for (size_t k = 0; r >= 0 && k < rl.n; k++) {
                        struct xrule *x = chain_add_rule(c);
                        if (!x) {
                                r = -ENOMEM;
                                break;
                        }
                        *x = rl.v[k];
                        rl.v[k] = (struct xrule){0};
                        x->target = -1;
                        x->num = handle;
                        x->pos = (unsigned)pos; /* a verdict map's rules share their rule's number */
                        x->ours = (comment && strncmp(comment, COMMENT_PREFIX, strlen(COMMENT_PREFIX)) == 0) ||
                                  (table && streq(table, "vnetcfg"));
                        if ((comment && !(x->comment = strdup(comment))) ||
                            !(x->text = strdup(t ? t : "(rule text not available)")))
                                r = -ENOMEM;
                }
                rulelist_done(&rl);
                if (r < 0)
                        goto out;
        }
        ruleset_resolve(s);
        s->read = true;
out:
        nft_texts_done(&texts);
        return r;
}

static void nft_ctx_freep(struct nft_ctx **c) {
        if (*c)
                nft_ctx_free(*c);
}

/*
 * Run "list ruleset" in ctx with these output flags; the output, or NULL with s->error set (NULL, no
 * error: ENOMEM). One context lists twice (JSON, then text) from one cache: the second listing
 * only prints, where a context each fetched and decoded every rule again.
 */
static char *nft_list(struct nft_ctx *ctx, struct ruleset *s, unsigned flags) {
        nft_ctx_output_set_flags(ctx, flags);
        if (nft_run_cmd_from_buffer(ctx, "list ruleset") != 0) {
                const char *err = nft_ctx_get_error_buffer(ctx);
                _cleanup_free_ char *msg = strdup(err && *err ? err : "\"list ruleset\" failed");
                if (msg) {
                        size_t n = strlen(msg);
                        while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
                                msg[--n] = 0;
                }
                s->error = msg ? TAKE_PTR(msg) : NULL;
                return NULL;
        }
        const char *out = nft_ctx_get_output_buffer(ctx);
        return strdup(out ? out : "");
}

/*
 * Listing nf_tables needs CAP_NET_ADMIN; without it libnftables also prints
 * its complaint on stderr itself, so ask the kernel's view of us first.
 */
static bool have_net_admin(void) {
        _cleanup_free_ char *line = NULL;
        size_t n = 0;
        FILE *fp = fopen("/proc/self/status", "re");
        bool yes = true; /* cannot tell: let libnftables try */

        if (!fp)
                return yes;
        while (getline(&line, &n, fp) > 0)
                if (strncmp(line, "CapEff:", 7) == 0) {
                        unsigned long long caps = strtoull(line + 7, NULL, 16);
                        yes = caps & (1ULL << 12); /* CAP_NET_ADMIN */
                        break;
                }
        fclose(fp);
        return yes;
}

/* 0 (s->read, or s->error set) or -ENOMEM. */
static int nft_load(struct ruleset *s) {
        _cleanup_free_ char *json = NULL, *text = NULL;

        s->nft = true;
        if (!have_net_admin()) {
                s->error = strdup("listing the ruleset needs CAP_NET_ADMIN: Operation not permitted");
                return s->error ? 0 : -ENOMEM;
        }
        _cleanup_(nft_ctx_freep) struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
        if (!ctx) {
                s->error = strdup("could not create a libnftables context");
                return s->error ? 0 : -ENOMEM;
        }
        if (nft_ctx_buffer_output(ctx) < 0 || nft_ctx_buffer_error(ctx) < 0) {
                s->error = strdup("could not buffer libnftables output");
                return s->error ? 0 : -ENOMEM;
        }
        json = nft_list(ctx, s, NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_HANDLE);
        if (!json) {
                if (!s->error)
                        return -ENOMEM;
                if (strstr(s->error, "Protocol not supported") || strstr(s->error, "Address family not supported")) {
                        /* No nf_tables in this kernel: no nft rule can exist. */
                        s->absent = TAKE_PTR(s->error);
                        s->read = true;
                }
                return 0;
        }
        text = nft_list(ctx, s, NFT_CTX_OUTPUT_HANDLE | NFT_CTX_OUTPUT_STATELESS);
        if (!text) { /* texts are for evidence and xt matches; without them those stay undecided */
                free(s->error);
                s->error = NULL;
        }
        int r = nft_parse(json, text, s);
        return r < 0 ? r : 0;
}

int vnc_fw_rulesets_read(struct vnc_fw_rulesets **ret, struct vnc_error *e) {
        struct vnc_fw_rulesets *rs = calloc(1, sizeof(*rs));
        if (!rs || legacy_load(&rs->legacy) < 0 || nft_load(&rs->nft) < 0) {
                vnc_fw_rulesets_free(rs);
                return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
        }
        *ret = rs;
        return 0;
}

int vnc_fw_rulesets_parse(const char *nft_json, const char *nft_text, struct vnc_fw_rulesets **ret,
                          struct vnc_error *e) {
        struct vnc_fw_rulesets *rs = calloc(1, sizeof(*rs));
        int r;
        if (!rs)
                return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
        rs->legacy = (struct ruleset){.read = true};
        r = nft_parse(nft_json ? nft_json : "{\"nftables\": []}", nft_text, &rs->nft);
        if (r != 0) {
                _cleanup_free_ char *msg = rs->nft.error ? strdup(rs->nft.error) : NULL;
                vnc_fw_rulesets_free(rs);
                if (r < 0)
                        return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
                return vnc_error_set(e, VNC_ERR_RUNTIME, -EINVAL, "%s", msg ? msg : "unreadable rule set");
        }
        *ret = rs;
        return 0;
}

/* ============================ the answer ============================ */

static const char *hook_chain(enum vnc_hook h) {
        switch (h) {
        case VNC_HOOK_INPUT:
                return "INPUT";
        case VNC_HOOK_OUTPUT:
                return "OUTPUT";
        case VNC_HOOK_FORWARD:
                return "FORWARD";
        case VNC_HOOK_POSTROUTING:
        default:
                return "POSTROUTING";
        }
}

static const char *hook_nft(enum vnc_hook h) {
        switch (h) {
        case VNC_HOOK_INPUT:
                return "input";
        case VNC_HOOK_OUTPUT:
                return "output";
        case VNC_HOOK_FORWARD:
                return "forward";
        case VNC_HOOK_POSTROUTING:
        default:
                return "postrouting";
        }
}

static const char *const owner_names[] = {
        [VNC_FW_OWNER_ADMIN] = "admin",         [VNC_FW_OWNER_VNETCFG] = "vnetcfg",
        [VNC_FW_OWNER_UFW] = "ufw",             [VNC_FW_OWNER_FIREWALLD] = "firewalld",
        [VNC_FW_OWNER_DOCKER] = "docker",       [VNC_FW_OWNER_LIBVIRT] = "libvirt",
};

const char *vnc_fw_owner_to_string(enum vnc_fw_owner o) {
        return (size_t)o < ELEMENTSOF(owner_names) ? owner_names[o] : NULL;
}

static bool prefix(const char *s, const char *p) {
        return strncmp(s, p, strlen(p)) == 0;
}

/* A table iptables-nft made ("table ip filter" with chains INPUT, FORWARD...): its tool is iptables. */
static bool xt_table(const struct ruleset *s, const struct xchain *c) {
        if (!s->nft)
                return false;
        if (!streq_ptr(c->family, "ip") || !(streq(c->table, "filter") || streq(c->table, "nat") ||
                                             streq(c->table, "mangle") || streq(c->table, "raw")))
                return false;
        for (size_t i = 0; i < s->n; i++) {
                const struct xchain *x = &s->chains[i];
                if (x->base && streq_ptr(x->family, c->family) && streq(x->table, c->table) &&
                    (streq(x->name, "INPUT") || streq(x->name, "FORWARD") || streq(x->name, "OUTPUT") ||
                     streq(x->name, "POSTROUTING") || streq(x->name, "PREROUTING")))
                        return true;
        }
        return false;
}

static enum vnc_fw_owner chain_owner(const struct xchain *c) {
        if (prefix(c->name, "ufw"))
                return VNC_FW_OWNER_UFW;
        if (prefix(c->name, "DOCKER"))
                return VNC_FW_OWNER_DOCKER;
        if (prefix(c->name, "LIBVIRT_") || streq(c->table, "libvirt_network") || streq(c->table, "libvirt"))
                return VNC_FW_OWNER_LIBVIRT;
        if (prefix(c->name, "VNETCFG") || streq(c->table, "vnetcfg"))
                return VNC_FW_OWNER_VNETCFG;
        if (streq(c->table, "firewalld"))
                return VNC_FW_OWNER_FIREWALLD;
        return VNC_FW_OWNER_ADMIN;
}

/* Who set a base chain's policy: the tool whose chains fill that table. */
static enum vnc_fw_owner policy_owner(const struct ruleset *s, const struct xchain *b) {
        bool ufw = false, docker = false;
        enum vnc_fw_owner own = chain_owner(b);
        if (own != VNC_FW_OWNER_ADMIN)
                return own;
        for (size_t i = 0; i < s->n; i++) {
                const struct xchain *x = &s->chains[i];
                if (!streq_ptr(x->family, b->family) || !streq(x->table, b->table))
                        continue;
                ufw |= prefix(x->name, "ufw-");
                docker |= streq(x->name, "DOCKER-USER");
        }
        /* ufw's DEFAULT_*_POLICY; Docker sets FORWARD DROP when it turns forwarding on */
        return ufw ? VNC_FW_OWNER_UFW : docker && streq(b->name, "FORWARD") ? VNC_FW_OWNER_DOCKER : VNC_FW_OWNER_ADMIN;
}

static enum vnc_fw_owner decision_owner(const struct ruleset *s, int base, const struct outcome *o) {
        const struct xchain *c = &s->chains[o->chain];
        if (o->rule < 0)
                return policy_owner(s, &s->chains[base]);
        const struct xrule *r = &c->rules[o->rule];
        if (r->ours)
                return VNC_FW_OWNER_VNETCFG;
        enum vnc_fw_owner own = chain_owner(c);
        if (own == VNC_FW_OWNER_ADMIN && c->base && r->text && strstr(r->text, "docker0"))
                own = VNC_FW_OWNER_DOCKER;
        return own;
}

/* firewalld's zone from its chain names: filter_IN_public_allow, filter_FWD_libvirt, nat_POST_public. */
static char *firewalld_zone(const struct xchain *c) {
        static const char *const pre[] = {"filter_FWD_", "filter_FWDI_", "filter_FWDO_", "filter_IN_",
                                          "filter_OUT_", "nat_POST_",    "nat_PRE_",     "mangle_PRE_"};
        static const char *const post[] = {"_pre", "_log", "_deny", "_allow", "_post"};
        if (!streq(c->table, "firewalld"))
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(pre); i++) {
                if (!prefix(c->name, pre[i]) || prefix(c->name + strlen(pre[i]), "policy_"))
                        continue;
                char *z = strdup(c->name + strlen(pre[i]));
                if (!z)
                        return NULL;
                size_t n = strlen(z);
                for (size_t k = 0; k < ELEMENTSOF(post); k++) {
                        size_t m = strlen(post[k]);
                        if (n > m && streq(z + n - m, post[k])) {
                                z[n - m] = 0;
                                break;
                        }
                }
                return z;
        }
        return NULL;
}

/* One base chain at the flow's hook and what it does with the flow. */
struct layer {
        const struct ruleset *s;
        int base;
        struct outcome o;
};

static int layer_cmp(const void *a, const void *b) {
        const struct layer *x = a, *y = b;
        int px = x->s->chains[x->base].prio, py = y->s->chains[y->base].prio;
        if (px != py)
                return px < py ? -1 : 1;
        return x->s->nft == y->s->nft ? x->base - y->base : x->s->nft ? -1 : 1;
}

/* "iptables-legacy: filter INPUT rule 1: -A INPUT -p icmp -j DROP", "nft: table inet filter chain forward: policy drop" */
static void describe(struct sbuf *b, const struct layer *l, const struct outcome *o, const struct vnc_flow *f) {
        const struct xchain *c = &l->s->chains[o->chain];
        if (!l->s->nft) {
                if (o->rule < 0)
                        sb_printf(b, "iptables-legacy: %s %s policy %s", c->table, c->name,
                                  c->policy == TG_DROP ? "DROP" : "ACCEPT");
                else
                        sb_printf(b, "iptables-legacy: %s %s rule %u: %s", c->table, c->name, c->rules[o->rule].num,
                                  c->rules[o->rule].text);
        } else if (o->rule < 0)
                sb_printf(b, "nft: table %s %s chain %s: policy %s", c->family, c->table, c->name,
                          c->policy == TG_DROP ? "drop" : "accept");
        else
                sb_printf(b, "nft: table %s %s chain %s: rule '%s' (handle %u)", c->family, c->table, c->name,
                          c->rules[o->rule].text, c->rules[o->rule].num);
        if (o->kind == O_UNKNOWN && o->rule >= 0) {
                const struct xrule *r = &c->rules[o->rule];
                const char *why = NULL;
                if (rule_match(r, f, &why) != T_MAYBE)
                        why = r->why;
                sb_printf(b, ": %s", why ? why : "cannot be decided for this flow");
        }
        if (o->kind != O_ACCEPT) {
                enum vnc_fw_owner own = decision_owner(l->s, l->base, o);
                _cleanup_free_ char *zone = firewalld_zone(c);
                if (own == VNC_FW_OWNER_FIREWALLD && zone)
                        sb_printf(b, " [owner: firewalld, zone %s]", zone);
                else if (own != VNC_FW_OWNER_ADMIN)
                        sb_printf(b, " [owner: %s]", vnc_fw_owner_to_string(own));
                else
                        sb_printf(b, " [owner: the administrator]");
        }
}

/* The flow as iptables options: "-i vn-a -o eth0 -s 10.10.0.5/32 -d 192.0.2.2/32 -p icmp --icmp-type 8" */
static void sb_flow_ipt(struct sbuf *b, const struct vnc_flow *f, bool nat) {
        char ab[INET_ADDRSTRLEN];
        if (f->in[0] && !nat)
                sb_printf(b, " -i %s", f->in);
        if (f->out[0])
                sb_printf(b, " -o %s", f->out);
        if (f->src)
                sb_printf(b, " -s %s/32", ip_str(f->src, ab));
        if (f->dst && !nat)
                sb_printf(b, " -d %s/32", ip_str(f->dst, ab));
        if (nat)
                return;
        const char *pn = proto_name(f->proto);
        if (pn)
                sb_printf(b, " -p %s", pn);
        else if (f->proto)
                sb_printf(b, " -p %u", f->proto);
        if (f->proto == IPPROTO_ICMP && f->icmp_type >= 0)
                sb_printf(b, " --icmp-type %d", f->icmp_type);
        if ((f->proto == IPPROTO_TCP || f->proto == IPPROTO_UDP) && f->dport)
                sb_printf(b, " --dport %u", f->dport);
}

static void sb_flow_nft(struct sbuf *b, const struct vnc_flow *f, bool nat) {
        char ab[INET_ADDRSTRLEN];
        if (f->in[0] && !nat)
                sb_printf(b, " iifname \"%s\"", f->in);
        if (f->out[0])
                sb_printf(b, " oifname \"%s\"", f->out);
        if (f->src)
                sb_printf(b, " ip saddr %s", ip_str(f->src, ab));
        if (f->dst && !nat)
                sb_printf(b, " ip daddr %s", ip_str(f->dst, ab));
        if (nat)
                return;
        const char *pn = proto_name(f->proto);
        if (f->proto == IPPROTO_ICMP && f->icmp_type >= 0) {
                const char *tn = NULL;
                for (size_t i = 0; i < ELEMENTSOF(icmp_types); i++)
                        if (icmp_types[i].type == f->icmp_type)
                                tn = icmp_types[i].name;
                if (tn)
                        sb_printf(b, " icmp type %s", tn);
                else
                        sb_printf(b, " icmp type %d", f->icmp_type);
        } else if ((f->proto == IPPROTO_TCP || f->proto == IPPROTO_UDP) && f->dport)
                sb_printf(b, " %s dport %u", pn, f->dport);
        else if (pn)
                sb_printf(b, " meta l4proto %s", pn);
        else if (f->proto)
                sb_printf(b, " meta l4proto %u", f->proto);
}

/* The bridge side of a flow: where the guest is. */
static const char *guest_side(const struct vnc_flow *f) {
        switch (f->hook) {
        case VNC_HOOK_INPUT:
                return f->in;
        case VNC_HOOK_OUTPUT:
                return f->out;
        default:
                return f->established ? f->out : f->in;
        }
}

/*
 * The fix in the tool of whoever owns the deciding rule or policy. For the
 * administrator's own rules: delete the dropping rule when it is an explicit
 * rule for this flow and the chain then accepts; otherwise accept exactly
 * this flow at the chain's top, with the tool that manages that table.
 */
static void fix_for(struct sbuf *sb, const struct layer *l, const struct vnc_flow *f) {
        const struct ruleset *s = l->s;
        const struct xchain *b = &s->chains[l->base];
        const struct outcome *o = &l->o;
        const struct xchain *c = &s->chains[o->chain];
        enum vnc_fw_owner own = decision_owner(s, l->base, o);
        const char *br = guest_side(f);
        bool xt = xt_table(s, b);

        switch (own) {
        case VNC_FW_OWNER_UFW:
                if (f->hook == VNC_HOOK_FORWARD) {
                        sb_printf(sb, "ufw route allow in on %s", f->in[0] ? f->in : "any");
                        if (f->out[0])
                                sb_printf(sb, " out on %s", f->out);
                } else {
                        bool in = f->hook != VNC_HOOK_OUTPUT;
                        const char *ifn = in ? f->in : f->out;
                        sb_printf(sb, "ufw allow %s on %s", in ? "in" : "out", ifn[0] ? ifn : "any");
                        if ((f->proto == IPPROTO_TCP || f->proto == IPPROTO_UDP) && f->dport)
                                sb_printf(sb, " to any port %u proto %s", f->dport, proto_name(f->proto));
                }
                return;
        case VNC_FW_OWNER_FIREWALLD:
                sb_printf(sb, "firewall-cmd --zone=trusted --add-interface=%s", br[0] ? br : "BRIDGE");
                return;
        case VNC_FW_OWNER_DOCKER:
                if (f->hook == VNC_HOOK_FORWARD) {
                        sb_printf(sb, "%s -I DOCKER-USER", s->nft ? "iptables" : "iptables-legacy");
                        if (f->in[0])
                                sb_printf(sb, " -i %s", f->in);
                        if (f->out[0])
                                sb_printf(sb, " -o %s", f->out);
                        if (f->established)
                                sb_printf(sb, " -m conntrack --ctstate RELATED,ESTABLISHED");
                        sb_printf(sb, " -j ACCEPT");
                        return;
                }
                break;
        case VNC_FW_OWNER_VNETCFG: {
                const char *cm = o->rule >= 0 ? c->rules[o->rule].comment : NULL;
                _cleanup_free_ char *prof = cm && prefix(cm, COMMENT_PREFIX) ? strdup(cm + strlen(COMMENT_PREFIX)) : NULL;
                char *slash = prof ? strchr(prof, '/') : NULL;
                if (slash)
                        *slash = 0;
                sb_printf(sb, "vnetcfg apply %s.json  # the rule is vnetcfg's own%s%s%s: change the profile if this "
                              "flow is wanted",
                          prof ? prof : "PROFILE", cm ? " (" : "", cm ? cm : "", cm ? ")" : "");
                return;
        }
        default:
                break;
        }

        if (o->rule >= 0 && own == VNC_FW_OWNER_ADMIN) {
                const struct xrule *r = &c->rules[o->rule];
                if (rule_match(r, f, NULL) == T_YES) {
                        struct outcome again = evaluate_base(s, l->base, f, r);
                        if (again.kind == O_ACCEPT) {
                                if (!s->nft)
                                        sb_printf(sb, "iptables-legacy%s -D %s %u",
                                                  streq(c->table, "filter") ? "" : " -t nat", c->name, r->num);
                                else if (xt)
                                        sb_printf(sb, "iptables%s -D %s %u", streq(c->table, "filter") ? "" : " -t nat",
                                                  c->name, r->pos);
                                else
                                        sb_printf(sb, "nft delete rule %s %s %s handle %u", c->family, c->table,
                                                  c->name, r->num);
                                return;
                        }
                }
        }
        if (!s->nft || xt) {
                sb_printf(sb, "%s -I %s 1", s->nft ? "iptables" : "iptables-legacy", b->name);
                sb_flow_ipt(sb, f, false);
                sb_printf(sb, " -j ACCEPT");
        } else {
                sb_printf(sb, "nft insert rule %s %s %s", b->family, b->table, b->name);
                sb_flow_nft(sb, f, false);
                sb_printf(sb, " accept");
        }
}

static int add_layers(const struct ruleset *s, const struct vnc_flow *f, struct layer **v, size_t *n,
                      size_t *alloc) {
        bool nat = f->hook == VNC_HOOK_POSTROUTING;
        for (size_t i = 0; i < s->n; i++) {
                const struct xchain *c = &s->chains[i];
                if (!c->base)
                        continue;
                if (s->nft) {
                        if (!streq(c->hook, hook_nft(f->hook)))
                                continue;
                        if (nat ? !streq(c->type, "nat") : streq(c->type, "nat"))
                                continue;
                } else if (!streq(c->name, hook_chain(f->hook)) || !streq(c->table, nat ? "nat" : "filter"))
                        continue;
                if (VNC_GROW(*v, *alloc, *n + 1) < 0)
                        return -ENOMEM;
                (*v)[(*n)++] = (struct layer){.s = s, .base = (int)i, .o = evaluate_base(s, (int)i, f, NULL)};
        }
        return 0;
}

static void set_owner(struct vnc_verdict_result *ret, const struct layer *l) {
        ret->owner = decision_owner(l->s, l->base, &l->o);
        if (ret->owner == VNC_FW_OWNER_FIREWALLD && !ret->zone)
                ret->zone = firewalld_zone(&l->s->chains[l->o.chain]);
}

int vnc_fw_judge(const struct vnc_fw_rulesets *rs, const struct vnc_flow *f, struct vnc_verdict_result *ret,
                 struct vnc_error *e) {
        const struct ruleset *legacy = &rs->legacy, *nft = &rs->nft;
        _cleanup_free_ struct layer *layers = NULL;
        size_t n = 0, alloc = 0;
        bool nat = f->hook == VNC_HOOK_POSTROUTING;
        struct sbuf ev = {0}, fix = {0};
        char ab[INET_ADDRSTRLEN];

        *ret = (struct vnc_verdict_result){0};
        if ((legacy->read && add_layers(legacy, f, &layers, &n, &alloc) < 0) ||
            (nft->read && add_layers(nft, f, &layers, &n, &alloc) < 0))
                return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
        if (n > 1)
                qsort(layers, n, sizeof(*layers), layer_cmp);

        enum vnc_verdict v = nat ? VNC_VERDICT_NO_NAT : VNC_VERDICT_ACCEPT;
        const struct layer *decided = NULL;
        if (nat) {
                /* The first nat chain (by priority) that translates, drops or cannot be foreseen decides. */
                for (size_t i = 0; i < n && !decided; i++) {
                        if (layers[i].o.kind == O_ACCEPT)
                                continue;
                        decided = &layers[i];
                        v = decided->o.kind == O_NAT    ? VNC_VERDICT_NAT
                            : decided->o.kind == O_DROP ? VNC_VERDICT_DROP
                                                        : VNC_VERDICT_UNKNOWN;
                }
                if (decided) {
                        describe(&ev, decided, &decided->o, f);
                        set_owner(ret, decided);
                } else {
                        sb_printf(&ev, "no masquerade or SNAT for %s", ip_str(f->src, ab));
                        if (f->out[0])
                                sb_printf(&ev, " out of %s", f->out);
                        sb_printf(&ev, " in iptables-legacy nat POSTROUTING or nft nat chains");
                        /* Insert where it is read first: a legacy table when there is one, else an nft nat chain. */
                        const struct layer *nl = NULL;
                        for (size_t i = 0; i < n && !nl; i++)
                                if (layers[i].s->nft)
                                        nl = &layers[i];
                        if (legacy->read && (!nl || legacy->n > 0)) {
                                sb_printf(&fix, "iptables-legacy -t nat -I POSTROUTING 1");
                                sb_flow_ipt(&fix, f, true);
                                sb_printf(&fix, " -j MASQUERADE");
                        } else if (nl && xt_table(nl->s, &nl->s->chains[nl->base])) {
                                sb_printf(&fix, "iptables -t nat -I POSTROUTING 1");
                                sb_flow_ipt(&fix, f, true);
                                sb_printf(&fix, " -j MASQUERADE");
                        } else if (nl) {
                                const struct xchain *c = &nl->s->chains[nl->base];
                                sb_printf(&fix, "nft insert rule %s %s %s", c->family, c->table, c->name);
                                sb_flow_nft(&fix, f, true);
                                sb_printf(&fix, " masquerade");
                        } else {
                                sb_printf(&fix, "iptables-legacy -t nat -I POSTROUTING 1");
                                sb_flow_ipt(&fix, f, true);
                                sb_printf(&fix, " -j MASQUERADE");
                        }
                }
        } else {
                /* Every base chain runs; a drop anywhere drops. */
                const struct layer *unknown = NULL;
                for (size_t i = 0; i < n; i++) {
                        struct layer *l = &layers[i];
                        if (l->o.kind == O_DROP) {
                                sb_printf(&ev, "%s", decided ? "; also " : "");
                                describe(&ev, l, &l->o, f);
                                sb_printf(&fix, "%s", decided ? " && " : "");
                                fix_for(&fix, l, f);
                                if (!decided)
                                        set_owner(ret, l);
                                decided = l;
                                v = VNC_VERDICT_DROP;
                        } else if (l->o.kind == O_UNKNOWN && !unknown)
                                unknown = l;
                }
                if (!decided && unknown) {
                        v = VNC_VERDICT_UNKNOWN;
                        describe(&ev, unknown, &unknown->o, f);
                        set_owner(ret, unknown);
                } else if (!decided) {
                        for (size_t i = 0; i < n; i++) {
                                sb_printf(&ev, "%s", i ? "; " : "");
                                describe(&ev, &layers[i], &layers[i].o, f);
                        }
                        if (n == 0)
                                sb_printf(&ev, "no iptables-legacy or nft chain filters at hook %s", hook_nft(f->hook));
                }
        }
        struct sbuf notes = {0};
        if (!legacy->read)
                sb_printf(&notes, "; iptables-legacy not read: %s", legacy->error ? legacy->error : "?");
        else if (legacy->absent)
                sb_printf(&notes, "; no iptables-legacy tables: %s", legacy->absent);
        if (!nft->read)
                sb_printf(&notes, "; nft not read: %s", nft->error ? nft->error : "?");
        else if (nft->absent)
                sb_printf(&notes, "; no nf_tables: %s", nft->absent);
        /* A rule set that could not be read may hold the drop: no ACCEPT (or NO_NAT) is promised then. */
        if ((!legacy->read || !nft->read) && (v == VNC_VERDICT_ACCEPT || v == VNC_VERDICT_NO_NAT)) {
                _cleanup_free_ char *read_part = sb_take(&ev);
                v = VNC_VERDICT_UNKNOWN;
                sb_done(&fix);
                sb_printf(&ev, "cannot tell: %s; what was read: %s", notes.s ? notes.s + 2 : "?",
                          read_part ? read_part : "?");
        } else if (notes.s)
                sb_printf(&ev, "%s", notes.s);
        sb_done(&notes);
        if (ev.oom || fix.oom) {
                sb_done(&ev);
                sb_done(&fix);
                vnc_verdict_result_done(ret);
                return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
        }
        ret->verdict = v;
        ret->evidence = sb_take(&ev);
        ret->fix = fix.s ? sb_take(&fix) : NULL;
        if (!ret->evidence) {
                vnc_verdict_result_done(ret);
                return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
        }
        return 0;
}

int vnc_fw_evaluate(const struct vnc_flow *f, struct vnc_verdict_result *ret, struct vnc_error *e) {
        struct vnc_fw_rulesets *rs = NULL;
        int r = vnc_fw_rulesets_read(&rs, e);
        if (r < 0)
                return r;
        r = vnc_fw_judge(rs, f, ret, e);
        vnc_fw_rulesets_free(rs);
        return r;
}
