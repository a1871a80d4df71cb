/* SPDX-License-Identifier: MIT */
/*
 * Openings in a foreign firewall (core/open.h): marked accept rules at the top
 * of the INPUT/FORWARD chains of the iptables variant the host's firewall uses.
 *
 * iptables-nft (ufw, Docker on Debian 12): nftables "table ip filter", written
 * through libnftables with only the expressions iptables-nft reads back
 * (iifname/oifname, ip saddr/daddr prefixes, meta l4proto, tcp/udp ports, icmp
 * type, counter, accept, the comment as rule user data), so `iptables -S`
 * prints them as ordinary rules with their comment. All openings of one run go
 * in one transaction; they are found again by their comment and deleted by handle.
 *
 * firewalld goes through D-Bus (fwd-dbus.c). The legacy tables are refused until they are written.
 */
#include <netinet/in.h>
#include <nftables/libnftables.h>
#include <stdio.h>

#include "backend.h"
#include "fw-open.h"
#include "open.h"

struct nft_opening {
        char chain[32];
        char *comment;
        unsigned long long handle;
};

struct nft_filter {
        bool exists;
        uint8_t need; /* VNC_OPEN_INPUT/FORWARD */
        struct nft_opening *o;
        size_t n, alloc;
};

static void nft_filter_done(struct nft_filter *f) {
        for (size_t i = 0; i < f->n; i++)
                free(f->o[i].comment);
        free(f->o);
        *f = (struct nft_filter){0};
}

static void nft_freep(struct nft_ctx **c) {
        if (*c)
                nft_ctx_free(*c);
}

static struct nft_ctx *nft_open(void) {
        struct nft_ctx *c = nft_ctx_new(NFT_CTX_DEFAULT);
        if (!c)
                return NULL;
        nft_ctx_output_set_flags(c, NFT_CTX_OUTPUT_HANDLE);
        if (nft_ctx_buffer_output(c) < 0 || nft_ctx_buffer_error(c) < 0) {
                nft_ctx_free(c);
                return NULL;
        }
        return c;
}

static unsigned chain_bit(const char *chain) {
        return streq(chain, "INPUT") ? VNC_OPEN_INPUT : streq(chain, "FORWARD") ? VNC_OPEN_FORWARD : 0;
}

/* Would a rule of a foreign firewall (a line of `nft list`) stop a packet, here or in a chain it jumps to? */
static bool rule_may_drop(const char *line) {
        static const char *const words[] = {" drop", " reject", "jump ", "goto ", "xt target", "queue"};
        for (size_t i = 0; i < ELEMENTSOF(words); i++)
                if (strstr(line, words[i]))
                        return true;
        return false;
}

/*
 * Read "table ip filter" as `nft -a list table ip filter` prints it: which of
 * INPUT/FORWARD drop (policy or a foreign rule), and the rules carrying a
 * "vnetcfg:" comment there with their handles.
 */
static int nft_filter_read(struct nft_ctx *c, struct nft_filter *ret) {
        char chain[32] = "";

        *ret = (struct nft_filter){0};
        if (nft_run_cmd_from_buffer(c, "list table ip filter") != 0)
                return 0; /* no such table: no iptables-nft firewall */
        ret->exists = true;
        _cleanup_free_ char *text = strdup(nft_ctx_get_output_buffer(c));
        if (!text)
                return -ENOMEM;
        char *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                while (*line == ' ' || *line == '\t')
                        line++;
                if (strncmp(line, "chain ", 6) == 0) {
                        snprintf(chain, sizeof(chain), "%.*s", (int)strcspn(line + 6, " {"), line + 6);
                        continue;
                }
                unsigned bit = chain_bit(chain);
                if (!bit || *line == '}' || *line == '#' || *line == 0)
                        continue;
                if (strncmp(line, "type ", 5) == 0) {
                        if (strstr(line, "policy drop"))
                                ret->need |= bit;
                        continue;
                }
                const char *mark = strstr(line, "comment \"vnetcfg:");
                if (!mark) {
                        if (rule_may_drop(line))
                                ret->need |= bit;
                        continue;
                }
                mark += strlen("comment \"");
                const char *h = strstr(line, "# handle ");
                if (VNC_GROW(ret->o, ret->alloc, ret->n + 1) < 0)
                        return -ENOMEM;
                struct nft_opening *o = &ret->o[ret->n];
                *o = (struct nft_opening){.handle = h ? strtoull(h + 9, NULL, 10) : 0};
                snprintf(o->chain, sizeof(o->chain), "%s", chain);
                o->comment = strndup(mark, strcspn(mark, "\""));
                if (!o->comment)
                        return -ENOMEM;
                ret->n++;
        }
        return 0;
}

static const struct nft_opening *nft_find(const struct nft_filter *f, const char *chain, const char *comment) {
        for (size_t i = 0; i < f->n; i++)
                if (streq(f->o[i].chain, chain) && streq(f->o[i].comment, comment))
                        return &f->o[i];
        return NULL;
}

