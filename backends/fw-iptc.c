/* SPDX-License-Identifier: MIT */
/*
 * The firewall backend: iptables legacy tables (x_tables) through libiptc.
 *
 * A run gets consecutive FW_CHAINS / FW_RULE actions. They are grouped by
 * table; each table is read once (iptc_init), all of its actions are applied
 * to that in-memory copy in order, and it is written back once (iptc_commit):
 * one kernel transaction per table per run, whatever the number of rules.
 * A failure before the commit leaves the table as it was.
 *
 * Ownership: vnetcfg only touches its own chains (vnc_fw_chains[]), the jumps
 * to them from the builtin chains, and rules whose comment is exactly the
 * sealed comment of one of its rules. Everything else is left alone.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <libiptc/libiptc.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/xt_addrtype.h>
#include <linux/netfilter/xt_comment.h>
#include <linux/netfilter/xt_conntrack.h>
#include <linux/netfilter/xt_tcpudp.h>
#include <linux/netfilter_ipv4/ipt_REJECT.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <sys/file.h>
#include <time.h>

#include "backends.h"
#include "record.h"
#include "record-iptc.h"
#include "xt.h"
#include "fw.h"
#include "model.h"

#define COMMENT_PREFIX "vnetcfg:"
#define XT_LOCK_DEFAULT "/run/xtables.lock" /* iptables' own lock; XTABLES_LOCKFILE overrides, as for iptables */
#define XT_LOCK_WAIT_MS 10000

static void iptc_freep(struct xtc_handle **h) {
        if (*h)
                IPTC(free)(*h);
}
#define _cleanup_iptc_ _cleanup_(iptc_freep)

static const struct vnc_fw_chain_def *chain_def(int table, const char *chain) {
        for (size_t i = 0; i < vnc_fw_n_chains; i++)
                if (vnc_fw_chains[i].table == table && streq(vnc_fw_chains[i].chain, chain))
                        return &vnc_fw_chains[i];
        return NULL;
}

/* ---- reading entries ---- */

/* The comment of an entry, or NULL when it has no comment match. */
static const char *entry_comment(const struct ipt_entry *en) {
        for (size_t off = sizeof(struct ipt_entry); off < en->target_offset;) {
                const struct xt_entry_match *m = (const void *)((const char *)en + off);
                if (m->u.match_size < sizeof(*m))
                        break;
                if (streq(m->u.user.name, "comment") &&
                    m->u.match_size >= XT_ALIGN(sizeof(*m)) + sizeof(struct xt_comment_info)) {
                        const struct xt_comment_info *ci = (const void *)m->data;
                        if (memchr(ci->comment, 0, sizeof(ci->comment)))
                                return ci->comment;
                }
                off += m->u.match_size;
        }
        return NULL;
}

static bool entry_has_matches(const struct ipt_entry *en) {
        return en->target_offset > sizeof(struct ipt_entry);
}

/* An unconditional rule: any address, any interface, any protocol, no matches. */
static bool entry_unconditional(const struct ipt_entry *en) {
        static const struct ipt_ip any = {0};
        return !entry_has_matches(en) && memcmp(&en->ip, &any, sizeof(any)) == 0;
}

/* ---- a set of "chain\ncomment" strings (the vnetcfg rules of one table) ---- */

struct strset {
        char **slots;
        size_t n_slots, n;
};

static char *const TOMBSTONE = (char *)"";

static uint64_t hash_str(const char *s) {
        uint64_t h = 1469598103934665603ULL;
        for (; *s; s++)
                h = (h ^ (unsigned char)*s) * 1099511628211ULL;
        return h;
}

static void strset_done(struct strset *s) {
        for (size_t i = 0; i < s->n_slots; i++)
                if (s->slots[i] != TOMBSTONE)
                        free(s->slots[i]);
        free(s->slots);
        *s = (struct strset){0};
}

/* Slot of key, or of the first free slot where it would go. */
static size_t strset_slot(const struct strset *s, const char *key) {
        size_t mask = s->n_slots - 1, i = hash_str(key) & mask, free_slot = SIZE_MAX;
        for (;; i = (i + 1) & mask) {
                if (!s->slots[i])
                        return free_slot != SIZE_MAX ? free_slot : i;
                if (s->slots[i] == TOMBSTONE) {
                        if (free_slot == SIZE_MAX)
                                free_slot = i;
                } else if (streq(s->slots[i], key))
                        return i;
        }
}

static bool strset_has(const struct strset *s, const char *key) {
        if (s->n_slots == 0)
                return false;
        size_t i = strset_slot(s, key);
        return s->slots[i] && s->slots[i] != TOMBSTONE;
}

static int strset_add(struct strset *s, const char *key) {
        if ((s->n + 1) * 2 > s->n_slots) {
                size_t n_slots = s->n_slots ? s->n_slots * 2 : 64;
                struct strset grown = {.slots = calloc(n_slots, sizeof(char *)), .n_slots = n_slots};
                if (!grown.slots)
                        return -ENOMEM;
                for (size_t i = 0; i < s->n_slots; i++)
                        if (s->slots[i] && s->slots[i] != TOMBSTONE) {
                                grown.slots[strset_slot(&grown, s->slots[i])] = s->slots[i];
                                grown.n++;
                        }
                free(s->slots);
                *s = grown;
        }
        size_t i = strset_slot(s, key);
        if (s->slots[i] && s->slots[i] != TOMBSTONE)
                return 0;
        char *k = strdup(key);
        if (!k)
                return -ENOMEM;
        s->slots[i] = k;
        s->n++;
        return 1;
}

static void strset_del(struct strset *s, const char *key) {
        if (s->n_slots == 0)
                return;
        size_t i = strset_slot(s, key);
        if (s->slots[i] && s->slots[i] != TOMBSTONE) {
                free(s->slots[i]);
                s->slots[i] = TOMBSTONE;
                s->n--;
        }
}

static char *rule_key(const char *chain, const char *comment) {
        return vnc_strdup_printf("%s\n%s", chain, comment);
}

/* ---- one table being changed ---- */

struct table_run {
        int table;
        const char *name;
        struct xtc_handle *h;
        bool changed;
        bool indexed;       /* rules is filled */
        struct strset rules; /* "chain\ncomment" of every vnetcfg rule in vnetcfg's chains */
};

