/* SPDX-License-Identifier: MIT */
/*
 * Extra host facts for the doctor: the neighbour table, one route lookup,
 * per-interface sysctls, sockets on the DHCP/DNS ports and an active ARP
 * probe. Raw rtnetlink for the two netlink questions (a dump and a get are a
 * dozen lines each; no cache is worth building for them).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>

#include "diag.h"
#include "model.h"
#include "sysctl.h"

#define NL_BUF 32768

static void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}
static void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

/* ---------------------------------------------------------------- netlink */

static int nl_socket_open(struct vnc_error *e) {
        int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
        if (fd < 0) {
                int r = vnc_error_set(e, VNC_ERR_RUNTIME, -errno, "could not open a netlink socket");
                vnc_error_detail(e, "%s", strerror(-r));
                return r;
        }
        int one = 1;
        (void)setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
        (void)setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof(one));
        return fd;
}

static int nl_send(int fd, void *req, size_t len, const char *what, struct vnc_error *e) {
        struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
        ssize_t k;

        do
                k = sendto(fd, req, len, 0, (struct sockaddr *)&sa, sizeof(sa));
        while (k < 0 && errno == EINTR);
        if (k < 0) {
                int r = vnc_error_set(e, VNC_ERR_RUNTIME, -errno, "could not ask the kernel for %s", what);
                vnc_error_detail(e, "%s", strerror(-r));
                return r;
        }
        return 0;
}

static ssize_t nl_recv(int fd, void *buf, size_t len, const char *what, struct vnc_error *e) {
        ssize_t k;

        do
                k = recv(fd, buf, len, 0);
        while (k < 0 && errno == EINTR);
        if (k < 0) {
                int r = vnc_error_set(e, VNC_ERR_RUNTIME, -errno, "could not read %s from the kernel", what);
                vnc_error_detail(e, "%s", strerror(-r));
                return r;
        }
        return k;
}

static int neigh_add(struct vnc_neigh_table *t, const struct nlmsghdr *h) {
        const struct ndmsg *nd = NLMSG_DATA(h);
        int len = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*nd));
        struct vnc_neigh n = {.ifindex = nd->ndm_ifindex, .state = nd->ndm_state};
        bool has_dst = false;

        if (len < 0 || nd->ndm_family != AF_INET)
                return 0;
        for (const struct rtattr *a = (const struct rtattr *)((const char *)nd + NLMSG_ALIGN(sizeof(*nd)));
             RTA_OK(a, len); a = RTA_NEXT(a, len)) {
                if (a->rta_type == NDA_DST && RTA_PAYLOAD(a) == 4) {
                        uint32_t be;
                        memcpy(&be, RTA_DATA(a), 4);
                        n.ip = ntohl(be);
                        has_dst = true;
                } else if (a->rta_type == NDA_LLADDR && RTA_PAYLOAD(a) == 6) {
                        memcpy(n.lladdr, RTA_DATA(a), 6);
                        n.has_lladdr = true;
                }
        }
        if (!has_dst)
                return 0;
        if (VNC_GROW(t->v, t->alloc, t->n + 1) < 0)
                return -ENOMEM;
        t->v[t->n++] = n;
        return 0;
}

