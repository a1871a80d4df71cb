/* SPDX-License-Identifier: MIT */
/*
 * The recorded host's iptables legacy tables (record.h): libiptc's calls as
 * fw-iptc.c makes them, on tables kept here instead of the kernel's. A handle
 * holds a copy of its table; commit writes the copy back. Every change is
 * recorded with the entry rendered as iptables-save prints it:
 *   iptables filter insert VNETCFG_FWX pos=0: -i vn-x -o vn-x -m comment --comment "..." -j ACCEPT
 * A table is made the first time it is opened (as x_tables does), with the
 * builtin chains only, empty, policy ACCEPT. vnc_record_iptc_load fills them
 * from the recorded host's fixture (vnetcfg's chains, jumps and marked rules);
 * vnc_record_iptc_setup adds the host's own policies, chains and rules.
 */
#include <arpa/inet.h>
#include <libiptc/libiptc.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/xt_addrtype.h>
#include <linux/netfilter/xt_comment.h>
#include <linux/netfilter/xt_conntrack.h>
#include <linux/netfilter/xt_tcpudp.h>
#include <linux/netfilter_ipv4/ipt_REJECT.h>
#include <stdio.h>
#include <stdlib.h>

#include "fw.h"
#include "record.h"
#include "record-iptc.h"
#include "xt.h"

struct rchain {
        char name[XT_EXTENSION_MAXNAMELEN];
        bool builtin;
        char policy[XT_EXTENSION_MAXNAMELEN]; /* builtin chains */
        struct ipt_entry **rules;
        size_t n, alloc;
};

struct rtable {
        char name[XT_TABLE_MAXNAMELEN];
        struct rchain *chains;
        size_t n, alloc;
};

/* What a handle points to. */
struct rhandle {
        struct rtable t;
        size_t iter_chain; /* iptc_first_chain/next_chain */
        struct rchain *iter; /* the chain of the last iptc_first_rule */
};

static struct rtable *tables;
static size_t n_tables, alloc_tables;

static void rchain_done(struct rchain *c) {
        for (size_t i = 0; i < c->n; i++)
                free(c->rules[i]);
        free(c->rules);
        c->rules = NULL;
        c->n = c->alloc = 0;
}

static void rtable_done(struct rtable *t) {
        for (size_t i = 0; i < t->n; i++)
                rchain_done(&t->chains[i]);
        free(t->chains);
        t->chains = NULL;
        t->n = t->alloc = 0;
}

void vnc_record_iptc_forget(void) {
        for (size_t i = 0; i < n_tables; i++)
                rtable_done(&tables[i]);
        free(tables);
        tables = NULL;
        n_tables = alloc_tables = 0;
}

static struct rchain *chain_add(struct rtable *t, const char *name, bool builtin) {
        if (VNC_GROW(t->chains, t->alloc, t->n + 1) < 0)
                return NULL;
        struct rchain *c = &t->chains[t->n++];
        *c = (struct rchain){.builtin = builtin};
        snprintf(c->name, sizeof(c->name), "%s", name);
        snprintf(c->policy, sizeof(c->policy), "%s", IPTC_LABEL_ACCEPT);
        return c;
}

static int rtable_copy(struct rtable *dst, const struct rtable *src) {
        *dst = (struct rtable){0};
        snprintf(dst->name, sizeof(dst->name), "%s", src->name);
        for (size_t i = 0; i < src->n; i++) {
                struct rchain *c = chain_add(dst, src->chains[i].name, src->chains[i].builtin);
                if (!c || VNC_GROW(c->rules, c->alloc, src->chains[i].n + 1) < 0)
                        goto fail;
                memcpy(c->policy, src->chains[i].policy, sizeof(c->policy));
                for (size_t k = 0; k < src->chains[i].n; k++) {
                        const struct ipt_entry *en = src->chains[i].rules[k];
                        if (!(c->rules[k] = malloc(en->next_offset)))
                                goto fail;
                        memcpy(c->rules[k], en, en->next_offset);
                        c->n++;
                }
        }
        return 0;
fail:
        rtable_done(dst);
        return -ENOMEM;
}

static struct rtable *table_find(const char *name) {
        for (size_t i = 0; i < n_tables; i++)
                if (streq(tables[i].name, name))
                        return &tables[i];
        return NULL;
}

bool vnc_record_iptc_exists(const char *table) {
        return table_find(table) != NULL;
}

