/* SPDX-License-Identifier: MIT */
/*
 * The verify probe: see probe.h. Everything here is netlink, raw ICMP and
 * packet sockets; no tool is run.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/errqueue.h>
#include <linux/filter.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <netinet/ip.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include <netlink/attr.h>
#include <netlink/msg.h>

#include "live.h"
#include "model.h"
#include "nl.h"
#include "probe.h"

#ifndef IPV6_DONTFRAG
#define IPV6_DONTFRAG 62
#endif

struct vnc_probe {
        char ifname[VNC_IFNAMSIZ]; /* host end */
        char bridge[VNC_IFNAMSIZ];
        int bridge_ifindex;
        int host_ifindex;          /* of the host end, 0 until created */
        int eth0_ifindex;          /* in the probe namespace */
        uint32_t mtu;
        uint8_t mac[6];            /* eth0's */
        uint8_t bridge_mac[6];
        int ns_fd;                 /* the probe's network namespace: it lives as long as this fd
                                    * and the sockets opened in it, so it ends with this process */
        int host_ns_fd;            /* the namespace the creating thread was in */
        struct vnc_nl *nl;         /* host namespace (the set's when in a set) */
        struct vnc_nl *nl_in;      /* probe namespace */
        struct vnc_probe_set *set; /* made with others: linked and deleted with them */
        int link_error;            /* in a set: why its veth pair could not be made (-errno) */
        struct vnc_error link_err;
        bool ready;                /* in a set: eth0 up and its link-local address set */
        /* in a set: ARP probes sent from the bridge by _prepare(), answers collected by _get() */
        int arp_fd;
        double arp_deadline;
        uint32_t *arp_cands;
        size_t n_arp;
        bool *arp_free;            /* the caller's */
};

struct vnc_probe_set {
        struct vnc_probe **probes; /* n slots, NULL until prepared */
        size_t n;
        uint32_t group;            /* link group of every host end: one batched deletion */
        char *profile;
        char **networks;
        struct vnc_nl *nl;
};

static double now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void vnc_live_freep(struct vnc_live **l) { vnc_live_free(*l); }

/* ---- entering and leaving the probe namespace (this thread only) ---- */

static int enter(struct vnc_probe *p) {
        return setns(p->ns_fd, CLONE_NEWNET) < 0 ? -errno : 0;
}

static void leave(struct vnc_probe *p) {
        /* Returning to the namespace we came from cannot fail short of a kernel bug;
         * staying in the probe's would be worse than stopping. */
        if (setns(p->host_ns_fd, CLONE_NEWNET) < 0)
                abort();
}

/* A socket opened in the probe's namespace (it stays bound to it). */
static int socket_in(struct vnc_probe *p, bool in_probe, int domain, int type, int proto) {
        int fd, r;

        if (!in_probe) {
                fd = socket(domain, type | SOCK_CLOEXEC, proto);
                return fd < 0 ? -errno : fd;
        }
        r = enter(p);
        if (r < 0)
                return r;
        fd = socket(domain, type | SOCK_CLOEXEC, proto);
        r = fd < 0 ? -errno : fd;
        leave(p);
        return r;
}

/* ---- the namespace ---- */

/*
 * A new network namespace for the probe, made by this thread (unshare changes
 * only the calling thread's namespace) and held by a file descriptor: no
 * process holds it, so it ends with this process whatever kills it, and with
 * it eth0 and the host end of the pair. While inside: no DAD for the
 * link-local address eth0 is about to get, and the netlink socket for it.
 */
static int make_namespace(struct vnc_probe *p, struct vnc_error *e) {
        int r;

        if (unshare(CLONE_NEWNET) < 0)
                return vnc_error_set(e, VNC_ERR_RUNTIME, -errno, "probe: could not make a network namespace: %m");
        p->ns_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        r = p->ns_fd < 0 ? -errno : 0;
        if (r == 0) {
                int fd = open("/proc/sys/net/ipv6/conf/default/accept_dad", O_WRONLY | O_CLOEXEC);
                if (fd >= 0) {
                        (void)!write(fd, "0\n", 2);
                        close(fd);
                }
                r = vnc_nl_open(&p->nl_in, e);
        } else
                vnc_error_set(e, VNC_ERR_RUNTIME, r, "probe: could not open its namespace: %s", strerror(-r));
        leave(p);
        return r;
}

/* ---- netlink helpers ---- */

/* Send one request and wait for its ack; the kernel's text goes into e. */
static int nl_do(struct vnc_nl *nl, struct nl_msg *m, const char *what, struct vnc_error *e) {
        _cleanup_(vnc_nl_batch_donep) struct vnc_nl_batch b = {0};
        int r;

        if ((r = vnc_nl_batch_add(&b, m, 0)) < 0)
                return vnc_error_set(e, VNC_ERR_RUNTIME, r, "%s: out of memory", what);
        r = vnc_nl_batch_flush(nl, &b, true, e);
        if (r < 0)
                return r;
        if (b.res[0].error < 0) {
                vnc_nl_result_error(e, &b.res[0], "%s", what);
                return b.res[0].error;
        }
        return 0;
}

static void random_bytes(void *buf, size_t n) {
        if (getrandom(buf, n, 0) != (ssize_t)n) {
                /* getrandom of a few bytes does not fail after boot; be safe anyway */
                uint8_t *b = buf;
                unsigned s = (unsigned)getpid() ^ (unsigned)now_ms();
                for (size_t i = 0; i < n; i++)
                        b[i] = (uint8_t)rand_r(&s);
        }
}

static int bridge_info(struct vnc_probe *p, struct vnc_error *e) {
        _cleanup_close_ int fd = -1;
        struct ifreq ifr = {0};

        p->bridge_ifindex = (int)if_nametoindex(p->bridge);
        if (p->bridge_ifindex <= 0)
                return vnc_error_set(e, VNC_ERR_RUNTIME, -ENODEV, "bridge \"%s\" does not exist", p->bridge);
        fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return vnc_error_set(e, VNC_ERR_RUNTIME, -errno, "probe: could not open a socket: %m");
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", p->bridge);
        if (ioctl(fd, SIOCGIFMTU, &ifr) < 0)
                return vnc_error_set(e, VNC_ERR_RUNTIME, -errno, "bridge \"%s\": could not read its MTU: %m",
                                     p->bridge);
        p->mtu = (uint32_t)ifr.ifr_mtu;
        if (ioctl(fd, SIOCGIFHWADDR, &ifr) == 0)
                memcpy(p->bridge_mac, ifr.ifr_hwaddr.sa_data, 6);
        return 0;
}

/*
 * Queue the veth pair of p (host end on the bridge, up, in link group group
 * unless 0; eth0 in the probe's namespace) and its alias: two requests tagged
 * tag and tag + 1. The alias goes in the same datagram, by name: the window
 * without a mark is one kernel pass.
 */
static int queue_veth(struct vnc_probe *p, const char *profile, const char *network, uint32_t group,
                      struct vnc_nl_batch *b, size_t tag) {
        _cleanup_free_ char *alias = vnc_strdup_printf(VNC_PROBE_ALIAS_PREFIX "%s/%s", profile, network);
        uint8_t host_mac[6];
        struct nl_msg *m;
        int r;

        if (!alias)
                return -ENOMEM;
        /* fe:.. as libvirt does for taps: a bridge never adopts it as its own address,
         * so the bridge's MAC does not change while the probe is attached. */
        random_bytes(host_mac, sizeof(host_mac));
        host_mac[0] = 0xfe;
        random_bytes(p->mac, sizeof(p->mac));
        p->mac[0] = (uint8_t)((p->mac[0] & 0xfc) | 0x02); /* locally administered unicast */

        m = vnc_nl_link_msg(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0, IFF_UP, IFF_UP);
        if (!m)
                return -ENOMEM;
        struct nlattr *li, *data, *peer, *af, *af6;
        /* The peer cannot be created up: veth_open() refuses (-ENOTCONN) before the pair is linked. */
        struct ifinfomsg pifi = {.ifi_family = AF_UNSPEC};
        if (nla_put_string(m, IFLA_IFNAME, p->ifname) < 0 || nla_put(m, IFLA_ADDRESS, 6, host_mac) < 0 ||
            nla_put_u32(m, IFLA_MTU, p->mtu) < 0 || nla_put_u32(m, IFLA_MASTER, (uint32_t)p->bridge_ifindex) < 0 ||
            (group && nla_put_u32(m, IFLA_GROUP, group) < 0) || !(li = nla_nest_start(m, IFLA_LINKINFO)) || nla_put_string(m, IFLA_INFO_KIND, "veth") < 0 ||
            !(data = nla_nest_start(m, IFLA_INFO_DATA)) || !(peer = nla_nest_start(m, VETH_INFO_PEER)) ||
            nlmsg_append(m, &pifi, sizeof(pifi), NLMSG_ALIGNTO) < 0 || nla_put_string(m, IFLA_IFNAME, "eth0") < 0 ||
            nla_put(m, IFLA_ADDRESS, 6, p->mac) < 0 || nla_put_u32(m, IFLA_MTU, p->mtu) < 0 ||
            nla_put_u32(m, IFLA_NET_NS_FD, (uint32_t)p->ns_fd) < 0) {
                nlmsg_free(m);
                return -ENOMEM;
        }
        nla_nest_end(m, peer);
        nla_nest_end(m, data);
        nla_nest_end(m, li);
        if ((r = vnc_nl_batch_add(b, m, tag)) < 0)
                return r;
        /*
         * With the alias: the host end, a bridge port, gets no IPv6 link-local address (set
         * while eth0 is still down, so before the carrier would make one). Hundreds of probes
         * at once would send as many address events to every listener, and dnsmasq's
         * bind-dynamic re-reads every interface on each, answering no DHCP meanwhile.
         */
        m = vnc_nl_link_msg(RTM_SETLINK, 0, 0, 0, 0);
        if (m && (nla_put_string(m, IFLA_IFNAME, p->ifname) < 0 || nla_put_string(m, IFLA_IFALIAS, alias) < 0 ||
                  !(af = nla_nest_start(m, IFLA_AF_SPEC)) || !(af6 = nla_nest_start(m, AF_INET6)) ||
                  nla_put_u8(m, IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE) < 0)) {
                nlmsg_free(m);
                m = NULL;
        }
        if (m) {
                nla_nest_end(m, af6);
                nla_nest_end(m, af);
        }
        return vnc_nl_batch_add(b, m, tag + 1);
}

