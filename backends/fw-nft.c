/* SPDX-License-Identifier: MIT */
/*
 * The nftables firewall backend, through libnftables.
 *
 * vnetcfg's rules live in a table of its own, "table ip vnetcfg": the same
 * regular chains as the iptables backend (vnc_fw_chains: VNETCFG_INP, ...),
 * holding the same rules (core/fw.c describes them once; vnc_fw_rule_render_nft
 * says them in nft's words), and one base chain per hook (input, forward,
 * output, prerouting, postrouting, nat_output) with policy accept and a single
 * jump to its regular chain.
 *
 * A run reads the table once ("list table ip vnetcfg", with handles), turns
 * every action into nft commands against that copy (rules found by their
 * sealed comment, deleted by handle) and hands them to the kernel in ONE
 * nft_run_cmd_from_buffer: one transaction, all or nothing.
 *
 * Ownership: only table ip vnetcfg is ever written; inside it, only the chains
 * above and rules carrying a "vnetcfg:" comment are deleted.
 */
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backends.h"
#include "record.h"
#include "fw.h"
#include "model.h"

#define COMMENT_PREFIX "vnetcfg:"
#define TABLE VNC_NFT_FAMILY " " VNC_NFT_TABLE

static void nft_ctx_freep(struct nft_ctx **c) {
        if (*c)
                nft_ctx_free(*c);
}
#define _cleanup_nft_ _cleanup_(nft_ctx_freep)

static struct nft_ctx *nft_open(void) {
        struct nft_ctx *c = nft_ctx_new(NFT_CTX_DEFAULT);
        if (!c)
                return NULL;
        if (nft_ctx_buffer_output(c) < 0 || nft_ctx_buffer_error(c) < 0) {
                nft_ctx_free(c);
                return NULL;
        }
        nft_ctx_output_set_flags(c, NFT_CTX_OUTPUT_HANDLE);
        return c;
}

/* nft's error text on one line: "Error: ...: <the command>". Caller frees. */
static char *nft_error_text(struct nft_ctx *c) {
        const char *err = nft_ctx_get_error_buffer(c);
        char *s = strdup(err && *err ? err : "nft gave no reason");
        if (!s)
                return NULL;
        /* Keep the message and the command it names; drop the caret line. */
        size_t w = 0;
        bool sep = false;
        for (char *line = s, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                if (strspn(line, " ^~") == strlen(line))
                        continue;
                if (sep)
                        s[w++] = ';', s[w++] = ' ';
                size_t n = strlen(line);
                memmove(s + w, line, n);
                w += n;
                sep = true;
        }
        s[w] = 0;
        return s;
}

/* ---- the table as read, and as this run changes it ---- */

/* Our chains: the regular ones (vnc_fw_chains[i], index i) and the base ones (after them). */
#define N_CHAINS 16

struct nchain {
        char name[32];
        uint8_t table;          /* enum vnc_fw_table */
        const char *parent;     /* regular: the chain that jumps to it (base name or VNETCFG_FWD) */
        const struct vnc_nft_base *base; /* base chains only */
        bool exists;
        size_t n_rules;         /* rules other than the jumps between our chains */
        struct jump {
                char target[32];
                uint64_t handle; /* 0: added by this run */
        } jumps[8];
        size_t n_jumps;
};

struct nrule {
        size_t chain;
        char *comment;
        uint64_t handle;
        bool alive;
};

struct nstate {
        bool table;
        struct nchain chains[N_CHAINS];
        size_t n_chains;
        size_t n_foreign_chains; /* chains in our table that are not ours */
        struct nrule *rules;     /* rules carrying a "vnetcfg:" comment, sorted by (chain, comment) */
        size_t n_rules, alloc_rules;
};

static void nstate_done(struct nstate *st) {
        for (size_t i = 0; i < st->n_rules; i++)
                free(st->rules[i].comment);
        free(st->rules);
        *st = (struct nstate){0};
}

static void nstate_init(struct nstate *st) {
        *st = (struct nstate){0};
        for (size_t i = 0; i < vnc_fw_n_chains && st->n_chains < N_CHAINS; i++) {
                struct nchain *c = &st->chains[st->n_chains++];
                const struct vnc_fw_chain_def *d = &vnc_fw_chains[i];
                const struct vnc_nft_base *b = vnc_nft_base_for(d->table, d->parent);
                snprintf(c->name, sizeof(c->name), "%s", d->chain);
                c->table = d->table;
                c->parent = b ? b->name : d->parent;
        }
        static const struct {
                uint8_t table;
                const char *builtin;
        } builtins[] = {{VNC_FW_TABLE_FILTER, "INPUT"},      {VNC_FW_TABLE_FILTER, "FORWARD"},
                        {VNC_FW_TABLE_FILTER, "OUTPUT"},     {VNC_FW_TABLE_NAT, "PREROUTING"},
                        {VNC_FW_TABLE_NAT, "POSTROUTING"}, {VNC_FW_TABLE_NAT, "OUTPUT"}};
        for (size_t i = 0; i < ELEMENTSOF(builtins) && st->n_chains < N_CHAINS; i++) {
                struct nchain *c = &st->chains[st->n_chains++];
                c->base = vnc_nft_base_for(builtins[i].table, builtins[i].builtin);
                snprintf(c->name, sizeof(c->name), "%s", c->base->name);
                c->table = builtins[i].table;
        }
}