static struct rtable *table_get(const char *name) {
        static const char *const builtins[][5] = {
                {"filter", "INPUT", "FORWARD", "OUTPUT", NULL},
                {"nat", "PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"},
                {"mangle", "PREROUTING", "INPUT", "FORWARD", "OUTPUT"},
                {"raw", "PREROUTING", "OUTPUT", NULL, NULL},
        };
        for (size_t i = 0; i < n_tables; i++)
                if (streq(tables[i].name, name))
                        return &tables[i];
        for (size_t i = 0; i < ELEMENTSOF(builtins); i++) {
                if (!streq(builtins[i][0], name))
                        continue;
                if (VNC_GROW(tables, alloc_tables, n_tables + 1) < 0)
                        return NULL;
                struct rtable *t = &tables[n_tables++];
                *t = (struct rtable){0};
                snprintf(t->name, sizeof(t->name), "%s", name);
                for (size_t k = 1; k < 5 && builtins[i][k]; k++)
                        if (!chain_add(t, builtins[i][k], true))
                                return NULL;
                return t;
        }
        errno = ENOENT;
        return NULL;
}

static struct rchain *chain_find(struct rtable *t, const char *name) {
        for (size_t i = 0; i < t->n; i++)
                if (streq(t->chains[i].name, name))
                        return &t->chains[i];
        return NULL;
}

#define H(h) ((struct rhandle *)(void *)(h))

struct xtc_handle *vnc_record_iptc_init(const char *tablename) {
        struct rtable *t = table_get(tablename);
        struct rhandle *h;

        if (!t)
                return NULL;
        h = calloc(1, sizeof(*h));
        if (!h || rtable_copy(&h->t, t) < 0) {
                free(h);
                errno = ENOMEM;
                return NULL;
        }
        return (struct xtc_handle *)(void *)h;
}

void vnc_record_iptc_free(struct xtc_handle *h) {
        if (!h)
                return;
        rtable_done(&H(h)->t);
        free(H(h));
}

int vnc_record_iptc_is_chain(const char *chain, struct xtc_handle *const h) {
        return chain_find(&H(h)->t, chain) != NULL;
}

int vnc_record_iptc_builtin(const char *chain, struct xtc_handle *const h) {
        const struct rchain *c = chain_find(&H(h)->t, chain);
        return c && c->builtin;
}

const char *vnc_record_iptc_first_chain(struct xtc_handle *h) {
        H(h)->iter_chain = 0;
        return H(h)->t.n > 0 ? H(h)->t.chains[0].name : NULL;
}

const char *vnc_record_iptc_next_chain(struct xtc_handle *h) {
        if (++H(h)->iter_chain >= H(h)->t.n)
                return NULL;
        return H(h)->t.chains[H(h)->iter_chain].name;
}

const char *vnc_record_iptc_get_policy(const char *chain, struct xt_counters *counter, struct xtc_handle *h) {
        if (counter)
                *counter = (struct xt_counters){0};
        const struct rchain *c = chain_find(&H(h)->t, chain);
        return c && c->builtin ? c->policy : NULL;
}

const struct ipt_entry *vnc_record_iptc_first_rule(const char *chain, struct xtc_handle *h) {
        struct rchain *c = chain_find(&H(h)->t, chain);
        H(h)->iter = c;
        if (!c) {
                errno = ENOENT;
                return NULL;
        }
        return c->n > 0 ? c->rules[0] : NULL;
}

const struct ipt_entry *vnc_record_iptc_next_rule(const struct ipt_entry *prev, struct xtc_handle *h) {
        struct rchain *c = H(h)->iter;
        for (size_t i = 0; c && i + 1 < c->n; i++)
                if (c->rules[i] == prev)
                        return c->rules[i + 1];
        return NULL;
}

static const struct xt_entry_target *entry_target(const struct ipt_entry *en) {
        return (const struct xt_entry_target *)((const char *)en + en->target_offset);
}

const char *vnc_record_iptc_get_target(const struct ipt_entry *e, struct xtc_handle *h) {
        return entry_target(e)->u.user.name;
}

int vnc_record_iptc_get_references(unsigned int *ref, const xt_chainlabel chain, struct xtc_handle *h) {
        *ref = 0;
        if (!chain_find(&H(h)->t, chain)) {
                errno = ENOENT;
                return 0;
        }
        for (size_t i = 0; i < H(h)->t.n; i++)
                for (size_t k = 0; k < H(h)->t.chains[i].n; k++)
                        if (streq(entry_target(H(h)->t.chains[i].rules[k])->u.user.name, chain))
                                (*ref)++;
        return 1;
}

