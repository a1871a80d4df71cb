/* SPDX-License-Identifier: MIT */
/*
 * SPEC section 5: ping across the result. One probe per network (see
 * backends/probe.h), all made and deleted together; each network checked by
 * a worker thread of its own (up to MAX_WORKERS) so that the waits of every
 * network overlap; inside a network every exchange runs at once. Results are merged in
 * profile order, so the report does not depend on timing.
 *
 * Probe addresses: verify.probe_address when given. Otherwise, in a network
 * with a host address, the highest address of the subnet that is not the
 * host's, not in the DHCP range, not a static DHCP host, a port-forward guest
 * or a route's gateway, and that nobody answers an ARP probe for (sent from
 * the bridge while the probe is made, for 16 candidates at once). Isolated
 * networks have no subnet: the probe takes an IPv4 link-local address
 * (169.254/16, ARP-probed) and a default route out of its port, so every
 * address it is told to try is tried on the bridge, as a guest would.
 * Bridged networks (and VLAN networks without ipv4) use IPv6 link-local
 * between the host and the probe: no LAN address is consumed.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>

#include <sys/random.h>

#include "verify.h"
#include "verify-vlan.h"

#define ECHO_TRIES 2
#define ECHO_INTERVAL_MS 1000    /* positive checks: 1 s per echo, one retry */
#define SILENCE_INTERVAL_MS 500  /* must-not-answer checks: two requests within 1 s */
#define DHCP_TRIES 3
#define DHCP_INTERVAL_MS 1000
#define DHCP_INFLIGHT 32 /* DHCP exchanges at once: one dnsmasq answers them in turn (see dhcp_gate) */
#define ARP_WAIT_MS 200
#define ARP_CANDIDATES 16 /* ARP-probed at once; the best free one is the probe's address */
#define MAX_WORKERS 128 /* threads; the checks of every network overlap */
#define TARGET_TCP_PORT 443   /* SPEC section 5; "tcp:IP:PORT" in targets names another */
#define TARGET_UDP_PORT 33434 /* traceroute's first port: closed on most hosts, so the target answers
                               * with a port unreachable, which proves the datagram reached it */
#define DNS_PORT 53

static const char *const check_kind_table[_VNC_CHECK_MAX] = {
        [VNC_CHECK_PROBE_TO_HOST] = "probe-to-host",
        [VNC_CHECK_HOST_TO_PROBE] = "host-to-probe",
        [VNC_CHECK_TARGET] = "target",
        [VNC_CHECK_TARGET_BLOCKED] = "target-blocked",
        [VNC_CHECK_UNREACHABLE] = "unreachable",
        [VNC_CHECK_MTU] = "mtu",
        [VNC_CHECK_DHCP] = "dhcp",
        [VNC_CHECK_VLAN_ISOLATION] = "vlan-isolation",
        [VNC_CHECK_TARGET_TCP] = "target-tcp",
        [VNC_CHECK_TARGET_UDP] = "target-udp",
        [VNC_CHECK_DNS] = "dns",
};

const char *vnc_check_kind_to_string(enum vnc_check_kind k) {
        return k >= 0 && k < _VNC_CHECK_MAX ? check_kind_table[k] : NULL;
}

void vnc_verify_result_done(struct vnc_verify_result *r) {
        if (!r)
                return;
        for (size_t i = 0; i < r->n_checks; i++) {
                free(r->checks[i].name);
                free(r->checks[i].detail);
        }
        free(r->checks);
        *r = (struct vnc_verify_result){0};
}

int vnc_verify_add(struct vnc_verify_result *r, const char *network, enum vnc_check_kind kind, bool pass, double ms,
                   char *name, char *detail) {
        if (!name || VNC_GROW(r->checks, r->alloc, r->n_checks + 1) < 0) {
                free(name);
                free(detail);
                return -ENOMEM;
        }
        struct vnc_check *c = &r->checks[r->n_checks++];
        *c = (struct vnc_check){.kind = kind, .pass = pass, .ms = ms, .name = name, .detail = detail};
        snprintf(c->network, sizeof(c->network), "%s", network ? network : "");
        if (r->n_checks == 1)
                r->ok = true;
        if (!pass)
                r->ok = false;
        return 0;
}

/* ---- one network ---- */

