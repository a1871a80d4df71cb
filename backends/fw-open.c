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
 * The legacy x_tables (an administrator's iptables-legacy rules, with
 * firewall.backend nftables): the same marked rules at the top of the filter
 * INPUT/FORWARD chains through libiptc, built by fw-iptc.c's rule builder; all
 * openings of one run in one commit of the filter table.
 *
 * firewalld goes through D-Bus (fwd-dbus.c).
 *
 * On a recorded host (tests/record, backends/record.h) the same code runs: the
 * filter table is read from and the transaction sent to the recorded ruleset,
 * and libiptc's calls go to the recorded legacy tables (record-iptc.c).
 */
#include <libiptc/libiptc.h>
#include <netinet/in.h>
#include <nftables/libnftables.h>
#include <stdio.h>

#include "backends.h"
#include "record.h"
#include "record-iptc.h"
#include "fw-open.h"
#include "fw.h"
#include "open.h"
#include "xt.h"

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
        _cleanup_free_ char *text = NULL;
        char chain[32] = "";

        *ret = (struct nft_filter){0};
        if (vnc_record_on()) {
                if (!(text = vnc_record_nft_list_table("ip", "filter")))
                        return 0;
        } else if (nft_run_cmd_from_buffer(c, "list table ip filter") != 0)
                return 0; /* no such table: no iptables-nft firewall */
        else if (!(text = strdup(nft_ctx_get_output_buffer(c))))
                return -ENOMEM;
        ret->exists = true;
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
                        /* As in the legacy tables: a mark read back by its comment only (an orphan of
                         * another generation) would come back as an unconditional accept: never made. */
                        if (!a->rule.in[0] && !a->rule.out[0]) {
                                if (flags & VNC_RUN_UNDO)
                                        continue;
                                fclose(f);
                                return nft_error(NULL, a, "insert it: an opening names its bridge", e);
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
        if (vnc_record_on() ? vnc_record_nft_run(buf) < 0 : nft_run_cmd_from_buffer(c, buf) != 0)
                return nft_error(c, &acts[0], n > 1 ? "commit it (with the others of this run)" : "commit it", e);
        return 0;
}

/* ---- the legacy x_tables: an administrator's iptables-legacy filter table ---- */

static void iptc_handle_freep(struct xtc_handle **h) {
        if (*h)
                IPTC(free)(*h);
}

/* Is there a legacy filter table (reading must not make one)? */
static int legacy_filter_instantiated(void) {
        return vnc_record_on() ? vnc_record_iptc_exists("filter") : vnc_xt_table_instantiated("filter");
}

static bool legacy_is_ours(const char *target) {
        for (size_t i = 0; i < vnc_fw_n_chains; i++)
                if (vnc_fw_chains[i].table == VNC_FW_TABLE_FILTER && streq(vnc_fw_chains[i].chain, target))
                        return true;
        return false;
}

static bool legacy_is_mark(const char *comment) {
        return comment && strncmp(comment, "vnetcfg:", strlen("vnetcfg:")) == 0;
}

/*
 * Would the rule stop a packet, here or in a chain it jumps to? A DROP/REJECT,
 * a queue, or a jump into a chain that is not vnetcfg's. With backend
 * iptables, vnetcfg's own jumps come first in INPUT/FORWARD (chains_create
 * inserts them at the top), and they are not foreign.
 */
static bool legacy_may_drop(struct xtc_handle *h, const char *target) {
        if (!target || !*target || streq(target, IPTC_LABEL_ACCEPT) || streq(target, IPTC_LABEL_RETURN))
                return false;
        if (streq(target, IPTC_LABEL_DROP) || streq(target, "REJECT") || streq(target, IPTC_LABEL_QUEUE) ||
            streq(target, "NFQUEUE"))
                return true;
        return IPTC(is_chain)(target, h) && !legacy_is_ours(target);
}

/* Rule number (0-based) of the opening with this comment in chain, or -1. */
static int legacy_find(struct xtc_handle *h, const char *chain, const char *comment) {
        int i = 0;
        if (!IPTC(is_chain)(chain, h))
                return -1;
        for (const struct ipt_entry *en = IPTC(first_rule)(chain, h); en; en = IPTC(next_rule)(en, h), i++) {
                const char *c = vnc_iptc_entry_comment(en);
                if (c && streq(c, comment))
                        return i;
        }
        return -1;
}

static int legacy_read(struct vnc_live *live, struct vnc_error *e) {
        static const char *const chains[] = {"INPUT", "FORWARD"};
        _cleanup_(iptc_handle_freep) struct xtc_handle *h = NULL;

        live->open_need[VNC_OPEN_IPT_LEGACY] = 0;
        /* Reading must not make the table; a host without legacy tables has nothing there to open. */
        if (legacy_filter_instantiated() == 0)
                return 0;
        h = IPTC(init)("filter");
        if (!h)
                return 0;
        for (size_t k = 0; k < ELEMENTSOF(chains); k++) {
                const char *chain = chains[k];
                unsigned bit = chain_bit(chain);
                struct xt_counters cnt;
                if (!IPTC(is_chain)(chain, h))
                        continue;
                const char *pol = IPTC(get_policy)(chain, &cnt, h);
                if (pol && !streq(pol, IPTC_LABEL_ACCEPT))
                        live->open_need[VNC_OPEN_IPT_LEGACY] |= bit;
                for (const struct ipt_entry *en = IPTC(first_rule)(chain, h); en; en = IPTC(next_rule)(en, h)) {
                        const char *c = vnc_iptc_entry_comment(en);
                        if (legacy_is_mark(c)) {
                                if (vnc_live_add_opening(live, VNC_OPEN_IPT_LEGACY, chain, c) < 0)
                                        return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
                                continue;
                        }
                        if (legacy_may_drop(h, IPTC(get_target)(en, h)))
                                live->open_need[VNC_OPEN_IPT_LEGACY] |= bit;
                }
        }
        return 0;
}