/* ---- rendering an entry as iptables-save does ---- */

static void put_ip(FILE *f, const char *opt, bool inv, struct in_addr a, struct in_addr mask) {
        char buf[INET_ADDRSTRLEN];
        uint32_t m = ntohl(mask.s_addr);
        int len = 0;
        while (len < 32 && (m & (0x80000000U >> len)))
                len++;
        fprintf(f, " %s%s %s/%d", inv ? "! " : "", opt, inet_ntop(AF_INET, &a, buf, sizeof(buf)) ? buf : "?", len);
}

static void put_ports(FILE *f, const char *opt, const uint16_t p[2]) {
        if (p[0] == 0 && p[1] == 0xffff)
                return;
        if (p[0] == p[1])
                fprintf(f, " %s %u", opt, p[0]);
        else
                fprintf(f, " %s %u:%u", opt, p[0], p[1]);
}

static void put_data(FILE *f, const unsigned char *d, size_t n) {
        fputs(" 0x", f);
        for (size_t i = 0; i < n; i++)
                fprintf(f, "%02x", d[i]);
}

static void put_match(FILE *f, const struct xt_entry_match *m) {
        const char *name = m->u.user.name;
        size_t size = m->u.match_size - sizeof(*m);

        fprintf(f, " -m %s", name);
        if (streq(name, "tcp") && size >= sizeof(struct xt_tcp)) {
                const struct xt_tcp *t = (const void *)m->data;
                put_ports(f, "--sport", t->spts);
                put_ports(f, "--dport", t->dpts);
        } else if (streq(name, "udp") && size >= sizeof(struct xt_udp)) {
                const struct xt_udp *u = (const void *)m->data;
                put_ports(f, "--sport", u->spts);
                put_ports(f, "--dport", u->dpts);
        } else if (streq(name, "icmp") && size >= sizeof(struct ipt_icmp)) {
                const struct ipt_icmp *ic = (const void *)m->data;
                fprintf(f, " --icmp-type %u", ic->type);
                if (ic->code[0] != 0 || ic->code[1] != 0xff)
                        fprintf(f, "/%u:%u", ic->code[0], ic->code[1]);
        } else if (streq(name, "addrtype") && m->u.user.revision == 1 && size >= sizeof(struct xt_addrtype_info_v1)) {
                const struct xt_addrtype_info_v1 *at = (const void *)m->data;
                if (at->source)
                        fprintf(f, " --src-type %#x", at->source);
                if (at->dest == XT_ADDRTYPE_LOCAL)
                        fputs(" --dst-type LOCAL", f);
                else if (at->dest)
                        fprintf(f, " --dst-type %#x", at->dest);
        } else if (streq(name, "conntrack") && m->u.user.revision == 3 &&
                   size >= sizeof(struct xt_conntrack_mtinfo3)) {
                const struct xt_conntrack_mtinfo3 *ct = (const void *)m->data;
                static const struct {
                        unsigned bit;
                        const char *name;
                } states[] = {{XT_CONNTRACK_STATE_INVALID, "INVALID"},
                              {XT_CONNTRACK_STATE_BIT(IP_CT_NEW), "NEW"},
                              {XT_CONNTRACK_STATE_BIT(IP_CT_RELATED), "RELATED"},
                              {XT_CONNTRACK_STATE_BIT(IP_CT_ESTABLISHED), "ESTABLISHED"},
                              {XT_CONNTRACK_STATE_SNAT, "SNAT"},
                              {XT_CONNTRACK_STATE_DNAT, "DNAT"}};
                bool any = false;
                fputs(" --ctstate", f);
                for (size_t i = 0; i < ELEMENTSOF(states); i++)
                        if (ct->state_mask & states[i].bit) {
                                fprintf(f, "%s%s", any ? "," : " ", states[i].name);
                                any = true;
                        }
                if (ct->match_flags != XT_CONNTRACK_STATE)
                        fprintf(f, " (flags %#x)", ct->match_flags);
        } else if (streq(name, "comment") && size >= sizeof(struct xt_comment_info)) {
                const struct xt_comment_info *ci = (const void *)m->data;
                fprintf(f, " --comment \"%.*s\"", (int)strnlen(ci->comment, sizeof(ci->comment)), ci->comment);
        } else
                put_data(f, m->data, size);
}