/*
 * One dnsmasq serves every DHCP network of a profile, through one socket and
 * in turn (about 1 ms of its CPU per packet with 100 bridges, more with more):
 * hundreds of discovers at once queue up past any client's patience. So at most
 * DHCP_INFLIGHT exchanges run at once (32: a queue of tens of ms, far below the
 * retry interval, that keeps dnsmasq busy while clients set up their sockets); and once DHCP_INFLIGHT of them got no
 * offer while none got one, the server is taken as silent and the rest are not
 * tried (their checks fail saying so) rather than waited for in turn.
 */
struct dhcp_gate {
        sem_t slots;
        pthread_mutex_t lock;
        unsigned offered, silent;
};

struct net_job {
        const struct vnc_host_ops *host;
        const struct vnc_profile *p;
        size_t index;
        struct vnc_probe_set *set;
        struct dhcp_gate *dhcp;
        bool skip; /* its probe could not be made: reported as a failed check already */
        uint32_t cands[ARP_CANDIDATES]; /* the probe's IPv4 candidates, ARP-probed from phase 1 on */
        bool cand_free[ARP_CANDIDATES];
        size_t n_cands;
        uint8_t cand_prefix;
        struct vnc_verify_result res;
        struct vnc_error err;
        int r;
};

static const char *ip4(uint32_t a, char buf[static 16]) { return vnc_ipv4_str(a, buf); }

static bool address_taken(const struct vnc_network *n, uint32_t a) {
        if (a == n->ipv4.addr)
                return true;
        if (n->has_dhcp) {
                if (a >= n->dhcp.start && a <= n->dhcp.end)
                        return true;
                for (size_t i = 0; i < n->dhcp.n_hosts; i++)
                        if (n->dhcp.hosts[i].ip == a)
                                return true;
        }
        if (n->has_nat)
                for (size_t i = 0; i < n->nat.n_forwards; i++)
                        if (n->nat.forwards[i].guest == a)
                                return true;
        for (size_t i = 0; i < n->n_routes; i++)
                if (n->routes[i].via == a)
                        return true;
        return false;
}

/*
 * The probe's IPv4 candidates (host byte order), best first, and their prefix.
 * 0 candidates when the network leaves no room (a /32).
 */
static size_t probe_candidates(const struct vnc_network *n, uint32_t cands[static ARP_CANDIDATES], uint8_t *ret_prefix) {
        size_t nc = 0;

        if (n->has_ipv4) {
                uint32_t mask = vnc_prefix_mask(n->ipv4.prefix), net = n->ipv4.addr & mask, last = net | ~mask;
                uint32_t lo = n->ipv4.prefix >= 31 ? net : net + 1, hi = n->ipv4.prefix >= 31 ? last : last - 1;
                *ret_prefix = n->ipv4.prefix;
                if (n->ipv4.prefix == 32)
                        return 0;
                for (uint32_t a = hi; nc < ARP_CANDIDATES; a--) {
                        if (!address_taken(n, a))
                                cands[nc++] = a;
                        if (a == lo)
                                break;
                }
                return nc;
        }
        /* 169.254.1.0 - 169.254.254.255 (RFC 3927 2.1), random */
        for (; nc < ARP_CANDIDATES / 4; nc++) {
                uint32_t rnd = 0;
                if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
                        rnd = (uint32_t)nc * 7919u + (uint32_t)getpid();
                cands[nc] = (169u << 24 | 254u << 16) | (1 + rnd % 254) << 8 | (1 + (rnd >> 8) % 254);
        }
        *ret_prefix = 16;
        return nc;
}

static char *strdup_or_null(const char *s) { return s ? strdup(s) : NULL; }

struct echo_check {
        enum vnc_check_kind kind;
        bool must_answer;
        char *name;
        char *skip; /* could not be tried: a failure with this detail */
};

static void echo_set4(struct vnc_probe_echo *x, bool from_probe, uint32_t dst, bool must_answer) {
        *x = (struct vnc_probe_echo){.from_probe = from_probe,
                                     .family = AF_INET,
                                     .dst4 = dst,
                                     .tries = ECHO_TRIES,
                                     .interval_ms = must_answer ? ECHO_INTERVAL_MS : SILENCE_INTERVAL_MS};
}

