/* SPDX-License-Identifier: MIT */
/*
 * The guest-side probe of doctor --target (see guestprobe.h): echo requests
 * injected on a bridge as Ethernet frames, and a packet socket that keeps
 * only frames whose source is the guest's MAC.
 *
 * The watcher is one AF_PACKET socket bound to no interface (every port of
 * the bridge, taps and veths alike, shows the guest's frames as they arrive
 * from it, before the bridge decides where they go: a reply sent to another
 * router's MAC is seen too, which the bridge device itself would never
 * receive). A classic BPF filter on the Ethernet source keeps the kernel from
 * queueing anything else; the socket is made with protocol 0 and bound to
 * ETH_P_ALL only after the filter is attached, so nothing slips in before it.
 */
#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

#include "guestprobe.h"
#include "util.h"

#define ICMP_ECHOREPLY_T 0
#define ICMP_UNREACH_T 3
#define ICMP_ECHO_T 8
#define ICMP_TIMXCEED_T 11
#define PAYLOAD "vnetcfg doctor guest probe"

struct echo_frame {
        uint8_t dst[6], src[6];
        uint16_t ethertype;
        /* IPv4, no options */
        uint8_t vihl, tos;
        uint16_t tot_len, id, frag;
        uint8_t ttl, proto;
        uint16_t check;
        uint32_t saddr, daddr;
        /* ICMP echo */
        uint8_t type, code;
        uint16_t icheck, ident, seq;
        char data[sizeof(PAYLOAD) - 1];
} __attribute__((packed));

struct arp_body {
        uint16_t htype, ptype;
        uint8_t hlen, plen;
        uint16_t op;
        uint8_t sha[6], spa[4], tha[6], tpa[4];
} __attribute__((packed));

static int64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint16_t csum(const void *data, size_t len) {
        const uint8_t *b = data;
        uint32_t s = 0;
        for (size_t i = 0; i + 1 < len; i += 2)
                s += (uint32_t)b[i] << 8 | b[i + 1];
        if (len & 1)
                s += (uint32_t)b[len - 1] << 8;
        while (s >> 16)
                s = (s & 0xffff) + (s >> 16);
        return htons((uint16_t)~s);
}

static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

/* Frames from the guest's MAC only: Ethernet source at bytes 6..11. */
static int watch_open(const uint8_t mac[6]) {
        struct sock_filter code[] = {
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 6),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, rd32(mac), 0, 3),
                BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 10),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, rd16(mac + 4), 0, 1),
                BPF_STMT(BPF_RET | BPF_K, 0xffff),
                BPF_STMT(BPF_RET | BPF_K, 0),
        };
        struct sock_fprog prog = {.len = ELEMENTSOF(code), .filter = code};
        struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL)};
        _cleanup_close_ int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

        if (fd < 0)
                return -errno;
        if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0 ||
            bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
                return -errno;
        return TAKE_FD(fd);
}

static int inject_open(int ifindex) {
        struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_ifindex = ifindex};
        /* Protocol 0: this socket sends and never receives. */
        _cleanup_close_ int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

        if (fd < 0)
                return -errno;
        if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
                return -errno;
        return TAKE_FD(fd);
}

static int echo_send(int fd, const struct vnc_guest_probe *p, uint32_t src, uint16_t ident, uint16_t seq) {
        struct echo_frame f = {.ethertype = htons(ETH_P_IP), .vihl = 0x45, .tot_len = htons(sizeof(f) - 14),
                               .id = htons(seq), .ttl = 64, .proto = IPPROTO_ICMP, .saddr = htonl(src),
                               .daddr = htonl(p->guest_ip), .type = ICMP_ECHO_T, .ident = htons(ident),
                               .seq = htons(seq)};

        memcpy(f.dst, p->guest_mac, 6);
        memcpy(f.src, p->bridge_mac, 6);
        memcpy(f.data, PAYLOAD, sizeof(f.data));
        f.check = csum(&f.vihl, 20);
        f.icheck = csum(&f.type, 8 + sizeof(f.data));
        return send(fd, &f, sizeof(f), 0) < 0 ? -errno : 0;
}

static int arp_seen(struct vnc_guest_probe *p, uint32_t ip) {
        for (size_t i = 0; i < p->n_arp_asked; i++)
                if (p->arp_asked[i] == ip)
                        return 0;
        uint32_t *v = realloc(p->arp_asked, (p->n_arp_asked + 1) * sizeof(*v));
        if (!v)
                return -ENOMEM;
        p->arp_asked = v;
        p->arp_asked[p->n_arp_asked++] = ip;
        return 0;
}

static struct vnc_guest_echo *echo_by_src(struct vnc_guest_probe *p, uint32_t dst) {
        for (size_t i = 0; i < p->n_echo; i++)
                if (p->echo[i].src == dst)
                        return &p->echo[i];
        return NULL;
}