static void put_entry(FILE *f, const struct ipt_entry *en) {
        const struct ipt_ip *ip = &en->ip;
        static const char *const protos[] = {[IPPROTO_ICMP] = "icmp", [IPPROTO_TCP] = "tcp", [IPPROTO_UDP] = "udp"};

        if (ip->smsk.s_addr)
                put_ip(f, "-s", ip->invflags & IPT_INV_SRCIP, ip->src, ip->smsk);
        if (ip->dmsk.s_addr)
                put_ip(f, "-d", ip->invflags & IPT_INV_DSTIP, ip->dst, ip->dmsk);
        if (ip->iniface[0])
                fprintf(f, " %s-i %.*s", ip->invflags & IPT_INV_VIA_IN ? "! " : "", IFNAMSIZ, ip->iniface);
        if (ip->outiface[0])
                fprintf(f, " %s-o %.*s", ip->invflags & IPT_INV_VIA_OUT ? "! " : "", IFNAMSIZ, ip->outiface);
        if (ip->proto) {
                fprintf(f, " %s-p ", ip->invflags & XT_INV_PROTO ? "! " : "");
                if (ip->proto < ELEMENTSOF(protos) && protos[ip->proto])
                        fputs(protos[ip->proto], f);
                else
                        fprintf(f, "%u", ip->proto);
        }
        for (size_t off = sizeof(struct ipt_entry); off < en->target_offset;) {
                const struct xt_entry_match *m = (const void *)((const char *)en + off);
                if (m->u.match_size < sizeof(*m))
                        break;
                put_match(f, m);
                off += m->u.match_size;
        }

        const struct xt_entry_target *t = entry_target(en);
        const char *name = t->u.user.name;
        size_t size = t->u.target_size - sizeof(*t);
        fprintf(f, " -j %s", name);
        if (streq(name, "REJECT") && size >= sizeof(struct ipt_reject_info)) {
                const struct ipt_reject_info *ri = (const void *)t->data;
                if (ri->with == IPT_ICMP_PORT_UNREACHABLE)
                        fputs(" --reject-with icmp-port-unreachable", f);
                else
                        fprintf(f, " --reject-with %u", ri->with);
        } else if (streq(name, "MASQUERADE") && size >= sizeof(struct nf_nat_ipv4_multi_range_compat)) {
                const struct nf_nat_ipv4_multi_range_compat *mr = (const void *)t->data;
                if (mr->rangesize != 1 || mr->range[0].flags)
                        put_data(f, t->data, size);
        } else if (streq(name, "DNAT") && t->u.user.revision == 2 && size >= sizeof(struct nf_nat_range2)) {
                const struct nf_nat_range2 *nr = (const void *)t->data;
                char a[INET_ADDRSTRLEN];
                struct in_addr ia = {nr->min_addr.ip};
                fprintf(f, " --to-destination %s", inet_ntop(AF_INET, &ia, a, sizeof(a)) ? a : "?");
                if (nr->flags & NF_NAT_RANGE_PROTO_SPECIFIED)
                        fprintf(f, ":%u", ntohs(nr->min_proto.all));
        } else if (size > XT_ALIGN(sizeof(int)))
                put_data(f, t->data, size); /* the standard target (a verdict or a jump) carries an int */
}

static void record_entry(const struct rhandle *h, const char *verb, const char *chain, size_t pos,
                         const struct ipt_entry *en) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);
        if (!f)
                return;
        put_entry(f, en);
        fclose(f);
        vnc_record_printf("iptables %s %s %s pos=%zu:%s", h->t.name, verb, chain, pos, text ? text : "");
        free(text);
}

char *vnc_record_iptc_save(void) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        if (!f)
                return NULL;
        for (size_t i = 0; i < n_tables; i++) {
                const struct rtable *t = &tables[i];
                bool pristine = true;
                for (size_t k = 0; k < t->n; k++)
                        pristine = pristine && t->chains[k].builtin && t->chains[k].n == 0 &&
                                   streq(t->chains[k].policy, IPTC_LABEL_ACCEPT);
                if (pristine)
                        continue; /* made by a read, or emptied again: as if it was never made */
                fprintf(f, "*%s\n", t->name);
                for (size_t k = 0; k < t->n; k++)
                        fprintf(f, ":%s %s\n", t->chains[k].name, t->chains[k].builtin ? t->chains[k].policy : "-");
                for (size_t k = 0; k < t->n; k++)
                        for (size_t j = 0; j < t->chains[k].n; j++) {
                                fprintf(f, "-A %s", t->chains[k].name);
                                put_entry(f, t->chains[k].rules[j]);
                                fputc('\n', f);
                        }
                fputs("COMMIT\n", f);
        }
        if (fclose(f) != 0) {
                free(text);
                return NULL;
        }
        return text;
}