static void echo_set6(struct vnc_probe_echo *x, bool from_probe, const struct in6_addr *dst) {
        *x = (struct vnc_probe_echo){.from_probe = from_probe,
                                     .family = AF_INET6,
                                     .dst6 = *dst,
                                     .tries = ECHO_TRIES,
                                     .interval_ms = ECHO_INTERVAL_MS};
}

static void flow_set(struct vnc_probe_echo *x, enum vnc_probe_proto proto, uint32_t dst, uint16_t port) {
        *x = (struct vnc_probe_echo){.from_probe = true,
                                     .family = AF_INET,
                                     .dst4 = dst,
                                     .proto = proto,
                                     .port = port,
                                     .tries = ECHO_TRIES,
                                     .interval_ms = ECHO_INTERVAL_MS};
}

static const char *dns_rcode_name(int rc) {
        static const char *const names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"};
        return rc >= 0 && (size_t)rc < ELEMENTSOF(names) ? names[rc] : "rcode";
}

/* What a passed TCP/UDP/DNS exchange saw; NULL for echo. */
static char *pass_detail(const struct vnc_probe_echo *x) {
        switch (x->proto) {
        case VNC_PROBE_TCP_SYN:
                return strdup(x->refused ? "RST (port closed): forwarded both ways" : "SYN-ACK");
        case VNC_PROBE_UDP:
                if (x->reached && x->icmp_error)
                        return strdup("the target answered with a port unreachable");
                if (x->reached)
                        return strdup("the target answered");
                if (x->icmp_error) {
                        _cleanup_free_ char *d = vnc_probe_echo_describe_error(x);
                        return vnc_strdup_printf("left the host; beyond it: %s", d ? d : "an ICMP error");
                }
                return strdup("left the host (the target did not answer)");
        case VNC_PROBE_DNS:
                return vnc_strdup_printf("answered, %s (%d)", dns_rcode_name(x->dns_rcode), x->dns_rcode);
        default:
                return NULL;
        }
}

/* Why a TCP/UDP/DNS exchange failed, naming the protocol: "ICMP passes, TCP does not" must be readable. */
static char *fail_detail(const struct vnc_probe_echo *x) {
        _cleanup_free_ char *d = vnc_probe_echo_describe_error(x);
        switch (x->proto) {
        case VNC_PROBE_TCP_SYN:
                return vnc_strdup_printf("TCP not forwarded: %s", d ? d : "no answer");
        case VNC_PROBE_UDP:
                if (x->icmp_error)
                        return vnc_strdup_printf("UDP refused by the host: %s; the datagram never left it",
                                                 d ? d : "an ICMP error");
                return vnc_strdup_printf("UDP %s", d ? d : "dropped by the host");
        case VNC_PROBE_DNS:
                return vnc_strdup_printf("DNS not answered: %s", d ? d : "no answer");
        default:
                return TAKE_PTR(d);
        }
}

static int report_echo(struct vnc_verify_result *res, const char *net, struct echo_check *c,
                       const struct vnc_probe_echo *x) {
        char *name = TAKE_PTR(c->name);

        if (c->skip)
                return vnc_verify_add(res, net, c->kind, false, -1, name, TAKE_PTR(c->skip));
        if (c->must_answer) {
                if (x->answered)
                        return vnc_verify_add(res, net, c->kind, true, x->ms, name, pass_detail(x));
                return vnc_verify_add(res, net, c->kind, false, -1, name, fail_detail(x));
        }
        if (x->answered)
                return vnc_verify_add(res, net, c->kind, false, x->ms, name,
                                      vnc_strdup_printf("answered in %.1f ms", x->ms));
        char *why = NULL;
        if (x->icmp_error) {
                _cleanup_free_ char *d = vnc_probe_echo_describe_error(x);
                why = vnc_strdup_printf("rejected: %s", d ? d : "ICMP error");
        }
        return vnc_verify_add(res, net, c->kind, true, -1, name, why);
}

/* The bridge is missing (or went while the probes were made): a failed check naming it. */
static int no_probe(struct net_job *job) {
        const struct vnc_network *n = &job->p->networks[job->index];
        _cleanup_free_ char *msg = job->err.message ? strdup(job->err.message) : NULL;

        vnc_error_clear(&job->err);
        job->skip = true;
        return vnc_verify_add(&job->res, n->name, VNC_CHECK_PROBE_TO_HOST, false, -1,
                              vnc_strdup_printf("probe on bridge \"%s\"", n->bridge),
                              msg ? TAKE_PTR(msg) : strdup("bridge missing"));
}

