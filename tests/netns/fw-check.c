/* SPDX-License-Identifier: MIT */
/*
 * Drives the iptables (libiptc) firewall backend directly, for
 * test-firewall.sh. Run only inside a private network namespace.
 *
 *   fw-check apply SET...       FW_CHAINS create (filter, nat) + the rules of the sets, one run
 *   fw-check undo SET...        the inverses of "apply SET...", reversed, in undo mode
 *   fw-check chains OP TABLE    one FW_CHAINS action (OP create|delete, TABLE filter|nat)
 *   fw-check render SET...      the rules as vnc_fw_rule_render prints them, one a line
 *   fw-check live [--bits=X] SET...  vnc_fw_live_read must return exactly these rules and chain bits X
 *                               (default: all of them)
 *   fw-check live-bits          print live->fw_chains in hex and fw_available
 *   fw-check fail-early         a filter run with an invalid rule in the middle: nothing committed
 *   fw-check fail-commit        filter rules, then nat rules the kernel refuses: filter committed only
 *   fw-check bench N            chains + N rules in one run, then their undo; prints the times
 *   fw-check bench-single N     the same rules, one run (one commit) per action: the cost avoided
 *
 * Sets: p1 (a dozen rules of every kind, profile p1), p2 (profile p2, one rule).
 * Exit status 1 with a message on any failed check.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "backends.h"
#include "fw.h"
#include "model.h"

#define F VNC_FW_TABLE_FILTER
#define N VNC_FW_TABLE_NAT
#define NET(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))
#define PFX(a, b, c, d, len) ((struct vnc_ipv4_prefix){NET(a, b, c, d), (len)})

static int failures;

static void _printf_(2, 3) fail_at(int line, const char *fmt, ...) {
        va_list ap;
        fprintf(stderr, "fw-check:%d: FAIL: ", line);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        failures++;
}
#define CHECK(cond, ...)                                                       \
        do {                                                                   \
                if (!(cond))                                                   \
                        fail_at(__LINE__, __VA_ARGS__);                        \
        } while (0)

static double now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- rule sets ---- */