static ssize_t chain_index(const struct nstate *st, const char *name) {
        for (size_t i = 0; i < st->n_chains; i++)
                if (streq(st->chains[i].name, name))
                        return (ssize_t)i;
        return -1;
}

static int cmp_nrule(const void *a, const void *b) {
        const struct nrule *x = a, *y = b;
        if (x->chain != y->chain)
                return x->chain < y->chain ? -1 : 1;
        return strcmp(x->comment, y->comment);
}

/* The first live rule of chain carrying comment, or NULL. */
static struct nrule *find_rule(struct nstate *st, size_t chain, const char *comment) {
        struct nrule key = {.chain = chain, .comment = (char *)comment};
        struct nrule *r = st->n_rules ? bsearch(&key, st->rules, st->n_rules, sizeof(*r), cmp_nrule) : NULL;
        if (!r)
                return NULL;
        while (r > st->rules && cmp_nrule(r - 1, &key) == 0)
                r--;
        for (; r < st->rules + st->n_rules && cmp_nrule(r, &key) == 0; r++)
                if (r->alive)
                        return r;
        return NULL;
}

/* ---- reading nft's text ---- */

/* Split a rule line into words; quoted strings are one word, without their quotes. */
static size_t split_words(char *s, char **words, size_t max) {
        size_t n = 0;
        while (*s) {
                while (*s == ' ' || *s == '\t')
                        s++;
                if (!*s)
                        break;
                char *w = s;
                if (*s == '"') {
                        w = ++s;
                        while (*s && *s != '"')
                                s++;
                } else
                        while (*s && *s != ' ' && *s != '\t')
                                s++;
                if (*s)
                        *s++ = 0;
                if (n < max)
                        words[n] = w;
                n++;
        }
        return n;
}

static bool parse_uint(const char *s, unsigned long max, unsigned long *ret) {
        char *end;
        if (!s || !*s)
                return false;
        errno = 0;
        unsigned long v = strtoul(s, &end, 10);
        if (errno || *end || v > max)
                return false;
        *ret = v;
        return true;
}

static bool parse_proto(const char *s, uint8_t *ret) {
        if (streq(s, "tcp"))
                *ret = IPPROTO_TCP;
        else if (streq(s, "udp"))
                *ret = IPPROTO_UDP;
        else if (streq(s, "icmp"))
                *ret = IPPROTO_ICMP;
        else
                return false;
        return true;
}

/*
 * A rule line of our table as nft prints it, back into the rule (the reverse of
 * vnc_fw_rule_render_nft). False when it holds anything that renderer does not make.
 */
