/* SPDX-License-Identifier: MIT */
/*
 * doctor's judgement, offline: vnc_doctor_run gets a host-ops table whose
 * diagnostics answer from a recorded host state (a file), not from the kernel.
 * The firewall verdict is the real evaluator (backends/fw-verdict.c) on a
 * recorded ruleset. No root. Each tests/record/doctor/<case>/ holds
 *   profile.json   the applied profile doctor checks
 *   host.txt       the recorded host (format below)
 *   expected       doctor's findings and hops, one a line
 * VNC_REGENERATE=1 rewrites expected from the current output: review every diff.
 *
 * host.txt: the lines of tests/golden's live.txt (link, addr, route, sysctl...; see
 * tests/unit/live-fixture.h), what doctor's live read returns, and:
 *   neigh IFINDEX A.B.C.D STATE [MAC]      the neighbour table (STATE: reachable stale failed ...)
 *   route-get A.B.C.D dev IFINDEX [via A.B.C.D] [src A.B.C.D]   `ip route get` (absent: unreachable)
 *   conf IFNAME LEAF N                     /proc/sys/net/ipv4/conf/IFNAME/LEAF
 *   br-nf-call-iptables N                  (absent: not loaded)
 *   listen udp|tcp A.B.C.D PORT COMM       a socket bound to a port doctor asks about
 *   arp-answer A.B.C.D MAC                 who answers ARP for an address
 *   dnsmasq running                        the profile's dnsmasq runs (absent: it does not)
 *   target A.B.C.D                         doctor --target A.B.C.D (the hops of the walk are listed)
 *   guest-silent                           the target guest answers no echo (default: it answers every
 *                                          source, replying to the bridge's MAC)
 *   ruleset NAME                           NAME.nft.json + NAME.nft in tests/record/doctor, else in
 *                                          tests/fixtures/rulesets (absent: no nftables rule)
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <linux/neighbour.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "doctor.h"
#include "fw-verdict.h"
#include "host.h"
#include "../unit/live-fixture.h"

static struct fixture {
        char path[1024];              /* host.txt, for the live read */
        struct vnc_neigh neigh[16];
        size_t n_neigh;
        struct {
                uint32_t dst;
                struct vnc_route_lookup lk;
        } routes[16];
        size_t n_routes;
        struct {
                char ifname[16], leaf[32];
                int value;
        } confs[16];
        size_t n_confs;
        int brnf;
        struct vnc_listener listen[16];
        size_t n_listen;
        struct {
                uint32_t ip;
                uint8_t mac[6];
        } arp[16];
        size_t n_arp;
        bool dnsmasq;
        char ruleset[64];
        uint32_t target;
        bool guest_silent;
} fx;

static const char *const doctor_words[] = {"neigh",  "route-get",  "conf",    "br-nf-call-iptables",
                                           "listen", "arp-answer", "dnsmasq", "ruleset",
                                           "target", "guest-silent"};

static uint32_t ip(const char *s) {
        uint32_t a = 0;
        assert_non_null(s);
        assert_int_equal(vnc_ipv4_parse(s, &a), 0);
        return a;
}

static void mac(const char *s, uint8_t m[6]) {
        assert_non_null(s);
        assert_int_equal(sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]), 6);
}

static uint16_t nud(const char *s) {
        static const struct {
                const char *name;
                uint16_t state;
        } states[] = {{"reachable", NUD_REACHABLE}, {"stale", NUD_STALE},         {"failed", NUD_FAILED},
                      {"incomplete", NUD_INCOMPLETE}, {"permanent", NUD_PERMANENT}, {"delay", NUD_DELAY}};
        for (size_t i = 0; i < ELEMENTSOF(states); i++)
                if (streq(states[i].name, s))
                        return states[i].state;
        fail_msg("unknown neighbour state %s", s);
        return 0;
}