/* Profile p1, network net1: bridge vn-a on 10.10.0.0/24, host-only bridge vn-h. Every kind of rule. */
static const struct vnc_fw_rule p1_rules[] = {
        /* guest <-> guest on one bridge */
        {.table = F, .chain = "VNETCFG_FWX", .in = "vn-a", .out = "vn-a", .icmp_type = -1, .target = VNC_FW_ACCEPT},
        /* host-only: nothing in or out */
        {.table = F, .chain = "VNETCFG_FWO", .in = "vn-h", .icmp_type = -1, .target = VNC_FW_REJECT},
        {.table = F, .chain = "VNETCFG_FWI", .out = "vn-h", .icmp_type = -1, .target = VNC_FW_REJECT},
        /* nat: out of the subnet, established back in, port forward in, reject the rest */
        {.table = F, .chain = "VNETCFG_FWA", .in = "vn-a", .has_src = true, .src = PFX(10, 10, 0, 0, 24),
         .icmp_type = -1, .target = VNC_FW_ACCEPT},
        {.table = F, .chain = "VNETCFG_FWI", .out = "vn-a", .has_dst = true, .dst = PFX(10, 10, 0, 0, 24),
         .icmp_type = -1, .ctstate = VNC_CT_ESTABLISHED | VNC_CT_RELATED, .target = VNC_FW_ACCEPT},
        {.table = F, .chain = "VNETCFG_FWI", .out = "vn-a", .has_dst = true, .dst = PFX(10, 10, 0, 5, 32),
         .proto = IPPROTO_TCP, .dport = 80, .icmp_type = -1, .ctstate = VNC_CT_DNAT, .target = VNC_FW_ACCEPT},
        {.table = F, .chain = "VNETCFG_FWI", .out = "vn-a", .icmp_type = -1, .target = VNC_FW_REJECT},
        /* icmp echo with the host, DHCP and DNS */
        {.table = F, .chain = "VNETCFG_INP", .in = "vn-a", .has_src = true, .src = PFX(10, 10, 0, 0, 24),
         .proto = IPPROTO_ICMP, .icmp_type = 8, .target = VNC_FW_ACCEPT},
        {.table = F, .chain = "VNETCFG_OUT", .out = "vn-a", .has_dst = true, .dst = PFX(10, 10, 0, 0, 24),
         .proto = IPPROTO_ICMP, .icmp_type = 0, .target = VNC_FW_ACCEPT},
        {.table = F, .chain = "VNETCFG_INP", .in = "vn-a", .proto = IPPROTO_UDP, .sport = 68, .dport = 67,
         .icmp_type = -1, .target = VNC_FW_ACCEPT},
        {.table = F, .chain = "VNETCFG_INP", .in = "vn-a", .proto = IPPROTO_TCP, .dport = 53, .icmp_type = -1,
         .target = VNC_FW_ACCEPT},
        {.table = F, .chain = "VNETCFG_INP", .in = "vn-a", .not_in = false, .proto = IPPROTO_UDP, .sport = 53,
         .icmp_type = -1, .target = VNC_FW_ACCEPT},
        {.table = F, .chain = "VNETCFG_OUT", .out = "vn-h", .not_out = true, .proto = IPPROTO_ICMP, .icmp_type = -1,
         .ctstate = VNC_CT_ESTABLISHED | VNC_CT_RELATED | VNC_CT_DNAT, .target = VNC_FW_RETURN},
        /* nat table: multicast exemption, masquerade, hairpin, port forwards */
        {.table = N, .chain = "VNETCFG_POST", .has_src = true, .src = PFX(10, 10, 0, 0, 24), .has_dst = true,
         .dst = PFX(224, 0, 0, 0, 24), .icmp_type = -1, .target = VNC_FW_RETURN},
        {.table = N, .chain = "VNETCFG_POST", .has_src = true, .src = PFX(10, 10, 0, 0, 24), .has_dst = true,
         .not_dst = true, .dst = PFX(10, 10, 0, 0, 24), .out = "vn-a", .not_out = true, .icmp_type = -1,
         .target = VNC_FW_MASQUERADE},
        {.table = N, .chain = "VNETCFG_POST", .has_src = true, .src = PFX(10, 10, 0, 0, 24), .has_dst = true,
         .dst = PFX(10, 10, 0, 5, 32), .out = "vn-a", .proto = IPPROTO_TCP, .dport = 80, .icmp_type = -1,
         .target = VNC_FW_MASQUERADE},
        {.table = N, .chain = "VNETCFG_PRE", .proto = IPPROTO_TCP, .dport = 8080, .icmp_type = -1, .dst_local = true,
         .target = VNC_FW_DNAT, .to_addr = NET(10, 10, 0, 5), .to_port = 80},
        {.table = N, .chain = "VNETCFG_NOUT", .proto = IPPROTO_TCP, .dport = 8080, .icmp_type = -1, .dst_local = true,
         .target = VNC_FW_DNAT, .to_addr = NET(10, 10, 0, 5), .to_port = 80},
        {.table = N, .chain = "VNETCFG_PRE", .has_dst = true, .dst = PFX(192, 0, 2, 7, 32), .proto = IPPROTO_UDP,
         .dport = 5353, .icmp_type = -1, .target = VNC_FW_DNAT, .to_addr = NET(10, 10, 0, 6), .to_port = 53},
};

/* Profile p2: one rule of another profile in a shared chain. */
static const struct vnc_fw_rule p2_rules[] = {
        {.table = F, .chain = "VNETCFG_INP", .in = "vn-b", .proto = IPPROTO_ICMP, .icmp_type = 8,
         .target = VNC_FW_ACCEPT},
};

struct set {
        const char *name, *profile, *network;
        const struct vnc_fw_rule *rules;
        size_t n;
};

static const struct set sets[] = {
        {"p1", "p1", "net1", p1_rules, ELEMENTSOF(p1_rules)},
        {"p2", "p2", "net2", p2_rules, ELEMENTSOF(p2_rules)},
};