static bool decode_rule(const char *text, struct vnc_fw_rule *r) {
        _cleanup_free_ char *copy = strdup(text);
        char *w[64];
        size_t n, i = 0;
        unsigned long u;

        if (!copy)
                return false;
        n = split_words(copy, w, ELEMENTSOF(w));
        if (n > ELEMENTSOF(w))
                return false;
#define NEXT() (i < n ? w[i++] : "")
        while (i < n) {
                const char *k = NEXT();
                if (streq(k, "iifname") || streq(k, "oifname")) {
                        bool in = k[0] == 'i', neg = false;
                        const char *v = NEXT();
                        if (streq(v, "!=")) {
                                neg = true;
                                v = NEXT();
                        }
                        if (!*v || strlen(v) >= VNC_IFNAMSIZ)
                                return false;
                        snprintf(in ? r->in : r->out, VNC_IFNAMSIZ, "%s", v);
                        *(in ? &r->not_in : &r->not_out) = neg;
                } else if (streq(k, "ip")) {
                        const char *what = NEXT(), *v = NEXT();
                        bool neg = false;
                        if (streq(what, "protocol")) {
                                if (!parse_proto(v, &r->proto))
                                        return false;
                                continue;
                        }
                        if (streq(v, "!=")) {
                                neg = true;
                                v = NEXT();
                        }
                        struct vnc_ipv4_prefix p;
                        char buf[24];
                        snprintf(buf, sizeof(buf), "%s%s", v, strchr(v, '/') ? "" : "/32");
                        if (vnc_ipv4_prefix_parse(buf, &p) < 0)
                                return false;
                        if (streq(what, "saddr") && !neg) {
                                r->has_src = true;
                                r->src = p;
                        } else if (streq(what, "daddr")) {
                                r->has_dst = true;
                                r->not_dst = neg;
                                r->dst = p;
                        } else
                                return false;
                } else if (streq(k, "meta")) {
                        if (!streq(NEXT(), "l4proto") || !parse_proto(NEXT(), &r->proto))
                                return false;
                } else if (streq(k, "tcp") || streq(k, "udp")) {
                        const char *what = NEXT();
                        parse_proto(k, &r->proto);
                        if (!parse_uint(NEXT(), 65535, &u))
                                return false;
                        if (streq(what, "sport"))
                                r->sport = (uint16_t)u;
                        else if (streq(what, "dport"))
                                r->dport = (uint16_t)u;
                        else
                                return false;
                } else if (streq(k, "icmp")) {
                        const char *v;
                        r->proto = IPPROTO_ICMP;
                        if (!streq(NEXT(), "type"))
                                return false;
                        v = NEXT();
                        if (streq(v, "echo-request"))
                                r->icmp_type = 8;
                        else if (streq(v, "echo-reply"))
                                r->icmp_type = 0;
                        else if (parse_uint(v, 255, &u))
                                r->icmp_type = (int16_t)u;
                        else
                                return false;
                } else if (streq(k, "fib")) {
                        if (!streq(NEXT(), "daddr") || !streq(NEXT(), "type") || !streq(NEXT(), "local"))
                                return false;
                        r->dst_local = true;
                } else if (streq(k, "ct")) {
                        const char *what = NEXT();
                        _cleanup_free_ char *v = strdup(NEXT());
                        if (!v)
                                return false;
                        for (char *s = NULL, *t = strtok_r(v, ",", &s); t; t = strtok_r(NULL, ",", &s)) {
                                if (streq(what, "state") && streq(t, "established"))
                                        r->ctstate |= VNC_CT_ESTABLISHED;
                                else if (streq(what, "state") && streq(t, "related"))
                                        r->ctstate |= VNC_CT_RELATED;
                                else if (streq(what, "status") && streq(t, "dnat"))
                                        r->ctstate |= VNC_CT_DNAT;
                                else
                                        return false;
                        }
                } else if (streq(k, "accept"))
                        r->target = VNC_FW_ACCEPT;
                else if (streq(k, "return"))
                        r->target = VNC_FW_RETURN;
                else if (streq(k, "masquerade"))
                        r->target = VNC_FW_MASQUERADE;
                else if (streq(k, "reject")) {
                        r->target = VNC_FW_REJECT;
                        if (i < n && streq(w[i], "with")) {
                                i++;
                                if (!streq(NEXT(), "icmp"))
                                        return false;
                                const char *v = NEXT();
                                if (streq(v, "type"))
                                        v = NEXT();
                                if (!streq(v, "port-unreachable"))
                                        return false;
                        }
                } else if (streq(k, "dnat")) {
                        const char *v = NEXT();
                        if (streq(v, "ip"))
                                v = NEXT();
                        if (!streq(v, "to"))
                                return false;
                        char addr[32];
                        snprintf(addr, sizeof(addr), "%s", NEXT());
                        char *colon = strchr(addr, ':');
                        if (colon) {
                                *colon = 0;
                                if (!parse_uint(colon + 1, 65535, &u))
                                        return false;
                                r->to_port = (uint16_t)u;
                        }
                        if (vnc_ipv4_parse(addr, &r->to_addr) < 0)
                                return false;
                        r->target = VNC_FW_DNAT;
                } else if (streq(k, "counter")) {
                        /* someone added counters: they do not change what the rule matches */
                        while (i + 1 < n && (streq(w[i], "packets") || streq(w[i], "bytes")))
                                i += 2;
                } else if (streq(k, "comment"))
                        NEXT(); /* the caller has it */
                else
                        return false;
        }
#undef NEXT
        return true;
}

/* Find the comment of a rule line (the word after "comment", unquoted). Caller frees. */
static char *rule_comment(const char *text) {
        const char *c = strstr(text, " comment \"");
        if (c)
                c += strlen(" comment \"");
        else if (strncmp(text, "comment \"", 9) == 0)
                c = text + 9;
        else
                return NULL;
        const char *end = strchr(c, '"');
        return end ? strndup(c, (size_t)(end - c)) : NULL;
}

/* Strip " # handle N" from the end of line; returns N or 0. */
static uint64_t strip_handle(char *line) {
        char *h = strstr(line, " # handle "), *num;
        if (h)
                num = h + strlen(" # handle ");
        else if (strncmp(line, "# handle ", 9) == 0) {
                h = line;
                num = line + 9;
        } else
                return 0;
        unsigned long long v = strtoull(num, NULL, 10);
        *h = 0;
        return v;
}

/* Brace balance of a line, ignoring quoted text. */
static int brace_delta(const char *s) {
        int d = 0;
        bool q = false;
        for (; *s; s++) {
                if (*s == '"')
                        q = !q;
                else if (!q && *s == '{')
                        d++;
                else if (!q && *s == '}')
                        d--;
        }
        return d;
}