static void table_run_done(struct table_run *t) {
        if (t->h)
                IPTC(free)(t->h);
        t->h = NULL;
        strset_done(&t->rules);
        t->indexed = false;
        t->changed = false;
}

static int fail_iptc(struct vnc_error *e, int err, const char *what, const char *object) {
        int r = err > 0 ? -err : -EIO;
        vnc_error_set(e, VNC_ERR_RUNTIME, r, "%s: %s", object, what);
        vnc_error_detail(e, "%s", iptc_strerror(err));
        return r;
}

static int table_index(struct table_run *t, struct vnc_error *e) {
        if (t->indexed)
                return 0;
        for (size_t i = 0; i < vnc_fw_n_chains; i++) {
                const struct vnc_fw_chain_def *d = &vnc_fw_chains[i];
                if (d->table != t->table || !IPTC(is_chain)(d->chain, t->h))
                        continue;
                for (const struct ipt_entry *en = IPTC(first_rule)(d->chain, t->h); en;
                     en = IPTC(next_rule)(en, t->h)) {
                        const char *c = entry_comment(en);
                        if (!c || strncmp(c, COMMENT_PREFIX, strlen(COMMENT_PREFIX)) != 0)
                                continue;
                        _cleanup_free_ char *key = rule_key(d->chain, c);
                        if (!key || strset_add(&t->rules, key) < 0)
                                return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
                }
        }
        t->indexed = true;
        return 0;
}

/* ---- building entries ---- */

struct entry_buf {
        union {
                struct ipt_entry entry;
                unsigned char bytes[2048];
        };
        size_t used;
};

static void *add_match(struct entry_buf *b, const char *name, uint8_t revision, size_t size) {
        struct xt_entry_match *m = (void *)(b->bytes + b->used);
        size_t total = XT_ALIGN(sizeof(*m)) + XT_ALIGN(size);

        /* The buffer is sized for the largest rule we build; this cannot overflow. */
        m->u.match_size = (uint16_t)total;
        snprintf(m->u.user.name, sizeof(m->u.user.name), "%s", name);
        m->u.user.revision = revision;
        b->used += total;
        return m->data;
}

static void *set_target(struct entry_buf *b, const char *name, uint8_t revision, size_t size) {
        struct xt_entry_target *t = (void *)(b->bytes + b->used);
        size_t total = XT_ALIGN(sizeof(*t)) + XT_ALIGN(size);

        b->entry.target_offset = (uint16_t)b->used;
        t->u.target_size = (uint16_t)total;
        snprintf(t->u.user.name, sizeof(t->u.user.name), "%s", name);
        t->u.user.revision = revision;
        b->used += total;
        b->entry.next_offset = (uint16_t)b->used;
        return t->data;
}

static uint32_t prefix_mask(uint8_t prefix) {
        return prefix == 0 ? 0 : prefix >= 32 ? 0xffffffffU : ~((1U << (32 - prefix)) - 1);
}

static void set_iface(const char *name, char iface[IFNAMSIZ], unsigned char mask[IFNAMSIZ]) {
        size_t n = strnlen(name, IFNAMSIZ - 1);
        memcpy(iface, name, n);
        memset(mask, 0xff, n + 1);
}

/* A jump (or a standard verdict) with no criteria. */
static void build_jump(struct entry_buf *b, const char *target) {
        memset(b, 0, sizeof(*b));
        b->used = sizeof(struct ipt_entry);
        /* The standard target carries a verdict; libiptc fills it from the name. */
        set_target(b, target, 0, sizeof(int));
}

static int build_rule(const struct vnc_fw_rule *r, struct entry_buf *b) {
        struct ipt_entry *en = &b->entry;

        memset(b, 0, sizeof(*b));
        b->used = sizeof(struct ipt_entry);

        if (r->has_src) {
                en->ip.smsk.s_addr = htonl(prefix_mask(r->src.prefix));
                en->ip.src.s_addr = htonl(r->src.addr & prefix_mask(r->src.prefix));
        }
        if (r->has_dst) {
                en->ip.dmsk.s_addr = htonl(prefix_mask(r->dst.prefix));
                en->ip.dst.s_addr = htonl(r->dst.addr & prefix_mask(r->dst.prefix));
                if (r->not_dst)
                        en->ip.invflags |= IPT_INV_DSTIP;
        }
        if (r->in[0]) {
                set_iface(r->in, en->ip.iniface, en->ip.iniface_mask);
                if (r->not_in)
                        en->ip.invflags |= IPT_INV_VIA_IN;
        }
        if (r->out[0]) {
                set_iface(r->out, en->ip.outiface, en->ip.outiface_mask);
                if (r->not_out)
                        en->ip.invflags |= IPT_INV_VIA_OUT;
        }
        switch (r->proto) {
        case 0:
        case IPPROTO_TCP:
        case IPPROTO_UDP:
        case IPPROTO_ICMP:
                en->ip.proto = r->proto;
                break;
        default:
                return -EPROTONOSUPPORT;
        }

        /* Matches in the order iptables-save prints them back (and vnc_fw_rule_render renders). */
        if ((r->proto == IPPROTO_TCP || r->proto == IPPROTO_UDP) && (r->sport || r->dport)) {
                if (r->proto == IPPROTO_TCP) {
                        struct xt_tcp *tcp = add_match(b, "tcp", 0, sizeof(*tcp));
                        tcp->spts[0] = r->sport ? r->sport : 0;
                        tcp->spts[1] = r->sport ? r->sport : 0xffff;
                        tcp->dpts[0] = r->dport ? r->dport : 0;
                        tcp->dpts[1] = r->dport ? r->dport : 0xffff;
                } else {
                        struct xt_udp *udp = add_match(b, "udp", 0, sizeof(*udp));
                        udp->spts[0] = r->sport ? r->sport : 0;
                        udp->spts[1] = r->sport ? r->sport : 0xffff;
                        udp->dpts[0] = r->dport ? r->dport : 0;
                        udp->dpts[1] = r->dport ? r->dport : 0xffff;
                }
        } else if (r->sport || r->dport)
                return -EINVAL;
        if (r->proto == IPPROTO_ICMP && r->icmp_type >= 0) {
                if (r->icmp_type > 255)
                        return -EINVAL;
                struct ipt_icmp *ic = add_match(b, "icmp", 0, sizeof(struct ipt_icmp));
                ic->type = (uint8_t)r->icmp_type;
                ic->code[0] = 0;
                ic->code[1] = 0xff;
        } else if (r->proto != IPPROTO_ICMP && r->icmp_type >= 0)
                return -EINVAL;
        if (r->dst_local) {
                struct xt_addrtype_info_v1 *at = add_match(b, "addrtype", 1, sizeof(*at));
                at->dest = XT_ADDRTYPE_LOCAL;
        }
        if (r->ctstate) {
                struct xt_conntrack_mtinfo3 *ct = add_match(b, "conntrack", 3, sizeof(*ct));
                ct->match_flags = XT_CONNTRACK_STATE;
                if (r->ctstate & VNC_CT_ESTABLISHED)
                        ct->state_mask |= XT_CONNTRACK_STATE_BIT(IP_CT_ESTABLISHED);
                if (r->ctstate & VNC_CT_RELATED)
                        ct->state_mask |= XT_CONNTRACK_STATE_BIT(IP_CT_RELATED);
                if (r->ctstate & VNC_CT_DNAT)
                        ct->state_mask |= XT_CONNTRACK_STATE_DNAT;
        }
        struct xt_comment_info *ci = add_match(b, "comment", 0, sizeof(*ci));
        snprintf(ci->comment, sizeof(ci->comment), "%s", r->comment);

        switch (r->target) {
        case VNC_FW_ACCEPT:
                set_target(b, IPTC_LABEL_ACCEPT, 0, sizeof(int));
                break;
        case VNC_FW_RETURN:
                set_target(b, IPTC_LABEL_RETURN, 0, sizeof(int));
                break;
        case VNC_FW_REJECT: {
                struct ipt_reject_info *ri = set_target(b, "REJECT", 0, sizeof(*ri));
                ri->with = IPT_ICMP_PORT_UNREACHABLE;
                break;
        }
        case VNC_FW_MASQUERADE: {
                struct nf_nat_ipv4_multi_range_compat *mr = set_target(b, "MASQUERADE", 0, sizeof(*mr));
                mr->rangesize = 1;
                break;
        }
        case VNC_FW_DNAT: {
                /* Revision 2 (struct nf_nat_range2), what iptables itself builds: iptables-save
                 * 1.8 prints revision 0 DNAT (the compat struct) as "[unsupported revision]". */
                struct nf_nat_range2 *nr = set_target(b, "DNAT", 2, sizeof(*nr));
                nr->flags = NF_NAT_RANGE_MAP_IPS;
                nr->min_addr.ip = nr->max_addr.ip = htonl(r->to_addr);
                if (r->to_port) {
                        if (r->proto != IPPROTO_TCP && r->proto != IPPROTO_UDP)
                                return -EINVAL;
                        nr->flags |= NF_NAT_RANGE_PROTO_SPECIFIED;
                        nr->min_proto.all = nr->max_proto.all = htons(r->to_port);
                }
                break;
        }
        default:
                return -EINVAL;
        }
        return 0;
}