static const struct set *set_get(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(sets); i++)
                if (streq(sets[i].name, name))
                        return &sets[i];
        fprintf(stderr, "fw-check: unknown set \"%s\"\n", name);
        exit(2);
}

static struct vnc_fw_rule sealed(const struct set *s, size_t i) {
        struct vnc_fw_rule r = s->rules[i];
        vnc_fw_rule_seal(&r, s->profile, s->network);
        return r;
}

/* ---- actions ---- */

struct acts {
        struct vnc_action *v;
        size_t n, alloc;
};

static struct vnc_action *push(struct acts *A, enum vnc_action_kind kind, enum vnc_action_op op, const char *profile,
                               const char *network) {
        if (VNC_GROW(A->v, A->alloc, A->n + 1) < 0) {
                fprintf(stderr, "fw-check: out of memory\n");
                exit(1);
        }
        struct vnc_action *a = &A->v[A->n++];
        vnc_action_init(a, kind, op, profile, network);
        return a;
}

static void push_chains(struct acts *A, enum vnc_action_op op, uint8_t table, const char *profile) {
        struct vnc_action *a = push(A, VNC_ACT_FW_CHAINS, op, profile, "");
        a->rule.table = table;
}

static void push_rule(struct acts *A, enum vnc_action_op op, const struct set *s, const struct vnc_fw_rule *r) {
        struct vnc_action *a = push(A, VNC_ACT_FW_RULE, op, s->profile, s->network);
        a->rule = *r;
}

/* FW_CHAINS create for both tables, then every rule of the sets (tables interleaved, as given). */
static void build_apply(struct acts *A, char **names, int n_names) {
        for (int k = 0; k < n_names; k++) {
                const struct set *s = set_get(names[k]);
                push_chains(A, VNC_OP_CREATE, F, s->profile);
                push_chains(A, VNC_OP_CREATE, N, s->profile);
                for (size_t i = 0; i < s->n; i++) {
                        struct vnc_fw_rule r = sealed(s, i);
                        push_rule(A, VNC_OP_CREATE, s, &r);
                }
        }
}

static void invert(struct acts *A, struct acts *ret) {
        for (size_t i = A->n; i > 0; i--) {
                struct vnc_action *a = push(ret, VNC_ACT_FW_RULE, VNC_OP_CREATE, "", "");
                vnc_action_inverse(&A->v[i - 1], a);
        }
}

static int run(const struct acts *A, unsigned flags, size_t *ret_done, struct vnc_error *e) {
        struct vnc_backend_ctx ctx = {0};
        size_t done = SIZE_MAX;
        for (size_t i = 0; i < A->n; i++)
                if (!vnc_backend_firewall.handles(A->v[i].kind)) {
                        fprintf(stderr, "fw-check: the firewall backend does not handle action %zu\n", i);
                        exit(1);
                }
        int r = vnc_backend_firewall.run(&ctx, A->v, A->n, flags, &done, e);
        if (done > A->n) {
                fprintf(stderr, "fw-check: run did not set *ret_done\n");
                exit(1);
        }
        *ret_done = done;
        return r;
}

static void must_run(const struct acts *A, unsigned flags) {
        struct vnc_error e = {0};
        size_t done;
        int r = run(A, flags, &done, &e);
        if (r < 0) {
                char *s = vnc_error_format(&e);
                fprintf(stderr, "fw-check: FAIL: run: %s (%d)\n", s ? s : "?", r);
                free(s);
                exit(1);
        }
        CHECK(done == A->n, "run: done %zu of %zu", done, A->n);
        CHECK(!vnc_error_isset(&e), "run succeeded but set an error");
        vnc_error_clear(&e);
}

/* ---- modes ---- */

static int cmd_apply(char **names, int n, bool undo) {
        struct acts A = {0}, U = {0};
        build_apply(&A, names, n);
        if (undo) {
                invert(&A, &U);
                must_run(&U, VNC_RUN_UNDO);
        } else
                must_run(&A, 0);
        free(A.v);
        free(U.v);
        return 0;
}