/* ---- changes ---- */

static int insert_at(struct rhandle *h, const char *chain, const struct ipt_entry *e, size_t pos, const char *verb) {
        struct rchain *c = chain_find(&h->t, chain);
        struct ipt_entry *copy;

        if (!c || pos > c->n) {
                errno = c ? E2BIG : ENOENT;
                return 0;
        }
        if (VNC_GROW(c->rules, c->alloc, c->n + 1) < 0 || !(copy = malloc(e->next_offset))) {
                errno = ENOMEM;
                return 0;
        }
        memcpy(copy, e, e->next_offset);
        memmove(&c->rules[pos + 1], &c->rules[pos], (c->n - pos) * sizeof(*c->rules));
        c->rules[pos] = copy;
        c->n++;
        record_entry(h, verb, chain, pos, copy);
        return 1;
}

int vnc_record_iptc_insert_entry(const xt_chainlabel chain, const struct ipt_entry *e, unsigned int rulenum,
                                 struct xtc_handle *h) {
        return insert_at(H(h), chain, e, rulenum, "insert");
}

int vnc_record_iptc_append_entry(const xt_chainlabel chain, const struct ipt_entry *e, struct xtc_handle *h) {
        struct rchain *c = chain_find(&H(h)->t, chain);
        if (!c) {
                errno = ENOENT;
                return 0;
        }
        return insert_at(H(h), chain, e, c->n, "append");
}

int vnc_record_iptc_delete_num_entry(const xt_chainlabel chain, unsigned int rulenum, struct xtc_handle *h) {
        struct rchain *c = chain_find(&H(h)->t, chain);
        if (!c || rulenum >= c->n) {
                errno = c ? E2BIG : ENOENT;
                return 0;
        }
        record_entry(H(h), "delete", chain, rulenum, c->rules[rulenum]);
        free(c->rules[rulenum]);
        memmove(&c->rules[rulenum], &c->rules[rulenum + 1], (c->n - rulenum - 1) * sizeof(*c->rules));
        c->n--;
        return 1;
}

int vnc_record_iptc_flush_entries(const xt_chainlabel chain, struct xtc_handle *h) {
        struct rchain *c = chain_find(&H(h)->t, chain);
        if (!c) {
                errno = ENOENT;
                return 0;
        }
        vnc_record_printf("iptables %s flush %s", H(h)->t.name, chain);
        rchain_done(c);
        return 1;
}

int vnc_record_iptc_create_chain(const xt_chainlabel chain, struct xtc_handle *h) {
        if (chain_find(&H(h)->t, chain)) {
                errno = EEXIST;
                return 0;
        }
        if (!chain_add(&H(h)->t, chain, false)) {
                errno = ENOMEM;
                return 0;
        }
        vnc_record_printf("iptables %s new-chain %s", H(h)->t.name, chain);
        return 1;
}

int vnc_record_iptc_delete_chain(const xt_chainlabel chain, struct xtc_handle *h) {
        struct rtable *t = &H(h)->t;
        struct rchain *c = chain_find(t, chain);
        unsigned refs = 0;

        if (!c || c->builtin || c->n > 0 || (vnc_record_iptc_get_references(&refs, chain, h) && refs > 0)) {
                errno = !c ? ENOENT : c->builtin ? EPERM : ENOTEMPTY;
                return 0;
        }
        vnc_record_printf("iptables %s delete-chain %s", t->name, chain);
        rchain_done(c);
        size_t i = (size_t)(c - t->chains);
        memmove(&t->chains[i], &t->chains[i + 1], (t->n - i - 1) * sizeof(*c));
        t->n--;
        H(h)->iter = NULL;
        return 1;
}

int vnc_record_iptc_commit(struct xtc_handle *h) {
        struct rtable *t = table_get(H(h)->t.name);
        struct rtable copy;

        if (!t || rtable_copy(&copy, &H(h)->t) < 0) {
                errno = ENOMEM;
                return 0;
        }
        vnc_record_printf("iptables %s commit", t->name);
        rtable_done(t);
        *t = copy;
        return 1;
}

/* ---- the recorded host's tables before the recording ---- */