/* For the openings in the legacy tables (fw-open.c): the same builder, the same comment reader. */
int vnc_iptc_entry_new(const struct vnc_fw_rule *r, struct ipt_entry **ret) {
        struct entry_buf b;
        int k = build_rule(r, &b);
        if (k < 0)
                return k;
        *ret = malloc(b.used);
        if (!*ret)
                return -ENOMEM;
        memcpy(*ret, b.bytes, b.used);
        return 0;
}

int vnc_iptc_jump_new(const char *target, struct ipt_entry **ret) {
        struct entry_buf b;
        build_jump(&b, target);
        *ret = malloc(b.used);
        if (!*ret)
                return -ENOMEM;
        memcpy(*ret, b.bytes, b.used);
        return 0;
}

const char *vnc_iptc_entry_comment(const struct ipt_entry *en) {
        return entry_comment(en);
}

/* ---- chains ---- */

/* Rule numbers (0-based) of the rules in chain whose target is target, ascending. */
static int jumps_to(struct xtc_handle *h, const char *chain, const char *target, unsigned *nums, size_t max,
                    size_t *ret_n) {
        size_t n = 0;
        unsigned i = 0;
        for (const struct ipt_entry *en = IPTC(first_rule)(chain, h); en; en = IPTC(next_rule)(en, h), i++) {
                const char *t = IPTC(get_target)(en, h);
                if (t && streq(t, target)) {
                        if (n < max)
                                nums[n] = i;
                        n++;
                }
        }
        *ret_n = n;
        return 0;
}

static bool parent_is_ours(const struct vnc_fw_chain_def *d) {
        return chain_def(d->table, d->parent) != NULL;
}