/* The acks of queue_veth's two requests. */
static int veth_made(struct vnc_probe *p, const struct vnc_nl_result *made, const struct vnc_nl_result *aliased,
                     struct vnc_error *e) {
        if (!made->acked || made->error < 0) {
                vnc_nl_result_error(e, made, "probe \"%s\" on bridge \"%s\": could not create its veth pair",
                                    p->ifname, p->bridge);
                return made->error < 0 ? made->error : -EIO;
        }
        p->host_ifindex = (int)if_nametoindex(p->ifname);
        if (!aliased->acked || aliased->error < 0) {
                vnc_nl_result_error(e, aliased, "probe \"%s\": could not set its alias", p->ifname);
                return aliased->error < 0 ? aliased->error : -EIO;
        }
        if (p->host_ifindex <= 0)
                return vnc_error_set(e, VNC_ERR_RUNTIME, -ENODEV, "probe \"%s\": vanished after its creation",
                                     p->ifname);
        return 0;
}

static int create_veth(struct vnc_probe *p, const char *profile, const char *network, struct vnc_error *e) {
        _cleanup_(vnc_nl_batch_donep) struct vnc_nl_batch b = {0};
        int r;

        if ((r = queue_veth(p, profile, network, 0, &b, 0)) < 0)
                return vnc_error_set(e, VNC_ERR_RUNTIME, r, "out of memory");
        r = vnc_nl_batch_flush(p->nl, &b, true, e);
        if (r < 0)
                return r;
        return veth_made(p, &b.res[0], &b.res[1], e);
}

static int ll_of_mac(const uint8_t mac[6], struct in6_addr *ret) {
        memset(ret, 0, sizeof(*ret));
        ret->s6_addr[0] = 0xfe;
        ret->s6_addr[1] = 0x80;
        ret->s6_addr[8] = mac[0] ^ 0x02;
        ret->s6_addr[9] = mac[1];
        ret->s6_addr[10] = mac[2];
        ret->s6_addr[11] = 0xff;
        ret->s6_addr[12] = 0xfe;
        ret->s6_addr[13] = mac[3];
        ret->s6_addr[14] = mac[4];
        ret->s6_addr[15] = mac[5];
        return 0;
}

static struct nl_msg *addr_msg(int family, int ifindex, const void *addr, size_t len, uint8_t prefix, uint8_t scope,
                               uint32_t flags) {
        struct ifaddrmsg ifa = {.ifa_family = (uint8_t)family,
                                .ifa_prefixlen = prefix,
                                .ifa_flags = (uint8_t)flags,
                                .ifa_scope = scope,
                                .ifa_index = (uint32_t)ifindex};
        struct nl_msg *m = nlmsg_alloc_simple(RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE);

        if (!m)
                return NULL;
        if (nlmsg_append(m, &ifa, sizeof(ifa), NLMSG_ALIGNTO) < 0 || nla_put(m, IFA_LOCAL, (int)len, addr) < 0 ||
            nla_put(m, IFA_ADDRESS, (int)len, addr) < 0 || nla_put_u32(m, IFA_FLAGS, flags) < 0) {
                nlmsg_free(m);
                return NULL;
        }
        return m;
}

/* Inside: the netlink socket, eth0's index, and its link-local address without DAD. */
static int setup_inside(struct vnc_probe *p, struct vnc_error *e) {
        _cleanup_(vnc_nl_batch_donep) struct vnc_nl_batch b = {0};
        struct in6_addr ll;
        int r;

        r = enter(p);
        if (r < 0)
                return vnc_error_set(e, VNC_ERR_RUNTIME, r, "probe \"%s\": could not enter its namespace: %s",
                                     p->ifname, strerror(-r));
        p->eth0_ifindex = (int)if_nametoindex("eth0");
        leave(p);
        if (p->eth0_ifindex <= 0)
                return vnc_error_set(e, VNC_ERR_RUNTIME, -ENODEV, "probe \"%s\": its peer eth0 is missing",
                                     p->ifname);
        /*
         * Up, and the link-local address, in one round trip. The kernel adds the same
         * address when the carrier comes up; either way it is there once this is
         * acknowledged, and usable at once (no DAD). IPv6 may be disabled on this
         * host: then the bridged checks say so.
         */
        ll_of_mac(p->mac, &ll);
        if ((r = vnc_nl_batch_add(&b, vnc_nl_link_msg(RTM_SETLINK, 0, p->eth0_ifindex, IFF_UP, IFF_UP), 0)) < 0 ||
            (r = vnc_nl_batch_add(&b, addr_msg(AF_INET6, p->eth0_ifindex, &ll, sizeof(ll), 64, RT_SCOPE_LINK,
                                               IFA_F_NODAD | IFA_F_PERMANENT), 1)) < 0)
                return vnc_error_set(e, VNC_ERR_RUNTIME, r, "out of memory");
        r = vnc_nl_batch_flush(p->nl_in, &b, false, e);
        if (r < 0)
                return r;
        if (b.res[0].error < 0) {
                vnc_nl_result_error(e, &b.res[0], "probe \"%s\": could not bring its eth0 up", p->ifname);
                return b.res[0].error;
        }
        p->ready = true;
        return 0;
}

/* A probe on bridge, without namespace and links yet: its name, the bridge's index, MTU and MAC. */
static int probe_alloc(const char *bridge, struct vnc_probe **ret, struct vnc_error *e) {
        _cleanup_(vnc_probe_freep) struct vnc_probe *p = calloc(1, sizeof(*p));
        uint32_t rnd;
        int r;

        if (!p)
                return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
        p->ns_fd = p->host_ns_fd = p->arp_fd = -1;
        snprintf(p->bridge, sizeof(p->bridge), "%s", bridge);
        random_bytes(&rnd, sizeof(rnd));
        snprintf(p->ifname, sizeof(p->ifname), VNC_PROBE_IFNAME_PREFIX "%08x", rnd);

        r = bridge_info(p, e);
        if (r < 0)
                return r;
        p->host_ns_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (p->host_ns_fd < 0)
                return vnc_error_set(e, VNC_ERR_RUNTIME, -errno, "probe: could not open this thread's namespace: %m");
        *ret = TAKE_PTR(p);
        return 0;
}

int vnc_probe_new(const char *bridge, const char *profile, const char *network, struct vnc_probe **ret,
                  struct vnc_error *e) {
        _cleanup_(vnc_probe_freep) struct vnc_probe *p = NULL;
        int r;

        r = probe_alloc(bridge, &p, e);
        if (r < 0)
                return r;
        r = make_namespace(p, e);
        if (r < 0)
                return r;
        r = vnc_nl_open(&p->nl, e);
        if (r < 0)
                return r;
        r = create_veth(p, profile, network, e);
        if (r < 0)
                return r;
        r = setup_inside(p, e);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(p);
        return 0;
}

/*
 * A bridge whose MTU was never set after creation follows its ports: when the
 * probe, its last port, leaves, the kernel drops the bridge to 1500. Put back
 * what the bridge had when the probe came (which also pins it there).
 */
/* The request that puts the bridge's MTU back, or NULL when it did not change. */
static struct nl_msg *bridge_mtu_msg(struct vnc_probe *p) {
        _cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct ifreq ifr = {0};