static int legacy_error(const struct vnc_action *a, int code, const char *what, const char *detail,
                        struct vnc_error *e) {
        _cleanup_free_ char *name = vnc_action_name(a);
        vnc_error_set(e, VNC_ERR_RUNTIME, code, "opening in the host's firewall \"%s\" (iptables-legacy): could not %s",
                      name ? name : "", what);
        if (detail)
                vnc_error_detail(e, "%s", detail);
        return code;
}

/* Legacy openings: one read of the filter table, every change in order, one commit. */
static int run_legacy(const struct vnc_action *acts, size_t n, unsigned flags, struct vnc_error *e) {
        bool undo = flags & VNC_RUN_UNDO, any_create = false, changed = false;
        _cleanup_(iptc_handle_freep) struct xtc_handle *h = NULL;
        _cleanup_close_ int lock_fd = -1;
        int first = 0, r;

        for (size_t i = 0; i < n; i++)
                any_create = any_create || acts[i].op == VNC_OP_CREATE;
        /* Nothing to delete from a table that does not exist (and reading it would make it). */
        if (!any_create && legacy_filter_instantiated() == 0)
                return 0;
        r = vnc_record_on() ? 0 : vnc_xtables_lock(&lock_fd, e);
        if (r < 0)
                return r;
        h = IPTC(init)("filter");
        if (!h) {
                int err = errno;
                return legacy_error(&acts[0], err > 0 ? -err : -EIO, "read the filter table", iptc_strerror(err), e);
        }
        for (size_t i = 0; i < n; i++) {
                const struct vnc_action *a = &acts[i];
                const struct vnc_fw_rule *rule = &a->rule;
                xt_chainlabel chain = {0};
                int q = 0;

                snprintf(chain, sizeof(chain), "%s", rule->chain);
                /* Only marked accepts at the top of INPUT/FORWARD: nothing else of the host's is touched. */
                if (!chain_bit(rule->chain) || !legacy_is_mark(rule->comment) ||
                    (a->op == VNC_OP_CREATE && rule->target != VNC_FW_ACCEPT))
                        q = legacy_error(a, -EPERM, "change it", "only vnetcfg's marked accepts in INPUT/FORWARD", e);
                else if (a->op == VNC_OP_CREATE) {
                        if (legacy_find(h, chain, rule->comment) >= 0)
                                continue; /* already there (a repeated run) */
                        /* A mark nobody can rebuild (an orphan of another generation, read back by its
                         * comment only) would come back as an unconditional accept: never made. */
                        if (!rule->in[0] && !rule->out[0]) {
                                if (undo)
                                        continue;
                                q = legacy_error(a, -EPERM, "insert it", "an opening names its bridge", e);
                                goto failed;
                        }
                        _cleanup_free_ struct ipt_entry *en = NULL;
                        q = vnc_iptc_entry_new(rule, &en);
                        if (q < 0)
                                q = legacy_error(a, q, "build it", strerror(-q), e);
                        else if (!IPTC(insert_entry)(chain, en, 0, h)) {
                                int err = errno;
                                q = legacy_error(a, err > 0 ? -err : -EIO, "insert it", iptc_strerror(err), e);
                        } else
                                changed = true;
                } else {
                        int pos = legacy_find(h, chain, rule->comment);
                        if (pos < 0)
                                continue; /* gone already (the administrator's reload) */
                        if (!IPTC(delete_num_entry)(chain, (unsigned)pos, h)) {
                                int err = errno;
                                q = legacy_error(a, err > 0 ? -err : -EIO, "delete it", iptc_strerror(err), e);
                        } else
                                changed = true;
                }
        failed:
                if (q < 0) {
                        if (first == 0)
                                first = q;
                        if (!undo)
                                return first; /* nothing committed: the table is as it was */
                }
        }
        if (changed && !IPTC(commit)(h)) {
                int err = errno;
                int q = legacy_error(&acts[0], err > 0 ? -err : -EIO,
                                     n > 1 ? "commit it (with the others of this run)" : "commit it",
                                     iptc_strerror(err), e);
                if (first == 0)
                        first = q;
        }
        return first;
}

static bool open_handles(enum vnc_action_kind k) {
        return k == VNC_ACT_FW_OPEN;
}

static int open_run(struct vnc_backend_ctx *ctx, const struct vnc_action *acts, size_t n, unsigned flags,
                    size_t *ret_done, struct vnc_error *e) {
        int first = 0;

        *ret_done = 0;
        /* Runs of one place each: iptables-nft as one transaction, the legacy table as one
         * commit, firewalld one by one. */
        for (size_t i = 0; i < n;) {
                size_t k = i + 1;
                while (k < n && acts[k].place == acts[i].place)
                        k++;
                int r;
                switch (acts[i].place) {
                case VNC_OPEN_IPT_NFT:
                        r = run_nft(acts + i, k - i, flags, e);
                        break;
                case VNC_OPEN_IPT_LEGACY:
                        r = run_legacy(acts + i, k - i, flags, e);
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
        r = legacy_read(live, e);
        if (r < 0)
                return r;
        return vnc_fwd_live_read(live, e);
}