struct reader {
        struct nstate *st;   /* our table */
        struct vnc_live *live; /* live read: also foreign base chains and decoded rules */
        bool skip_ours;      /* a listing of chains only: our table is read on its own */
        bool saw_ours;       /* out, with skip_ours: our table is there */
        int error;
};

static void read_our_rule(struct reader *rd, size_t chain, const char *text, uint64_t handle) {
        struct nstate *st = rd->st;
        struct nchain *c = &st->chains[chain];
        char target[64];

        if (sscanf(text, "jump %63s", target) == 1 && strlen(text) == 5 + strlen(target) &&
            chain_index(st, target) >= 0) {
                if (c->n_jumps < ELEMENTSOF(c->jumps)) {
                        snprintf(c->jumps[c->n_jumps].target, sizeof(c->jumps[0].target), "%.31s", target);
                        c->jumps[c->n_jumps].handle = handle;
                }
                c->n_jumps++;
                return;
        }
        c->n_rules++;
        _cleanup_free_ char *comment = rule_comment(text);
        if (!comment || strncmp(comment, COMMENT_PREFIX, strlen(COMMENT_PREFIX)) != 0 || c->base)
                return;
        if (VNC_GROW(st->rules, st->alloc_rules, st->n_rules + 1) < 0) {
                rd->error = -ENOMEM;
                return;
        }
        st->rules[st->n_rules++] = (struct nrule){.chain = chain, .comment = strdup(comment), .handle = handle,
                                                  .alive = true};
        if (!st->rules[st->n_rules - 1].comment)
                rd->error = -ENOMEM;
        if (!rd->live || rd->error)
                return;

        struct vnc_fw_rule r = {.table = c->table, .icmp_type = -1, .backend = VNC_FW_NFTABLES};
        snprintf(r.chain, sizeof(r.chain), "%.15s", c->name);
        bool decoded = decode_rule(text, &r);
        if (decoded) {
                /* Exact when it seals back to its own comment under the owner it names. */
                char owner[VNC_ALIAS_MAX], *slash, *hash;
                snprintf(owner, sizeof(owner), "%s", comment + strlen(COMMENT_PREFIX));
                slash = strchr(owner, '/');
                hash = slash ? strstr(slash, " #") : NULL;
                decoded = slash && hash;
                if (decoded) {
                        *slash = 0;
                        *hash = 0;
                        vnc_fw_rule_seal(&r, owner, slash + 1);
                        decoded = streq(r.comment, comment);
                }
        }
        snprintf(r.comment, sizeof(r.comment), "%s", comment);
        if (vnc_live_add_fw_rule_full(rd->live, &r, decoded, handle) < 0)
                rd->error = -ENOMEM;
}

/* Walk `nft -a list ...` text: our table into rd->st, foreign base chains into rd->live. */
static int read_text(struct reader *rd, const char *text) {
        _cleanup_free_ char *copy = strdup(text);
        char family[32] = "", table[128] = "", chain[128] = "";
        int depth = 0;
        bool ours = false, skip = false, in_chain = false;
        ssize_t ci = -1;

        if (!copy)
                return -ENOMEM;
        for (char *line = copy, *next; line && *line && !rd->error; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                while (*line == ' ' || *line == '\t')
                        line++;
                uint64_t handle = strip_handle(line);
                size_t len = strlen(line);
                while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
                        line[--len] = 0;
                if (!*line)
                        continue;
                int delta = brace_delta(line);
                if (depth == 0) {
                        if (sscanf(line, "table %31s %127s {", family, table) == 2) {
                                ours = streq(family, VNC_NFT_FAMILY) && streq(table, VNC_NFT_TABLE);
                                skip = ours && rd->skip_ours;
                                if (skip) {
                                        rd->saw_ours = true;
                                        ours = false;
                                } else if (ours)
                                        rd->st->table = true;
                        }
                } else if (skip) {
                        /* our table, in a listing of chains only */
                } else if (depth == 1) {
                        if (sscanf(line, "chain %127s {", chain) == 1 && delta > 0) {
                                in_chain = true;
                                ci = ours ? chain_index(rd->st, chain) : -1;
                                if (ci >= 0)
                                        rd->st->chains[ci].exists = true;
                                else if (ours)
                                        rd->st->n_foreign_chains++;
                        }
                } else if (depth == 2 && in_chain && delta == 0) {
                        if (strncmp(line, "type ", 5) == 0 && strstr(line, " hook ")) {
                                if (!ours && rd->live) {
                                        if (rd->live->fw_foreign_nft++ == 0) {
                                                free(rd->live->fw_foreign_nft_first);
                                                rd->live->fw_foreign_nft_first = vnc_strdup_printf(
                                                        "table %s %s chain %s", family, table, chain);
                                        }
                                }
                        } else if (strncmp(line, "policy ", 7) == 0 || line[0] == '#') {
                                /* part of the chain's header, or nft's own remark */
                        } else if (ours && ci >= 0)
                                read_our_rule(rd, (size_t)ci, line, handle);
                }
                depth += delta;
                if (depth < 0)
                        depth = 0;
                if (depth <= 1)
                        in_chain = false;
                if (depth == 0)
                        ours = skip = false;
        }
        if (rd->error)
                return rd->error;
        if (rd->st->n_rules > 1)
                qsort(rd->st->rules, rd->st->n_rules, sizeof(*rd->st->rules), cmp_nrule);
        return 0;
}