        if (fd < 0)
                return NULL;
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", p->bridge);
        if (ioctl(fd, SIOCGIFMTU, &ifr) < 0 || (uint32_t)ifr.ifr_mtu == p->mtu)
                return NULL;
        struct nl_msg *m = vnc_nl_link_msg(RTM_SETLINK, 0, p->bridge_ifindex, 0, 0);
        if (m && nla_put_u32(m, IFLA_MTU, p->mtu) < 0) {
                nlmsg_free(m);
                m = NULL;
        }
        return m;
}

static void restore_bridge_mtu(struct vnc_probe *p) {
        struct nl_msg *m = bridge_mtu_msg(p);
        struct vnc_error ignored = {0};
        if (m)
                (void)nl_do(p->nl, m, "bridge: restore its MTU", &ignored);
        vnc_error_clear(&ignored);
}

/* Close what p holds; its links go with its namespace (or were deleted already). */
static void probe_release(struct vnc_probe *p) {
        if (p->arp_fd >= 0)
                close(p->arp_fd);
        free(p->arp_cands);
        if (p->ns_fd >= 0)
                close(p->ns_fd);
        if (p->host_ns_fd >= 0)
                close(p->host_ns_fd);
        vnc_nl_free(p->nl_in);
        if (!p->set)
                vnc_nl_free(p->nl);
        vnc_error_clear(&p->link_err);
        free(p);
}

void vnc_probe_free(struct vnc_probe *p) {
        if (!p)
                return;
        if (p->set)
                return; /* the set's: vnc_probe_set_free() deletes them all at once */
        if (p->host_ifindex > 0 && p->nl) {
                struct nl_msg *m = vnc_nl_link_msg(RTM_DELLINK, 0, p->host_ifindex, 0, 0);
                struct vnc_error ignored = {0};
                /* -ENODEV: gone already. Other failures leave a stale probe the next run removes. */
                if (m)
                        (void)nl_do(p->nl, m, "probe: delete", &ignored);
                vnc_error_clear(&ignored);
                restore_bridge_mtu(p);
        }
        probe_release(p);
}

/* ---- probes made together ---- */

static int arp_send(int fd, int ifindex, const uint8_t sha[6], const uint32_t *cands, size_t n);
static int delete_stale(struct vnc_nl *nl, const struct vnc_live *links, unsigned *ret_removed, struct vnc_error *e);
static int arp_collect(int fd, const uint8_t sha[6], const uint32_t *cands, size_t n, double deadline,
                       bool *ret_free);

int vnc_probe_set_new(const char *profile, size_t n, struct vnc_probe_set **ret, struct vnc_error *e) {
        _cleanup_(vnc_probe_set_freep) struct vnc_probe_set *s = calloc(1, sizeof(*s));
        _cleanup_(vnc_live_freep) struct vnc_live *links = NULL;
        int r;

        if (!s || !(s->probes = calloc(n ? n : 1, sizeof(*s->probes))) ||
            !(s->networks = calloc(n ? n : 1, sizeof(*s->networks))) || !(s->profile = strdup(profile)))
                return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
        s->n = n;
        r = vnc_nl_open(&s->nl, e);
        if (r < 0)
                return r;
        /* One dump: stale probes (of a vnetcfg killed before this one) go, and a link group
         * nobody uses: the host ends join it, and one request deletes them all. */
        r = vnc_nl_read_links(s->nl, &links, &s->group, e);
        if (r < 0)
                return r;
        r = delete_stale(s->nl, links, NULL, e);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

int vnc_probe_set_prepare(struct vnc_probe_set *s, size_t i, const char *bridge, const char *network,
                          const uint32_t *cands, size_t n_cands, int wait_ms, bool *ret_free, struct vnc_error *e) {
        struct vnc_probe *p = NULL;
        int r;

        for (size_t k = 0; k < n_cands; k++)
                ret_free[k] = true;
        if (i >= s->n || s->probes[i])
                return vnc_error_set(e, VNC_ERR_RUNTIME, -EINVAL, "probe set: slot %zu is taken or out of range", i);
        if (!(s->networks[i] = strdup(network)))
                return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
        r = probe_alloc(bridge, &p, e);
        if (r < 0)
                return r;
        p->set = s;
        p->nl = s->nl;
        s->probes[i] = p;
        /*
         * The ARP probes go out of the bridge itself (its MAC as sender, so answers come to
         * the host), now; the answers are read by _get(): the wait overlaps the making of
         * every namespace and veth pair and, across networks, each other. A bridge that is
         * down sends nothing: nobody answers.
         */
        if (n_cands > 0) {
                int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ARP));
                struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ARP),
                                          .sll_ifindex = p->bridge_ifindex};
                if (fd < 0 || bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
                        r = -errno;
                        if (fd >= 0)
                                close(fd);
                        return vnc_error_set(e, VNC_ERR_RUNTIME, r,
                                             "bridge \"%s\": could not open a packet socket for ARP probes: %s",
                                             bridge, strerror(-r));
                }
                p->arp_deadline = now_ms() + wait_ms;
                if (arp_send(fd, p->bridge_ifindex, p->bridge_mac, cands, n_cands) < 0) {
                        close(fd);
                } else if (!(p->arp_cands = malloc(n_cands * sizeof(*cands)))) {
                        close(fd);
                        return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
                } else {
                        memcpy(p->arp_cands, cands, n_cands * sizeof(*cands));
                        p->arp_fd = fd;
                        p->n_arp = n_cands;
                        p->arp_free = ret_free;
                }
        }
        return make_namespace(p, e);
}

int vnc_probe_set_link(struct vnc_probe_set *s, struct vnc_error *e) {
        _cleanup_(vnc_nl_batch_donep) struct vnc_nl_batch b = {0};
        int r;

        for (size_t i = 0; i < s->n; i++)
                if (s->probes[i] &&
                    (r = queue_veth(s->probes[i], s->profile, s->networks[i], s->group, &b, 2 * i)) < 0)
                        return vnc_error_set(e, VNC_ERR_RUNTIME, r, "out of memory");
        if (b.n == 0)
                return 0;
        r = vnc_nl_batch_flush(s->nl, &b, false, e);
        if (r < 0)
                return r;
        for (size_t k = 0; k + 1 < b.n; k += 2) {
                struct vnc_probe *p = s->probes[b.res[k].tag / 2];
                p->link_error = veth_made(p, &b.res[k], &b.res[k + 1], &p->link_err);
        }
        /* Every eth0 up now, so the kernel's carrier events (and the bridge ports they enable)
         * are handled while the next probes come up, not while the checks wait. */
        for (size_t i = 0; i < s->n; i++) {
                struct vnc_probe *p = s->probes[i];
                if (p && p->link_error == 0 && (p->link_error = setup_inside(p, &p->link_err)) == 0)
                        p->ready = true;
        }
        return 0;
}

#define PORT_WAIT_MS 5000 /* the kernel's link watch runs under the rtnl lock: slow on a busy host */
#define PORT_POLL_MS 5

/*
 * Until the host end is running (operstate up): the kernel's link watch sets
 * that, and in the same pass enables the bridge port. Before, the bridge drops
 * what the probe sends, and the first checks would lose their first tries.
 */
static void wait_port(struct vnc_probe *p) {
        _cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        double deadline = now_ms() + PORT_WAIT_MS;
        struct ifreq ifr = {0};

        if (fd < 0)
                return;
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", p->ifname);
        while (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 && !(ifr.ifr_flags & IFF_RUNNING) && now_ms() < deadline) {
                struct timespec ts = {.tv_nsec = PORT_POLL_MS * 1000000L};
                nanosleep(&ts, NULL);
        }
}

int vnc_probe_set_get(struct vnc_probe_set *s, size_t i, struct vnc_probe **ret, struct vnc_error *e) {
        struct vnc_probe *p = i < s->n ? s->probes[i] : NULL;

        if (!p)
                return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOENT, "probe set: no probe in slot %zu", i);
        if (p->link_error < 0) {
                vnc_error_move(e, &p->link_err);
                return p->link_error;
        }
        if (!p->ready) {
                int r = setup_inside(p, e);
                if (r < 0)
                        return r;
        }
        wait_port(p);
        *ret = p;
        return 0;
}

int vnc_probe_set_arp_wait(struct vnc_probe_set *s, size_t i, struct vnc_error *e) {
        struct vnc_probe *p = i < s->n ? s->probes[i] : NULL;

        if (!p || p->arp_fd < 0)
                return 0;
        int r = arp_collect(p->arp_fd, p->bridge_mac, p->arp_cands, p->n_arp, p->arp_deadline, p->arp_free);
        close(p->arp_fd);
        p->arp_fd = -1;
        if (r < 0)
                return vnc_error_set(e, VNC_ERR_RUNTIME, r, "bridge \"%s\": ARP probes: %s", p->bridge, strerror(-r));
        return 0;
}

/*
 * Every host end in one unregister (one RCU grace period, where a deletion per
 * probe costs one each): they are the only members of a group nobody used
 * when the set was made (as nl-link.c deletes links). Then the bridges' MTUs
 * as they were, in one batch; then the namespaces end.
 */