/* Make sure every vnetcfg chain of the table exists with exactly one jump to it from its parent. */
static int chains_create(struct table_run *t, struct vnc_error *e) {
        struct entry_buf b;

        for (size_t i = 0; i < vnc_fw_n_chains; i++) {
                const struct vnc_fw_chain_def *d = &vnc_fw_chains[i];
                if (d->table != t->table || IPTC(is_chain)(d->chain, t->h))
                        continue;
                if (!IPTC(create_chain)(d->chain, t->h)) {
                        _cleanup_free_ char *obj = vnc_strdup_printf("chain \"%s\" (table %s)", d->chain, t->name);
                        return fail_iptc(e, errno, "could not create", obj ? obj : d->chain);
                }
                t->changed = true;
        }

        /* Jumps from the builtin chains: one each, inserted first. */
        for (size_t i = 0; i < vnc_fw_n_chains; i++) {
                const struct vnc_fw_chain_def *d = &vnc_fw_chains[i];
                unsigned nums[16];
                size_t n;
                if (d->table != t->table || parent_is_ours(d))
                        continue;
                jumps_to(t->h, d->parent, d->chain, nums, ELEMENTSOF(nums), &n);
                if (n > ELEMENTSOF(nums))
                        n = ELEMENTSOF(nums); /* more duplicates go on the next run */
                /* Keep the first, delete duplicates from the end so numbers stay valid. */
                for (size_t k = n; k > 1; k--) {
                        if (!IPTC(delete_num_entry)(d->parent, nums[k - 1], t->h))
                                goto jump_fail;
                        t->changed = true;
                }
                if (n == 0) {
                        build_jump(&b, d->chain);
                        if (!IPTC(insert_entry)(d->parent, &b.entry, 0, t->h))
                                goto jump_fail;
                        t->changed = true;
                }
                continue;
        jump_fail:;
                int err = errno;
                _cleanup_free_ char *obj = vnc_strdup_printf("-t %s -A %s -j %s", t->name, d->parent, d->chain);
                return fail_iptc(e, err, "could not add the jump", obj ? obj : d->chain);
        }

        /* Jumps from vnetcfg's own chains (VNETCFG_FWD): exactly the children, in table order. */
        for (size_t i = 0; i < vnc_fw_n_chains; i++) {
                const struct vnc_fw_chain_def *p = &vnc_fw_chains[i];
                const char *want[16], *have[16];
                size_t n_want = 0, n_have = 0;

                if (p->table != t->table)
                        continue;
                for (size_t k = 0; k < vnc_fw_n_chains; k++)
                        if (vnc_fw_chains[k].table == t->table && streq(vnc_fw_chains[k].parent, p->chain) &&
                            n_want < ELEMENTSOF(want))
                                want[n_want++] = vnc_fw_chains[k].chain;
                if (n_want == 0)
                        continue;
                for (const struct ipt_entry *en = IPTC(first_rule)(p->chain, t->h); en; en = IPTC(next_rule)(en, t->h)) {
                        const char *tg = IPTC(get_target)(en, t->h);
                        const struct vnc_fw_chain_def *c = tg ? chain_def(t->table, tg) : NULL;
                        if (c && streq(c->parent, p->chain) && entry_unconditional(en)) {
                                if (n_have < ELEMENTSOF(have))
                                        have[n_have] = c->chain;
                                n_have++;
                        }
                }
                bool same = n_have == n_want;
                for (size_t k = 0; same && k < n_want; k++)
                        same = streq(have[k], want[k]);
                if (same)
                        continue;
                /* Rebuild: drop our jumps (last first), append them in order. */
                unsigned num = 0;
                for (const struct ipt_entry *en = IPTC(first_rule)(p->chain, t->h); en;) {
                        const char *tg = IPTC(get_target)(en, t->h);
                        const struct vnc_fw_chain_def *c = tg ? chain_def(t->table, tg) : NULL;
                        if (c && streq(c->parent, p->chain)) {
                                if (!IPTC(delete_num_entry)(p->chain, num, t->h)) {
                                        _cleanup_free_ char *obj = vnc_strdup_printf("chain \"%s\" (table %s)", p->chain, t->name);
                                        return fail_iptc(e, errno, "could not reorder its jumps", obj ? obj : p->chain);
                                }
                                t->changed = true;
                                /* The list changed under the iterator: start over. */
                                num = 0;
                                en = IPTC(first_rule)(p->chain, t->h);
                                continue;
                        }
                        en = IPTC(next_rule)(en, t->h);
                        num++;
                }
                for (size_t k = 0; k < n_want; k++) {
                        build_jump(&b, want[k]);
                        if (!IPTC(append_entry)(p->chain, &b.entry, t->h)) {
                                int err = errno;
                                _cleanup_free_ char *obj = vnc_strdup_printf("-t %s -A %s -j %s", t->name, p->chain, want[k]);
                                return fail_iptc(e, err, "could not add the jump", obj ? obj : want[k]);
                        }
                }
        }
        return 0;
}

/*
 * Remove vnetcfg's chains of the table when no rule is left in them but the
 * fixed jumps between them. If another profile still has rules, succeed and
 * leave everything as it is.
 */
static int chains_delete(struct table_run *t, struct vnc_error *e) {
        bool any = false;

        for (size_t i = 0; i < vnc_fw_n_chains; i++) {
                const struct vnc_fw_chain_def *d = &vnc_fw_chains[i];
                if (d->table != t->table || !IPTC(is_chain)(d->chain, t->h))
                        continue;
                any = true;
                for (const struct ipt_entry *en = IPTC(first_rule)(d->chain, t->h); en; en = IPTC(next_rule)(en, t->h)) {
                        const char *tg = IPTC(get_target)(en, t->h);
                        const struct vnc_fw_chain_def *c = tg ? chain_def(t->table, tg) : NULL;
                        if (!(c && streq(c->parent, d->chain) && entry_unconditional(en)))
                                return 0; /* still in use */
                }
        }
        if (!any)
                return 0;

        /* Refuse (before changing anything) when a chain is referenced from a rule that is not ours. */
        for (size_t i = 0; i < vnc_fw_n_chains; i++) {
                const struct vnc_fw_chain_def *d = &vnc_fw_chains[i];
                unsigned refs = 0, nums[1];
                size_t n = 0;
                if (d->table != t->table || !IPTC(is_chain)(d->chain, t->h))
                        continue;
                if (!IPTC(get_references)(&refs, d->chain, t->h))
                        refs = 0;
                if (IPTC(is_chain)(d->parent, t->h))
                        jumps_to(t->h, d->parent, d->chain, nums, 0, &n);
                if (refs > n) {
                        vnc_error_set(e, VNC_ERR_RUNTIME, -EBUSY, "chain \"%s\" (table %s): could not delete", d->chain,
                                      t->name);
                        vnc_error_detail(e, "%u rule(s) outside vnetcfg's chains jump to it", refs - (unsigned)n);
                        return -EBUSY;
                }
        }

        for (size_t i = 0; i < vnc_fw_n_chains; i++) {
                const struct vnc_fw_chain_def *d = &vnc_fw_chains[i];
                unsigned nums[16];
                size_t n;
                if (d->table != t->table || parent_is_ours(d) || !IPTC(is_chain)(d->chain, t->h))
                        continue;
                do {
                        jumps_to(t->h, d->parent, d->chain, nums, ELEMENTSOF(nums), &n);
                        size_t m = n < ELEMENTSOF(nums) ? n : ELEMENTSOF(nums);
                        for (size_t k = m; k > 0; k--)
                                if (!IPTC(delete_num_entry)(d->parent, nums[k - 1], t->h)) {
                                        int err = errno;
                                        _cleanup_free_ char *obj =
                                                vnc_strdup_printf("-t %s -A %s -j %s", t->name, d->parent, d->chain);
                                        return fail_iptc(e, err, "could not delete the jump", obj ? obj : d->chain);
                                }
                        if (m > 0)
                                t->changed = true;
                } while (n > ELEMENTSOF(nums));
        }
        for (size_t i = 0; i < vnc_fw_n_chains; i++) {
                const struct vnc_fw_chain_def *d = &vnc_fw_chains[i];
                if (d->table != t->table || !IPTC(is_chain)(d->chain, t->h) || !IPTC(first_rule)(d->chain, t->h))
                        continue;
                if (!IPTC(flush_entries)(d->chain, t->h)) {
                        _cleanup_free_ char *obj = vnc_strdup_printf("chain \"%s\" (table %s)", d->chain, t->name);
                        return fail_iptc(e, errno, "could not flush", obj ? obj : d->chain);
                }
                t->changed = true;
        }
        for (size_t i = 0; i < vnc_fw_n_chains; i++) {
                const struct vnc_fw_chain_def *d = &vnc_fw_chains[i];
                if (d->table != t->table || !IPTC(is_chain)(d->chain, t->h))
                        continue;
                if (!IPTC(delete_chain)(d->chain, t->h)) {
                        _cleanup_free_ char *obj = vnc_strdup_printf("chain \"%s\" (table %s)", d->chain, t->name);
                        return fail_iptc(e, errno, "could not delete", obj ? obj : d->chain);
                }
                t->changed = true;
        }
        /* Rules were flushed with the chains: forget them. */
        strset_done(&t->rules);
        t->indexed = false;
        return 0;
}