/* The doctor's own lines; the others are live.txt's (read by load_live, which skips none). */
static void load_fixture(const char *path, const char *live_path) {
        FILE *f = fopen(path, "re"), *live = fopen(live_path, "we");
        char line[512], copy[512];

        memset(&fx, 0, sizeof(fx));
        fx.brnf = -1;
        snprintf(fx.path, sizeof(fx.path), "%s", live_path);
        assert_non_null(f);
        assert_non_null(live);
        while (fgets(line, sizeof(line), f)) {
                char *save = NULL, *w;
                snprintf(copy, sizeof(copy), "%s", line);
                w = strtok_r(copy, " \t\n", &save);
                bool ours = false;
                for (size_t i = 0; w && i < ELEMENTSOF(doctor_words); i++)
                        ours = ours || streq(w, doctor_words[i]);
                if (!w || w[0] == '#')
                        continue;
                if (!ours) {
                        fputs(line, live);
                        continue;
                }
                if (streq(w, "neigh")) {
                        struct vnc_neigh *n = &fx.neigh[fx.n_neigh++];
                        n->ifindex = atoi(strtok_r(NULL, " \t\n", &save));
                        n->ip = ip(strtok_r(NULL, " \t\n", &save));
                        n->state = nud(strtok_r(NULL, " \t\n", &save));
                        if ((w = strtok_r(NULL, " \t\n", &save))) {
                                n->has_lladdr = true;
                                mac(w, n->lladdr);
                        }
                } else if (streq(w, "route-get")) {
                        fx.routes[fx.n_routes].dst = ip(strtok_r(NULL, " \t\n", &save));
                        struct vnc_route_lookup *lk = &fx.routes[fx.n_routes++].lk;
                        *lk = (struct vnc_route_lookup){.type = RTN_UNICAST, .table = RT_TABLE_MAIN};
                        while ((w = strtok_r(NULL, " \t\n", &save))) {
                                if (streq(w, "dev"))
                                        lk->oif = atoi(strtok_r(NULL, " \t\n", &save));
                                else if (streq(w, "via")) {
                                        lk->has_gw = true;
                                        lk->gw = ip(strtok_r(NULL, " \t\n", &save));
                                } else if (streq(w, "src")) {
                                        lk->has_prefsrc = true;
                                        lk->prefsrc = ip(strtok_r(NULL, " \t\n", &save));
                                } else
                                        fail_msg("%s: unknown route-get attribute %s", path, w);
                        }
                } else if (streq(w, "conf")) {
                        snprintf(fx.confs[fx.n_confs].ifname, 16, "%s", strtok_r(NULL, " \t\n", &save));
                        snprintf(fx.confs[fx.n_confs].leaf, 32, "%s", strtok_r(NULL, " \t\n", &save));
                        fx.confs[fx.n_confs++].value = atoi(strtok_r(NULL, " \t\n", &save));
                } else if (streq(w, "br-nf-call-iptables")) {
                        fx.brnf = atoi(strtok_r(NULL, " \t\n", &save));
                } else if (streq(w, "listen")) {
                        struct vnc_listener *l = &fx.listen[fx.n_listen++];
                        w = strtok_r(NULL, " \t\n", &save);
                        l->proto = streq(w, "tcp") ? IPPROTO_TCP : IPPROTO_UDP;
                        l->addr = ip(strtok_r(NULL, " \t\n", &save));
                        l->port = (uint16_t)atoi(strtok_r(NULL, " \t\n", &save));
                        l->pid = 4242;
                        snprintf(l->comm, sizeof(l->comm), "%s", strtok_r(NULL, " \t\n", &save));
                } else if (streq(w, "arp-answer")) {
                        fx.arp[fx.n_arp].ip = ip(strtok_r(NULL, " \t\n", &save));
                        mac(strtok_r(NULL, " \t\n", &save), fx.arp[fx.n_arp++].mac);
                } else if (streq(w, "dnsmasq")) {
                        fx.dnsmasq = true;
                } else if (streq(w, "guest-silent")) {
                        fx.guest_silent = true;
                } else if (streq(w, "target")) {
                        fx.target = ip(strtok_r(NULL, " \t\n", &save));
                } else if (streq(w, "ruleset")) {
                        snprintf(fx.ruleset, sizeof(fx.ruleset), "%s", strtok_r(NULL, " \t\n", &save));
                }
        }
        fclose(f);
        assert_int_equal(fclose(live), 0);
}

/* ---- the host-ops table answering from it ---- */