void vnc_probe_set_free(struct vnc_probe_set *s) {
        _cleanup_(vnc_nl_batch_donep) struct vnc_nl_batch b = {0};
        struct vnc_error ignored = {0};
        bool by_group = false;

        if (!s)
                return;
        for (size_t i = 0; i < s->n; i++)
                by_group = by_group || (s->probes[i] && s->probes[i]->host_ifindex > 0);
        if (s->nl && by_group) {
                struct nl_msg *m = vnc_nl_link_msg(RTM_DELLINK, 0, 0, 0, 0);
                if (m && nla_put_u32(m, IFLA_GROUP, s->group) < 0) {
                        nlmsg_free(m);
                        m = NULL;
                }
                (void)vnc_nl_batch_add(&b, m, SIZE_MAX);
        }
        /* Failures leave stale probes that end with their namespaces below, or the next run removes. */
        if (b.n > 0)
                (void)vnc_nl_batch_flush(s->nl, &b, false, &ignored);
        vnc_error_clear(&ignored);
        vnc_nl_batch_done(&b);
        b = (struct vnc_nl_batch){0};
        for (size_t i = 0; i < s->n; i++) {
                struct vnc_probe *p = s->probes[i];
                struct nl_msg *m = p && p->host_ifindex > 0 ? bridge_mtu_msg(p) : NULL;
                if (m)
                        (void)vnc_nl_batch_add(&b, m, i);
        }
        if (b.n > 0)
                (void)vnc_nl_batch_flush(s->nl, &b, false, &ignored);
        vnc_error_clear(&ignored);
        for (size_t i = 0; i < s->n; i++) {
                if (s->probes[i])
                        probe_release(s->probes[i]);
                free(s->networks ? s->networks[i] : NULL);
        }
        free(s->probes);
        free(s->networks);
        free(s->profile);
        vnc_nl_free(s->nl);
        free(s);
}

const char *vnc_probe_ifname(const struct vnc_probe *p) { return p->ifname; }
uint32_t vnc_probe_bridge_mtu(const struct vnc_probe *p) { return p->mtu; }

/* ---- stale probes ---- */

/* Delete the stale probes among links (one dump's worth), in the namespace of nl. */
static int delete_stale(struct vnc_nl *nl, const struct vnc_live *links, unsigned *ret_removed, struct vnc_error *e) {
        _cleanup_(vnc_nl_batch_donep) struct vnc_nl_batch b = {0};
        unsigned removed = 0;
        int r;

        for (size_t i = 0; i < links->n_links; i++) {
                const struct vnc_live_link *l = &links->links[i];
                bool ours = l->alias ? strncmp(l->alias, VNC_PROBE_ALIAS_PREFIX, strlen(VNC_PROBE_ALIAS_PREFIX)) == 0
                                     : streq(l->kind, "veth") && strncmp(l->name, VNC_PROBE_IFNAME_PREFIX,
                                                                         strlen(VNC_PROBE_IFNAME_PREFIX)) == 0;
                if (!ours)
                        continue;
                if ((r = vnc_nl_batch_add(&b, vnc_nl_link_msg(RTM_DELLINK, 0, l->ifindex, 0, 0), i)) < 0)
                        return vnc_error_set(e, VNC_ERR_RUNTIME, r, "out of memory");
        }
        if (b.n > 0) {
                r = vnc_nl_batch_flush(nl, &b, false, e);
                if (r < 0)
                        return r;
        }
        for (size_t k = 0; k < b.n; k++) {
                const struct vnc_live_link *l = &links->links[b.res[k].tag];
                if (b.res[k].error == 0)
                        removed++;
                else if (b.res[k].error != -ENODEV) {
                        /* gone meanwhile (its namespace ended, or a concurrent cleanup) is fine */
                        vnc_nl_result_error(e, &b.res[k], "stale probe \"%s\": could not delete", l->name);
                        return b.res[k].error;
                }
        }
        if (ret_removed)
                *ret_removed = removed;
        return 0;
}

int vnc_probe_cleanup_stale(unsigned *ret_removed, struct vnc_error *e) {
        _cleanup_(vnc_nl_freep) struct vnc_nl *nl = NULL;
        _cleanup_(vnc_live_freep) struct vnc_live *links = NULL;
        int r;

        r = vnc_nl_open(&nl, e);
        if (r < 0)
                return r;
        r = vnc_nl_read_links(nl, &links, NULL, e);
        if (r < 0)
                return r;
        return delete_stale(nl, links, ret_removed, e);
}

/* ---- addresses ---- */

int vnc_probe_set_ipv4(struct vnc_probe *p, uint32_t addr, uint8_t prefix, uint32_t gateway, bool default_onlink,
                       struct vnc_error *e) {
        uint32_t a = htonl(addr);
        char buf[16];
        int r;

        struct nl_msg *m = addr_msg(AF_INET, p->eth0_ifindex, &a, sizeof(a), prefix, RT_SCOPE_UNIVERSE,
                                    IFA_F_PERMANENT);
        if (!m)
                return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
        _cleanup_free_ char *what = vnc_strdup_printf("probe \"%s\": could not add %s/%u to its eth0", p->ifname,
                                                      vnc_ipv4_str(addr, buf), prefix);
        r = nl_do(p->nl_in, m, what ? what : "probe: address", e);
        if (r < 0)
                return r;
        if (!gateway && !default_onlink)
                return 0;

        struct rtmsg rtm = {.rtm_family = AF_INET,
                            .rtm_table = RT_TABLE_MAIN,
                            .rtm_protocol = RTPROT_BOOT,
                            .rtm_scope = gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK,
                            .rtm_type = RTN_UNICAST};
        uint32_t gw = htonl(gateway);
        m = nlmsg_alloc_simple(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE);
        if (!m || nlmsg_append(m, &rtm, sizeof(rtm), NLMSG_ALIGNTO) < 0 ||
            nla_put_u32(m, RTA_OIF, (uint32_t)p->eth0_ifindex) < 0 ||
            (gateway && nla_put(m, RTA_GATEWAY, sizeof(gw), &gw) < 0)) {
                if (m)
                        nlmsg_free(m);
                return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
        }
        free(what);
        what = gateway ? vnc_strdup_printf("probe \"%s\": could not add its default route via %s", p->ifname,
                                           vnc_ipv4_str(gateway, buf))
                       : vnc_strdup_printf("probe \"%s\": could not add its default route", p->ifname);
        return nl_do(p->nl_in, m, what ? what : "probe: route", e);
}

static int find_addr(struct vnc_probe *p, bool probe_side, int family, void *ret, struct vnc_error *e) {
        struct ifaddrs *ifa = NULL;
        int r, ifindex = probe_side ? p->eth0_ifindex : p->bridge_ifindex;
        const char *name = probe_side ? "eth0" : p->bridge;

        if (probe_side && (r = enter(p)) < 0)
                return vnc_error_set(e, VNC_ERR_RUNTIME, r, "probe \"%s\": could not enter its namespace: %s",
                                     p->ifname, strerror(-r));
        r = getifaddrs(&ifa) < 0 ? -errno : 0;
        if (probe_side)
                leave(p);
        if (r < 0)
                return vnc_error_set(e, VNC_ERR_RUNTIME, r, "could not read the addresses of \"%s\": %s", name,
                                     strerror(-r));
        r = -EADDRNOTAVAIL;
        for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
                if (!i->ifa_addr || i->ifa_addr->sa_family != family || !streq(i->ifa_name, name))
                        continue;
                if (family == AF_INET) {
                        *(uint32_t *)ret = ntohl(((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr);
                        r = 0;
                        break;
                }
                const struct in6_addr *a6 = &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
                if (IN6_IS_ADDR_LINKLOCAL(a6)) {
                        *(struct in6_addr *)ret = *a6;
                        r = 0;
                        break;
                }
        }
        freeifaddrs(ifa);
        (void)ifindex;
        if (r < 0)
                return vnc_error_set(e, VNC_ERR_RUNTIME, r, "\"%s\" has no %s address", name,
                                     family == AF_INET ? "IPv4" : "IPv6 link-local");
        return 0;
}

/*
 * The first IPv6 link-local address of ifindex that has finished DAD, read
 * with one RTM_GETADDR dump. 1 found, 0 only tentative or none, -errno.
 */
static int ll_dump(int fd, int ifindex, struct in6_addr *ret, bool *ret_tentative, uint32_t seq) {
        struct {
                struct nlmsghdr h;
                struct ifaddrmsg ifa;
        } req = {.h = {.nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETADDR,
                       .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = seq},
                 .ifa = {.ifa_family = AF_INET6}};
        _cleanup_free_ uint8_t *buf = malloc(65536);
        int found = 0;

        *ret_tentative = false;
        if (!buf)
                return -ENOMEM;
        if (send(fd, &req, sizeof(req), 0) < 0)
                return -errno;
        for (;;) {
                struct pollfd pfd = {.fd = fd, .events = POLLIN};
                int k = poll(&pfd, 1, 2000);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return k < 0 ? -errno : -ETIMEDOUT;
                ssize_t got = recv(fd, buf, 65536, 0);
                if (got < 0) {
                        if (errno == EINTR || errno == EAGAIN)
                                continue;
                        return -errno;
                }
                size_t len = (size_t)got;
                for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
                        if (h->nlmsg_seq != seq)
                                continue;
                        if (h->nlmsg_type == NLMSG_DONE)
                                return found;
                        if (h->nlmsg_type == NLMSG_ERROR) {
                                const struct nlmsgerr *err = NLMSG_DATA(h);
                                return err->error < 0 ? err->error : -EIO;
                        }
                        if (h->nlmsg_type != RTM_NEWADDR || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifaddrmsg)))
                                continue;
                        const struct ifaddrmsg *ifa = NLMSG_DATA(h);
                        if ((int)ifa->ifa_index != ifindex || found)
                                continue;
                        uint32_t flags = ifa->ifa_flags;
                        const struct in6_addr *a = NULL;
                        int alen = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*ifa));
                        for (struct rtattr *rta = IFA_RTA(ifa); RTA_OK(rta, alen); rta = RTA_NEXT(rta, alen)) {
                                if (rta->rta_type == IFA_ADDRESS && RTA_PAYLOAD(rta) == 16)
                                        a = RTA_DATA(rta);
                                else if (rta->rta_type == IFA_FLAGS && RTA_PAYLOAD(rta) == 4)
                                        memcpy(&flags, RTA_DATA(rta), 4);
                        }
                        if (!a || !IN6_IS_ADDR_LINKLOCAL(a))
                                continue;
                        if (flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED)) {
                                *ret_tentative = true;
                                continue;
                        }
                        *ret = *a;
                        found = 1;
                }
        }
}