int vnc_diag_neigh_read(struct vnc_neigh_table *ret, struct vnc_error *e) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        struct vnc_neigh_table t = {0};
        struct {
                struct nlmsghdr h;
                struct ndmsg nd;
        } req = {
                .h = {.nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETNEIGH,
                      .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1},
                .nd = {.ndm_family = AF_INET},
        };
        int r;

        fd = nl_socket_open(e);
        if (fd < 0)
                return fd;
        buf = malloc(NL_BUF);
        if (!buf)
                return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
        r = nl_send(fd, &req, sizeof(req), "the neighbour table", e);
        if (r < 0)
                return r;
        for (;;) {
                ssize_t k = nl_recv(fd, buf, NL_BUF, "the neighbour table", e);
                if (k < 0) {
                        vnc_neigh_table_done(&t);
                        return (int)k;
                }
                int len = (int)k;
                for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
                        if (h->nlmsg_type == NLMSG_DONE) {
                                *ret = t;
                                return 0;
                        }
                        if (h->nlmsg_type == NLMSG_ERROR) {
                                const struct nlmsgerr *err = NLMSG_DATA(h);
                                vnc_neigh_table_done(&t);
                                r = vnc_error_set(e, VNC_ERR_RUNTIME, err->error ? err->error : -EIO,
                                                  "could not read the neighbour table");
                                vnc_error_detail(e, "%s", strerror(err->error ? -err->error : EIO));
                                return r;
                        }
                        if (h->nlmsg_type == RTM_NEWNEIGH && neigh_add(&t, h) < 0) {
                                vnc_neigh_table_done(&t);
                                return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
                        }
                }
        }
}

int vnc_diag_route_get(uint32_t dst, struct vnc_route_lookup *ret, struct vnc_error *e) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        struct {
                struct nlmsghdr h;
                struct rtmsg rt;
                struct rtattr a;
                uint32_t dst;
        } req = {
                .h = {.nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETROUTE, .nlmsg_flags = NLM_F_REQUEST,
                      .nlmsg_seq = 1},
                .rt = {.rtm_family = AF_INET, .rtm_dst_len = 32},
                .a = {.rta_len = RTA_LENGTH(4), .rta_type = RTA_DST},
                .dst = htonl(dst),
        };
        char ip[16];
        int r;

        *ret = (struct vnc_route_lookup){0};
        fd = nl_socket_open(e);
        if (fd < 0)
                return fd;
        buf = malloc(NL_BUF);
        if (!buf)
                return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
        vnc_ipv4_str(dst, ip);
        r = nl_send(fd, &req, sizeof(req), "a route", e);
        if (r < 0)
                return r;
        for (;;) {
                ssize_t k = nl_recv(fd, buf, NL_BUF, "a route", e);
                if (k < 0)
                        return (int)k;
                int len = (int)k;
                for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
                        if (h->nlmsg_type == NLMSG_ERROR) {
                                const struct nlmsgerr *err = NLMSG_DATA(h);
                                ret->error = err->error ? err->error : -EIO;
                                return 0;
                        }
                        if (h->nlmsg_type != RTM_NEWROUTE)
                                continue;
                        const struct rtmsg *rt = NLMSG_DATA(h);
                        int alen = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*rt));
                        ret->type = rt->rtm_type;
                        ret->table = rt->rtm_table;
                        for (const struct rtattr *a =
                                     (const struct rtattr *)((const char *)rt + NLMSG_ALIGN(sizeof(*rt)));
                             alen > 0 && RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
                                uint32_t v;
                                if (RTA_PAYLOAD(a) < 4)
                                        continue;
                                memcpy(&v, RTA_DATA(a), 4);
                                switch (a->rta_type) {
                                case RTA_OIF:
                                        ret->oif = (int)v;
                                        break;
                                case RTA_GATEWAY:
                                        ret->has_gw = true;
                                        ret->gw = ntohl(v);
                                        break;
                                case RTA_PREFSRC:
                                        ret->has_prefsrc = true;
                                        ret->prefsrc = ntohl(v);
                                        break;
                                case RTA_TABLE:
                                        ret->table = v;
                                        break;
                                }
                        }
                        return 0;
                }
        }
}

/* ---------------------------------------------------------------- sysctls */

static int parse_int(const char *s, int *ret) {
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (errno || end == s || *end || v < -2147483647L || v > 2147483647L)
                return -EINVAL;
        *ret = (int)v;
        return 0;
}

int vnc_diag_conf_int(const char *ifname, const char *leaf, int *ret) {
        _cleanup_free_ char *key = NULL, *val = NULL;
        int r;

        if (!ifname || !vnc_ifname_valid(ifname))
                return -EINVAL;
        key = vnc_strdup_printf("net.ipv4.conf.%s.%s", ifname, leaf);
        if (!key)
                return -ENOMEM;
        r = vnc_sysctl_read(key, &val);
        if (r < 0)
                return r;
        return parse_int(val, ret);
}

