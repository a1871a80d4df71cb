/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <netlink/msg.h>
#include <netlink/socket.h>

#include "error.h"
#include "live.h"

/*
 * Shared rtnetlink plumbing for the nl-*.c backends and tap.c.
 *
 * One NETLINK_ROUTE socket (close-on-exec, extended acks on, acks capped) and
 * a batch sender: callers queue prebuilt requests, each tagged with the index
 * of the action it belongs to, then send them all. Requests go out many per
 * sendmsg() (the kernel processes every message of a datagram in order and
 * acks each one), in windows small enough that the acks cannot overflow the
 * receive buffer; acks are matched to requests by sequence number.
 */

struct vnc_nl {
        struct nl_sock *sock;
        int fd;
        uint32_t seq;
};

int vnc_nl_open(struct vnc_nl **ret, struct vnc_error *e);
void vnc_nl_free(struct vnc_nl *nl);
static inline void vnc_nl_freep(struct vnc_nl **p) { vnc_nl_free(*p); }

struct vnc_nl_result {
        size_t tag;     /* caller's tag (usually the action index) */
        int error;      /* 0 or -errno from the kernel's ack */
        char *ext_ack;  /* NLMSGERR_ATTR_MSG text, NULL when the kernel gave none */
        bool acked;     /* an ack (or error) for this request arrived */
};

struct vnc_nl_batch {
        struct nl_msg **msgs;
        struct vnc_nl_result *res;
        size_t n, alloc, n_res_alloc;
        size_t sent; /* requests [0, sent) have been sent and acked */
};

#define VNC_NL_WINDOW 64             /* requests in flight */
#define VNC_NL_WINDOW_BYTES (64 * 1024) /* bytes per sendmsg() */

void vnc_nl_batch_done(struct vnc_nl_batch *b); /* frees messages and results */
static inline void vnc_nl_batch_donep(struct vnc_nl_batch *b) { vnc_nl_batch_done(b); }
/* Queue msg (ownership taken, also on failure). NLM_F_REQUEST|NLM_F_ACK are added when sent. */
int vnc_nl_batch_add(struct vnc_nl_batch *b, struct nl_msg *msg, size_t tag);
/*
 * Send every queued request not sent yet and collect its ack. Returns 0 when
 * every request was acknowledged (each result says whether it succeeded), or
 * -errno when the socket itself failed (then e says so). With stop_on_error,
 * no further window is sent after a window that contained a failed request.
 */
int vnc_nl_batch_flush(struct vnc_nl *nl, struct vnc_nl_batch *b, bool stop_on_error, struct vnc_error *e);

/* A new request: ifinfomsg header for RTM_NEWLINK/SETLINK/DELLINK. NULL on ENOMEM. */
struct nl_msg *vnc_nl_link_msg(int type, int flags, int ifindex, unsigned ifi_flags, unsigned ifi_change);

/*
 * One link dump into a fresh vnc_live holding links only (nl-live.c). If
 * ret_unused_group is not NULL, also pick a random link group number in
 * 0x10000000..0x7fffffff that no link uses.
 */
int vnc_nl_read_links(struct vnc_nl *nl, struct vnc_live **ret, uint32_t *ret_unused_group, struct vnc_error *e);

/*
 * Deleting links we own (nl-link.c), used by the netlink and tap backends.
 * A link is ours when its alias equals alias, or, in undo mode, when its alias
 * is empty and its kind is kind (a crash between create and alias-set).
 * Missing links are fine. Links that exist and are not ours are left alone:
 * in undo mode silently, otherwise with -EPERM. Two or more owned links are
 * deleted with one group delete (one RCU grace period instead of one each).
 */
struct vnc_nl_link_del {
        const char *what;   /* "bridge", "tap": for messages */
        const char *ifname;
        const char *alias;  /* our ownership mark */
        const char *kind;   /* rtnl kind for the empty-alias rule: "bridge", "tun" */
        int error;          /* out: 0 or -errno */
        struct vnc_error err; /* out: what went wrong with this one; caller clears */
};
/* Returns 0 or the first error (also in e unless NULL); every entry's error and err are filled. */
int vnc_nl_links_delete(struct vnc_nl *nl, struct vnc_nl_link_del *dels, size_t n, bool undo,
                        struct vnc_error *e);

/* Fill e (unless already set) from a failed result: fmt names the object, detail is the kernel's text. */
void vnc_nl_result_error(struct vnc_error *e, const struct vnc_nl_result *r, const char *fmt, ...)
        _printf_(3, 4);

/* Move src into *dst unless dst already holds an error (the first error wins); src is cleared. */
void vnc_error_move(struct vnc_error *dst, struct vnc_error *src);