static int f_live_read(struct vnc_live **ret, struct vnc_error *e) {
        *ret = load_live(fx.path);
        return 0;
}

static int f_neigh_read(struct vnc_neigh_table *ret, struct vnc_error *e) {
        *ret = (struct vnc_neigh_table){0};
        if (fx.n_neigh == 0)
                return 0;
        ret->v = calloc(fx.n_neigh, sizeof(*ret->v));
        assert_non_null(ret->v);
        memcpy(ret->v, fx.neigh, fx.n_neigh * sizeof(*ret->v));
        ret->n = ret->alloc = fx.n_neigh;
        return 0;
}

static int f_route_get(uint32_t dst, struct vnc_route_lookup *ret, struct vnc_error *e) {
        for (size_t i = 0; i < fx.n_routes; i++)
                if (fx.routes[i].dst == dst) {
                        *ret = fx.routes[i].lk;
                        return 0;
                }
        *ret = (struct vnc_route_lookup){.error = -ENETUNREACH};
        return 0;
}

static int f_conf_int(const char *ifname, const char *leaf, int *ret) {
        for (size_t i = 0; i < fx.n_confs; i++)
                if (streq(fx.confs[i].ifname, ifname) && streq(fx.confs[i].leaf, leaf)) {
                        *ret = fx.confs[i].value;
                        return 0;
                }
        return -ENOENT;
}

static int f_brnf(int *ret) {
        if (fx.brnf < 0)
                return -ENOENT;
        *ret = fx.brnf;
        return 0;
}

static int f_assign_type(const char *ifname, int *ret) {
        return -ENOENT;
}

static int f_listeners(const uint16_t *ports, size_t n_ports, struct vnc_listener **ret, size_t *ret_n,
                       struct vnc_error *e) {
        *ret = calloc(fx.n_listen ? fx.n_listen : 1, sizeof(**ret));
        assert_non_null(*ret);
        *ret_n = 0;
        for (size_t i = 0; i < fx.n_listen; i++)
                for (size_t k = 0; k < n_ports; k++)
                        if (fx.listen[i].port == ports[k]) {
                                (*ret)[(*ret_n)++] = fx.listen[i];
                                break;
                        }
        return 0;
}

static int f_arp_probe_many(struct vnc_arp_probe *probes, size_t n, unsigned timeout_ms, struct vnc_error *e) {
        for (size_t i = 0; i < n; i++) {
                probes[i].error = 0;
                for (size_t k = 0; k < fx.n_arp; k++)
                        if (fx.arp[k].ip == probes[i].target_ip) {
                                probes[i].macs = realloc(probes[i].macs, (probes[i].n_macs + 1) * 6);
                                assert_non_null(probes[i].macs);
                                memcpy(probes[i].macs[probes[i].n_macs++], fx.arp[k].mac, 6);
                        }
        }
        return 0;
}

static int f_guest_probe_run(struct vnc_guest_probe *p, struct vnc_error *e) {
        p->sent = (unsigned)p->tries * (unsigned)p->n_echo;
        for (size_t i = 0; i < p->n_echo; i++) {
                p->echo[i].answered = !fx.guest_silent;
                memcpy(p->echo[i].reply_mac, p->bridge_mac, 6);
        }
        p->ms = 1;
        return 0;
}

static int f_dhcp_status(const char *state_dir, const char *profile, bool *ret_running, char ret_blob[17]) {
        *ret_running = fx.dnsmasq;
        ret_blob[0] = 0;
        return 0;
}

static int f_libvirt_live_read(struct vnc_libvirt_view *v, const char *uri, struct vnc_error *e) {
        vnc_libvirt_view_done(v);
        v->uri = strdup(uri);
        v->state = VNC_LV_UNREACHABLE;
        v->error = strdup("no daemon on the recorded host");
        return v->uri && v->error ? 0 : -ENOMEM;
}