/* One frame from the guest's MAC. */
static int judge_frame(struct vnc_guest_probe *p, const uint8_t *b, size_t len, uint16_t ident) {
        if (len < 14)
                return 0;
        uint16_t type = rd16(b + 12);
        const uint8_t *l3 = b + 14;
        len -= 14;

        if (type == ETH_P_ARP) {
                const struct arp_body *a = (const void *)l3;
                if (len < sizeof(*a) || a->op != htons(ARPOP_REQUEST) || a->plen != 4 ||
                    rd32(a->spa) != p->guest_ip || rd32(a->tpa) == p->guest_ip)
                        return 0;
                return arp_seen(p, rd32(a->tpa));
        }
        if (type != ETH_P_IP || len < 20 || (l3[0] >> 4) != 4 || l3[9] != IPPROTO_ICMP)
                return 0;
        size_t ihl = (size_t)(l3[0] & 0x0f) * 4;
        if (ihl < 20 || len < ihl + 8 || rd32(l3 + 12) != p->guest_ip)
                return 0;
        struct vnc_guest_echo *x = echo_by_src(p, rd32(l3 + 16));
        const uint8_t *ic = l3 + ihl;
        if (!x)
                return 0;
        if (ic[0] == ICMP_ECHOREPLY_T && rd16(ic + 4) == ident) {
                if (!x->answered)
                        memcpy(x->reply_mac, b, 6);
                x->answered = true;
        } else if (ic[0] == ICMP_UNREACH_T || ic[0] == ICMP_TIMXCEED_T) {
                x->icmp_error = true;
                x->icmp_type = ic[0];
                x->icmp_code = ic[1];
        }
        return 0;
}

static bool all_answered(const struct vnc_guest_probe *p) {
        for (size_t i = 0; i < p->n_echo; i++)
                if (!p->echo[i].answered)
                        return false;
        return true;
}

int vnc_guest_probe_run(struct vnc_guest_probe *p, struct vnc_error *e) {
        _cleanup_close_ int watch = -1, out = -1;
        uint16_t ident;
        int r;

        for (size_t i = 0; i < p->n_echo; i++) {
                uint32_t src = p->echo[i].src;
                p->echo[i] = (struct vnc_guest_echo){.src = src};
        }
        p->sent = 0;
        if (getrandom(&ident, sizeof(ident), GRND_NONBLOCK) != sizeof(ident))
                ident = (uint16_t)(now_ms() ^ getpid());

        watch = watch_open(p->guest_mac);
        if (watch < 0) {
                r = vnc_error_set(e, VNC_ERR_RUNTIME, watch, "could not watch the guest's frames (AF_PACKET)");
                vnc_error_detail(e, "%s", strerror(-watch));
                return r;
        }
        out = inject_open(p->bridge_ifindex);
        if (out < 0) {
                r = vnc_error_set(e, VNC_ERR_RUNTIME, out, "could not open a packet socket on interface %d",
                                  p->bridge_ifindex);
                vnc_error_detail(e, "%s", strerror(-out));
                return r;
        }

        int tries = p->tries > 0 ? p->tries : 1;
        int64_t start = now_ms(), deadline = start + p->timeout_ms, next = start;
        int round = 0;
        for (;;) {
                int64_t now = now_ms();
                if (round < tries && now >= next) {
                        for (size_t i = 0; i < p->n_echo; i++) {
                                if (p->echo[i].answered)
                                        continue;
                                r = echo_send(out, p, p->echo[i].src, ident, (uint16_t)(round * 16 + i + 1));
                                if (r < 0) {
                                        r = vnc_error_set(e, VNC_ERR_RUNTIME, r,
                                                          "could not send an echo request on interface %d",
                                                          p->bridge_ifindex);
                                        vnc_error_detail(e, "%s", strerror(-r));
                                        return r;
                                }
                                p->sent++;
                        }
                        round++;
                        next = start + (int64_t)p->timeout_ms * round / tries;
                }
                if (now >= deadline || all_answered(p))
                        break;
                int64_t until = round < tries && next < deadline ? next : deadline;
                struct pollfd pfd = {.fd = watch, .events = POLLIN};
                int got = poll(&pfd, 1, (int)(until > now ? until - now : 0));
                if (got < 0 && errno != EINTR) {
                        r = vnc_error_set(e, VNC_ERR_RUNTIME, -errno, "could not wait for the guest's frames");
                        vnc_error_detail(e, "%s", strerror(errno));
                        return r;
                }
                for (;;) {
                        uint8_t buf[256];
                        struct sockaddr_ll from;
                        socklen_t fl = sizeof(from);
                        ssize_t k = recvfrom(watch, buf, sizeof(buf), MSG_TRUNC, (struct sockaddr *)&from, &fl);
                        if (k < 0)
                                break;
                        if (from.sll_pkttype == PACKET_OUTGOING)
                                continue;
                        r = judge_frame(p, buf, (size_t)k < sizeof(buf) ? (size_t)k : sizeof(buf), ident);
                        if (r < 0)
                                return vnc_error_set(e, VNC_ERR_RUNTIME, r, "out of memory");
                }
        }
        p->ms = (unsigned)(now_ms() - start);
        return 0;
}