int vnc_diag_br_nf_call_iptables(int *ret) {
        _cleanup_free_ char *val = NULL;
        int r = vnc_sysctl_read("net.bridge.bridge-nf-call-iptables", &val);
        if (r < 0)
                return r;
        return parse_int(val, ret);
}

int vnc_diag_addr_assign_type(const char *ifname, int *ret) {
        _cleanup_free_ char *path = NULL;
        _cleanup_(fclosep) FILE *f = NULL;
        int v;

        if (!vnc_ifname_valid(ifname))
                return -EINVAL;
        path = vnc_strdup_printf("/sys/class/net/%s/addr_assign_type", ifname);
        if (!path)
                return -ENOMEM;
        f = fopen(path, "re");
        if (!f)
                return -errno;
        if (fscanf(f, "%d", &v) != 1)
                return -EIO;
        *ret = v;
        return 0;
}

/* ---------------------------------------------------------------- listeners */

static bool want_port(const uint16_t *ports, size_t n, uint16_t p) {
        for (size_t i = 0; i < n; i++)
                if (ports[i] == p)
                        return true;
        return false;
}

/* /proc/net/{udp,tcp}: "sl local_address rem_address st tx:rx tr:when retr uid timeout inode" */
static int read_proc_net(const char *path, uint8_t proto, const uint16_t *ports, size_t n_ports,
                         struct vnc_listener **v, size_t *n, size_t *alloc) {
        _cleanup_(fclosep) FILE *f = fopen(path, "re");
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;

        if (!f)
                return errno == ENOENT ? 0 : -errno;
        if (getline(&line, &cap, f) < 0) /* header */
                return 0;
        while (getline(&line, &cap, f) > 0) {
                unsigned laddr, lport, raddr, rport, st;
                unsigned long inode;
                /* sl: local:port rem:port st tx:rx tr:when retr uid timeout inode */
                if (sscanf(line, " %*u: %8X:%4X %8X:%4X %2X %*X:%*X %*X:%*X %*X %*u %*u %lu", &laddr, &lport,
                           &raddr, &rport, &st, &inode) != 6)
                        continue;
                if (proto == IPPROTO_TCP && st != 0x0A) /* TCP_LISTEN */
                        continue;
                if (!want_port(ports, n_ports, (uint16_t)lport))
                        continue;
                if (VNC_GROW(*v, *alloc, *n + 1) < 0)
                        return -ENOMEM;
                /* The kernel prints the __be32 as a native integer. */
                (*v)[(*n)++] = (struct vnc_listener){
                        .proto = proto, .addr = ntohl(laddr), .port = (uint16_t)lport, .inode = inode};
        }
        return 0;
}

/* One pass over /proc/<pid>/fd: which process holds which of the sockets. */
static void resolve_owners(struct vnc_listener *v, size_t n) {
        _cleanup_(closedirp) DIR *proc = opendir("/proc");
        struct dirent *de;
        size_t left = n;

        if (!proc)
                return;
        while (left > 0 && (de = readdir(proc))) {
                char *end;
                unsigned long pid = strtoul(de->d_name, &end, 10);
                if (*end || pid == 0 || pid > 0x7fffffff)
                        continue;
                char fdpath[64];
                snprintf(fdpath, sizeof(fdpath), "/proc/%lu/fd", pid);
                _cleanup_(closedirp) DIR *fds = opendir(fdpath);
                if (!fds)
                        continue;
                struct dirent *fe;
                while (left > 0 && (fe = readdir(fds))) {
                        char link[64];
                        ssize_t k = readlinkat(dirfd(fds), fe->d_name, link, sizeof(link) - 1);
                        unsigned long ino;
                        if (k <= 0)
                                continue;
                        link[k] = 0;
                        if (sscanf(link, "socket:[%lu]", &ino) != 1)
                                continue;
                        for (size_t i = 0; i < n; i++) {
                                if (v[i].pid || v[i].inode != ino || ino == 0)
                                        continue;
                                v[i].pid = (pid_t)pid;
                                char commpath[64];
                                snprintf(commpath, sizeof(commpath), "/proc/%lu/comm", pid);
                                _cleanup_(fclosep) FILE *c = fopen(commpath, "re");
                                if (c && fgets(v[i].comm, sizeof(v[i].comm), c))
                                        v[i].comm[strcspn(v[i].comm, "\n")] = 0;
                                left--;
                        }
                }
        }
}