/* ---- rules ---- */

static int rule_error(struct vnc_error *e, int code, const struct vnc_fw_rule *r, const char *what,
                      const char *detail) {
        _cleanup_free_ char *text = vnc_fw_rule_render(r);
        vnc_error_set(e, VNC_ERR_RUNTIME, code, "firewall rule \"%s\": %s", text ? text : r->comment, what);
        if (detail)
                vnc_error_detail(e, "%s", detail);
        return code;
}

static int rule_check(const struct vnc_fw_rule *r, struct vnc_error *e) {
        if (!chain_def(r->table, r->chain))
                return rule_error(e, -EPERM, r, "refused", "not one of vnetcfg's chains in this table");
        if (strncmp(r->comment, COMMENT_PREFIX, strlen(COMMENT_PREFIX)) != 0 ||
            strnlen(r->comment, sizeof(r->comment)) >= sizeof(r->comment))
                return rule_error(e, -EINVAL, r, "refused", "the rule is not sealed with a vnetcfg comment");
        bool nat_target = r->target == VNC_FW_MASQUERADE || r->target == VNC_FW_DNAT;
        if (nat_target != (r->table == VNC_FW_TABLE_NAT) && r->target != VNC_FW_RETURN)
                return rule_error(e, -EINVAL, r, "refused",
                                  r->table == VNC_FW_TABLE_NAT ? "only RETURN, MASQUERADE and DNAT belong in the nat table"
                                                               : "MASQUERADE and DNAT belong in the nat table");
        return 0;
}

static int rule_create(struct table_run *t, const struct vnc_fw_rule *r, struct vnc_error *e) {
        struct entry_buf b;
        int k;

        if (r->opaque)
                return 0; /* the undo of deleting a rule nobody can rebuild */
        k = rule_check(r, e);
        if (k < 0)
                return k;
        k = table_index(t, e);
        if (k < 0)
                return k;
        _cleanup_free_ char *key = rule_key(r->chain, r->comment);
        if (!key)
                return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
        if (strset_has(&t->rules, key))
                return 0;
        if (!IPTC(is_chain)(r->chain, t->h))
                return rule_error(e, -ENOENT, r, "could not add", "the chain does not exist");
        k = build_rule(r, &b);
        if (k < 0)
                return rule_error(e, k, r, "could not build", strerror(-k));
        /* libiptc takes chain names as xt_chainlabel (32 bytes); ours are shorter. */
        xt_chainlabel chain = {0};
        snprintf(chain, sizeof(chain), "%s", r->chain);
        if (!(vnc_fw_rule_appends(r) ? IPTC(append_entry)(chain, &b.entry, t->h)
                                     : IPTC(insert_entry)(chain, &b.entry, 0, t->h))) {
                int err = errno;
                return rule_error(e, err > 0 ? -err : -EIO, r, "could not add", iptc_strerror(err));
        }
        t->changed = true;
        if (strset_add(&t->rules, key) < 0)
                return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
        return 0;
}

/*
 * Delete a run of rules (consecutive FW_RULE deletes of one table) with one
 * pass over each chain concerned: rules are found by their comment, then
 * deleted by number from the last to the first, so the numbers stay valid and
 * libiptc walks from the nearer end of the chain. A rule already absent is fine.
 */
struct doomed {
        unsigned pos;
        char *key;
        const struct vnc_fw_rule *rule;
};

static int doomed_cmp(const void *a, const void *b) {
        unsigned x = ((const struct doomed *)a)->pos, y = ((const struct doomed *)b)->pos;
        return x < y ? 1 : x > y ? -1 : 0; /* descending */
}