/* entry at pos (SIZE_MAX: the end) of chain in the shared table, taken over; not recorded. */
static int put_entry_at(const char *table, const char *chain, struct ipt_entry *en, size_t pos) {
        struct rtable *t = table_get(table);
        struct rchain *c = t ? chain_find(t, chain) : NULL;

        if (!c) {
                free(en);
                return t ? -ENOENT : -ENOMEM;
        }
        if (pos > c->n)
                pos = c->n;
        if (VNC_GROW(c->rules, c->alloc, c->n + 1) < 0) {
                free(en);
                return -ENOMEM;
        }
        memmove(&c->rules[pos + 1], &c->rules[pos], (c->n - pos) * sizeof(*c->rules));
        c->rules[pos] = en;
        c->n++;
        return 0;
}

static int chain_ensure(const char *table, const char *chain) {
        struct rtable *t = table_get(table);
        if (!t)
                return -ENOMEM;
        return chain_find(t, chain) || chain_add(t, chain, false) ? 0 : -ENOMEM;
}

int vnc_record_iptc_load(const struct vnc_live *host) {
        int r;

        for (size_t i = 0; i < vnc_fw_n_chains; i++) {
                const struct vnc_fw_chain_def *d = &vnc_fw_chains[i];
                if (host->fw_chains & (1U << i) && (r = chain_ensure(vnc_fw_table_to_string(d->table), d->chain)) < 0)
                        return r;
        }
        /* The jumps as fw-iptc.c makes them: first in a builtin chain, in order in VNETCFG_FWD. */
        for (size_t i = 0; i < vnc_fw_n_chains; i++) {
                const struct vnc_fw_chain_def *d = &vnc_fw_chains[i];
                const char *table = vnc_fw_table_to_string(d->table);
                struct ipt_entry *en;
                if (!(host->fw_chains & (1U << i)))
                        continue;
                struct rtable *t = table_get(table);
                const struct rchain *parent = t ? chain_find(t, d->parent) : NULL;
                bool builtin = parent && parent->builtin;
                if ((r = vnc_iptc_jump_new(d->chain, &en)) < 0 ||
                    (r = put_entry_at(table, d->parent, en, builtin ? 0 : SIZE_MAX)) < 0)
                        return r;
        }
        /* The marked rules of the legacy backend, whole when read back whole, else by their mark
         * only (an accept carrying the comment: what a rule of an older generator leaves to go by). */
        for (size_t i = 0; i < host->n_fw_rules; i++) {
                const struct vnc_live_fw_rule *l = &host->fw_rules[i];
                struct vnc_fw_rule rule = l->rule;
                struct ipt_entry *en;
                if (vnc_fw_rule_is_nft(&l->rule))
                        continue;
                if (!l->decoded) {
                        rule = (struct vnc_fw_rule){.table = l->table, .target = VNC_FW_ACCEPT, .icmp_type = -1};
                        snprintf(rule.chain, sizeof(rule.chain), "%.*s", (int)sizeof(rule.chain) - 1, l->chain);
                        snprintf(rule.comment, sizeof(rule.comment), "%s", l->comment);
                }
                const char *table = vnc_fw_table_to_string(rule.table);
                if ((r = chain_ensure(table, rule.chain)) < 0 || (r = vnc_iptc_entry_new(&rule, &en)) < 0 ||
                    (r = put_entry_at(table, rule.chain, en, vnc_fw_rule_appends(&rule) ? SIZE_MAX : 0)) < 0)
                        return r;
        }
        return 0;
}

int vnc_record_iptc_setup(const char *line) {
        char table[XT_TABLE_MAXNAMELEN], verb[16], chain[XT_EXTENSION_MAXNAMELEN], target[XT_EXTENSION_MAXNAMELEN];
        struct ipt_entry *en;
        int r;

        if (sscanf(line, "%31s %15s %28s", table, verb, chain) != 3)
                return -EINVAL;
        struct rtable *t = table_get(table);
        if (!t)
                return -ENOMEM;
        if (streq(verb, "new-chain"))
                return chain_ensure(table, chain);
        if (streq(verb, "policy") && sscanf(line, "%*s %*s %*s %28s", target) == 1) {
                struct rchain *c = chain_find(t, chain);
                if (!c || !c->builtin)
                        return -ENOENT;
                snprintf(c->policy, sizeof(c->policy), "%s", target);
                return 0;
        }
        if (streq(verb, "append") && sscanf(line, "%*s %*s %*s -j %28s", target) == 1) {
                if ((r = vnc_iptc_jump_new(target, &en)) < 0)
                        return r;
                return put_entry_at(table, chain, en, SIZE_MAX);
        }
        return -EINVAL;
}