int vnc_diag_listeners(const uint16_t *ports, size_t n_ports, struct vnc_listener **ret, size_t *ret_n,
                       struct vnc_error *e) {
        struct vnc_listener *v = NULL;
        size_t n = 0, alloc = 0;
        int r;

        r = read_proc_net("/proc/net/udp", IPPROTO_UDP, ports, n_ports, &v, &n, &alloc);
        if (r >= 0)
                r = read_proc_net("/proc/net/tcp", IPPROTO_TCP, ports, n_ports, &v, &n, &alloc);
        if (r < 0) {
                free(v);
                r = vnc_error_set(e, VNC_ERR_RUNTIME, r, "could not read the host's sockets from /proc/net");
                vnc_error_detail(e, "%s", strerror(-r));
                return r;
        }
        if (n > 0)
                resolve_owners(v, n);
        *ret = v;
        *ret_n = n;
        return 0;
}

/* ---------------------------------------------------------------- ARP probe */

struct arp_frame {
        uint8_t dst[6], src[6];
        uint16_t ethertype;
        uint16_t htype, ptype;
        uint8_t hlen, plen;
        uint16_t op;
        uint8_t sha[6];
        uint8_t spa[4];
        uint8_t tha[6];
        uint8_t tpa[4];
} __attribute__((packed));

static int64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * One socket for every probe, not one bound to each bridge: closing an
 * AF_PACKET socket waits for an RCU grace period (packet_release()), tens of
 * ms on a busy host, so a socket per network cost doctor of 100 networks
 * seconds. Frames are told apart by the interface they came in on, as the
 * bound sockets did: a reply counts only when it reached the probe's bridge.
 */
static int arp_open(void) {
        int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_ARP));
        int size = 4 << 20; /* every reply of hundreds of networks may arrive at once */

        if (fd < 0)
                return -errno;
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
                (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
        return fd;
}

static int arp_send(int fd, const struct vnc_arp_probe *p) {
        struct arp_frame req = {.ethertype = htons(ETH_P_ARP), .htype = htons(ARPHRD_ETHER),
                                .ptype = htons(ETH_P_IP), .hlen = 6, .plen = 4, .op = htons(ARPOP_REQUEST)};
        struct sockaddr_ll to = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ARP),
                                 .sll_ifindex = p->ifindex, .sll_halen = 6};
        uint32_t be;

        memset(req.dst, 0xff, 6);
        memset(to.sll_addr, 0xff, 6);
        memcpy(req.src, p->src_mac, 6);
        memcpy(req.sha, p->src_mac, 6);
        be = htonl(p->sender_ip);
        memcpy(req.spa, &be, 4);
        be = htonl(p->target_ip);
        memcpy(req.tpa, &be, 4);
        if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&to, sizeof(to)) >= 0)
                return 0;
        return errno == ENXIO ? -ENODEV : -errno; /* no such interface: as binding to it said */
}

/* A reply for p: distinct MACs kept. */
static int arp_note(struct vnc_arp_probe *p, const uint8_t mac[6]) {
        for (size_t i = 0; i < p->n_macs; i++)
                if (memcmp(p->macs[i], mac, 6) == 0)
                        return 0;
        uint8_t(*m)[6] = realloc(p->macs, (p->n_macs + 1) * sizeof(*m));
        if (!m)
                return -ENOMEM;
        p->macs = m;
        memcpy(p->macs[p->n_macs++], mac, 6);
        return 0;
}

