/* SPDX-License-Identifier: MIT */
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <netlink/netlink.h>

#include "nl.h"
#include "record.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

#define VNC_NL_ACK_TIMEOUT_MS 30000
#define VNC_NL_RCVBUF (1024 * 1024)

int vnc_nl_open(struct vnc_nl **ret, struct vnc_error *e) {
        struct vnc_nl *nl = calloc(1, sizeof(*nl));
        int r, one = 1;

        if (!nl)
                return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "netlink: out of memory");
        nl->fd = -1;
        if (vnc_record_on()) {
                /* No socket: requests go to the recorder (vnc_nl_batch_flush). */
                *ret = nl;
                return 0;
        }
        nl->sock = nl_socket_alloc();
        if (!nl->sock) {
                free(nl);
                return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "netlink: out of memory");
        }
        /* libnl opens the socket with SOCK_CLOEXEC. */
        r = nl_connect(nl->sock, NETLINK_ROUTE);
        if (r < 0) {
                r = vnc_error_set(e, VNC_ERR_RUNTIME, -EIO, "could not open a rtnetlink socket");
                vnc_error_detail(e, "%s", nl_geterror(r));
                vnc_nl_free(nl);
                return r;
        }
        nl->fd = nl_socket_get_fd(nl->sock);
        nl->seq = 1; /* libnl numbers its own requests from time(NULL): far from ours */
        /* Room for a window of acks plus a link dump message; failure only costs speed. */
        (void)nl_socket_set_buffer_size(nl->sock, VNC_NL_RCVBUF, VNC_NL_RCVBUF);
        /* Extended acks carry the kernel's own sentence; capped acks do not echo our request. */
        (void)setsockopt(nl->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
        (void)setsockopt(nl->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
        *ret = nl;
        return 0;
}

void vnc_nl_free(struct vnc_nl *nl) {
        if (!nl)
                return;
        if (nl->sock)
                nl_socket_free(nl->sock); /* closes the fd */
        free(nl);
}

void vnc_nl_batch_done(struct vnc_nl_batch *b) {
        if (!b)
                return;
        for (size_t i = 0; i < b->n; i++) {
                nlmsg_free(b->msgs[i]);
                free(b->res[i].ext_ack);
        }
        free(b->msgs);
        free(b->res);
        *b = (struct vnc_nl_batch){0};
}

int vnc_nl_batch_add(struct vnc_nl_batch *b, struct nl_msg *msg, size_t tag) {
        if (!msg)
                return -ENOMEM;
        if (VNC_GROW(b->msgs, b->alloc, b->n + 1) < 0 || VNC_GROW(b->res, b->n_res_alloc, b->n + 1) < 0) {
                nlmsg_free(msg);
                return -ENOMEM;
        }
        b->msgs[b->n] = msg;
        b->res[b->n] = (struct vnc_nl_result){.tag = tag};
        b->n++;
        return 0;
}

struct nl_msg *vnc_nl_link_msg(int type, int flags, int ifindex, unsigned ifi_flags, unsigned ifi_change) {
        struct ifinfomsg ifi = {
                .ifi_family = AF_UNSPEC,
                .ifi_index = ifindex,
                .ifi_flags = ifi_flags,
                .ifi_change = ifi_change,
        };
        struct nl_msg *m = nlmsg_alloc_simple(type, flags);

        if (!m)
                return NULL;
        if (nlmsg_append(m, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0) {
                nlmsg_free(m);
                return NULL;
        }
        return m;
}

/* The NLMSGERR_ATTR_MSG text of an ack, if any. */
static char *ack_ext_msg(const struct nlmsghdr *h) {
        const struct nlmsgerr *err = NLMSG_DATA(h);
        size_t off, len;

        if (!(h->nlmsg_flags & NLM_F_ACK_TLVS))
                return NULL;
        off = NLMSG_HDRLEN + sizeof(*err);
        if (!(h->nlmsg_flags & NLM_F_CAPPED) && err->msg.nlmsg_len > NLMSG_HDRLEN)
                off += NLMSG_ALIGN(err->msg.nlmsg_len - NLMSG_HDRLEN);
        if (off > h->nlmsg_len)
                return NULL;
        len = h->nlmsg_len - off;
        const uint8_t *p = (const uint8_t *)h + off;
        while (len >= sizeof(struct nlattr)) {
                const struct nlattr *a = (const struct nlattr *)p;
                if (a->nla_len < sizeof(*a) || a->nla_len > len)
                        break;
                if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG && a->nla_len > sizeof(*a)) {
                        const char *s = (const char *)(a + 1);
                        size_t sl = strnlen(s, a->nla_len - sizeof(*a));
                        return sl ? strndup(s, sl) : NULL;
                }
                size_t step = NLA_ALIGN(a->nla_len);
                if (step >= len)
                        break;
                p += step;
                len -= step;
        }
        return NULL;
}

/* Send requests [start, end) in one sendmsg(); their sequence numbers are seq0, seq0+1, ... */
static int send_window(struct vnc_nl *nl, struct vnc_nl_batch *b, size_t start, size_t end, uint32_t *ret_seq0) {
        static const uint8_t pad[NLMSG_ALIGNTO] = {0};
        struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
        struct iovec iov[2 * VNC_NL_WINDOW];
        size_t niov = 0;
        uint32_t seq0 = 0;

        for (size_t i = start; i < end; i++) {
                struct nlmsghdr *h = nlmsg_hdr(b->msgs[i]);
                /* Our own counter: libnl checks the sequence numbers of its dumps against its own. */
                uint32_t seq = ++nl->seq;
                if (i == start)
                        seq0 = seq;
                h->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
                h->nlmsg_seq = seq;
                h->nlmsg_pid = nl_socket_get_local_port(nl->sock);
                iov[niov++] = (struct iovec){.iov_base = h, .iov_len = h->nlmsg_len};
                if (NLMSG_ALIGN(h->nlmsg_len) != h->nlmsg_len)
                        iov[niov++] = (struct iovec){.iov_base = (void *)pad,
                                                     .iov_len = NLMSG_ALIGN(h->nlmsg_len) - h->nlmsg_len};
        }
        struct msghdr mh = {
                .msg_name = &kernel,
                .msg_namelen = sizeof(kernel),
                .msg_iov = iov,
                .msg_iovlen = niov,
        };
        for (;;) {
                ssize_t k = sendmsg(nl->fd, &mh, 0);
                if (k >= 0)
                        break;
                if (errno != EINTR)
                        return -errno;
        }
        *ret_seq0 = seq0;
        return 0;
}

static int recv_acks(struct vnc_nl *nl, struct vnc_nl_batch *b, size_t start, size_t end, uint32_t seq0) {
        size_t pending = end - start;
        size_t bufsize = 64 * 1024;
        _cleanup_free_ uint8_t *buf = malloc(bufsize);

        if (!buf)
                return -ENOMEM;
        while (pending > 0) {
                struct pollfd p = {.fd = nl->fd, .events = POLLIN};
                int pr = poll(&p, 1, VNC_NL_ACK_TIMEOUT_MS);
                if (pr < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (pr == 0)
                        return -ETIMEDOUT;
                struct sockaddr_nl from = {0};
                struct iovec iov = {.iov_base = buf, .iov_len = bufsize};
                struct msghdr mh = {.msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1};
                ssize_t k = recvmsg(nl->fd, &mh, 0);
                if (k < 0) {
                        if (errno == EINTR || errno == EAGAIN)
                                continue;
                        return -errno; /* ENOBUFS: acks were lost */
                }
                if (mh.msg_flags & MSG_TRUNC)
                        return -EMSGSIZE;
                if (from.nl_pid != 0)
                        continue; /* not from the kernel */
                size_t len = (size_t)k;
                for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
                        if (h->nlmsg_type != NLMSG_ERROR)
                                continue; /* we subscribe to no groups; nothing else is expected */
                        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr)))
                                continue;
                        uint32_t d = h->nlmsg_seq - seq0;
                        if (d >= end - start)
                                continue; /* stale ack of an earlier exchange */
                        struct vnc_nl_result *r = &b->res[start + d];
                        if (r->acked)
                                continue;
                        const struct nlmsgerr *err = NLMSG_DATA(h);
                        r->acked = true;
                        r->error = err->error > 0 ? -err->error : err->error;
                        r->ext_ack = ack_ext_msg(h);
                        pending--;
                }
        }
        return 0;
}