static int rules_delete(struct table_run *t, const struct vnc_action *const *acts, size_t n, bool undo,
                        struct vnc_error *e) {
        struct strset pending = {0};
        struct doomed *d = NULL;
        size_t n_d = 0, alloc_d = 0;
        unsigned chains = 0;
        int r = 0, k;

        k = table_index(t, e);
        if (k < 0)
                return k;
        for (size_t i = 0; i < n; i++) {
                const struct vnc_fw_rule *rule = &acts[i]->rule;
                const struct vnc_fw_chain_def *def = chain_def(rule->table, rule->chain);
                /* Never delete what is not ours. */
                if (!def || strncmp(rule->comment, COMMENT_PREFIX, strlen(COMMENT_PREFIX)) != 0) {
                        k = rule_check(rule, e);
                        if (k < 0 && r == 0)
                                r = k;
                        if (k < 0 && !undo)
                                goto out;
                        continue;
                }
                _cleanup_free_ char *key = rule_key(rule->chain, rule->comment);
                if (!key || (strset_has(&t->rules, key) && strset_add(&pending, key) < 0)) {
                        r = vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
                        goto out;
                }
                chains |= 1U << (def - vnc_fw_chains);
        }
        for (size_t c = 0; c < vnc_fw_n_chains && pending.n > 0; c++) {
                const struct vnc_fw_chain_def *def = &vnc_fw_chains[c];
                size_t first = n_d;
                unsigned pos = 0;
                if (!(chains & (1U << c)) || !IPTC(is_chain)(def->chain, t->h))
                        continue;
                for (const struct ipt_entry *en = IPTC(first_rule)(def->chain, t->h); en;
                     en = IPTC(next_rule)(en, t->h), pos++) {
                        const char *cm = entry_comment(en);
                        if (!cm || strncmp(cm, COMMENT_PREFIX, strlen(COMMENT_PREFIX)) != 0)
                                continue;
                        _cleanup_free_ char *key = rule_key(def->chain, cm);
                        if (!key || VNC_GROW(d, alloc_d, n_d + 1) < 0) {
                                r = vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
                                goto out;
                        }
                        if (!strset_has(&pending, key))
                                continue;
                        strset_del(&pending, key); /* the first rule carrying it, as one delete would */
                        d[n_d++] = (struct doomed){.pos = pos, .key = TAKE_PTR(key)};
                }
                if (n_d > first)
                        qsort(d + first, n_d - first, sizeof(*d), doomed_cmp);
                xt_chainlabel label = {0};
                snprintf(label, sizeof(label), "%s", def->chain);
                for (size_t i = first; i < n_d; i++) {
                        if (!IPTC(delete_num_entry)(label, d[i].pos, t->h)) {
                                int err = errno;
                                /* Name the rule as the action gave it. */
                                const struct vnc_fw_rule *rule = NULL;
                                for (size_t j = 0; j < n && !rule; j++) {
                                        _cleanup_free_ char *key = rule_key(acts[j]->rule.chain, acts[j]->rule.comment);
                                        if (key && streq(key, d[i].key))
                                                rule = &acts[j]->rule;
                                }
                                k = rule ? rule_error(e, err > 0 ? -err : -EIO, rule, "could not delete", iptc_strerror(err))
                                         : fail_iptc(e, err, "could not delete a rule", def->chain);
                                if (r == 0)
                                        r = k;
                                if (!undo)
                                        goto out;
                                continue;
                        }
                        t->changed = true;
                        strset_del(&t->rules, d[i].key);
                }
        }
out:
        for (size_t i = 0; i < n_d; i++)
                free(d[i].key);
        free(d);
        strset_done(&pending);
        return r;
}

static int apply(struct table_run *t, const struct vnc_action *a, struct vnc_error *e) {
        switch (a->kind) {
        case VNC_ACT_FW_CHAINS:
                if (a->op == VNC_OP_CREATE)
                        return chains_create(t, e);
                if (a->op == VNC_OP_DELETE)
                        return chains_delete(t, e);
                break;
        case VNC_ACT_FW_RULE:
                if (a->op == VNC_OP_CREATE)
                        return rule_create(t, &a->rule, e);
                if (a->op == VNC_OP_DELETE)
                        return rules_delete(t, &a, 1, false, e);
                break;
        default:
                break;
        }
        return vnc_error_set(e, VNC_ERR_RUNTIME, -EOPNOTSUPP, "firewall: %s %s is not supported",
                             vnc_action_op_to_string(a->op), vnc_action_kind_to_string(a->kind));
}

/*
 * Between reading a table and writing it back, another program's change
 * would be lost (the kernel only notices when the rule count changed). The
 * iptables tools, docker and libvirt serialize on iptables' flock; take it too,
 * waiting up to XT_LOCK_WAIT_MS for its holder.
 */
int vnc_xtables_lock(int *ret_fd, struct vnc_error *e) {
        const char *path = getenv("XTABLES_LOCKFILE");
        _cleanup_close_ int fd = -1;
        struct timespec start, now;

        if (!path || !*path)
                path = XT_LOCK_DEFAULT;
        fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) {
                int r = -errno;
                vnc_error_set(e, VNC_ERR_RUNTIME, r, "xtables lock \"%s\": could not open", path);
                vnc_error_detail(e, "%s", strerror(-r));
                return r;
        }
        clock_gettime(CLOCK_MONOTONIC, &start);
        while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                int r = -errno;
                if (r == -EINTR)
                        continue;
                clock_gettime(CLOCK_MONOTONIC, &now);
                long waited = (now.tv_sec - start.tv_sec) * 1000L + (now.tv_nsec - start.tv_nsec) / 1000000L;
                if (r != -EWOULDBLOCK) {
                        vnc_error_set(e, VNC_ERR_RUNTIME, r, "xtables lock \"%s\": could not take it", path);
                        vnc_error_detail(e, "%s", strerror(-r));
                        return r;
                }
                if (waited >= XT_LOCK_WAIT_MS) {
                        vnc_error_set(e, VNC_ERR_RUNTIME, -EBUSY, "xtables lock \"%s\": could not take it", path);
                        vnc_error_detail(e, "another program has held it for %d s", XT_LOCK_WAIT_MS / 1000);
                        return -EBUSY;
                }
                /* flock has no timeout: poll again shortly, until the deadline. */
                poll(NULL, 0, 20);
        }
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static bool fw_handles(enum vnc_action_kind k) {
        return k == VNC_ACT_FW_CHAINS || k == VNC_ACT_FW_RULE;
}

static bool fw_handles_action(const struct vnc_action *a) {
        return fw_handles(a->kind) && !vnc_fw_rule_is_nft(&a->rule);
}

