/* SPDX-License-Identifier: MIT */
/*
 * What would the host's firewall do with one flow, and which rule decides?
 *
 * Both rule sets the kernel runs are read: the iptables legacy tables
 * (x_tables, through libiptc) and nf_tables (through libnftables, as JSON).
 * Each is loaded into one small model (chains of rules, each rule reduced to
 * "does it match this flow: yes / no / cannot tell" plus what it does), and
 * one evaluator walks that model as the kernel would: rule by rule, into
 * jumped-to chains and back, until a verdict or the base chain's policy.
 *
 * A rule whose match cannot be decided (a mark, a rate limit, a named set) is
 * followed both ways; when both ways end in the same verdict it does not
 * matter, otherwise the answer is UNKNOWN and names that rule. Nothing is
 * guessed.
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
#include <fcntl.h>
#include <jansson.h>
#include <libiptc/libiptc.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/xt_addrtype.h>
#include <linux/netfilter/xt_comment.h>
#include <linux/netfilter/xt_conntrack.h>
#include <linux/netfilter/xt_mark.h>
#include <linux/netfilter/xt_state.h>
#include <linux/netfilter/xt_tcpudp.h>
#include <linux/netfilter_ipv4/ipt_REJECT.h>
#include <netinet/in.h>
#include <nftables/libnftables.h>
#include <stdarg.h>
#include <stdio.h>

#include "fwverdict.h"
#include "xt.h"

#define COMMENT_PREFIX "vnetcfg:"
#define FORK_BUDGET 4096 /* undecidable rules followed both ways, per base chain */
#define JUMP_DEPTH 64

enum tri { T_NO, T_YES, T_MAYBE };

static enum tri tri_and(enum tri a, enum tri b) {
        if (a == T_NO || b == T_NO)
                return T_NO;
        return a == T_MAYBE || b == T_MAYBE ? T_MAYBE : T_YES;
}

static enum tri tri_not(enum tri a) {
        return a == T_MAYBE ? T_MAYBE : a == T_YES ? T_NO : T_YES;
}

static enum tri tri_of(bool b) {
        return b ? T_YES : T_NO;
}

/* What a rule does when it matches. */
enum tgt {
        TG_CONTINUE, /* counter, LOG, MARK...: the next rule runs */
        TG_ACCEPT,
        TG_DROP,     /* DROP and REJECT */
        TG_RETURN,
        TG_JUMP,
        TG_GOTO,
        TG_NAT,      /* MASQUERADE, SNAT */
        TG_UNKNOWN,  /* a verdict we cannot foresee (queue to userspace, verdict map...) */
};