static int cmd_chains(const char *op, const char *table) {
        struct acts A = {0};
        int t = vnc_fw_table_from_string(table);
        if (t < 0 || !(streq(op, "create") || streq(op, "delete"))) {
                fprintf(stderr, "fw-check: usage: chains create|delete filter|nat\n");
                return 2;
        }
        push_chains(&A, streq(op, "create") ? VNC_OP_CREATE : VNC_OP_DELETE, (uint8_t)t, "p1");
        must_run(&A, 0);
        free(A.v);
        return 0;
}

static int cmd_render(char **names, int n) {
        for (int k = 0; k < n; k++) {
                const struct set *s = set_get(names[k]);
                for (size_t i = 0; i < s->n; i++) {
                        struct vnc_fw_rule r = sealed(s, i);
                        char *text = vnc_fw_rule_render(&r);
                        CHECK(text, "render failed");
                        if (text)
                                printf("%s\n", text);
                        free(text);
                }
        }
        return 0;
}

static struct vnc_live *live_read(void) {
        struct vnc_error e = {0};
        struct vnc_live *l = calloc(1, sizeof(*l));
        if (!l)
                exit(1);
        int r = vnc_fw_live_read(l, &e);
        if (r < 0) {
                char *s = vnc_error_format(&e);
                fprintf(stderr, "fw-check: FAIL: vnc_fw_live_read: %s (%d)\n", s ? s : "?", r);
                exit(1);
        }
        return l;
}

static int cmd_live(char **names, int n) {
        struct vnc_live *l = live_read();
        size_t want = 0;
        unsigned all = (1U << vnc_fw_n_chains) - 1;

        if (n > 0 && strncmp(names[0], "--bits=", 7) == 0) {
                char *end;
                all = (unsigned)strtoul(names[0] + 7, &end, 0);
                if (*end) {
                        fprintf(stderr, "fw-check: bad %s\n", names[0]);
                        exit(2);
                }
                names++;
                n--;
        }

        CHECK(l->fw_available, "fw_available is false: %s", l->fw_error ? l->fw_error : "(no reason)");
        CHECK(l->fw_chains == all, "fw_chains 0x%x, expected 0x%x", l->fw_chains, all);
        for (int k = 0; k < n; k++) {
                const struct set *s = set_get(names[k]);
                for (size_t i = 0; i < s->n; i++, want++) {
                        struct vnc_fw_rule r = sealed(s, i);
                        size_t found = 0;
                        for (size_t j = 0; j < l->n_fw_rules; j++)
                                if (l->fw_rules[j].table == r.table && streq(l->fw_rules[j].chain, r.chain) &&
                                    streq(l->fw_rules[j].comment, r.comment))
                                        found++;
                        CHECK(found == 1, "rule \"%s\" in %s found %zu times", r.comment, r.chain, found);
                }
        }
        CHECK(l->n_fw_rules == want, "live read %zu rules, expected %zu", l->n_fw_rules, want);
        if (failures)
                for (size_t j = 0; j < l->n_fw_rules; j++)
                        fprintf(stderr, "  live: %s %s \"%s\"\n", vnc_fw_table_to_string(l->fw_rules[j].table),
                                l->fw_rules[j].chain, l->fw_rules[j].comment);
        vnc_live_free(l);
        return 0;
}

static int cmd_live_bits(void) {
        struct vnc_live *l = live_read();
        printf("available=%d chains=0x%x rules=%zu%s%s\n", l->fw_available, l->fw_chains, l->n_fw_rules,
               l->fw_error ? " error=" : "", l->fw_error ? l->fw_error : "");
        vnc_live_free(l);
        return 0;
}