static int fw_run(struct vnc_backend_ctx *ctx, const struct vnc_action *acts, size_t n, unsigned flags,
                  size_t *ret_done, struct vnc_error *e) {
        bool undo = flags & VNC_RUN_UNDO;
        bool committed[_VNC_FW_TABLE_MAX] = {0};
        int order[_VNC_FW_TABLE_MAX], n_order = 0, first = 0;
        size_t done = 0;
        _cleanup_close_ int lock_fd = -1;

        for (size_t i = 0; i < n; i++) {
                int tb = acts[i].rule.table;
                if (tb < 0 || tb >= _VNC_FW_TABLE_MAX || !fw_handles(acts[i].kind)) {
                        *ret_done = 0;
                        return vnc_error_set(e, VNC_ERR_RUNTIME, -EINVAL, "firewall: action %zu has no valid table", i);
                }
                bool seen = false;
                for (int k = 0; k < n_order; k++)
                        seen = seen || order[k] == tb;
                if (!seen)
                        order[n_order++] = tb;
        }
        _cleanup_free_ const struct vnc_action **batch = calloc(n ? n : 1, sizeof(*batch));
        if (!batch) {
                *ret_done = 0;
                return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
        }
        if (n > 0 && !vnc_record_on()) {
                int r = vnc_xtables_lock(&lock_fd, e);
                if (r < 0) {
                        *ret_done = 0;
                        return r;
                }
        }

        for (int k = 0; k < n_order; k++) {
                struct table_run t = {.table = order[k], .name = vnc_fw_table_to_string(order[k])};
                size_t n_table = 0;
                int r = 0;

                t.h = IPTC(init)(t.name);
                if (!t.h) {
                        int err = errno;
                        _cleanup_free_ char *obj = vnc_strdup_printf("iptables table \"%s\"", t.name);
                        r = fail_iptc(e, err, "could not read", obj ? obj : t.name);
                } else {
                        for (size_t i = 0; i < n; i++) {
                                if (acts[i].rule.table != t.table)
                                        continue;
                                n_table++;
                                int q;
                                if (acts[i].kind == VNC_ACT_FW_RULE && acts[i].op == VNC_OP_DELETE) {
                                        /* Gather this table's run of rule deletes: one pass per chain. */
                                        size_t m = 0;
                                        batch[m++] = &acts[i];
                                        for (size_t j = i + 1; j < n; j++) {
                                                if (acts[j].rule.table != t.table)
                                                        continue;
                                                if (acts[j].kind != VNC_ACT_FW_RULE || acts[j].op != VNC_OP_DELETE)
                                                        break;
                                                batch[m++] = &acts[j];
                                                n_table++;
                                                i = j;
                                        }
                                        q = rules_delete(&t, batch, m, undo, e);
                                } else
                                        q = apply(&t, &acts[i], e);
                                if (q < 0) {
                                        if (r == 0)
                                                r = q;
                                        if (!undo)
                                                break;
                                }
                        }
                        if ((r == 0 || undo) && t.changed && !IPTC(commit)(t.h)) {
                                int err = errno;
                                _cleanup_free_ char *obj = vnc_strdup_printf("iptables table \"%s\"", t.name);
                                int q = err > 0 ? -err : -EIO;
                                /* The kernel checks every rule here but does not say which one it refused
                                 * (it logs that); the changes are named instead. */
                                vnc_error_set(e, VNC_ERR_RUNTIME, q, "%s: could not commit %zu firewall actions",
                                              obj ? obj : t.name, n_table);
                                vnc_error_detail(e, "%s; the kernel log names the refused rule", iptc_strerror(err));
                                if (r == 0)
                                        r = q;
                        }
                }
                table_run_done(&t);
                if (r < 0) {
                        if (first == 0)
                                first = r;
                        if (!undo)
                                break;
                        continue;
                }
                committed[order[k]] = true;
        }

        /* The executor counts a prefix: the leading actions whose table was committed. */
        while (done < n && committed[acts[done].rule.table])
                done++;
        *ret_done = done;
        (void)ctx;
        return first;
}

const struct vnc_backend_ops vnc_backend_firewall = {
        .name = "iptables",
        .handles = fw_handles,
        .handles_action = fw_handles_action,
        .run = fw_run,
};

/* ---- live state ---- */

/* A table not instantiated yet is read as empty instead of being made (vnc_xt_table_instantiated). */

static uint8_t mask_prefix(uint32_t mask) {
        uint8_t n = 0;
        while (n < 32 && (mask & (0x80000000U >> n)))
                n++;
        return n;
}

static void get_iface(const char *name, char out[VNC_IFNAMSIZ]) {
        snprintf(out, VNC_IFNAMSIZ, "%.*s", (int)strnlen(name, IFNAMSIZ), name);
}

/*
 * An entry read back into the rule it was built from (build_rule, reversed).
 * False when it holds anything build_rule does not make.
 */
static bool decode_entry(struct xtc_handle *h, const struct ipt_entry *en, struct vnc_fw_rule *r) {
        const struct ipt_ip *ip = &en->ip;

        if (ip->smsk.s_addr) {
                r->has_src = true;
                r->src = (struct vnc_ipv4_prefix){ntohl(ip->src.s_addr), mask_prefix(ntohl(ip->smsk.s_addr))};
        }
        if (ip->dmsk.s_addr) {
                r->has_dst = true;
                r->dst = (struct vnc_ipv4_prefix){ntohl(ip->dst.s_addr), mask_prefix(ntohl(ip->dmsk.s_addr))};
                r->not_dst = ip->invflags & IPT_INV_DSTIP;
        }
        if (ip->iniface[0]) {
                get_iface(ip->iniface, r->in);
                r->not_in = ip->invflags & IPT_INV_VIA_IN;
        }
        if (ip->outiface[0]) {
                get_iface(ip->outiface, r->out);
                r->not_out = ip->invflags & IPT_INV_VIA_OUT;
        }
        if (ip->invflags & ~(IPT_INV_DSTIP | IPT_INV_VIA_IN | IPT_INV_VIA_OUT))
                return false;
        r->proto = (uint8_t)ip->proto;
        for (size_t off = sizeof(struct ipt_entry); off < en->target_offset;) {
                const struct xt_entry_match *m = (const void *)((const char *)en + off);
                const char *name = m->u.user.name;
                if (m->u.match_size < sizeof(*m))
                        return false;
                if (streq(name, "tcp") || streq(name, "udp")) {
                        const uint16_t *spts = streq(name, "tcp") ? ((const struct xt_tcp *)m->data)->spts
                                                                 : ((const struct xt_udp *)m->data)->spts;
                        const uint16_t *dpts = streq(name, "tcp") ? ((const struct xt_tcp *)m->data)->dpts
                                                                 : ((const struct xt_udp *)m->data)->dpts;
                        if (spts[0] == spts[1])
                                r->sport = spts[0];
                        else if (spts[0] != 0 || spts[1] != 0xffff)
                                return false;
                        if (dpts[0] == dpts[1])
                                r->dport = dpts[0];
                        else if (dpts[0] != 0 || dpts[1] != 0xffff)
                                return false;
                } else if (streq(name, "icmp")) {
                        r->icmp_type = ((const struct ipt_icmp *)m->data)->type;
                } else if (streq(name, "addrtype") && m->u.user.revision == 1) {
                        const struct xt_addrtype_info_v1 *at = (const void *)m->data;
                        if (at->dest != XT_ADDRTYPE_LOCAL || at->source || at->flags)
                                return false;
                        r->dst_local = true;
                } else if (streq(name, "conntrack") && m->u.user.revision == 3) {
                        const struct xt_conntrack_mtinfo3 *ct = (const void *)m->data;
                        if (ct->match_flags != XT_CONNTRACK_STATE)
                                return false;
                        if (ct->state_mask & XT_CONNTRACK_STATE_BIT(IP_CT_ESTABLISHED))
                                r->ctstate |= VNC_CT_ESTABLISHED;
                        if (ct->state_mask & XT_CONNTRACK_STATE_BIT(IP_CT_RELATED))
                                r->ctstate |= VNC_CT_RELATED;
                        if (ct->state_mask & XT_CONNTRACK_STATE_DNAT)
                                r->ctstate |= VNC_CT_DNAT;
                } else if (!streq(name, "comment"))
                        return false;
                off += m->u.match_size;
        }
        const char *t = IPTC(get_target)(en, h);
        const struct xt_entry_target *tg = (const void *)((const char *)en + en->target_offset);
        if (!t)
                return false;
        if (streq(t, IPTC_LABEL_ACCEPT))
                r->target = VNC_FW_ACCEPT;
        else if (streq(t, IPTC_LABEL_RETURN))
                r->target = VNC_FW_RETURN;
        else if (streq(t, "REJECT"))
                r->target = VNC_FW_REJECT;
        else if (streq(t, "MASQUERADE"))
                r->target = VNC_FW_MASQUERADE;
        else if (streq(t, "DNAT") && tg->u.user.revision == 2) {
                const struct nf_nat_range2 *nr = (const void *)tg->data;
                r->target = VNC_FW_DNAT;
                r->to_addr = ntohl(nr->min_addr.ip);
                if (nr->flags & NF_NAT_RANGE_PROTO_SPECIFIED)
                        r->to_port = ntohs(nr->min_proto.all);
        } else
                return false;
        return true;
}