/* Recording (tests/record): each request becomes a line of text; the recorder answers as the kernel would. */
static void record_flush(struct vnc_nl_batch *b) {
        for (; b->sent < b->n; b->sent++) {
                struct nlmsghdr *h = nlmsg_hdr(b->msgs[b->sent]);
                b->res[b->sent].error = vnc_record_netlink(h);
                b->res[b->sent].acked = true;
                nlmsg_free(b->msgs[b->sent]);
                b->msgs[b->sent] = NULL;
        }
}

int vnc_nl_batch_flush(struct vnc_nl *nl, struct vnc_nl_batch *b, bool stop_on_error, struct vnc_error *e) {
        if (vnc_record_on()) {
                record_flush(b);
                return 0;
        }
        while (b->sent < b->n) {
                size_t start = b->sent, end = start, bytes = 0;
                uint32_t seq0;
                int r;

                while (end < b->n && end - start < VNC_NL_WINDOW) {
                        size_t l = NLMSG_ALIGN(nlmsg_hdr(b->msgs[end])->nlmsg_len);
                        if (end > start && bytes + l > VNC_NL_WINDOW_BYTES)
                                break;
                        bytes += l;
                        end++;
                }
                r = send_window(nl, b, start, end, &seq0);
                if (r < 0)
                        return vnc_error_set(e, VNC_ERR_RUNTIME, r, "netlink: could not send %zu requests: %s",
                                             end - start, strerror(-r));
                r = recv_acks(nl, b, start, end, seq0);
                if (r < 0)
                        return vnc_error_set(e, VNC_ERR_RUNTIME, r,
                                             "netlink: could not collect the kernel's acknowledgements: %s",
                                             strerror(-r));
                bool failed = false;
                for (size_t i = start; i < end; i++) {
                        nlmsg_free(b->msgs[i]);
                        b->msgs[i] = NULL;
                        if (b->res[i].error < 0)
                                failed = true;
                }
                b->sent = end;
                if (failed && stop_on_error)
                        break;
        }
        return 0;
}

void vnc_nl_result_error(struct vnc_error *e, const struct vnc_nl_result *r, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        if (!e || vnc_error_isset(e))
                return;
        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        int code = r->acked ? r->error : -ECANCELED;
        vnc_error_set(e, VNC_ERR_RUNTIME, code, "%s", msg ? msg : "netlink request failed");
        if (!r->acked)
                vnc_error_detail(e, "not sent after an earlier failure");
        else if (r->ext_ack)
                vnc_error_detail(e, "%s: %s", strerror(-code), r->ext_ack);
        else
                vnc_error_detail(e, "%s", strerror(-code));
}

void vnc_error_move(struct vnc_error *dst, struct vnc_error *src) {
        if (dst && !vnc_error_isset(dst) && vnc_error_isset(src)) {
                *dst = *src;
                *src = (struct vnc_error){0};
                return;
        }
        vnc_error_clear(src);
}