/* Phase 1, in parallel: the network's probe namespace; ARP probes for the probe's address go out. */
static int prepare_network(struct net_job *job) {
        const struct vnc_network *n = &job->p->networks[job->index];

        if (!n->verify.has_probe_address && (n->has_ipv4 || n->mode == VNC_MODE_ISOLATED))
                job->n_cands = probe_candidates(n, job->cands, &job->cand_prefix);
        int r = job->host->probe_set_prepare(job->set, job->index, n->bridge, n->name, job->cands, job->n_cands,
                                             ARP_WAIT_MS, job->cand_free, &job->err);
        if (r == -ENODEV)
                return no_probe(job);
        return r;
}

/* The best candidate nobody answered for (addr 0: none free); known once probe_set_arp_wait() returned. */
static struct vnc_ipv4_prefix free_candidate(const struct net_job *job) {
        for (size_t k = 0; k < job->n_cands; k++)
                if (job->cand_free[k])
                        return (struct vnc_ipv4_prefix){.addr = job->cands[k], .prefix = job->cand_prefix};
        return (struct vnc_ipv4_prefix){0};
}

static int verify_network(struct net_job *job) {
        const struct vnc_profile *p = job->p;
        const struct vnc_network *n = &p->networks[job->index];
        struct vnc_verify_result *res = &job->res;
        struct vnc_error *e = &job->err;
        struct vnc_probe *probe = NULL; /* the set's */
        struct vnc_probe_echo xs[128];
        struct echo_check cs[128];
        size_t nx = 0;
        char b1[16], b2[16];
        int r;

        if (job->skip || job->r < 0)
                return job->r;
        r = job->host->probe_set_get(job->set, job->index, &probe, e);
        if (r == -ENODEV)
                return no_probe(job);
        if (r < 0)
                return r;

        /* DHCP first: the probe has no IPv4 address yet, as a booting guest. */
        if (n->has_dhcp) {
                uint32_t offer, server;
                double ms;
                struct dhcp_gate *g = job->dhcp;
                bool give_up;
                while (sem_wait(&g->slots) < 0 && errno == EINTR)
                        ;
                pthread_mutex_lock(&g->lock);
                give_up = g->offered == 0 && g->silent >= DHCP_INFLIGHT;
                pthread_mutex_unlock(&g->lock);
                offer = server = 0;
                r = give_up ? 0 : job->host->probe_dhcp_offer(probe, DHCP_TRIES, DHCP_INTERVAL_MS, &offer, &server, &ms, e);
                pthread_mutex_lock(&g->lock);
                if (offer)
                        g->offered++;
                else if (!give_up)
                        g->silent++;
                pthread_mutex_unlock(&g->lock);
                sem_post(&g->slots);
                if (r < 0)
                        return r;
                if (give_up)
                        r = vnc_verify_add(res, n->name, VNC_CHECK_DHCP, false, -1, strdup("dhcp offer"),
                                           vnc_strdup_printf("not tried: the DHCP server answered none of %u "
                                                             "other probes", DHCP_INFLIGHT));
                else if (offer)
                        r = vnc_verify_add(res, n->name, VNC_CHECK_DHCP, true, ms, strdup("dhcp offer"),
                                           vnc_strdup_printf("offered %s by %s", ip4(offer, b1), ip4(server, b2)));
                else
                        r = vnc_verify_add(res, n->name, VNC_CHECK_DHCP, false, -1, strdup("dhcp offer"),
                                           vnc_strdup_printf("no offer within %d ms (%d discovers)",
                                                             DHCP_TRIES * DHCP_INTERVAL_MS, DHCP_TRIES));
                if (r < 0)
                        return r;
        }

        /* The probe's IPv4 address: its candidates' ARP answers, waited for only now (after DHCP). */
        r = job->host->probe_set_arp_wait(job->set, job->index, e);
        if (r < 0)
                return r;
        struct vnc_ipv4_prefix pa = {0};
        bool ll = false; /* host <-> probe over IPv6 link-local */
        if (n->verify.has_probe_address) {
                pa = n->verify.probe_address;
        } else if (n->has_ipv4 || n->mode == VNC_MODE_ISOLATED) {
                pa = free_candidate(job); /* ARP-probed while the probes were made */
        }
        if (!n->has_ipv4 && n->mode != VNC_MODE_ISOLATED)
                ll = true;
        char *no_v4 = NULL;
        if (pa.addr) {
                uint32_t gw = n->has_ipv4 ? n->ipv4.addr : 0;
                r = job->host->probe_set_ipv4(probe, pa.addr, pa.prefix, gw, n->mode == VNC_MODE_ISOLATED, e);
                if (r < 0)
                        return r;
        } else if (n->has_ipv4 || n->mode == VNC_MODE_ISOLATED) {
                no_v4 = vnc_strdup_printf("no free address for the probe (set verify.probe_address)");
        } else {
                no_v4 = vnc_strdup_printf("the probe has no IPv4 address on a %s network (set verify.probe_address)",
                                          vnc_mode_to_string(n->mode));
        }
#define ADD_CHECK(k, must, skipmsg, ...)                                                                     \
        do {                                                                                                 \
                if (nx >= ELEMENTSOF(xs))                                                                    \
                        break;                                                                               \
                cs[nx] = (struct echo_check){.kind = (k), .must_answer = (must),                             \
                                             .name = vnc_strdup_printf(__VA_ARGS__),                         \
                                             .skip = strdup_or_null(skipmsg)};                    \
                nx++;                                                                                        \
        } while (0)

        /* Host <-> probe, and the MTU probe towards the host. */
        uint32_t mtu = n->mtu ? n->mtu : job->host->probe_bridge_mtu(probe);
        uint32_t host4 = n->has_ipv4 ? n->ipv4.addr : 0;
        if (ll && pa.addr) {
                /* bridged with verify.probe_address: the host's own address on the bridge, if it has one */
                struct vnc_error ignored = {0};
                if (job->host->probe_bridge_ipv4(probe, &host4, &ignored) == 0)
                        ll = false;
                vnc_error_clear(&ignored);
        }
        if (host4 && (pa.addr || no_v4)) {
                echo_set4(&xs[nx], true, host4, true);
                ADD_CHECK(VNC_CHECK_PROBE_TO_HOST, true, pa.addr ? NULL : no_v4, "probe -> host %s", ip4(host4, b1));
                echo_set4(&xs[nx], false, pa.addr, true);
                ADD_CHECK(VNC_CHECK_HOST_TO_PROBE, true, pa.addr ? NULL : no_v4, "host -> probe %s",
                          pa.addr ? ip4(pa.addr, b1) : "(no address)");
                echo_set4(&xs[nx], true, host4, true);
                xs[nx].payload = mtu > 28 ? mtu - 28 : 0;
                xs[nx].dont_fragment = true;
                ADD_CHECK(VNC_CHECK_MTU, true, pa.addr ? NULL : no_v4, "mtu %u with DF: probe -> host", mtu);
        } else if (ll) {
                struct in6_addr host6 = IN6ADDR_ANY_INIT, probe6 = IN6ADDR_ANY_INIT;
                struct vnc_error e6 = {0};
                char h6[INET6_ADDRSTRLEN] = "?", p6[INET6_ADDRSTRLEN] = "?";
                _cleanup_free_ char *why = NULL;
                if (job->host->probe_ipv6_ll(probe, false, &host6, &e6) < 0 ||
                    job->host->probe_ipv6_ll(probe, true, &probe6, &e6) < 0)
                        why = strdup(e6.message ? e6.message : "no IPv6 link-local address");
                vnc_error_clear(&e6);
                inet_ntop(AF_INET6, &host6, h6, sizeof(h6));
                inet_ntop(AF_INET6, &probe6, p6, sizeof(p6));
                echo_set6(&xs[nx], true, &host6);
                ADD_CHECK(VNC_CHECK_PROBE_TO_HOST, true, why, "probe -> host %s", h6);
                echo_set6(&xs[nx], false, &probe6);
                ADD_CHECK(VNC_CHECK_HOST_TO_PROBE, true, why, "host -> probe %s", p6);
                echo_set6(&xs[nx], true, &host6);
                xs[nx].payload = mtu > 48 ? mtu - 48 : 0;
                xs[nx].dont_fragment = true;
                ADD_CHECK(VNC_CHECK_MTU, true, why, "mtu %u with DF: probe -> host", mtu);
        }

        /* Targets: answer from nat (and routed, vlan, bridged); never from host-only and isolated. */
        bool closed = n->mode == VNC_MODE_HOST_ONLY || n->mode == VNC_MODE_ISOLATED;
        for (size_t i = 0; i < n->verify.n_targets; i++) {
                uint32_t t = n->verify.targets[i];
                uint16_t tport = n->verify.target_tcp_ports ? n->verify.target_tcp_ports[i] : 0;
                if (closed) {
                        echo_set4(&xs[nx], true, t, false);
                        ADD_CHECK(VNC_CHECK_TARGET_BLOCKED, false, pa.addr ? NULL : no_v4, "target %s must not answer",
                                  ip4(t, b1));
                        continue;
                }
                /* As guests use it: ICMP alone proves nothing (ufw forwards echo and drops TCP).
                 * "tcp:IP:PORT" names a service to try instead of an echo. */
                if (!tport) {
                        echo_set4(&xs[nx], true, t, true);
                        ADD_CHECK(VNC_CHECK_TARGET, true, pa.addr ? NULL : no_v4, "target %s answers", ip4(t, b1));
                }
                tport = tport ? tport : TARGET_TCP_PORT;
                flow_set(&xs[nx], VNC_PROBE_TCP_SYN, t, tport);
                ADD_CHECK(VNC_CHECK_TARGET_TCP, true, pa.addr ? NULL : no_v4, "target %s tcp/%u answers", ip4(t, b1),
                          tport);
                flow_set(&xs[nx], VNC_PROBE_UDP, t, TARGET_UDP_PORT);
                ADD_CHECK(VNC_CHECK_TARGET_UDP, true, pa.addr ? NULL : no_v4, "target %s udp/%u not refused by the host",
                          ip4(t, b1), TARGET_UDP_PORT);
        }
        /* DHCP hands the guest the host as its DNS server: the query must be answered. */
        if (n->has_dhcp && host4 && !ll) {
                flow_set(&xs[nx], VNC_PROBE_DNS, host4, DNS_PORT);
                ADD_CHECK(VNC_CHECK_DNS, true, pa.addr ? NULL : no_v4, "dns query to %s answered", ip4(host4, b1));
        }
        for (size_t i = 0; i < n->verify.n_unreachable; i++) {
                uint32_t t = n->verify.unreachable[i];
                echo_set4(&xs[nx], true, t, false);
                ADD_CHECK(VNC_CHECK_UNREACHABLE, false, pa.addr ? NULL : no_v4, "unreachable %s must not answer",
                          ip4(t, b1));
        }
        /* Isolated without targets: nothing of the host answers, e.g. another network's host address. */
        if (n->mode == VNC_MODE_ISOLATED && n->verify.n_targets == 0) {
                for (size_t i = 0; i < p->n_networks; i++) {
                        const struct vnc_network *o = &p->networks[i];
                        if (i == job->index || !o->has_ipv4)
                                continue;
                        echo_set4(&xs[nx], true, o->ipv4.addr, false);
                        ADD_CHECK(VNC_CHECK_TARGET_BLOCKED, false, pa.addr ? NULL : no_v4,
                                  "host %s (network %s) must not answer", ip4(o->ipv4.addr, b1), o->name);
                        break;
                }
        }
#undef ADD_CHECK
        free(no_v4);

        /* Run what can be run, all at once; skipped ones are reported as failed with their reason. */
        struct vnc_probe_echo run[ELEMENTSOF(xs)];
        size_t map[ELEMENTSOF(xs)], nrun = 0;
        for (size_t i = 0; i < nx; i++)
                if (!cs[i].skip) {
                        map[i] = nrun;
                        run[nrun++] = xs[i];
                }
        r = job->host->probe_echo(probe, run, nrun, e);
        for (size_t i = 0; i < nx; i++) {
                int k = r < 0 ? 0 : report_echo(res, n->name, &cs[i], cs[i].skip ? NULL : &run[map[i]]);
                if (k < 0 && r >= 0)
                        r = k;
                free(cs[i].name);
                free(cs[i].skip);
        }
        return r;
}