#define LL_WAIT_MS 3000 /* DAD of a bridge made just now: one NS and a second's wait */
#define LL_POLL_MS 10

int vnc_probe_ipv6_ll(struct vnc_probe *p, bool probe_side, struct in6_addr *ret, struct vnc_error *e) {
        _cleanup_close_ int fd = -1;
        const char *name = probe_side ? "eth0" : p->bridge;
        int ifindex = probe_side ? p->eth0_ifindex : p->bridge_ifindex;
        double deadline = now_ms() + LL_WAIT_MS;
        bool tentative = false;
        int r;

        fd = socket_in(p, probe_side, AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
        if (fd < 0)
                return vnc_error_set(e, VNC_ERR_RUNTIME, fd, "could not open a rtnetlink socket: %s", strerror(-fd));
        /*
         * Addresses are tentative until DAD has run, even with nodad (the DAD work
         * clears the flag a moment later), and a tentative address is no source.
         * Addresses have no event worth a subscription here: poll with a deadline.
         */
        for (uint32_t seq = 1;; seq++) {
                r = ll_dump(fd, ifindex, ret, &tentative, seq);
                if (r < 0)
                        return vnc_error_set(e, VNC_ERR_RUNTIME, r, "could not read the addresses of \"%s\": %s", name,
                                             strerror(-r));
                if (r > 0)
                        return 0;
                if (!tentative || now_ms() >= deadline)
                        break;
                struct timespec ts = {.tv_nsec = LL_POLL_MS * 1000000L};
                nanosleep(&ts, NULL);
        }
        return vnc_error_set(e, VNC_ERR_RUNTIME, -EADDRNOTAVAIL,
                             tentative ? "\"%s\": its IPv6 link-local address is still tentative (DAD) after %d ms"
                                       : "\"%s\" has no IPv6 link-local address",
                             name, LL_WAIT_MS);
}

int vnc_probe_bridge_ipv4(struct vnc_probe *p, uint32_t *ret, struct vnc_error *e) {
        return find_addr(p, false, AF_INET, ret, e);
}

/* ---- ARP probes ---- */

struct arp_pkt {
        uint16_t htype, ptype;
        uint8_t hlen, plen;
        uint16_t op;
        uint8_t sha[6];
        uint8_t spa[4];
        uint8_t tha[6];
        uint8_t tpa[4];
} __attribute__((packed));

static int packet_socket(struct vnc_probe *p, uint16_t proto, struct vnc_error *e) {
        int fd = socket_in(p, true, AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK, htons(proto));
        if (fd < 0)
                return vnc_error_set(e, VNC_ERR_RUNTIME, fd, "probe \"%s\": could not open a packet socket: %s",
                                     p->ifname, strerror(-fd));
        struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(proto), .sll_ifindex = p->eth0_ifindex};
        if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
                int r = -errno;
                close(fd);
                return vnc_error_set(e, VNC_ERR_RUNTIME, r, "probe \"%s\": could not bind a packet socket: %s",
                                     p->ifname, strerror(-r));
        }
        return fd;
}

static int send_broadcast(struct vnc_probe *p, int fd, uint16_t proto, const void *buf, size_t len) {
        struct sockaddr_ll to = {.sll_family = AF_PACKET,
                                 .sll_protocol = htons(proto),
                                 .sll_ifindex = p->eth0_ifindex,
                                 .sll_halen = 6};
        memset(to.sll_addr, 0xff, 6);
        return sendto(fd, buf, len, 0, (struct sockaddr *)&to, sizeof(to)) < 0 ? -errno : 0;
}

/* RFC 5227 probes (sender 0.0.0.0, sha) for each candidate, broadcast out of ifindex. */
static int arp_send(int fd, int ifindex, const uint8_t sha[6], const uint32_t *cands, size_t n) {
        struct sockaddr_ll to = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ARP), .sll_ifindex = ifindex,
                                 .sll_halen = 6};
        memset(to.sll_addr, 0xff, 6);
        for (size_t i = 0; i < n; i++) {
                struct arp_pkt a = {.htype = htons(ARPHRD_ETHER),
                                    .ptype = htons(ETH_P_IP),
                                    .hlen = 6,
                                    .plen = 4,
                                    .op = htons(ARPOP_REQUEST)};
                uint32_t t = htonl(cands[i]);
                memcpy(a.sha, sha, 6);
                memcpy(a.tpa, &t, 4);
                if (sendto(fd, &a, sizeof(a), 0, (struct sockaddr *)&to, sizeof(to)) < 0)
                        return -errno;
        }
        return 0;
}

/* Until deadline: ret_free[i] turns false when someone answers for cands[i] or probes for it too. */
static int arp_collect(int fd, const uint8_t sha[6], const uint32_t *cands, size_t n, double deadline,
                       bool *ret_free) {
        for (;;) {
                double left = deadline - now_ms();
                if (left <= 0)
                        return 0;
                struct pollfd pfd = {.fd = fd, .events = POLLIN};
                int k = poll(&pfd, 1, (int)left + 1);
                if (k < 0 && errno != EINTR)
                        return -errno;
                if (k <= 0)
                        continue;
                struct arp_pkt a;
                struct sockaddr_ll from;
                socklen_t fl = sizeof(from);
                ssize_t got = recvfrom(fd, &a, sizeof(a), 0, (struct sockaddr *)&from, &fl);
                if (got < (ssize_t)sizeof(a) || from.sll_pkttype == PACKET_OUTGOING)
                        continue;
                if (ntohs(a.ptype) != ETH_P_IP || a.plen != 4 || memcmp(a.sha, sha, 6) == 0)
                        continue;
                uint32_t spa, tpa;
                memcpy(&spa, a.spa, 4);
                memcpy(&tpa, a.tpa, 4);
                for (size_t i = 0; i < n; i++) {
                        /* someone uses it, or someone else is probing for it (RFC 5227 2.1.1) */
                        if (ntohl(spa) == cands[i] ||
                            (spa == 0 && ntohs(a.op) == ARPOP_REQUEST && ntohl(tpa) == cands[i]))
                                ret_free[i] = false;
                }
        }
}

int vnc_probe_arp_free(struct vnc_probe *p, const uint32_t *cands, size_t n, int wait_ms, bool *ret_free,
                       struct vnc_error *e) {
        _cleanup_close_ int fd = -1;
        int r;

        for (size_t i = 0; i < n; i++)
                ret_free[i] = true;
        fd = packet_socket(p, ETH_P_ARP, e);
        if (fd < 0)
                return fd;
        r = arp_send(fd, p->eth0_ifindex, p->mac, cands, n);
        if (r < 0)
                return vnc_error_set(e, VNC_ERR_RUNTIME, r, "probe \"%s\": could not send an ARP probe: %s",
                                     p->ifname, strerror(-r));
        r = arp_collect(fd, p->mac, cands, n, now_ms() + wait_ms, ret_free);
        if (r < 0)
                return vnc_error_set(e, VNC_ERR_RUNTIME, r, "probe: poll: %s", strerror(-r));
        return 0;
}

/* ---- DHCP ---- */

static uint16_t csum_fold(uint32_t sum) {
        while (sum >> 16)
                sum = (sum & 0xffff) + (sum >> 16);
        return (uint16_t)~sum;
}