/* Drain the socket: each reply goes to the probes of the interface it came in on, for its sender address. */
static int arp_collect(int fd, struct vnc_arp_probe *probes, size_t n) {
        for (;;) {
                struct arp_frame a;
                struct sockaddr_ll from;
                socklen_t fl = sizeof(from);
                uint32_t be;
                ssize_t got = recvfrom(fd, &a, sizeof(a), 0, (struct sockaddr *)&from, &fl);
                if (got < 0)
                        return errno == EAGAIN || errno == EINTR ? 0 : -errno;
                if ((size_t)got < sizeof(a) || from.sll_pkttype == PACKET_OUTGOING ||
                    a.ethertype != htons(ETH_P_ARP) || a.op != htons(ARPOP_REPLY) || a.plen != 4 || a.hlen != 6)
                        continue;
                memcpy(&be, a.spa, 4);
                for (size_t i = 0; i < n; i++) {
                        struct vnc_arp_probe *p = &probes[i];
                        if (p->ifindex != from.sll_ifindex || p->target_ip != ntohl(be))
                                continue;
                        int r = arp_note(p, a.sha);
                        if (r < 0)
                                return r;
                }
        }
}

int vnc_diag_arp_probe_many(struct vnc_arp_probe *probes, size_t n, unsigned timeout_ms, struct vnc_error *e) {
        _cleanup_close_ int fd = -1;

        for (size_t i = 0; i < n; i++)
                probes[i].error = 0;
        if (n == 0)
                return 0;
        fd = arp_open();
        if (fd < 0) {
                for (size_t i = 0; i < n; i++)
                        probes[i].error = fd;
                return 0;
        }
        /* Two requests each, the second a third of the way in: one lost frame is not a verdict. */
        int64_t start = now_ms(), deadline = start + timeout_ms, second = start + timeout_ms / 3;
        int sent = 0;
        for (;;) {
                int64_t now = now_ms();
                if (sent < 2 && (sent == 0 || now >= second)) {
                        for (size_t i = 0; i < n; i++) {
                                int s = arp_send(fd, &probes[i]);
                                if (s < 0 && !probes[i].error)
                                        probes[i].error = s; /* the first error is kept */
                        }
                        sent++;
                }
                if (now >= deadline)
                        return 0;
                int64_t wait = (sent < 2 ? second : deadline) - now;
                struct pollfd pfd = {.fd = fd, .events = POLLIN};
                int got = poll(&pfd, 1, (int)(wait > 0 ? wait : 0));
                if (got < 0 && errno != EINTR) {
                        int r = vnc_error_set(e, VNC_ERR_RUNTIME, -errno, "could not wait for ARP replies");
                        vnc_error_detail(e, "%s", strerror(errno));
                        return r;
                }
                if (got > 0 && (pfd.revents & POLLIN)) {
                        int c = arp_collect(fd, probes, n);
                        if (c == -ENOMEM)
                                return vnc_error_set(e, VNC_ERR_RUNTIME, c, "out of memory");
                }
        }
}

int vnc_diag_arp_probe(int ifindex, const uint8_t src_mac[6], uint32_t sender_ip, uint32_t target_ip,
                       unsigned timeout_ms, uint8_t (**ret_macs)[6], size_t *ret_n, struct vnc_error *e) {
        struct vnc_arp_probe p = {.ifindex = ifindex, .sender_ip = sender_ip, .target_ip = target_ip};
        int r;

        memcpy(p.src_mac, src_mac, 6);
        r = vnc_diag_arp_probe_many(&p, 1, timeout_ms, e);
        if (r >= 0 && p.error < 0) {
                r = vnc_error_set(e, VNC_ERR_RUNTIME, p.error, "could not send an ARP probe on interface %d",
                                  ifindex);
                vnc_error_detail(e, "%s", strerror(-p.error));
        }
        if (r < 0) {
                vnc_arp_probe_done(&p);
                return r;
        }
        *ret_macs = TAKE_PTR(p.macs);
        *ret_n = p.n_macs;
        return 0;
}