/* ---- the profile ---- */

struct pool {
        struct net_job *jobs;
        size_t n, next;
        pthread_mutex_t lock;
        int (*fn)(struct net_job *);
};

static void *worker(void *arg) {
        struct pool *pool = arg;
        for (;;) {
                pthread_mutex_lock(&pool->lock);
                size_t i = pool->next < pool->n ? pool->next++ : SIZE_MAX;
                pthread_mutex_unlock(&pool->lock);
                if (i == SIZE_MAX)
                        return NULL;
                int r = pool->fn(&pool->jobs[i]);
                if (r < 0 && pool->jobs[i].r == 0)
                        pool->jobs[i].r = r;
        }
}

/* fn over every job, up to MAX_WORKERS at once (each mostly waits: for the kernel, for answers). */
static void run_pool(struct pool *pool, int (*fn)(struct net_job *)) {
        pthread_t threads[MAX_WORKERS];
        size_t nthreads = 0, want = pool->n < MAX_WORKERS ? pool->n : MAX_WORKERS;

        pool->fn = fn;
        pool->next = 0;
        for (; nthreads < want; nthreads++)
                if (pthread_create(&threads[nthreads], NULL, worker, pool) != 0)
                        break;
        if (nthreads == 0)
                worker(pool); /* no thread: do it here */
        for (size_t i = 0; i < nthreads; i++)
                pthread_join(threads[i], NULL);
}