static uint32_t csum_add(uint32_t sum, const void *data, size_t len) {
        const uint8_t *b = data;
        for (size_t i = 0; i + 1 < len; i += 2)
                sum += (uint32_t)(b[i] << 8 | b[i + 1]);
        if (len & 1)
                sum += (uint32_t)(b[len - 1] << 8);
        return sum;
}

#define DHCP_MAGIC 0x63825363u
#define BOOTP_FIXED 236 /* op .. file */

static size_t build_discover(const struct vnc_probe *p, uint32_t xid, uint8_t *pkt, size_t cap) {
        const size_t iphl = 20, udphl = 8, bootp = 300;
        size_t len = iphl + udphl + bootp;
        if (cap < len)
                return 0;
        memset(pkt, 0, len);
        uint8_t *b = pkt + iphl + udphl;
        b[0] = 1; /* BOOTREQUEST */
        b[1] = 1; /* Ethernet */
        b[2] = 6;
        uint32_t x = htonl(xid);
        memcpy(b + 4, &x, 4);
        b[10] = 0x80; /* broadcast flag: the offer comes back to 255.255.255.255 */
        memcpy(b + 28, p->mac, 6);
        uint32_t magic = htonl(DHCP_MAGIC);
        memcpy(b + BOOTP_FIXED, &magic, 4);
        uint8_t *o = b + BOOTP_FIXED + 4;
        *o++ = 53, *o++ = 1, *o++ = 1;                         /* DHCPDISCOVER */
        *o++ = 61, *o++ = 7, *o++ = 1;                         /* client id: type 1 + MAC */
        memcpy(o, p->mac, 6), o += 6;
        *o++ = 55, *o++ = 3, *o++ = 1, *o++ = 3, *o++ = 6;     /* subnet mask, router, DNS */
        *o++ = 255;

        uint8_t *u = pkt + iphl;
        u[0] = 0, u[1] = 68, u[2] = 0, u[3] = 67;
        u[4] = (uint8_t)((udphl + bootp) >> 8), u[5] = (uint8_t)(udphl + bootp);
        uint8_t pseudo[12] = {0, 0, 0, 0, 255, 255, 255, 255, 0, IPPROTO_UDP, u[4], u[5]};
        uint16_t c = csum_fold(csum_add(csum_add(0, pseudo, sizeof(pseudo)), u, udphl + bootp));
        if (c == 0)
                c = 0xffff;
        u[6] = (uint8_t)(c >> 8), u[7] = (uint8_t)c;

        pkt[0] = 0x45;
        pkt[2] = (uint8_t)(len >> 8), pkt[3] = (uint8_t)len;
        pkt[8] = 64;
        pkt[9] = IPPROTO_UDP;
        memset(pkt + 16, 0xff, 4);
        c = csum_fold(csum_add(0, pkt, iphl));
        pkt[10] = (uint8_t)(c >> 8), pkt[11] = (uint8_t)c;
        return len;
}

/* An OFFER for xid: its yiaddr and server id (host byte order). */
static bool parse_offer(const uint8_t *pkt, size_t len, uint32_t xid, uint32_t *ret_offer, uint32_t *ret_server) {
        if (len < 20 || (pkt[0] >> 4) != 4 || pkt[9] != IPPROTO_UDP)
                return false;
        size_t ihl = (size_t)(pkt[0] & 0xf) * 4;
        if (len < ihl + 8 + BOOTP_FIXED + 4)
                return false;
        const uint8_t *u = pkt + ihl;
        if (u[2] != 0 || u[3] != 68)
                return false;
        const uint8_t *b = u + 8;
        size_t blen = len - ihl - 8;
        uint32_t x, magic, yi, server = 0;
        memcpy(&x, b + 4, 4);
        memcpy(&magic, b + BOOTP_FIXED, 4);
        if (b[0] != 2 || ntohl(x) != xid || ntohl(magic) != DHCP_MAGIC)
                return false;
        memcpy(&yi, b + 16, 4);
        bool offer = false;
        for (size_t i = BOOTP_FIXED + 4; i < blen;) {
                uint8_t code = b[i];
                if (code == 255)
                        break;
                if (code == 0) {
                        i++;
                        continue;
                }
                if (i + 1 >= blen || i + 2 + b[i + 1] > blen)
                        break;
                uint8_t olen = b[i + 1];
                if (code == 53 && olen == 1)
                        offer = b[i + 2] == 2;
                if (code == 54 && olen == 4)
                        memcpy(&server, b + i + 2, 4);
                i += 2 + (size_t)olen;
        }
        if (!offer)
                return false;
        *ret_offer = ntohl(yi);
        *ret_server = ntohl(server);
        return true;
}

int vnc_probe_dhcp_offer(struct vnc_probe *p, int tries, int interval_ms, uint32_t *ret_offer,
                         uint32_t *ret_server, double *ret_ms, struct vnc_error *e) {
        _cleanup_close_ int fd = -1;
        uint8_t pkt[512];
        _cleanup_free_ uint8_t *in = malloc(65536);
        uint32_t xid;
        int r;

        *ret_offer = *ret_server = 0;
        *ret_ms = -1;
        if (!in)
                return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
        fd = packet_socket(p, ETH_P_IP, e);
        if (fd < 0)
                return fd;
        random_bytes(&xid, sizeof(xid));
        size_t len = build_discover(p, xid, pkt, sizeof(pkt));
        double start = now_ms(), sent_at = 0;
        for (int t = 0; t < tries; t++) {
                sent_at = now_ms();
                r = send_broadcast(p, fd, ETH_P_IP, pkt, len);
                if (r < 0)
                        return vnc_error_set(e, VNC_ERR_RUNTIME, r, "probe \"%s\": could not send a DHCPDISCOVER: %s",
                                             p->ifname, strerror(-r));
                double deadline = start + (double)(t + 1) * interval_ms;
                for (;;) {
                        double left = deadline - now_ms();
                        if (left <= 0)
                                break;
                        struct pollfd pfd = {.fd = fd, .events = POLLIN};
                        int k = poll(&pfd, 1, (int)left + 1);
                        if (k < 0 && errno != EINTR)
                                return vnc_error_set(e, VNC_ERR_RUNTIME, -errno, "probe: poll: %m");
                        if (k <= 0)
                                continue;
                        struct sockaddr_ll from;
                        socklen_t fl = sizeof(from);
                        ssize_t got = recvfrom(fd, in, 65536, 0, (struct sockaddr *)&from, &fl);
                        if (got <= 0 || from.sll_pkttype == PACKET_OUTGOING)
                                continue;
                        if (parse_offer(in, (size_t)got, xid, ret_offer, ret_server)) {
                                *ret_ms = now_ms() - sent_at;
                                return 0;
                        }
                }
        }
        return 0;
}

/* ---- ICMP echo ---- */

struct echo_run {
        struct vnc_probe_echo *x;
        int fd;
        int watch_fd;       /* UDP: packet socket (host namespace) that sees the datagram leave */
        uint16_t id;        /* echo identifier, DNS id */
        uint8_t token[16];  /* UDP payload */
        int sent;           /* requests sent */
        double sent_at[8];  /* per sequence number */
        bool done;
};

static void echo_run_close(struct echo_run *runs, size_t n) {
        for (size_t i = 0; i < n; i++) {
                if (runs[i].fd >= 0)
                        close(runs[i].fd);
                if (runs[i].watch_fd >= 0)
                        close(runs[i].watch_fd);
        }
}

/*
 * A packet socket in this thread's namespace that receives only IPv4 UDP
 * datagrams to port whose payload starts with token32 (classic BPF in the
 * kernel, so the host's other traffic is never copied to us).
 */
static int udp_watch_open(uint16_t port, uint32_t token32) {
        struct sock_filter code[] = {
                BPF_STMT(BPF_LD | BPF_H | BPF_ABS, (uint32_t)(SKF_AD_OFF + SKF_AD_PROTOCOL)), /* ethertype */
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, 0, 10),
                BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 9),             /* protocol */
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, 0, 8),
                BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 6),             /* flags + fragment offset */
                BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x1fff, 6, 0), /* not the first fragment */
                BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),            /* x = header length */
                BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2),             /* UDP destination port */
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, port, 0, 3),
                BPF_STMT(BPF_LD | BPF_W | BPF_IND, 8),             /* first payload word */
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, token32, 0, 1),
                BPF_STMT(BPF_RET | BPF_K, 256),
                BPF_STMT(BPF_RET | BPF_K, 0),
        };
        struct sock_fprog prog = {.len = ELEMENTSOF(code), .filter = code};
        int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

        if (fd < 0)
                return -errno;
        /* Filter first, then bind: nothing unfiltered is queued in between. ETH_P_ALL: only
         * those taps see what the host sends (a protocol-bound socket sees what it receives). */
        struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL)};
        if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0 ||
            bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