/* An invalid rule in the middle of a filter run: refused, nothing of the table committed, the rule named. */
static int cmd_fail_early(void) {
        const struct set *s = set_get("p1");
        struct acts A = {0};
        struct vnc_error e = {0};
        size_t done;

        push_chains(&A, VNC_OP_CREATE, F, "p1");
        for (size_t i = 0; i < 4; i++) {
                struct vnc_fw_rule r = sealed(s, i);
                push_rule(&A, VNC_OP_CREATE, s, &r);
        }
        struct vnc_fw_rule bad = {.table = F, .chain = "VNETCFG_FWA", .proto = IPPROTO_TCP, .dport = 22, .icmp_type = -1,
                                  .target = VNC_FW_DNAT, .to_addr = NET(10, 10, 0, 9), .to_port = 22};
        vnc_fw_rule_seal(&bad, "p1", "net1");
        push_rule(&A, VNC_OP_CREATE, s, &bad);
        struct vnc_fw_rule after = sealed(s, 6);
        push_rule(&A, VNC_OP_CREATE, s, &after);

        int r = run(&A, 0, &done, &e);
        char *msg = vnc_error_format(&e);
        _cleanup_free_ char *text = vnc_fw_rule_render(&bad);
        printf("error: %s\n", msg ? msg : "");
        CHECK(r < 0, "a DNAT rule in the filter table was accepted");
        CHECK(done == 0, "done %zu, expected 0", done);
        CHECK(e.kind == VNC_ERR_RUNTIME && e.code == r, "error kind %d code %d", e.kind, e.code);
        CHECK(e.message && text && strstr(e.message, text), "the error does not name the rule: %s", msg ? msg : "");
        free(msg);
        vnc_error_clear(&e);
        free(A.v);
        return 0;
}

/*
 * Filter rules (committed), then nat rules with one the kernel refuses
 * (MASQUERADE reached from PREROUTING): the nat table stays as it was, the
 * done count covers the filter actions, the error carries libiptc's text.
 */
static int cmd_fail_commit(void) {
        const struct set *s = set_get("p1");
        struct acts A = {0};
        struct vnc_error e = {0};
        size_t done, n_filter;

        push_chains(&A, VNC_OP_CREATE, F, "p1");
        for (size_t i = 0; i < s->n; i++)
                if (s->rules[i].table == F) {
                        struct vnc_fw_rule r = sealed(s, i);
                        push_rule(&A, VNC_OP_CREATE, s, &r);
                }
        n_filter = A.n;
        push_chains(&A, VNC_OP_CREATE, N, "p1");
        for (size_t i = 0; i < s->n; i++)
                if (s->rules[i].table == N) {
                        struct vnc_fw_rule r = sealed(s, i);
                        push_rule(&A, VNC_OP_CREATE, s, &r);
                }
        struct vnc_fw_rule bad = {.table = N, .chain = "VNETCFG_PRE", .has_src = true, .src = PFX(10, 10, 0, 0, 24),
                                  .icmp_type = -1, .target = VNC_FW_MASQUERADE};
        vnc_fw_rule_seal(&bad, "p1", "net1");
        push_rule(&A, VNC_OP_CREATE, s, &bad);

        int r = run(&A, 0, &done, &e);
        char *msg = vnc_error_format(&e);
        printf("error: %s\n", msg ? msg : "");
        CHECK(r < 0, "MASQUERADE in PREROUTING was committed");
        CHECK(done == n_filter, "done %zu, expected %zu (the filter actions)", done, n_filter);
        CHECK(e.kind == VNC_ERR_RUNTIME && e.code == r, "error kind %d code %d", e.kind, e.code);
        CHECK(e.message && strstr(e.message, "\"nat\""), "the error does not name the table: %s", msg ? msg : "");
        CHECK(e.detail && *e.detail, "no library text in the error");
        free(msg);
        vnc_error_clear(&e);
        free(A.v);
        return 0;
}

