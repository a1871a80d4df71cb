/* SPDX-License-Identifier: MIT */
/*
 * tap-pump TAP IFNAME: stands in for the QEMU behind a persistent tap in the
 * kernel-matrix tests. It attaches to TAP (made by vnetcfg) and moves every
 * frame between it and IFNAME (one end of a veth pair whose other end is the
 * "guest's" eth0 in a namespace), in both directions, until killed.
 *
 * A frame a veth hands to a packet socket has its 802.1Q tag in the socket's
 * auxiliary data, not in the frame (VLAN offload): the tag is put back before
 * the frame goes into the tap, so a guest's eth0.10 reaches the trunk tap's
 * <tap>.10 tagged, as a real guest's would.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define FRAME_MAX 65536

static int die(const char *what) {
        fprintf(stderr, "tap-pump: %s: %s\n", what, strerror(errno));
        return 1;
}

int main(int argc, char **argv) {
        static unsigned char buf[FRAME_MAX + 4];
        struct ifreq ifr = {0};
        int tap, pk;

        if (argc != 3) {
                fprintf(stderr, "usage: tap-pump TAP IFNAME\n");
                return 2;
        }
        tap = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
        if (tap < 0)
                return die("/dev/net/tun");
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", argv[1]);
        ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
        if (ioctl(tap, TUNSETIFF, &ifr) < 0)
                return die("TUNSETIFF");

        pk = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
        if (pk < 0)
                return die("packet socket");
        int on = 1;
        if (setsockopt(pk, SOL_PACKET, PACKET_AUXDATA, &on, sizeof(on)) < 0)
                return die("PACKET_AUXDATA");
        struct ifreq ix = {0};
        snprintf(ix.ifr_name, sizeof(ix.ifr_name), "%s", argv[2]);
        if (ioctl(pk, SIOCGIFINDEX, &ix) < 0)
                return die(argv[2]);
        struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
                                  .sll_ifindex = ix.ifr_ifindex};
        if (bind(pk, (struct sockaddr *)&sll, sizeof(sll)) < 0)
                return die("bind");
        printf("tap-pump: %s <-> %s\n", argv[1], argv[2]);
        fflush(stdout);

        struct pollfd fds[2] = {{.fd = tap, .events = POLLIN}, {.fd = pk, .events = POLLIN}};
        for (;;) {
                if (poll(fds, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return die("poll");
                }
                if (fds[0].revents & (POLLERR | POLLHUP | POLLNVAL))
                        return 0; /* the tap was deleted (rollback): nothing left to carry */
                if (fds[0].revents & POLLIN) {
                        ssize_t n = read(tap, buf, FRAME_MAX);
                        if (n < 0 && errno != EAGAIN && errno != EINTR)
                                return 0;
                        if (n > 0)
                                (void)send(pk, buf, (size_t)n, 0);
                }
                if (fds[1].revents & POLLIN) {
                        union {
                                struct cmsghdr h;
                                char b[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
                        } ctl;
                        struct sockaddr_ll from;
                        struct iovec iov = {.iov_base = buf, .iov_len = FRAME_MAX};
                        struct msghdr msg = {.msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov,
                                             .msg_iovlen = 1, .msg_control = &ctl, .msg_controllen = sizeof(ctl)};
                        ssize_t n = recvmsg(pk, &msg, MSG_DONTWAIT);
                        if (n <= 0 || from.sll_pkttype == PACKET_OUTGOING)
                                continue; /* our own sends, seen again */
                        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
                                if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA)
                                        continue;
                                struct tpacket_auxdata aux;
                                memcpy(&aux, CMSG_DATA(c), sizeof(aux));
                                if (!(aux.tp_status & TP_STATUS_VLAN_VALID) || n < 12)
                                        continue;
                                uint16_t tpid = htons((aux.tp_status & TP_STATUS_VLAN_TPID_VALID) ? aux.tp_vlan_tpid
                                                                                                   : ETH_P_8021Q);
                                uint16_t tci = htons(aux.tp_vlan_tci);
                                memmove(buf + 16, buf + 12, (size_t)n - 12);
                                memcpy(buf + 12, &tpid, 2);
                                memcpy(buf + 14, &tci, 2);
                                n += 4;
                        }
                        (void)write(tap, buf, (size_t)n);
                }
        }
}