/* Does our table hold chain i of vnc_fw_chains, hooked (a jump from its parent)? */
static bool chain_hooked(const struct nstate *st, size_t i) {
        const struct nchain *c = &st->chains[i];
        ssize_t p = c->parent ? chain_index(st, c->parent) : -1;
        if (!c->exists || p < 0 || !st->chains[p].exists)
                return false;
        for (size_t k = 0; k < st->chains[p].n_jumps && k < ELEMENTSOF(st->chains[p].jumps); k++)
                if (streq(st->chains[p].jumps[k].target, c->name))
                        return true;
        return false;
}

/* ---- the commands of a run ---- */

struct run {
        struct nstate st;
        FILE *cmds;
        size_t n_cmds;
};

_printf_(2, 3) static void cmd(struct run *rn, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vfprintf(rn->cmds, fmt, ap);
        va_end(ap);
        fputc('\n', rn->cmds);
        rn->n_cmds++;
}

static void add_jump(struct run *rn, struct nchain *from, const char *to) {
        cmd(rn, "add rule " TABLE " %s jump %s", from->name, to);
        if (from->n_jumps < ELEMENTSOF(from->jumps)) {
                snprintf(from->jumps[from->n_jumps].target, sizeof(from->jumps[0].target), "%s", to);
                from->jumps[from->n_jumps].handle = 0;
        }
        from->n_jumps++;
}

static int chains_create(struct run *rn, uint8_t table) {
        struct nstate *st = &rn->st;

        if (!st->table) {
                cmd(rn, "add table " TABLE);
                st->table = true;
        }
        for (size_t i = 0; i < st->n_chains; i++) {
                struct nchain *c = &st->chains[i];
                if (c->table != table || c->exists)
                        continue;
                if (c->base)
                        cmd(rn, "add chain " TABLE " %s { %s }", c->name, c->base->spec);
                else
                        cmd(rn, "add chain " TABLE " %s", c->name);
                c->exists = true;
        }
        /* Each parent jumps to exactly its children, in vnc_fw_chains order. */
        for (size_t p = 0; p < st->n_chains; p++) {
                struct nchain *pc = &st->chains[p];
                const char *want[N_CHAINS];
                size_t n_want = 0;
                if (pc->table != table)
                        continue;
                for (size_t k = 0; k < vnc_fw_n_chains; k++)
                        if (st->chains[k].parent && streq(st->chains[k].parent, pc->name))
                                want[n_want++] = st->chains[k].name;
                if (n_want == 0)
                        continue;
                bool same = pc->n_jumps == n_want;
                for (size_t k = 0; same && k < n_want; k++)
                        same = streq(pc->jumps[k].target, want[k]);
                if (same)
                        continue;
                for (size_t k = 0; k < pc->n_jumps && k < ELEMENTSOF(pc->jumps); k++)
                        if (pc->jumps[k].handle)
                                cmd(rn, "delete rule " TABLE " %s handle %" PRIu64, pc->name, pc->jumps[k].handle);
                if (pc->n_jumps > ELEMENTSOF(pc->jumps))
                        return -E2BIG;
                pc->n_jumps = 0;
                for (size_t k = 0; k < n_want; k++)
                        add_jump(rn, pc, want[k]);
        }
        return 0;
}

/* Remove the table's chains when no rule is left in them but the jumps between them. */
static void chains_delete(struct run *rn, uint8_t table) {
        struct nstate *st = &rn->st;
        bool any = false;

        for (size_t i = 0; i < st->n_chains; i++) {
                const struct nchain *c = &st->chains[i];
                if (c->table != table || !c->exists)
                        continue;
                if (c->n_rules > 0)
                        return; /* still in use (another profile, or someone's rule) */
                any = true;
        }
        if (!any)
                return;
        /* Flush all first (jumps go), then delete: a chain still jumped to cannot go. */
        for (size_t i = 0; i < st->n_chains; i++) {
                struct nchain *c = &st->chains[i];
                if (c->table == table && c->exists && c->n_jumps > 0) {
                        cmd(rn, "flush chain " TABLE " %s", c->name);
                        c->n_jumps = 0;
                }
        }
        for (int base = 1; base >= 0; base--)
                for (size_t i = 0; i < st->n_chains; i++) {
                        struct nchain *c = &st->chains[i];
                        if (c->table == table && c->exists && !!c->base == base) {
                                cmd(rn, "delete chain " TABLE " %s", c->name);
                                c->exists = false;
                        }
                }
        for (size_t i = 0; i < st->n_chains; i++)
                if (st->chains[i].exists)
                        return;
        if (st->table && st->n_foreign_chains == 0) {
                cmd(rn, "delete table " TABLE);
                st->table = false;
        }
}