static int cmd_bench(const char *arg, bool single) {
        char *end;
        unsigned long n = strtoul(arg, &end, 10);
        struct acts A = {0}, U = {0};
        static const struct set bench = {"bench", "bench", "big", NULL, 0};

        if (*end || n == 0 || n > 60000) {
                fprintf(stderr, "fw-check: bench N: N in 1..60000\n");
                return 2;
        }
        push_chains(&A, VNC_OP_CREATE, F, "bench");
        push_chains(&A, VNC_OP_CREATE, N, "bench");
        for (unsigned long i = 0; i < n; i++) {
                /* Alternate kinds: accepts (inserted first), rejects (appended), masquerade, DNAT. */
                struct vnc_fw_rule r = {.table = F, .chain = "VNETCFG_FWI", .has_dst = true, .icmp_type = -1,
                                        .dst = PFX(10, (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff, 32),
                                        .proto = IPPROTO_TCP, .dport = (uint16_t)(1 + i % 60000),
                                        .target = VNC_FW_ACCEPT};
                snprintf(r.out, sizeof(r.out), "vb%lu", i % 100);
                switch (i % 4) {
                case 1:
                        r.target = VNC_FW_REJECT;
                        break;
                case 2:
                        r.table = N;
                        snprintf(r.chain, sizeof(r.chain), "VNETCFG_POST");
                        r.target = VNC_FW_MASQUERADE;
                        break;
                case 3:
                        r.table = N;
                        snprintf(r.chain, sizeof(r.chain), "VNETCFG_PRE");
                        r.out[0] = 0;
                        r.target = VNC_FW_DNAT;
                        r.to_addr = NET(10, 99, 0, 1);
                        r.to_port = 80;
                        break;
                default:
                        break;
                }
                vnc_fw_rule_seal(&r, bench.profile, bench.network);
                push_rule(&A, VNC_OP_CREATE, &bench, &r);
        }
        invert(&A, &U);

        double t0 = now_ms();
        if (single) {
                for (size_t i = 0; i < A.n; i++) {
                        struct acts one = {.v = &A.v[i], .n = 1};
                        must_run(&one, 0);
                }
                double t1 = now_ms();
                must_run(&U, VNC_RUN_UNDO);
                printf("bench-single: %lu rules, one run per rule: apply %.1f ms\n", n, t1 - t0);
                free(A.v);
                free(U.v);
                return 0;
        }
        must_run(&A, 0);
        double t1 = now_ms();
        must_run(&A, 0); /* again: nothing to do */
        double t2 = now_ms();
        struct vnc_live *l = live_read();
        double t3 = now_ms();
        CHECK(l->n_fw_rules == n, "live read %zu rules, expected %lu", l->n_fw_rules, n);
        vnc_live_free(l);
        must_run(&U, VNC_RUN_UNDO);
        double t4 = now_ms();
        printf("bench: %lu rules: apply %.1f ms, apply again %.1f ms, live read %.1f ms, undo %.1f ms\n", n, t1 - t0,
               t2 - t1, t3 - t2, t4 - t3);
        free(A.v);
        free(U.v);
        return 0;
}

int main(int argc, char **argv) {
        int r = 2;

        if (argc < 2)
                goto usage;
        if (streq(argv[1], "apply") && argc > 2)
                r = cmd_apply(argv + 2, argc - 2, false);
        else if (streq(argv[1], "undo") && argc > 2)
                r = cmd_apply(argv + 2, argc - 2, true);
        else if (streq(argv[1], "chains") && argc == 4)
                r = cmd_chains(argv[2], argv[3]);
        else if (streq(argv[1], "render") && argc > 2)
                r = cmd_render(argv + 2, argc - 2);
        else if (streq(argv[1], "live") && argc > 2)
                r = cmd_live(argv + 2, argc - 2);
        else if (streq(argv[1], "live-bits") && argc == 2)
                r = cmd_live_bits();
        else if (streq(argv[1], "fail-early") && argc == 2)
                r = cmd_fail_early();
        else if (streq(argv[1], "fail-commit") && argc == 2)
                r = cmd_fail_commit();
        else if (streq(argv[1], "bench") && argc == 3)
                r = cmd_bench(argv[2], false);
        else if (streq(argv[1], "bench-single") && argc == 3)
                r = cmd_bench(argv[2], true);
        else
                goto usage;
        if (r != 0)
                return r;
        return failures ? 1 : 0;
usage:
        fprintf(stderr, "usage: fw-check apply|undo|render|live SET... | chains OP TABLE | live-bits | "
                        "fail-early | fail-commit | bench N\n");
        return 2;
}