struct xrule {
        enum tri match;
        enum tgt tgt;
        int target;     /* chain index of a jump/goto, -1 unresolved */
        char *target_name;
        char *text;     /* as the tool prints it */
        char *why;      /* what could not be decided, for T_MAYBE / TG_UNKNOWN */
        unsigned num;   /* legacy: 1-based position in the chain; nft: handle */
        bool ours;      /* sealed with a vnetcfg comment */
        bool skip;      /* pretend it is deleted (to check a fix) */
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

static void ruleset_done(struct ruleset *s) {
        for (size_t i = 0; i < s->n; i++) {
                struct xchain *c = &s->chains[i];
                for (size_t k = 0; k < c->n; k++) {
                        free(c->rules[k].target_name);
                        free(c->rules[k].text);
                        free(c->rules[k].why);
                }
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
        *r = (struct xrule){.match = T_YES, .tgt = TG_CONTINUE, .target = -1};
        return r;
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
                *b = (struct sbuf){0};
                return b->oom ? NULL : strdup("");
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
        int base;
        unsigned budget;
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
                struct frame f = {.chain = c, .rule = i, .up = up};
                return run(w, r->target, 0, &f, depth + 1);
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
                if (r->skip || r->match == T_NO || r->tgt == TG_CONTINUE)
                        continue;
                if (r->match == T_YES)
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

static struct outcome evaluate_base(const struct ruleset *s, int base) {
        struct walk w = {.s = s, .base = base, .budget = FORK_BUDGET};
        return run(&w, base, 0, NULL, 0);
}

/* ============================ iptables legacy ============================ */

static void iptc_freep(struct xtc_handle **h) {
        if (*h)
                iptc_free(*h);
}


/* Kernel's ifname_compare: every byte under the mask equal (the name padded with NULs). */
static bool iface_matches(const char *flow_if, const char iface[IFNAMSIZ], const unsigned char mask[IFNAMSIZ]) {
        char dev[IFNAMSIZ] = {0};
        memcpy(dev, flow_if, strnlen(flow_if, IFNAMSIZ - 1));
        for (int i = 0; i < IFNAMSIZ; i++)
                if ((dev[i] ^ iface[i]) & mask[i])
                        return false;
        return true;
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

static void sb_ctstates(struct sbuf *b, unsigned mask) {
        static const struct {
                unsigned bit;
                const char *name;
        } names[] = {
                {XT_CONNTRACK_STATE_INVALID, "INVALID"},
                {XT_CONNTRACK_STATE_BIT(IP_CT_NEW), "NEW"},
                {XT_CONNTRACK_STATE_BIT(IP_CT_RELATED), "RELATED"},
                {XT_CONNTRACK_STATE_BIT(IP_CT_ESTABLISHED), "ESTABLISHED"},
                {XT_CONNTRACK_STATE_UNTRACKED, "UNTRACKED"},
                {XT_CONNTRACK_STATE_SNAT, "SNAT"},
                {XT_CONNTRACK_STATE_DNAT, "DNAT"},
        };
        const char *sep = " ";
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (mask & names[i].bit) {
                        sb_printf(b, "%s%s", sep, names[i].name);
                        sep = ",";
                }
}

/* The flow's conntrack state bits: ESTABLISHED for a reply, NEW otherwise. */
static unsigned flow_ctbit(const struct vnc_flow *f) {
        return f->established ? XT_CONNTRACK_STATE_BIT(IP_CT_ESTABLISHED) : XT_CONNTRACK_STATE_BIT(IP_CT_NEW);
}

static enum tri ctstate_match(const struct vnc_flow *f, unsigned mask, bool inv) {
        enum tri t;
        if (mask & flow_ctbit(f))
                t = T_YES;
        else if (mask & (XT_CONNTRACK_STATE_SNAT | XT_CONNTRACK_STATE_DNAT))
                t = T_MAYBE; /* whether the connection was translated is not part of the flow */
        else
                t = T_NO;
        return inv ? tri_not(t) : t;
}

static enum tri ports_match(uint16_t flow_port, const uint16_t p[2], bool inv) {
        if (p[0] == 0 && p[1] == 0xffff)
                return T_YES; /* any port, even inverted iptables prints nothing */
        if (flow_port == 0)
                return T_MAYBE;
        bool in = flow_port >= p[0] && flow_port <= p[1];
        return tri_of(in != inv);
}

/* One xt match: decide it for the flow and print it as iptables-save would. */
static enum tri legacy_xt_match(const struct vnc_flow *f, const struct xt_entry_match *m, struct sbuf *b,
                                char **why) {
        const char *name = m->u.user.name;
        size_t dlen = m->u.match_size - XT_ALIGN(sizeof(*m));
        enum tri t = T_MAYBE;

        if (streq(name, "comment") && dlen >= sizeof(struct xt_comment_info)) {
                const struct xt_comment_info *ci = (const void *)m->data;
                char c[XT_MAX_COMMENT_LEN + 1] = {0};
                memcpy(c, ci->comment, XT_MAX_COMMENT_LEN);
                sb_printf(b, " -m comment --comment ");
                sb_quoted(b, c);
                return T_YES;
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
                if (f->proto != IPPROTO_ICMP)
                        return T_NO;
                if (ic->type == 0xff)
                        return tri_of(!inv);
                if (f->icmp_type < 0)
                        t = T_MAYBE;
                else
                        t = tri_of(f->icmp_type == ic->type && ic->code[0] == 0); /* echo code 0 */
                if (ic->code[0] != 0 && f->icmp_type >= 0 && f->icmp_type == ic->type)
                        t = T_MAYBE;
                if (t == T_MAYBE)
                        *why = vnc_strdup_printf("the flow's ICMP type is not given");
                return inv ? tri_not(t) : t;
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
                t = tri_of(f->proto == (tcp ? IPPROTO_TCP : IPPROTO_UDP));
                t = tri_and(t, ports_match(f->dport, dpts, inv & XT_TCP_INV_DSTPT));
                if (!(spts[0] == 0 && spts[1] == 0xffff) && t != T_NO) {
                        t = T_MAYBE;
                        *why = vnc_strdup_printf("the flow's source port is not known");
                }
                if (tcp) {
                        const struct xt_tcp *x = (const void *)m->data;
                        if (x->flg_mask || x->option) {
                                sb_printf(b, " (tcp flags/options)");
                                if (t != T_NO) {
                                        t = T_MAYBE;
                                        free(*why);
                                        *why = vnc_strdup_printf("TCP flags are not part of the flow");
                                }
                        }
                }
                if (t == T_MAYBE && !*why)
                        *why = vnc_strdup_printf("the flow's port is not given");
                return t;
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
                        *why = vnc_strdup_printf("the conntrack match could not be read");
                        return T_MAYBE;
                }
                sb_printf(b, " -m conntrack");
                if (flags & XT_CONNTRACK_STATE) {
                        sb_printf(b, "%s --ctstate", invert & XT_CONNTRACK_STATE ? " !" : "");
                        sb_ctstates(b, state);
                        t = ctstate_match(f, state, invert & XT_CONNTRACK_STATE);
                } else
                        t = T_YES;
                if (flags & ~(unsigned)XT_CONNTRACK_STATE) {
                        sb_printf(b, " (more conntrack criteria)");
                        if (t != T_NO)
                                t = T_MAYBE;
                }
                if (t == T_MAYBE)
                        *why = vnc_strdup_printf("conntrack criteria beyond NEW/ESTABLISHED/RELATED");
                return t;
        }
        if (streq(name, "state") && dlen >= sizeof(struct xt_state_info)) {
                const struct xt_state_info *x = (const void *)m->data;
                sb_printf(b, " -m state --state");
                sb_ctstates(b, x->statemask);
                t = ctstate_match(f, x->statemask, false);
                if (t == T_MAYBE)
                        *why = vnc_strdup_printf("conntrack criteria beyond NEW/ESTABLISHED/RELATED");
                return t;
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
                if (src)
                        sb_printf(b, "%s --src-type %s", inv_src ? " !" : "", src == XT_ADDRTYPE_LOCAL ? "LOCAL" : "...");
                if (dst)
                        sb_printf(b, "%s --dst-type %s", inv_dst ? " !" : "", dst == XT_ADDRTYPE_LOCAL ? "LOCAL" : "...");
                /* Decidable only where the hook says it: INPUT is to a local address, OUTPUT from one. */
                t = T_YES;
                if (src)
                        t = tri_and(t, src == XT_ADDRTYPE_LOCAL && f->hook == VNC_HOOK_OUTPUT && !limited
                                               ? tri_of(!inv_src)
                                               : T_MAYBE);
                if (dst)
                        t = tri_and(t, dst == XT_ADDRTYPE_LOCAL && f->hook == VNC_HOOK_INPUT && !limited
                                               ? tri_of(!inv_dst)
                                               : T_MAYBE);
                if (t == T_MAYBE)
                        *why = vnc_strdup_printf("the address type match is not decided for this flow");
                return t;
        }
        if (streq(name, "mark") && m->u.user.revision == 1 && dlen >= sizeof(struct xt_mark_mtinfo1)) {
                const struct xt_mark_mtinfo1 *x = (const void *)m->data;
                sb_printf(b, " -m mark %s--mark 0x%x", x->invert ? "! " : "", x->mark);
                if (x->mask != 0xffffffffU)
                        sb_printf(b, "/0x%x", x->mask);
        } else
                sb_printf(b, " -m %s", name);
        *why = vnc_strdup_printf("the %s match cannot be decided for this flow", name);
        return T_MAYBE;
}

static const char *const non_terminating[] = {
        "LOG",    "NFLOG", "ULOG",   "MARK",   "CONNMARK", "CLASSIFY", "TRACE",    "CT",       "NOTRACK",
        "TCPMSS", "DSCP",  "TOS",    "TTL",    "SECMARK",  "CONNSECMARK", "AUDIT", "CHECKSUM", "IDLETIMER",
        "LED",    "RATEEST", "HMARK", "TEE",
};

static int legacy_load_rule(const struct vnc_flow *f, struct xtc_handle *h, const char *chain,
                            const struct ipt_entry *en, unsigned num, struct xrule *r) {
        struct sbuf b = {0};
        const struct ipt_ip *ip = &en->ip;
        enum tri t = T_YES;
        char *why = NULL;

        r->num = num;
        sb_printf(&b, "-A %s", chain);
        if (ip->smsk.s_addr) {
                sb_addr(&b, "-s", ip->invflags & IPT_INV_SRCIP, ip->src, ip->smsk);
                bool in = (htonl(f->src) & ip->smsk.s_addr) == ip->src.s_addr;
                t = tri_and(t, tri_of(in != !!(ip->invflags & IPT_INV_SRCIP)));
        }
        if (ip->dmsk.s_addr) {
                sb_addr(&b, "-d", ip->invflags & IPT_INV_DSTIP, ip->dst, ip->dmsk);
                bool in = (htonl(f->dst) & ip->dmsk.s_addr) == ip->dst.s_addr;
                t = tri_and(t, tri_of(in != !!(ip->invflags & IPT_INV_DSTIP)));
        }
        if (ip->iniface[0]) {
                sb_printf(&b, " %s-i %.*s", ip->invflags & IPT_INV_VIA_IN ? "! " : "", IFNAMSIZ, ip->iniface);
                t = tri_and(t, tri_of(iface_matches(f->in, ip->iniface, ip->iniface_mask) !=
                                      !!(ip->invflags & IPT_INV_VIA_IN)));
        }
        if (ip->outiface[0]) {
                sb_printf(&b, " %s-o %.*s", ip->invflags & IPT_INV_VIA_OUT ? "! " : "", IFNAMSIZ, ip->outiface);
                t = tri_and(t, tri_of(iface_matches(f->out, ip->outiface, ip->outiface_mask) !=
                                      !!(ip->invflags & IPT_INV_VIA_OUT)));
        }
        if (ip->proto) {
                const char *pn = proto_name(ip->proto);
                if (pn)
                        sb_printf(&b, " %s-p %s", ip->invflags & XT_INV_PROTO ? "! " : "", pn);
                else
                        sb_printf(&b, " %s-p %u", ip->invflags & XT_INV_PROTO ? "! " : "", ip->proto);
                t = tri_and(t, tri_of((f->proto == ip->proto) != !!(ip->invflags & XT_INV_PROTO)));
        }
        if (ip->flags & IPT_F_FRAG) {
                sb_printf(&b, " %s-f", ip->invflags & IPT_INV_FRAG ? "! " : "");
                /* The flow is a whole packet (or a first fragment): -f never matches it. */
                t = tri_and(t, tri_of(ip->invflags & IPT_INV_FRAG));
        }
        for (size_t off = sizeof(struct ipt_entry); off < en->target_offset;) {
                const struct xt_entry_match *m = (const void *)((const char *)en + off);
                char *w = NULL;
                if (m->u.match_size < sizeof(*m))
                        break;
                enum tri mt = legacy_xt_match(f, m, &b, &w);
                if (mt == T_MAYBE && !why)
                        why = w;
                else
                        free(w);
                if (streq(m->u.user.name, "comment") && m->u.match_size >= XT_ALIGN(sizeof(*m)) + sizeof(struct xt_comment_info) &&
                    strncmp(((const struct xt_comment_info *)m->data)->comment, COMMENT_PREFIX, strlen(COMMENT_PREFIX)) == 0)
                        r->ours = true;
                t = tri_and(t, mt);
                off += m->u.match_size;
        }
        r->match = t;
        if (t != T_MAYBE) {
                free(why);
                why = NULL;
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
                if (r->tgt == TG_UNKNOWN && !why)
                        why = vnc_strdup_printf("its target %s decides outside the rule set", *tg ? tg : "(none)");
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
        r->why = why;
        r->text = sb_take(&b);
        if (!r->text)
                return -ENOMEM;
        return 0;
oom:
        free(why);
        sb_done(&b);
        return -ENOMEM;
}

static int legacy_load(const struct vnc_flow *f, const char *table, struct ruleset *s, struct vnc_error *e) {
        _cleanup_(iptc_freep) struct xtc_handle *h = NULL;

        s->nft = false;
        int k = vnc_xt_table_instantiated(table);
        if (k == 0) { /* never used in this namespace: empty, all policies ACCEPT */
                s->read = true;
                return 0;
        }
        if (k < 0 && k != -ENOENT) {
                s->error = vnc_strdup_printf("/proc/net/ip_tables_names: %s", strerror(-k));
                return s->error ? 0 : vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
        }
        h = iptc_init(table);
        if (!h) {
                int err = errno;
                if (err == ENOPROTOOPT || err == ENOENT) {
                        /* No x_tables in this kernel: no legacy rule can exist. */
                        s->absent = vnc_strdup_printf("%s", iptc_strerror(err));
                        s->read = true;
                        return s->absent ? 0 : vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
                }
                s->error = vnc_strdup_printf("table %s: %s", table, iptc_strerror(err));
                return s->error ? 0 : vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
        }
        for (const char *cn = iptc_first_chain(h); cn; cn = iptc_next_chain(h)) {
                struct xchain *c = ruleset_add_chain(s);
                if (!c || !(c->name = strdup(cn)) || !(c->table = strdup(table)))
                        return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
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
                        if (!r || legacy_load_rule(f, h, cn, en, num, r) < 0)
                                return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
                }
        }
        ruleset_resolve(s);
        s->read = true;
        return 0;
}

/* ============================ nf_tables ============================ */

static void nft_ctx_freep(struct nft_ctx **c) {
        if (*c)
                nft_ctx_free(*c);
}

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

enum vkind { V_IFNAME, V_ADDR, V_PROTO, V_ICMPTYPE, V_PORT, V_CTSTATE, V_NFPROTO, V_ETHPROTO };

struct fval {
        enum vkind kind;
        const char *str; /* interface name, ct state name */
        long num;        /* address, protocol, port, icmp type; -1 unknown */
};

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

/* A scalar of the right-hand side as a number of kind k; -1 when it cannot be read. */
static long scalar_num(enum vkind k, json_t *v) {
        if (json_is_integer(v))
                return (long)json_integer_value(v);
        const char *s = json_string_value(v);
        if (!s)
                return -1;
        if (k == V_ADDR) {
                struct in_addr a;
                return inet_pton(AF_INET, s, &a) == 1 ? (long)ntohl(a.s_addr) : -1;
        }
        if (k == V_PROTO)
                return proto_num(s);
        if (k == V_ICMPTYPE)
                for (size_t i = 0; i < ELEMENTSOF(icmp_types); i++)
                        if (streq(s, icmp_types[i].name))
                                return icmp_types[i].type;
        return -1;
}

static bool ifname_eq(const char *flow_if, const char *pat) {
        size_t n = strlen(pat);
        if (n > 0 && pat[n - 1] == '*' && (n < 2 || pat[n - 2] != '\\'))
                return strncmp(flow_if, pat, n - 1) == 0;
        if (n > 1 && pat[n - 1] == '*') { /* "\*": a literal star */
                return strlen(flow_if) == n - 1 && strncmp(flow_if, pat, n - 2) == 0 && flow_if[n - 2] == '*';
        }
        return streq(flow_if, pat);
}

/* Is the flow's value v in the right-hand side element r? */
static enum tri element_match(const struct fval *v, json_t *r) {
        json_t *inner = NULL;
        const char *key = json_only_key(r, &inner);

        if (key && streq(key, "set")) {
                enum tri t = T_NO;
                size_t i;
                json_t *x;
                if (!json_is_array(inner))
                        return element_match(v, inner);
                json_array_foreach(inner, i, x) {
                        enum tri u = element_match(v, x);
                        if (u == T_YES)
                                return T_YES;
                        if (u == T_MAYBE)
                                t = T_MAYBE;
                }
                return t;
        }
        if (json_is_array(r)) { /* flags lists: ["established", "related"] */
                enum tri t = T_NO;
                size_t i;
                json_t *x;
                json_array_foreach(r, i, x) {
                        enum tri u = element_match(v, x);
                        if (u == T_YES)
                                return T_YES;
                        if (u == T_MAYBE)
                                t = T_MAYBE;
                }
                return t;
        }
        const char *s = json_string_value(r);
        if (s && s[0] == '@')
                return T_MAYBE; /* a named set: its elements are not looked up */
        switch (v->kind) {
        case V_IFNAME:
                return s ? tri_of(ifname_eq(v->str, s)) : T_MAYBE;
        case V_CTSTATE:
                return s ? tri_of(streq(v->str, s)) : T_MAYBE;
        case V_NFPROTO:
                return s ? tri_of(streq(s, "ipv4")) : json_is_integer(r) ? tri_of(json_integer_value(r) == 2) : T_MAYBE;
        case V_ETHPROTO:
                return s ? tri_of(streq(s, "ip")) : json_is_integer(r) ? tri_of(json_integer_value(r) == 0x0800) : T_MAYBE;
        default:
                break;
        }
        if (v->num < 0)
                return T_MAYBE;
        if (key && streq(key, "prefix") && v->kind == V_ADDR) {
                long a = scalar_num(V_ADDR, json_object_get(inner, "addr"));
                json_t *len = json_object_get(inner, "len");
                if (a < 0 || !json_is_integer(len))
                        return T_MAYBE;
                json_int_t l = json_integer_value(len);
                uint32_t mask = l <= 0 ? 0 : l >= 32 ? 0xffffffffU : ~0U << (32 - l);
                return tri_of(((uint32_t)v->num & mask) == ((uint32_t)a & mask));
        }
        if (key && streq(key, "range") && json_is_array(inner) && json_array_size(inner) == 2) {
                long lo = scalar_num(v->kind, json_array_get(inner, 0)), hi = scalar_num(v->kind, json_array_get(inner, 1));
                if (lo < 0 || hi < 0)
                        return T_MAYBE;
                return tri_of(v->num >= lo && v->num <= hi);
        }
        long n = scalar_num(v->kind, r);
        return n < 0 ? T_MAYBE : tri_of(n == v->num);
}

/* One {"match": {...}} expression. */
static enum tri nft_match(const struct vnc_flow *f, json_t *m, char **why) {
        const char *op = json_string_value(json_object_get(m, "op"));
        json_t *left = json_object_get(m, "left"), *right = json_object_get(m, "right"), *lv = NULL;
        const char *lk = json_only_key(left, &lv);
        struct fval v = {.num = -1};
        enum tri dep = T_YES; /* the protocol a header field implies */

        if (!op || !lk || !right)
                goto maybe;
        if (streq(lk, "meta")) {
                const char *key = json_string_value(json_object_get(lv, "key"));
                if (!key)
                        goto maybe;
                if (streq(key, "iifname") || streq(key, "iif"))
                        v = (struct fval){V_IFNAME, f->in, -1};
                else if (streq(key, "oifname") || streq(key, "oif"))
                        v = (struct fval){V_IFNAME, f->out, -1};
                else if (streq(key, "l4proto"))
                        v = (struct fval){V_PROTO, NULL, f->proto};
                else if (streq(key, "nfproto"))
                        v = (struct fval){V_NFPROTO, NULL, 2};
                else if (streq(key, "protocol"))
                        v = (struct fval){V_ETHPROTO, NULL, 0x0800};
                else
                        goto maybe;
        } else if (streq(lk, "payload")) {
                const char *proto = json_string_value(json_object_get(lv, "protocol"));
                const char *field = json_string_value(json_object_get(lv, "field"));
                if (!proto || !field)
                        goto maybe;
                if (streq(proto, "ip6") || streq(proto, "icmpv6"))
                        return T_NO; /* an IPv6 header: the flow is IPv4 */
                if (streq(proto, "ip") && streq(field, "saddr"))
                        v = (struct fval){V_ADDR, NULL, f->src};
                else if (streq(proto, "ip") && streq(field, "daddr"))
                        v = (struct fval){V_ADDR, NULL, f->dst};
                else if (streq(proto, "ip") && streq(field, "protocol"))
                        v = (struct fval){V_PROTO, NULL, f->proto};
                else if (streq(proto, "icmp") && streq(field, "type")) {
                        dep = tri_of(f->proto == IPPROTO_ICMP);
                        v = (struct fval){V_ICMPTYPE, NULL, f->icmp_type};
                } else if ((streq(proto, "tcp") || streq(proto, "udp") || streq(proto, "th")) &&
                           streq(field, "dport")) {
                        dep = streq(proto, "th") ? tri_of(f->proto == IPPROTO_TCP || f->proto == IPPROTO_UDP)
                                                 : tri_of(f->proto == (streq(proto, "tcp") ? IPPROTO_TCP : IPPROTO_UDP));
                        v = (struct fval){V_PORT, NULL, f->dport ? f->dport : -1};
                } else if (streq(proto, "tcp") || streq(proto, "udp") || streq(proto, "icmp")) {
                        dep = tri_of(f->proto == proto_num(proto));
                        if (dep == T_NO)
                                return T_NO;
                        goto maybe;
                } else
                        goto maybe;
        } else if (streq(lk, "ct")) {
                const char *key = json_string_value(json_object_get(lv, "key"));
                if (!key || !streq(key, "state"))
                        goto maybe;
                v = (struct fval){V_CTSTATE, f->established ? "established" : "new", -1};
        } else
                goto maybe;

        if (dep == T_NO)
                return T_NO;
        enum tri t;
        if (streq(op, "==") || streq(op, "in"))
                t = element_match(&v, right);
        else if (streq(op, "!="))
                t = tri_not(element_match(&v, right));
        else
                goto maybe;
        if (t == T_MAYBE && !*why)
                *why = vnc_strdup_printf("a %s match is not decided for this flow", lk);
        return t;
maybe:
        if (!*why)
                *why = vnc_strdup_printf("a %s match is not decided for this flow", lk ? lk : "complex");
        return T_MAYBE;
}

static int nft_load_rule(const struct vnc_flow *f, json_t *expr, struct xrule *r) {
        size_t i;
        json_t *x;
        char *why = NULL;

        r->match = T_YES;
        r->tgt = TG_CONTINUE;
        json_array_foreach(expr, i, x) {
                json_t *v = NULL;
                const char *k = json_only_key(x, &v);
                if (!k) {
                        r->match = tri_and(r->match, T_MAYBE);
                        continue;
                }
                if (streq(k, "match")) {
                        r->match = tri_and(r->match, nft_match(f, v, &why));
                        if (r->match == T_NO)
                                break; /* the rest of the rule does not run */
                } else if (streq(k, "counter") || streq(k, "log") || streq(k, "mangle") || streq(k, "notrack") ||
                           streq(k, "continue"))
                        continue;
                else if (streq(k, "accept"))
                        r->tgt = TG_ACCEPT;
                else if (streq(k, "drop") || streq(k, "reject"))
                        r->tgt = TG_DROP;
                else if (streq(k, "return"))
                        r->tgt = TG_RETURN;
                else if (streq(k, "masquerade") || streq(k, "snat"))
                        r->tgt = TG_NAT;
                else if (streq(k, "jump") || streq(k, "goto")) {
                        const char *t = json_string_value(json_object_get(v, "target"));
                        r->tgt = streq(k, "jump") ? TG_JUMP : TG_GOTO;
                        if (t && !(r->target_name = strdup(t))) {
                                free(why);
                                return -ENOMEM;
                        }
                } else if (streq(k, "xt") && json_is(v, "type", "match") && json_is(v, "name", "comment"))
                        continue; /* iptables-nft's -m comment */
                else if (streq(k, "xt") && json_is(v, "type", "match")) {
                        r->match = tri_and(r->match, T_MAYBE);
                        if (!why)
                                why = vnc_strdup_printf("an iptables-nft \"%s\" match cannot be decided",
                                                        json_string_value(json_object_get(v, "name")) ?: "?");
                } else if (streq(k, "limit") || streq(k, "quota") || streq(k, "xt") || streq(k, "meter") ||
                           streq(k, "set") || streq(k, "ct count")) {
                        /* limit and quota stop the rule when exceeded; others change state we do not model */
                        r->match = tri_and(r->match, T_MAYBE);
                        if (!why)
                                why = vnc_strdup_printf("its %s statement cannot be decided", k);
                } else if (streq(k, "vmap") || streq(k, "queue") || streq(k, "dnat") || streq(k, "redirect") ||
                           streq(k, "tproxy") || streq(k, "fwd") || streq(k, "dup")) {
                        if (streq(k, "dup")) /* a copy: the packet continues */
                                continue;
                        r->tgt = TG_UNKNOWN;
                        if (!why)
                                why = vnc_strdup_printf("its %s statement decides outside what is modelled", k);
                } else {
                        r->match = tri_and(r->match, T_MAYBE);
                        if (!why)
                                why = vnc_strdup_printf("its %s expression cannot be decided", k);
                }
                if (r->tgt != TG_CONTINUE)
                        break; /* a verdict ends the rule */
        }
        if (r->match == T_MAYBE || r->tgt == TG_UNKNOWN)
                r->why = why;
        else
                free(why);
        return 0;
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
                        depth++;
                        continue;
                }
                if (in_chain && depth == 2 && h) {
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

/* Run "list ruleset" with these output flags; the output, or NULL with s->error set. */
static char *nft_list(struct ruleset *s, unsigned flags) {
        _cleanup_(nft_ctx_freep) struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
        if (!ctx) {
                s->error = strdup("could not create a libnftables context");
                return NULL;
        }
        nft_ctx_output_set_flags(ctx, flags);
        if (nft_ctx_buffer_output(ctx) < 0 || nft_ctx_buffer_error(ctx) < 0) {
                s->error = strdup("could not buffer libnftables output");
                return NULL;
        }
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

static int nft_load(const struct vnc_flow *f, struct ruleset *s, struct vnc_error *e) {
        _cleanup_free_ char *json = NULL, *text = NULL;
        _cleanup_(json_decrefp) json_t *root = NULL;
        struct nft_texts texts = {0};
        json_error_t jerr;
        int r = 0;

        s->nft = true;
        if (!have_net_admin()) {
                s->error = strdup("listing the ruleset needs CAP_NET_ADMIN: Operation not permitted");
                return s->error ? 0 : vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
        }
        json = nft_list(s, NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_HANDLE);
        if (!json) {
                if (!s->error)
                        return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
                if (strstr(s->error, "Protocol not supported") || strstr(s->error, "Address family not supported")) {
                        /* No nf_tables in this kernel: no nft rule can exist. */
                        s->absent = TAKE_PTR(s->error);
                        s->read = true;
                }
                return 0;
        }
        text = nft_list(s, NFT_CTX_OUTPUT_HANDLE | NFT_CTX_OUTPUT_STATELESS);
        if (!text) { /* texts are only for evidence */
                free(s->error);
                s->error = NULL;
        } else if (nft_texts_parse(text, &texts) < 0) {
                nft_texts_done(&texts);
                return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
        }
        root = json_loads(json, 0, &jerr);
        json_t *items = json_object_get(root, "nftables");
        if (!json_is_array(items)) {
                s->error = vnc_strdup_printf("could not parse libnftables' JSON: %s", root ? "no \"nftables\" list" : jerr.text);
                nft_texts_done(&texts);
                return s->error ? 0 : vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
        }
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
                        r = vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
                        goto out;
                }
                if (hook && type) {
                        x->base = true;
                        x->hook = strdup(hook);
                        x->type = strdup(type);
                        if (!x->hook || !x->type) {
                                r = vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
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
                struct xrule *x = chain_add_rule(&s->chains[ci]);
                if (!x || nft_load_rule(f, json_object_get(rj, "expr"), x) < 0) {
                        r = vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
                        goto out;
                }
                x->num = (unsigned)json_integer_value(json_object_get(rj, "handle"));
                const char *comment = json_string_value(json_object_get(rj, "comment"));
                x->ours = comment && strncmp(comment, COMMENT_PREFIX, strlen(COMMENT_PREFIX)) == 0;
                const char *t = nft_texts_find(&texts, fam, table, chain, x->num);
                x->text = strdup(t ? t : "(rule text not available)");
                if (!x->text) {
                        r = vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
                        goto out;
                }
        }
        ruleset_resolve(s);
        s->read = true;
out:
        nft_texts_done(&texts);
        return r;
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
static char *describe(const struct layer *l, const struct outcome *o) {
        const struct xchain *c = &l->s->chains[o->chain];
        if (!l->s->nft) {
                if (o->rule < 0)
                        return vnc_strdup_printf("iptables-legacy: %s %s policy %s", c->table, c->name,
                                                 c->policy == TG_DROP ? "DROP" : "ACCEPT");
                const struct xrule *r = &c->rules[o->rule];
                return vnc_strdup_printf("iptables-legacy: %s %s rule %u: %s", c->table, c->name, r->num, r->text);
        }
        if (o->rule < 0)
                return vnc_strdup_printf("nft: table %s %s chain %s: policy %s", c->family, c->table, c->name,
                                         c->policy == TG_DROP ? "drop" : "accept");
        const struct xrule *r = &c->rules[o->rule];
        return vnc_strdup_printf("nft: table %s %s chain %s: rule '%s' (handle %u)", c->family, c->table, c->name,
                                 r->text, r->num);
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

/*
 * The smallest change that lets the flow through this base chain: delete the
 * dropping rule when it is someone's explicit rule for this flow and the
 * chain then accepts; otherwise accept exactly this flow at the chain's top.
 */
static char *fix_for(struct layer *l, const struct vnc_flow *f) {
        struct ruleset *s = (struct ruleset *)l->s; /* skip is toggled and restored */
        struct xchain *b = &s->chains[l->base];
        const struct outcome *o = &l->o;
        struct sbuf sb = {0};

        if (o->rule >= 0) {
                struct xchain *c = &s->chains[o->chain];
                struct xrule *r = &c->rules[o->rule];
                if (r->match == T_YES && !r->ours) {
                        r->skip = true;
                        struct outcome again = evaluate_base(s, l->base);
                        r->skip = false;
                        if (again.kind == O_ACCEPT) {
                                if (!s->nft)
                                        return vnc_strdup_printf("iptables-legacy%s -D %s %u",
                                                                 streq(c->table, "filter") ? "" : " -t nat", c->name, r->num);
                                return vnc_strdup_printf("nft delete rule %s %s %s handle %u", c->family, c->table,
                                                         c->name, r->num);
                        }
                }
        }
        if (!s->nft) {
                sb_printf(&sb, "iptables-legacy -I %s 1", b->name);
                sb_flow_ipt(&sb, f, false);
                sb_printf(&sb, " -j ACCEPT");
        } else {
                sb_printf(&sb, "nft insert rule %s %s %s", b->family, b->table, b->name);
                sb_flow_nft(&sb, f, false);
                sb_printf(&sb, " accept");
        }
        return sb_take(&sb);
}

static int add_layers(struct ruleset *s, const struct vnc_flow *f, struct layer **v, size_t *n, size_t *alloc) {
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
                } else if (!streq(c->name, hook_chain(f->hook)))
                        continue;
                if (VNC_GROW(*v, *alloc, *n + 1) < 0)
                        return -ENOMEM;
                (*v)[(*n)++] = (struct layer){.s = s, .base = (int)i, .o = evaluate_base(s, (int)i)};
        }
        return 0;
}

void vnc_verdict_result_done(struct vnc_verdict_result *r) {
        if (!r)
                return;
        free(r->evidence);
        free(r->fix);
        *r = (struct vnc_verdict_result){0};
}

static void ruleset_donep(struct ruleset *s) {
        ruleset_done(s);
}

int vnc_fw_evaluate(const struct vnc_flow *f, struct vnc_verdict_result *ret, struct vnc_error *e) {
        _cleanup_(ruleset_donep) struct ruleset legacy = {0}, nft = {0};
        _cleanup_free_ struct layer *layers = NULL;
        size_t n = 0, alloc = 0;
        bool nat = f->hook == VNC_HOOK_POSTROUTING;
        struct sbuf ev = {0}, fix = {0};
        char ab[INET_ADDRSTRLEN];
        int r;

        *ret = (struct vnc_verdict_result){0};
        r = legacy_load(f, nat ? "nat" : "filter", &legacy, e);
        if (r < 0)
                return r;
        r = nft_load(f, &nft, e);
        if (r < 0)
                return r;
        if ((legacy.read && add_layers(&legacy, f, &layers, &n, &alloc) < 0) ||
            (nft.read && add_layers(&nft, f, &layers, &n, &alloc) < 0))
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
                        _cleanup_free_ char *d = describe(decided, &decided->o);
                        const struct xchain *c = &decided->s->chains[decided->o.chain];
                        const char *why = decided->o.rule >= 0 ? c->rules[decided->o.rule].why : NULL;
                        sb_printf(&ev, "%s", d ? d : "?");
                        if (v == VNC_VERDICT_UNKNOWN)
                                sb_printf(&ev, ": %s", why ? why : "cannot be decided for this flow");
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
                        if (legacy.read || !nl) {
                                sb_printf(&fix, "iptables-legacy -t nat -I POSTROUTING 1");
                                sb_flow_ipt(&fix, f, true);
                                sb_printf(&fix, " -j MASQUERADE");
                        } else {
                                const struct xchain *c = &nl->s->chains[nl->base];
                                sb_printf(&fix, "nft insert rule %s %s %s", c->family, c->table, c->name);
                                sb_flow_nft(&fix, f, true);
                                sb_printf(&fix, " masquerade");
                        }
                }
        } else {
                /* Every base chain runs; a drop anywhere drops. */
                const struct layer *unknown = NULL;
                for (size_t i = 0; i < n; i++) {
                        struct layer *l = &layers[i];
                        if (l->o.kind == O_DROP) {
                                _cleanup_free_ char *d = describe(l, &l->o), *fx = fix_for(l, f);
                                if (!decided)
                                        sb_printf(&ev, "%s", d ? d : "?");
                                else
                                        sb_printf(&ev, "; also %s", d ? d : "?");
                                sb_printf(&fix, "%s%s", decided ? " && " : "", fx ? fx : "?");
                                decided = l;
                                v = VNC_VERDICT_DROP;
                        } else if (l->o.kind == O_UNKNOWN && !unknown)
                                unknown = l;
                }
                if (!decided && unknown) {
                        v = VNC_VERDICT_UNKNOWN;
                        _cleanup_free_ char *d = describe(unknown, &unknown->o);
                        const struct xchain *c = &unknown->s->chains[unknown->o.chain];
                        const char *why = unknown->o.rule >= 0 ? c->rules[unknown->o.rule].why : NULL;
                        sb_printf(&ev, "%s: %s", d ? d : "?", why ? why : "cannot be decided for this flow");
                } else if (!decided) {
                        for (size_t i = 0; i < n; i++) {
                                _cleanup_free_ char *d = describe(&layers[i], &layers[i].o);
                                sb_printf(&ev, "%s%s", i ? "; " : "", d ? d : "?");
                        }
                        if (n == 0)
                                sb_printf(&ev, "no iptables-legacy or nft chain filters at hook %s", hook_nft(f->hook));
                }
        }
        struct sbuf notes = {0};
        if (!legacy.read)
                sb_printf(&notes, "; iptables-legacy not read: %s", legacy.error ? legacy.error : "?");
        else if (legacy.absent)
                sb_printf(&notes, "; no iptables-legacy tables: %s", legacy.absent);
        if (!nft.read)
                sb_printf(&notes, "; nft not read: %s", nft.error ? nft.error : "?");
        else if (nft.absent)
                sb_printf(&notes, "; no nf_tables: %s", nft.absent);
        /* A rule set that could not be read may hold the drop: no ACCEPT (or NO_NAT) is promised then. */
        if ((!legacy.read || !nft.read) && (v == VNC_VERDICT_ACCEPT || v == VNC_VERDICT_NO_NAT)) {
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