static int f_rulesets_read(struct vnc_fw_rulesets **ret, struct vnc_error *e) {
        _cleanup_free_ char *json = NULL, *text = NULL;
        if (fx.ruleset[0]) {
                char path[1280];
                const char *src = getenv("VNC_SOURCE_DIR");
                /* tests/record/doctor's own, or one captured from a real firewall (tests/fixtures/rulesets) */
                snprintf(path, sizeof(path), "%s/tests/record/doctor/%s.nft.json", src, fx.ruleset);
                json = read_text(path);
                snprintf(path, sizeof(path), "%s/tests/%s/%s.nft.json", src, json ? "record/doctor" : "fixtures/rulesets",
                         fx.ruleset);
                if (!json)
                        json = read_text(path);
                snprintf(path + strlen(path) - strlen(".json"), 6, "%s", "");
                text = read_text(path);
                assert_non_null(json);
                assert_non_null(text);
        }
        return vnc_fw_rulesets_parse(json ? json : "{\"nftables\": []}", text ? text : "", ret, e);
}

static const struct vnc_host_ops recorded_host = {
        .live_read = f_live_read,
        .dhcp_status = f_dhcp_status,
        .libvirt_live_read = f_libvirt_live_read,
        .diag_neigh_read = f_neigh_read,
        .diag_route_get = f_route_get,
        .diag_conf_int = f_conf_int,
        .diag_br_nf_call_iptables = f_brnf,
        .diag_addr_assign_type = f_assign_type,
        .diag_listeners = f_listeners,
        .diag_arp_probe_many = f_arp_probe_many,
        .guest_probe_run = f_guest_probe_run,
        .fw_rulesets_read = f_rulesets_read,
        .fw_rulesets_free = vnc_fw_rulesets_free,
        .fw_judge = vnc_fw_judge,
};

/* ---- the cases ---- */

/* Every src/... in text as $SRC/... (in place: "$SRC" is shorter than any source path). */
static void src_relative(char *text, const char *src) {
        size_t n = strlen(src);
        assert_true(n >= 4);
        for (char *at; (at = strstr(text, src));) {
                memcpy(at, "$SRC", 4);
                memmove(at + 4, at + n, strlen(at + n) + 1);
        }
}

static void print_report(FILE *f, const void *result) {
        const struct vnc_doctor_report *rep = result;

        for (size_t i = 0; i < rep->n_findings; i++) {
                const struct vnc_finding *x = &rep->findings[i];
                fprintf(f, "%s %s [%s]: %s\n", vnc_severity_to_string(x->severity), x->code,
                        x->network ? x->network : "", x->evidence ? x->evidence : "");
                if (x->fix)
                        fprintf(f, "    fix: %s\n", x->fix);
        }
        for (size_t i = 0; i < rep->n_hops; i++)
                fprintf(f, "hop %s %s: %s\n", rep->hops[i].ok ? "ok" : "broken", rep->hops[i].name,
                        rep->hops[i].detail ? rep->hops[i].detail : "");
        fprintf(f, "doctor: %s\n", vnc_doctor_has_errors(rep) ? "errors" : "no errors");
}

/* The fixes name the profile's file: under the source tree, whichever checkout it is. */
static void source_relative(char *text) {
        src_relative(text, getenv("VNC_SOURCE_DIR"));
}

static void run_case(const char *dir) {
        char path[1024], live_path[] = "/tmp/vnc-doctor-live-XXXXXX";
        struct vnc_profile *p = load_profile(dir, "profile.json");
        struct vnc_doctor_report rep = {0};
        struct vnc_error e = {0};
        int fd;

        assert_non_null(p);
        fd = mkstemp(live_path);
        assert_true(fd >= 0);
        close(fd);
        snprintf(path, sizeof(path), "%s/host.txt", dir);
        load_fixture(path, live_path);
        fixture_applied = p; /* "fw-rules-of applied" in host.txt */
        struct vnc_doctor_input in = {.host = &recorded_host, .profile = p, .state_dir = "/nonexistent",
                                      .has_target = fx.target != 0, .target = fx.target};
        int r = vnc_doctor_run(&in, &rep, &e);
        fixture_applied = NULL;
        assert_int_equal(unlink(live_path), 0);
        compare_case(dir, r, &e, print_report, &rep, source_relative);
        vnc_doctor_report_done(&rep);
        vnc_error_clear(&e);
        vnc_profile_free(p);
}

int main(void) {
        return run_cases_main("tests/record/doctor", 4, run_case);
}