/* A rule vnetcfg made (its sealed comment), read back whole. */
static int live_add_entry(struct vnc_live *live, struct xtc_handle *h, int table, const char *chain,
                          const struct ipt_entry *en, const char *comment) {
        struct vnc_fw_rule r = {.table = (uint8_t)table, .icmp_type = -1, .backend = VNC_FW_IPTABLES};
        bool decoded;

        snprintf(r.chain, sizeof(r.chain), "%s", chain);
        decoded = decode_entry(h, en, &r);
        if (decoded) {
                /* Exact when it seals back to its own comment under the owner it names. */
                char owner[VNC_ALIAS_MAX], *slash, *hash;
                snprintf(owner, sizeof(owner), "%s", comment + strlen(COMMENT_PREFIX));
                slash = strchr(owner, '/');
                hash = slash ? strstr(slash, " #") : NULL;
                if (slash && hash) {
                        *slash = 0;
                        *hash = 0;
                        vnc_fw_rule_seal(&r, owner, slash + 1);
                        decoded = streq(r.comment, comment);
                } else
                        decoded = false;
        }
        snprintf(r.comment, sizeof(r.comment), "%s", comment);
        return vnc_live_add_fw_rule_full(live, &r, decoded, 0);
}

/* Rules of the host in a legacy table that are not vnetcfg's (for firewall.backend "auto"). */
static void count_foreign(struct vnc_live *live, int table, struct xtc_handle *h) {
        for (const char *c = IPTC(first_chain)(h); c; c = IPTC(next_chain)(h)) {
                if (chain_def(table, c))
                        continue;
                for (const struct ipt_entry *en = IPTC(first_rule)(c, h); en; en = IPTC(next_rule)(en, h)) {
                        const char *t = IPTC(get_target)(en, h), *cm = entry_comment(en);
                        /* vnetcfg's openings (fw-open.c, backend nftables) are not the host's rules */
                        if (table == VNC_FW_TABLE_FILTER && (streq(c, "INPUT") || streq(c, "FORWARD")) && cm &&
                            strncmp(cm, COMMENT_PREFIX, strlen(COMMENT_PREFIX)) == 0)
                                continue;
                        if (!(t && chain_def(table, t) && entry_unconditional(en)))
                                live->fw_foreign_legacy++;
                }
                if (IPTC(builtin)(c, h)) {
                        struct xt_counters cnt;
                        const char *pol = IPTC(get_policy)(c, &cnt, h);
                        if (pol && !streq(pol, IPTC_LABEL_ACCEPT))
                                live->fw_foreign_legacy++;
                }
        }
}

static int live_read_table(struct vnc_live *live, int table, struct vnc_error *e) {
        const char *name = vnc_fw_table_to_string(table);
        _cleanup_iptc_ struct xtc_handle *h = NULL;

        if (vnc_record_on() ? !vnc_record_iptc_exists(name) : vnc_xt_table_instantiated(name) == 0)
                return 0;
        h = IPTC(init)(name);
        if (!h) {
                int err = errno;
                live->fw_available = false;
                free(live->fw_error);
                live->fw_error = vnc_strdup_printf("iptables table \"%s\": %s", name, iptc_strerror(err));
                if (!live->fw_error)
                        return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
                return 0;
        }
        count_foreign(live, table, h);
        for (size_t i = 0; i < vnc_fw_n_chains; i++) {
                const struct vnc_fw_chain_def *d = &vnc_fw_chains[i];
                size_t n = 0;
                if (d->table != table || !IPTC(is_chain)(d->chain, h))
                        continue;
                if (IPTC(is_chain)(d->parent, h))
                        jumps_to(h, d->parent, d->chain, NULL, 0, &n);
                if (n > 0 && i < sizeof(live->fw_chains) * 8)
                        live->fw_chains |= 1U << i;
                for (const struct ipt_entry *en = IPTC(first_rule)(d->chain, h); en; en = IPTC(next_rule)(en, h)) {
                        const char *c = entry_comment(en);
                        if (c && strncmp(c, COMMENT_PREFIX, strlen(COMMENT_PREFIX)) == 0 &&
                            live_add_entry(live, h, table, d->chain, en, c) < 0)
                                return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
                }
        }
        return 0;
}

int vnc_fw_live_read(struct vnc_live *live, struct vnc_error *e) {
        live->fw_available = true;
        live->fw_chains = 0;
        live->fw_foreign_legacy = 0;
        for (int t = 0; t < _VNC_FW_TABLE_MAX; t++) {
                int r = live_read_table(live, t, e);
                if (r < 0)
                        return r;
                if (!live->fw_available)
                        break;
        }
        return vnc_nft_live_read(live, e);
}