/* The datagram seen leaving the host, through another interface than the probe's bridge? */
static void udp_watch_read(struct vnc_probe *p, struct echo_run *er) {
        uint8_t buf[256];

        for (;;) {
                struct sockaddr_ll from;
                socklen_t fl = sizeof(from);
                ssize_t got = recvfrom(er->watch_fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
                if (got < 0) {
                        if (errno == EINTR)
                                continue;
                        return;
                }
                if (from.sll_pkttype != PACKET_OUTGOING || from.sll_ifindex == p->bridge_ifindex || got < 20)
                        continue;
                size_t ihl = (size_t)(buf[0] & 0xf) * 4;
                if ((size_t)got < ihl + 8 + sizeof(er->token) || memcmp(buf + ihl + 8, er->token, sizeof(er->token)))
                        continue;
                er->x->forwarded = true;
        }
}

static size_t dns_query(uint16_t id, uint8_t *b) {
        /* CHAOS TXT version.bind: answered by the server itself, never forwarded upstream */
        static const uint8_t q[] = {7, 'v', 'e', 'r', 's', 'i', 'o', 'n', 4, 'b', 'i', 'n', 'd', 0, 0, 16, 0, 3};
        memset(b, 0, 12);
        b[0] = (uint8_t)(id >> 8), b[1] = (uint8_t)id;
        b[5] = 1; /* one question */
        memcpy(b + 12, q, sizeof(q));
        return 12 + sizeof(q);
}

static int flow_open(struct vnc_probe *p, struct echo_run *er, struct vnc_error *e) {
        struct vnc_probe_echo *x = er->x;
        bool tcp = x->proto == VNC_PROBE_TCP_SYN;
        int fd, one = 1;

        fd = socket_in(p, x->from_probe, AF_INET, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return vnc_error_set(e, VNC_ERR_RUNTIME, fd, "could not open a %s socket%s: %s", tcp ? "TCP" : "UDP",
                                     x->from_probe ? " in the probe" : "", strerror(-fd));
        er->fd = fd;
        /* ICMP errors with their sender and type, on the error queue */
        (void)setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one, sizeof(one));
        if (x->proto == VNC_PROBE_UDP) {
                uint32_t t32;
                random_bytes(er->token, sizeof(er->token));
                memcpy(&t32, er->token, 4);
                er->watch_fd = udp_watch_open(x->port, ntohl(t32));
                if (er->watch_fd < 0)
                        return vnc_error_set(e, VNC_ERR_RUNTIME, er->watch_fd,
                                             "could not open a packet socket to see datagrams leave the host: %s",
                                             strerror(-er->watch_fd));
        }
        struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(x->port), .sin_addr.s_addr = htonl(x->dst4)};
        if (tcp) {
                /* the SYN goes now; the kernel retransmits it until the deadline */
                er->sent_at[0] = now_ms();
                er->sent = x->tries;
        }
        int cr = connect(fd, (struct sockaddr *)&to, sizeof(to));
        if (cr < 0 && !(tcp && errno == EINPROGRESS)) {
                x->error = -errno;
                er->done = true;
        } else if (tcp && cr == 0) {
                x->answered = true; /* connected at once */
                x->ms = now_ms() - er->sent_at[0];
                er->done = true;
        }
        return 0;
}

static int echo_open(struct vnc_probe *p, struct echo_run *er, struct vnc_error *e) {
        struct vnc_probe_echo *x = er->x;
        bool v6 = x->family == AF_INET6;
        int fd, one = 1, r;

        if (x->proto != VNC_PROBE_ICMP_ECHO)
                return flow_open(p, er, e);
        fd = socket_in(p, x->from_probe, v6 ? AF_INET6 : AF_INET, SOCK_RAW | SOCK_NONBLOCK,
                       v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
        if (fd < 0)
                return vnc_error_set(e, VNC_ERR_RUNTIME, fd, "could not open a raw ICMP socket%s: %s",
                                     x->from_probe ? " in the probe" : "", strerror(-fd));
        er->fd = fd;
        if (v6) {
                struct icmp6_filter_s {
                        uint32_t data[8];
                } f;
                memset(&f, 0xff, sizeof(f)); /* block all ... */
                f.data[ICMPV6_ECHO_REPLY >> 5] &= ~(1u << (ICMPV6_ECHO_REPLY & 31)); /* ... but echo replies */
                (void)setsockopt(fd, IPPROTO_ICMPV6, ICMPV6_FILTER, &f, sizeof(f));
                (void)setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &one, sizeof(one));
                if (x->dont_fragment) {
                        int v = IPV6_PMTUDISC_DO;
                        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &v, sizeof(v));
                        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_DONTFRAG, &one, sizeof(one));
                }
                struct sockaddr_in6 to = {.sin6_family = AF_INET6, .sin6_addr = x->dst6};
                if (IN6_IS_ADDR_LINKLOCAL(&x->dst6))
                        to.sin6_scope_id = (uint32_t)(x->from_probe ? p->eth0_ifindex : p->bridge_ifindex);
                r = connect(fd, (struct sockaddr *)&to, sizeof(to));
        } else {
                struct icmp_filter f = {.data = ~(1u << ICMP_ECHOREPLY)};
                (void)setsockopt(fd, SOL_RAW, ICMP_FILTER, &f, sizeof(f));
                (void)setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one, sizeof(one));
                int v = x->dont_fragment ? IP_PMTUDISC_DO : IP_PMTUDISC_DONT;
                (void)setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &v, sizeof(v));
                struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(x->dst4)};
                r = connect(fd, (struct sockaddr *)&to, sizeof(to));
        }
        if (r < 0) {
                /* no route: nothing can be sent; a result, not a failure to run */
                x->error = -errno;
                er->done = true;
        }
        return 0;
}

static void echo_read_errqueue(struct echo_run *er);

static void echo_send(struct echo_run *er) {
        struct vnc_probe_echo *x = er->x;
        uint32_t payload = x->payload ? x->payload : 56;
        size_t len = 8 + (size_t)payload;
        _cleanup_free_ uint8_t *b = NULL;

        if (x->proto == VNC_PROBE_UDP)
                len = sizeof(er->token);
        else if (x->proto == VNC_PROBE_DNS)
                len = 64;
        b = calloc(1, len);
        if (!b) {
                x->error = -ENOMEM;
                er->done = true;
                return;
        }
        if (x->proto == VNC_PROBE_UDP) {
                memcpy(b, er->token, len);
        } else if (x->proto == VNC_PROBE_DNS) {
                len = dns_query(er->id, b);
        } else {
                uint16_t seq = (uint16_t)er->sent;
                b[0] = x->family == AF_INET6 ? ICMPV6_ECHO_REQUEST : ICMP_ECHO;
                b[4] = (uint8_t)(er->id >> 8), b[5] = (uint8_t)er->id;
                b[6] = (uint8_t)(seq >> 8), b[7] = (uint8_t)seq;
                for (size_t i = 8; i < len; i++)
                        b[i] = (uint8_t)(i & 0xff);
                if (x->family == AF_INET) {
                        uint16_t c = csum_fold(csum_add(0, b, len));
                        b[2] = (uint8_t)(c >> 8), b[3] = (uint8_t)c; /* ICMPv6: the kernel does it */
                }
        }
        er->sent_at[er->sent] = now_ms();
        er->sent++;
        if (send(er->fd, b, len, 0) < 0) {
                int err = errno;
                if (err == EMSGSIZE) {
                        int mtu = 0;
                        socklen_t sl = sizeof(mtu);
                        if (getsockopt(er->fd, x->family == AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IP,
                                       x->family == AF_INET6 ? IPV6_MTU : IP_MTU, &mtu, &sl) == 0)
                                x->mtu = (uint32_t)mtu;
                }
                if (x->proto == VNC_PROBE_UDP || x->proto == VNC_PROBE_DNS) {
                        /* the ICMP error of an earlier datagram: its details are on the error queue */
                        echo_read_errqueue(er);
                        return;
                }
                x->error = -err;
                er->done = true;
        }
}

/* UDP: an ICMP port unreachable from the target itself means the datagram reached it. */
static void udp_judge_icmp(struct echo_run *er) {
        struct vnc_probe_echo *x = er->x;
        uint32_t dst = htonl(x->dst4);

        if (x->proto != VNC_PROBE_UDP || !x->icmp_error || x->icmp_family != AF_INET)
                return;
        if (x->icmp_type == ICMP_DEST_UNREACH && x->icmp_code == ICMP_PORT_UNREACH && memcmp(x->icmp_from, &dst, 4) == 0) {
                x->reached = x->forwarded = x->answered = true;
                x->ms = now_ms() - er->sent_at[0];
        }
}