/*
 * All probes are made together and deleted together: the namespaces in
 * parallel, every veth pair in one netlink batch, the checks of every network
 * at once, and one batched deletion at the end (a deletion per probe costs an
 * RCU grace period each, which dominated verify of many networks).
 */
int vnc_verify_profile(const struct vnc_host_ops *host, const struct vnc_profile *p, struct vnc_verify_result *ret,
                       struct vnc_error *e) {
        struct vnc_probe_set *set = NULL;
        struct pool pool = {.lock = PTHREAD_MUTEX_INITIALIZER};
        struct dhcp_gate dhcp = {.lock = PTHREAD_MUTEX_INITIALIZER};
        int r;

        *ret = (struct vnc_verify_result){.ok = true};
        if (p->n_networks == 0)
                return host->probe_cleanup_stale(NULL, e);
        r = host->probe_set_new(p->name, p->n_networks, &set, e);
        if (r < 0)
                return r;
        pool.jobs = calloc(p->n_networks, sizeof(*pool.jobs));
        if (!pool.jobs) {
                host->probe_set_free(set);
                return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
        }
        pool.n = p->n_networks;
        if (sem_init(&dhcp.slots, 0, DHCP_INFLIGHT) < 0) {
                r = -errno;
                free(pool.jobs);
                host->probe_set_free(set);
                return vnc_error_set(e, VNC_ERR_RUNTIME, r, "verify: could not make a semaphore: %s", strerror(-r));
        }
        for (size_t i = 0; i < pool.n; i++)
                pool.jobs[i] = (struct net_job){.host = host, .p = p, .index = i, .set = set, .dhcp = &dhcp};

        run_pool(&pool, prepare_network);
        r = host->probe_set_link(set, e);
        if (r >= 0)
                run_pool(&pool, verify_network);
        host->probe_set_free(TAKE_PTR(set));
        sem_destroy(&dhcp.slots);

        for (size_t i = 0; i < pool.n; i++) {
                struct net_job *j = &pool.jobs[i];
                if (j->r < 0 && r == 0) {
                        r = j->r;
                        if (e && !vnc_error_isset(e)) {
                                *e = j->err; /* hand it over */
                                j->err = (struct vnc_error){0};
                        }
                }
                vnc_error_clear(&j->err);
                for (size_t k = 0; k < j->res.n_checks; k++) {
                        struct vnc_check *c = &j->res.checks[k];
                        if (r == 0 && vnc_verify_add(ret, c->network, c->kind, c->pass, c->ms, TAKE_PTR(c->name),
                                                     TAKE_PTR(c->detail)) < 0)
                                r = vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
                }
                vnc_verify_result_done(&j->res);
        }
        free(pool.jobs);
        if (r == 0)
                r = vnc_verify_vlan(host, p, ret, e); /* vlan: core/verify-vlan.c */
        if (r < 0)
                vnc_verify_result_done(ret);
        return r;
}