static int rule_error(struct vnc_error *e, int code, const struct vnc_fw_rule *r, const char *what,
                      const char *detail) {
        _cleanup_free_ char *text = vnc_fw_rule_render_nft(r);
        vnc_error_set(e, VNC_ERR_RUNTIME, code, "nftables rule \"%s\": %s", text ? text : r->comment, what);
        if (detail)
                vnc_error_detail(e, "%s", detail);
        return code;
}

static int rule_check(const struct vnc_fw_rule *r, ssize_t ci, struct vnc_error *e) {
        if (ci < 0 || (size_t)ci >= vnc_fw_n_chains || vnc_fw_chains[ci].table != r->table)
                return rule_error(e, -EPERM, r, "refused", "not one of vnetcfg's chains in this table");
        if (strncmp(r->comment, COMMENT_PREFIX, strlen(COMMENT_PREFIX)) != 0 ||
            strnlen(r->comment, sizeof(r->comment)) >= sizeof(r->comment) || strchr(r->comment, '"'))
                return rule_error(e, -EINVAL, r, "refused", "the rule is not sealed with a vnetcfg comment");
        bool nat_target = r->target == VNC_FW_MASQUERADE || r->target == VNC_FW_DNAT;
        if (nat_target != (r->table == VNC_FW_TABLE_NAT) && r->target != VNC_FW_RETURN)
                return rule_error(e, -EINVAL, r, "refused",
                                  r->table == VNC_FW_TABLE_NAT ? "only return, masquerade and dnat belong in nat chains"
                                                               : "masquerade and dnat belong in nat chains");
        return 0;
}

static int rule_create(struct run *rn, const struct vnc_fw_rule *r, struct vnc_error *e) {
        ssize_t ci = chain_index(&rn->st, r->chain);
        if (r->opaque)
                return 0; /* the undo of deleting a rule nobody can rebuild */
        int k = rule_check(r, ci, e);
        if (k < 0)
                return k;
        if (find_rule(&rn->st, (size_t)ci, r->comment))
                return 0;
        if (!rn->st.chains[ci].exists)
                return rule_error(e, -ENOENT, r, "could not add", "the chain does not exist");
        _cleanup_free_ char *text = vnc_fw_rule_render_nft(r);
        if (!text)
                return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
        /* Inserted first or appended, as in the iptables backend (vnc_fw_rule_appends). */
        cmd(rn, "%s rule " TABLE " %s", vnc_fw_rule_appends(r) ? "add" : "insert", text);
        rn->st.chains[ci].n_rules++;
        return 0;
}

static int rule_delete(struct run *rn, const struct vnc_fw_rule *r, struct vnc_error *e) {
        ssize_t ci = chain_index(&rn->st, r->chain);
        /* Never delete what is not ours. */
        if (ci < 0 || (size_t)ci >= vnc_fw_n_chains || strncmp(r->comment, COMMENT_PREFIX, strlen(COMMENT_PREFIX)) != 0)
                return rule_error(e, -EPERM, r, "refused", "not a vnetcfg rule in one of vnetcfg's chains");
        struct nrule *nr = find_rule(&rn->st, (size_t)ci, r->comment);
        if (!nr || !nr->handle)
                return 0; /* already absent */
        cmd(rn, "delete rule " TABLE " %s handle %" PRIu64, r->chain, nr->handle);
        nr->alive = false;
        rn->st.chains[ci].n_rules--;
        return 0;
}

static int action_cmds(struct run *rn, const struct vnc_action *a, struct vnc_error *e) {
        int tb = a->rule.table;
        if (tb < 0 || tb >= _VNC_FW_TABLE_MAX)
                return vnc_error_set(e, VNC_ERR_RUNTIME, -EINVAL, "nftables: an action has no valid table");
        switch (a->kind) {
        case VNC_ACT_FW_CHAINS:
                if (a->op == VNC_OP_CREATE) {
                        int r = chains_create(rn, (uint8_t)tb);
                        if (r < 0)
                                return vnc_error_set(e, VNC_ERR_RUNTIME, r, "nftables table \"" TABLE
                                                     "\": too many jumps in one of vnetcfg's chains");
                        return 0;
                }
                if (a->op == VNC_OP_DELETE) {
                        chains_delete(rn, (uint8_t)tb);
                        return 0;
                }
                break;
        case VNC_ACT_FW_RULE:
                if (a->op == VNC_OP_CREATE)
                        return rule_create(rn, &a->rule, e);
                if (a->op == VNC_OP_DELETE)
                        return rule_delete(rn, &a->rule, e);
                break;
        default:
                break;
        }
        return vnc_error_set(e, VNC_ERR_RUNTIME, -EOPNOTSUPP, "nftables: %s %s is not supported",
                             vnc_action_op_to_string(a->op), vnc_action_kind_to_string(a->kind));
}