/* The rule in nft syntax, with only what iptables-nft parses back. */
static void nft_render(FILE *f, const struct vnc_fw_rule *r) {
        static const char *const l4[256] = {[IPPROTO_TCP] = "tcp", [IPPROTO_UDP] = "udp", [IPPROTO_ICMP] = "icmp"};
        char ip[16];

        fprintf(f, "insert rule ip filter %s", r->chain);
        if (r->in[0])
                fprintf(f, " iifname %s\"%s\"", r->not_in ? "!= " : "", r->in);
        if (r->out[0])
                fprintf(f, " oifname %s\"%s\"", r->not_out ? "!= " : "", r->out);
        if (r->has_src)
                fprintf(f, " ip saddr %s/%u", vnc_ipv4_str(r->src.addr, ip), r->src.prefix);
        if (r->has_dst)
                fprintf(f, " ip daddr %s%s/%u", r->not_dst ? "!= " : "", vnc_ipv4_str(r->dst.addr, ip), r->dst.prefix);
        if (r->proto && l4[r->proto]) {
                if ((r->proto == IPPROTO_TCP || r->proto == IPPROTO_UDP) && (r->sport || r->dport)) {
                        if (r->sport)
                                fprintf(f, " %s sport %u", l4[r->proto], r->sport);
                        if (r->dport)
                                fprintf(f, " %s dport %u", l4[r->proto], r->dport);
                } else
                        fprintf(f, " meta l4proto %s", l4[r->proto]);
                if (r->proto == IPPROTO_ICMP && r->icmp_type == 8)
                        fprintf(f, " icmp type echo-request");
                else if (r->proto == IPPROTO_ICMP && r->icmp_type == 0)
                        fprintf(f, " icmp type echo-reply");
                else if (r->proto == IPPROTO_ICMP && r->icmp_type > 0)
                        fprintf(f, " icmp type %d", r->icmp_type);
        }
        fprintf(f, " counter accept comment \"%s\"\n", r->comment);
}

static int nft_error(struct nft_ctx *c, const struct vnc_action *a, const char *what, struct vnc_error *e) {
        _cleanup_free_ char *name = vnc_action_name(a);
        int r = vnc_error_set(e, VNC_ERR_RUNTIME, -EIO, "opening in the host's firewall \"%s\": could not %s",
                              name ? name : "", what);
        const char *msg = c ? nft_ctx_get_error_buffer(c) : NULL;
        if (msg && *msg)
                vnc_error_detail(e, "%s", msg);
        return r;
}

/* iptables-nft openings: one read, one transaction. */
static int run_nft(const struct vnc_action *acts, size_t n, unsigned flags, struct vnc_error *e) {
        _cleanup_(nft_freep) struct nft_ctx *c = nft_open();
        _cleanup_(nft_filter_done) struct nft_filter live = {0};
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, cmds = 0;
        int r;

        if (!c)
                return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "could not open libnftables");
        r = nft_filter_read(c, &live);
        if (r < 0)
                return vnc_error_set(e, VNC_ERR_RUNTIME, r, "out of memory reading the nftables filter table");
        FILE *f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const struct vnc_action *a = &acts[i];
                const struct nft_opening *o = nft_find(&live, a->rule.chain, a->rule.comment);
                if (a->op == VNC_OP_CREATE) {
                        if (o)
                                continue; /* already there (a repeated run) */
                        if (!live.exists) {
                                if (flags & VNC_RUN_UNDO)
                                        continue;
                                fclose(f);
                                return nft_error(NULL, a, "insert it: there is no table ip filter", e);
                        }
                        nft_render(f, &a->rule);
                } else {
                        if (!o)
                                continue; /* gone already (the foreign firewall reloaded) */
                        fprintf(f, "delete rule ip filter %s handle %llu\n", o->chain, o->handle);
                }
                cmds++;
        }
        if (fclose(f) != 0)
                return -ENOMEM;
        if (cmds == 0)
                return 0;
        if (nft_run_cmd_from_buffer(c, buf) != 0)
                return nft_error(c, &acts[0], n > 1 ? "commit it (with the others of this run)" : "commit it", e);
        return 0;
}

static bool open_handles(enum vnc_action_kind k) {
        return k == VNC_ACT_FW_OPEN;
}

static int open_run(struct vnc_backend_ctx *ctx, const struct vnc_action *acts, size_t n, unsigned flags,
                    size_t *ret_done, struct vnc_error *e) {
        int first = 0;

        *ret_done = 0;
        /* Runs of one place each: iptables-nft as one transaction, the others one by one. */
        for (size_t i = 0; i < n;) {
                size_t k = i + 1;
                while (k < n && acts[k].place == acts[i].place)
                        k++;
                int r;
                switch (acts[i].place) {
                case VNC_OPEN_IPT_NFT:
                        r = run_nft(acts + i, k - i, flags, e);
                        break;
                case VNC_OPEN_FIREWALLD:
                        r = vnc_fwd_run(ctx, acts + i, k - i, flags, e);
                        break;
                default:
                        r = vnc_error_set(e, VNC_ERR_RUNTIME, -EOPNOTSUPP, "openings in \"%s\" are not supported",
                                          vnc_open_place_to_string(acts[i].place));
                }
                if (r < 0) {
                        if (first == 0)
                                first = r;
                        if (!(flags & VNC_RUN_UNDO))
                                return first;
                } else if (first == 0)
                        *ret_done = k;
                i = k;
        }
        return first;
}

const struct vnc_backend_ops vnc_backend_open = {
        .name = "openings",
        .handles = open_handles,
        .run = open_run,
};

int vnc_open_live_read(struct vnc_live *live, struct vnc_error *e) {
        _cleanup_(nft_freep) struct nft_ctx *c = nft_open();
        _cleanup_(nft_filter_done) struct nft_filter f = {0};
        int r;

        if (!c)
                return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "could not open libnftables");
        r = nft_filter_read(c, &f);
        if (r < 0)
                return vnc_error_set(e, VNC_ERR_RUNTIME, r, "out of memory reading the nftables filter table");
        live->open_need[VNC_OPEN_IPT_NFT] = f.need;
        for (size_t i = 0; i < f.n; i++)
                if ((r = vnc_live_add_opening(live, VNC_OPEN_IPT_NFT, f.o[i].chain, f.o[i].comment)) < 0)
                        return vnc_error_set(e, VNC_ERR_RUNTIME, r, "out of memory");
        return vnc_fwd_live_read(live, e);
}