static void echo_read_errqueue(struct echo_run *er) {
        struct vnc_probe_echo *x = er->x;
        uint8_t data[256], ctrl[512];

        for (;;) {
                struct iovec iov = {.iov_base = data, .iov_len = sizeof(data)};
                struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl, .msg_controllen = sizeof(ctrl)};
                if (recvmsg(er->fd, &mh, MSG_ERRQUEUE) < 0)
                        return;
                for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
                        if (!((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
                              (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR)))
                                continue;
                        const struct sock_extended_err *ee = (const void *)CMSG_DATA(c);
                        if (ee->ee_origin == SO_EE_ORIGIN_LOCAL && ee->ee_errno == EMSGSIZE) {
                                x->error = -EMSGSIZE;
                                x->mtu = ee->ee_info;
                                er->done = true;
                                continue;
                        }
                        if (ee->ee_origin != SO_EE_ORIGIN_ICMP && ee->ee_origin != SO_EE_ORIGIN_ICMP6)
                                continue;
                        if (x->answered)
                                continue;
                        x->icmp_error = true;
                        x->icmp_type = ee->ee_type;
                        x->icmp_code = ee->ee_code;
                        const struct sockaddr *off = SO_EE_OFFENDER(ee);
                        x->icmp_family = off->sa_family;
                        if (off->sa_family == AF_INET)
                                memcpy(x->icmp_from, &((const struct sockaddr_in *)off)->sin_addr, 4);
                        else if (off->sa_family == AF_INET6)
                                memcpy(x->icmp_from, &((const struct sockaddr_in6 *)off)->sin6_addr, 16);
                        if (ee->ee_errno == EMSGSIZE) {
                                x->error = -EMSGSIZE;
                                x->mtu = ee->ee_info;
                        }
                        er->done = true;
                        udp_judge_icmp(er);
                }
        }
}

/* TCP: the connect() finished (POLLOUT or POLLERR). */
static void tcp_finish(struct echo_run *er) {
        struct vnc_probe_echo *x = er->x;
        int err = 0;
        socklen_t l = sizeof(err);

        echo_read_errqueue(er); /* the ICMP error that ended it, if one did */
        if (getsockopt(er->fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0)
                err = errno;
        if (err == EINPROGRESS || err == EALREADY)
                return;
        er->done = true;
        if (x->icmp_error)
                return;
        if (err == 0 || err == ECONNREFUSED) {
                /* SYN-ACK, or RST: either way the target answered through the host */
                x->answered = true;
                x->refused = err == ECONNREFUSED;
                x->ms = now_ms() - er->sent_at[0];
                return;
        }
        x->error = -err;
}

static void echo_read(struct echo_run *er, uint8_t *buf, size_t cap) {
        struct vnc_probe_echo *x = er->x;

        for (;;) {
                ssize_t got = recv(er->fd, buf, cap, 0);
                if (got < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno != EAGAIN && errno != EWOULDBLOCK)
                                echo_read_errqueue(er);
                        return;
                }
                if (er->done)
                        continue;
                if (x->proto == VNC_PROBE_UDP) {
                        /* a connected socket: only the target's datagrams arrive */
                        x->answered = x->reached = x->forwarded = true;
                        x->ms = now_ms() - er->sent_at[0];
                        er->done = true;
                        continue;
                }
                if (x->proto == VNC_PROBE_DNS) {
                        if (got < 12 || (uint16_t)(buf[0] << 8 | buf[1]) != er->id || !(buf[2] & 0x80))
                                continue;
                        x->answered = true;
                        x->dns_rcode = buf[3] & 0xf;
                        x->ms = now_ms() - er->sent_at[0];
                        er->done = true;
                        continue;
                }
                const uint8_t *icmp = buf;
                size_t len = (size_t)got;
                uint8_t want = ICMPV6_ECHO_REPLY;
                if (x->family == AF_INET) {
                        if (len < 20)
                                continue;
                        size_t ihl = (size_t)(buf[0] & 0xf) * 4;
                        if (len < ihl + 8)
                                continue;
                        icmp += ihl;
                        len -= ihl;
                        want = ICMP_ECHOREPLY;
                }
                if (len < 8 || icmp[0] != want || icmp[1] != 0)
                        continue;
                uint16_t id = (uint16_t)(icmp[4] << 8 | icmp[5]), seq = (uint16_t)(icmp[6] << 8 | icmp[7]);
                if (id != er->id || seq >= er->sent)
                        continue;
                x->answered = true;
                x->ms = now_ms() - er->sent_at[seq];
                er->done = true;
        }
}

int vnc_probe_echo(struct vnc_probe *p, struct vnc_probe_echo *echoes, size_t n, struct vnc_error *e) {
        _cleanup_free_ struct echo_run *runs = calloc(n ? n : 1, sizeof(*runs));
        _cleanup_free_ struct pollfd *pfds = calloc(n ? 2 * n : 1, sizeof(*pfds));
        _cleanup_free_ size_t *pidx = calloc(n ? 2 * n : 1, sizeof(*pidx));
        _cleanup_free_ uint8_t *buf = malloc(65536 + 64);
        uint16_t id0;
        int r = 0;

        if (!runs || !pfds || !pidx || !buf)
                return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
        random_bytes(&id0, sizeof(id0));
        for (size_t i = 0; i < n; i++) {
                struct vnc_probe_echo *x = &echoes[i];
                x->answered = x->icmp_error = x->refused = x->forwarded = x->reached = false;
                x->ms = -1;
                x->error = 0;
                x->mtu = 0;
                x->dns_rcode = -1;
                if (x->tries < 1)
                        x->tries = 1;
                if (x->tries > (int)ELEMENTSOF(runs[i].sent_at))
                        x->tries = (int)ELEMENTSOF(runs[i].sent_at);
                if (x->interval_ms < 1)
                        x->interval_ms = 1000;
                runs[i] = (struct echo_run){.x = x, .fd = -1, .watch_fd = -1, .id = (uint16_t)(id0 + i)};
        }
        for (size_t i = 0; i < n && r >= 0; i++)
                r = echo_open(p, &runs[i], e);
        if (r < 0) {
                echo_run_close(runs, n);
                return r;
        }
        double start = now_ms();
        for (;;) {
                double t = now_ms(), next = -1;
                size_t np = 0;
                for (size_t i = 0; i < n; i++) {
                        struct echo_run *er = &runs[i];
                        if (er->done)
                                continue;
                        double due = start + (double)er->sent * er->x->interval_ms;
                        if (er->sent < er->x->tries && t >= due) {
                                echo_send(er);
                                if (er->done)
                                        continue;
                                due = start + (double)er->sent * er->x->interval_ms;
                        }
                        /* the next send, or the deadline after the last one */
                        if (t >= due && er->sent >= er->x->tries) {
                                er->done = true;
                                continue;
                        }
                        if (next < 0 || due < next)
                                next = due;
                        if (er->watch_fd >= 0) {
                                pidx[np] = i;
                                pfds[np++] = (struct pollfd){.fd = er->watch_fd, .events = POLLIN};
                        }
                        pidx[np] = i;
                        pfds[np++] = (struct pollfd){
                                .fd = er->fd, .events = er->x->proto == VNC_PROBE_TCP_SYN ? POLLOUT : POLLIN};
                }
                if (np == 0)
                        break;
                int wait = (int)(next - now_ms()) + 1;
                int k = poll(pfds, np, wait < 0 ? 0 : wait);
                if (k < 0 && errno != EINTR) {
                        r = vnc_error_set(e, VNC_ERR_RUNTIME, -errno, "probe: poll: %m");
                        break;
                }
                /* The watchers first: a datagram leaves the host before any answer to it can come back. */
                for (size_t j = 0; k > 0 && j < np; j++)
                        if (pfds[j].revents && pfds[j].fd == runs[pidx[j]].watch_fd)
                                udp_watch_read(p, &runs[pidx[j]]);
                for (size_t j = 0; k > 0 && j < np; j++) {
                        struct echo_run *er = &runs[pidx[j]];
                        if (!pfds[j].revents || pfds[j].fd != er->fd)
                                continue;
                        if (er->x->proto == VNC_PROBE_TCP_SYN) {
                                tcp_finish(er);
                                continue;
                        }
                        if (pfds[j].revents & POLLERR)
                                echo_read_errqueue(er);
                        if (pfds[j].revents & POLLIN)
                                echo_read(er, buf, 65536 + 64);
                }
                /* UDP is forwarded once it left the host, whether or not anything answers */
                for (size_t i = 0; i < n; i++)
                        if (runs[i].x->proto == VNC_PROBE_UDP && runs[i].x->forwarded && !runs[i].done) {
                                runs[i].done = true;
                                if (!runs[i].x->answered) {
                                        runs[i].x->answered = true;
                                        runs[i].x->ms = now_ms() - runs[i].sent_at[0];
                                }
                        }
        }
        /* A copy that left just before the deadline or an ICMP error from beyond the host. */
        for (size_t i = 0; i < n; i++) {
                struct echo_run *er = &runs[i];
                if (er->watch_fd < 0)
                        continue;
                udp_watch_read(p, er);
                if (er->x->forwarded && !er->x->answered) {
                        er->x->answered = true;
                        er->x->ms = now_ms() - er->sent_at[0];
                }
        }
        echo_run_close(runs, n);
        return r;
}