/* Read our table (absent is empty). */
static int read_table(struct nft_ctx *nft, struct nstate *st, struct vnc_error *e) {
        nstate_init(st);
        if (vnc_record_on()) {
                /* The recorded host's table (tests/record). */
                _cleanup_free_ char *text = vnc_record_nft_list();
                struct reader rd = {.st = st};
                int r = text ? read_text(&rd, text) : 0;
                return r < 0 ? vnc_error_set(e, VNC_ERR_RUNTIME, r, "out of memory") : 0;
        }
        if (nft_run_cmd_from_buffer(nft, "list table " TABLE) != 0) {
                const char *err = nft_ctx_get_error_buffer(nft);
                if (err && strstr(err, "No such file or directory"))
                        return 0;
                _cleanup_free_ char *msg = nft_error_text(nft);
                vnc_error_set(e, VNC_ERR_RUNTIME, -EIO, "nftables table \"" TABLE "\": could not read");
                vnc_error_detail(e, "%s", msg ? msg : "?");
                return -EIO;
        }
        struct reader rd = {.st = st};
        int r = read_text(&rd, nft_ctx_get_output_buffer(nft));
        if (r < 0)
                return vnc_error_set(e, VNC_ERR_RUNTIME, r, "out of memory");
        return 0;
}

static bool nft_handles(enum vnc_action_kind k) {
        return k == VNC_ACT_FW_CHAINS || k == VNC_ACT_FW_RULE;
}

static bool nft_handles_action(const struct vnc_action *a) {
        return nft_handles(a->kind) && vnc_fw_rule_is_nft(&a->rule);
}

/* Undo after a refused transaction: each command on its own, the first error kept. */
static int run_each(struct nft_ctx *nft, char *buf, size_t n_total, struct vnc_error *e) {
        int first = 0;
        for (char *line = buf, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                if (nft_run_cmd_from_buffer(nft, line) != 0 && first == 0) {
                        _cleanup_free_ char *msg = nft_error_text(nft);
                        vnc_error_set(e, VNC_ERR_RUNTIME, -EIO, "nftables table \"" TABLE "\": could not undo %zu "
                                      "firewall actions", n_total);
                        vnc_error_detail(e, "%s", msg ? msg : "?");
                        first = -EIO;
                }
        }
        return first;
}

static int nft_run(struct vnc_backend_ctx *ctx, const struct vnc_action *acts, size_t n, unsigned flags,
                   size_t *ret_done, struct vnc_error *e) {
        bool undo = flags & VNC_RUN_UNDO;
        _cleanup_nft_ struct nft_ctx *nft = NULL;
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        struct run rn = {0};
        int r, first = 0;

        *ret_done = 0;
        (void)ctx;
        if (n == 0)
                return 0;
        nft = nft_open();
        if (!nft)
                return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "nftables: could not make a libnftables context");
        r = read_table(nft, &rn.st, e);
        if (r < 0)
                goto out;
        rn.cmds = open_memstream(&buf, &size);
        if (!rn.cmds) {
                r = vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
                goto out;
        }
        for (size_t i = 0; i < n; i++) {
                int q = action_cmds(&rn, &acts[i], e);
                if (q < 0) {
                        if (first == 0)
                                first = q;
                        if (!undo)
                                break;
                }
        }
        fclose(rn.cmds);
        rn.cmds = NULL;
        if (first < 0 && !undo) {
                r = first;
                goto out;
        }
        if (rn.n_cmds > 0 && vnc_record_on()) {
                r = vnc_record_nft_run(buf);
                if (r < 0) {
                        vnc_error_set(e, VNC_ERR_RUNTIME, r, "nftables table \"" TABLE "\": the recorded host refused "
                                      "the transaction");
                        goto out;
                }
        } else if (rn.n_cmds > 0 && nft_run_cmd_from_buffer(nft, buf) != 0) {
                if (undo) {
                        r = run_each(nft, buf, n, e);
                        if (first == 0)
                                first = r;
                        r = first;
                        goto out;
                }
                _cleanup_free_ char *msg = nft_error_text(nft);
                vnc_error_set(e, VNC_ERR_RUNTIME, -EIO, "nftables table \"" TABLE "\": could not commit %zu firewall "
                              "actions", n);
                vnc_error_detail(e, "%s", msg ? msg : "?");
                r = -EIO;
                goto out;
        }
        r = first;
        if (r == 0)
                *ret_done = n;
out:
        if (rn.cmds)
                fclose(rn.cmds);
        nstate_done(&rn.st);
        return r;
}

const struct vnc_backend_ops vnc_backend_nft = {
        .name = "nftables",
        .handles = nft_handles,
        .handles_action = nft_handles_action,
        .run = nft_run,
};

/* ---- live state ---- */

/*
 * What the host's `iptables` command is, read as `iptables -V` would say it but
 * without running it: the chain of links from /usr/sbin/iptables (Debian's
 * alternatives: -> /etc/alternatives/iptables -> /usr/sbin/iptables-nft).
 */
static void read_iptables_kind(struct vnc_live *live) {
        static const char *const paths[] = {"/usr/sbin/iptables", "/sbin/iptables"};
        char path[PATH_MAX], target[PATH_MAX];
        _cleanup_free_ char *how = NULL;

        live->fw_host_iptables = VNC_FW_AUTO;
        for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
                struct stat st;
                if (lstat(paths[i], &st) == 0) {
                        snprintf(path, sizeof(path), "%s", paths[i]);
                        how = strdup(path);
                        break;
                }
        }
        if (!how)
                return;
        for (int hop = 0; hop < 8; hop++) {
                ssize_t n = readlink(path, target, sizeof(target) - 1);
                if (n < 0)
                        break;
                target[n] = 0;
                if (target[0] != '/') {
                        /* relative to the link's directory */
                        char dir[PATH_MAX];
                        snprintf(dir, sizeof(dir), "%s", path);
                        char *slash = strrchr(dir, '/');
                        if (slash)
                                *slash = 0;
                        snprintf(path, sizeof(path), "%.2000s/%.2000s", dir, target);
                } else
                        snprintf(path, sizeof(path), "%s", target);
                char *more = vnc_strdup_printf("%s -> %s", how, path);
                if (!more)
                        return;
                free(how);
                how = more;
        }
        const char *base = strrchr(how, '/');
        base = base ? base + 1 : how;
        if (strstr(base, "nft"))
                live->fw_host_iptables = VNC_FW_NFTABLES;
        else if (strstr(base, "legacy") || streq(base, "xtables-multi") || streq(base, "iptables"))
                live->fw_host_iptables = VNC_FW_IPTABLES;
        free(live->fw_host_iptables_how);
        live->fw_host_iptables_how = TAKE_PTR(how);
}

int vnc_nft_live_read(struct vnc_live *live, struct vnc_error *e) {
        _cleanup_nft_ struct nft_ctx *nft = NULL;
        struct nstate st;
        int r;

        if (vnc_record_on())
                vnc_record_iptables_kind(live);
        else
                read_iptables_kind(live);
        live->nft_available = false;
        live->nft_chains = 0;
        live->fw_foreign_nft = 0;
        nft = nft_open();
        if (!nft)
                return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "nftables: could not make a libnftables context");
        nstate_init(&st);
        _cleanup_free_ char *recorded = NULL;
        if (vnc_record_on()) {
                /* The recorded host's ruleset: our table, if any, and the host's own (tests/record). */
                recorded = vnc_record_nft_list_ruleset();
                if (!recorded && !(recorded = strdup("")))
                        return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
        }
        struct reader rd = {.st = &st, .live = live};
        if (recorded) {
                r = read_text(&rd, recorded);
        } else {
                /*
                 * Only what is needed: every table's chains without their rules (the foreign base
                 * chains), then our table whole when it is there. "list ruleset" also turned every
                 * rule of every other table into text: thousands on a host with firewalld or Docker.
                 */
                struct reader chains = {.st = &st, .live = live, .skip_ours = true};
                bool failed = nft_run_cmd_from_buffer(nft, "list chains") != 0;
                r = failed ? 0 : read_text(&chains, nft_ctx_get_output_buffer(nft));
                if (!failed && r >= 0 && chains.saw_ours) {
                        failed = nft_run_cmd_from_buffer(nft, "list table " TABLE) != 0;
                        r = failed ? 0 : read_text(&rd, nft_ctx_get_output_buffer(nft));
                }
                if (failed) {
                        /* as when nothing could be listed: no foreign chain either */
                        nstate_done(&st);
                        live->fw_foreign_nft = 0;
                        free(live->fw_foreign_nft_first);
                        live->fw_foreign_nft_first = NULL;
                        free(live->nft_error);
                        live->nft_error = nft_error_text(nft);
                        return live->nft_error ? 0 : vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
                }
        }
        if (r >= 0) {
                live->nft_available = true;
                for (size_t i = 0; i < vnc_fw_n_chains; i++)
                        if (chain_hooked(&st, i))
                                live->nft_chains |= 1U << i;
        }
        nstate_done(&st);
        if (r < 0)
                return vnc_error_set(e, VNC_ERR_RUNTIME, r, "out of memory");
        return 0;
}
