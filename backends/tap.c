/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/random.h>

#include <netlink/attr.h>

#include "backends.h"
#include "record.h"
#include "model.h"
#include "nl.h"

static void vnc_live_freep(struct vnc_live **l) { vnc_live_free(*l); }

/*
 * Create one persistent tap with the tun driver's ioctls. IFF_TUN_EXCL makes
 * TUNSETIFF fail with EBUSY instead of attaching to an existing device of that
 * name, so a tap we mark as ours below is one we made. Persistence is the last
 * step: if anything before it fails, closing the fd removes the device.
 */
static int tap_create_ioctl(const struct vnc_action *a, struct vnc_error *e) {
        _cleanup_close_ int fd = -1;
        struct ifreq ifr = {0};
        const char *step;
        unsigned flags = IFF_TAP | IFF_NO_PI | IFF_TUN_EXCL | (a->vnet_hdr ? IFF_VNET_HDR : 0) |
                         (a->multi_queue ? IFF_MULTI_QUEUE : 0);

        if (vnc_record_on()) {
                vnc_record_tap_create(a->ifname, flags, a->has_owner, a->owner, a->has_group, a->group);
                return 0;
        }
        fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
        if (fd < 0) {
                int r = -errno;
                vnc_error_set(e, VNC_ERR_RUNTIME, r, "tap \"%s\": could not create", a->ifname);
                vnc_error_detail(e, "/dev/net/tun: %s", strerror(-r));
                return r;
        }
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", a->ifname);
        ifr.ifr_flags = (short)flags;
        step = "TUNSETIFF";
        if (ioctl(fd, TUNSETIFF, &ifr) < 0)
                goto fail;
        step = "TUNSETOWNER";
        if (a->has_owner && ioctl(fd, TUNSETOWNER, (unsigned long)a->owner) < 0)
                goto fail;
        step = "TUNSETGROUP";
        if (a->has_group && ioctl(fd, TUNSETGROUP, (unsigned long)a->group) < 0)
                goto fail;
        step = "TUNSETPERSIST";
        if (ioctl(fd, TUNSETPERSIST, 1UL) < 0)
                goto fail;
        return 0;

fail:;
        int r = -errno;
        vnc_error_set(e, VNC_ERR_RUNTIME, r, "tap \"%s\": could not create", a->ifname);
        if (r == -EBUSY && streq(step, "TUNSETIFF"))
                vnc_error_detail(e, "%s: a link with this name already exists", step);
        else
                vnc_error_detail(e, "%s: %s", step, strerror(-r));
        return r;
}

static void random_mac(uint8_t mac[6]) {
        if (vnc_record_on())
                vnc_record_random(mac, 6);
        else if (getrandom(mac, 6, 0) != 6) {
                /* getrandom() on a 6-byte request does not fail once the pool is ready */
                for (int i = 0; i < 6; i++)
                        mac[i] = (uint8_t)rand();
        }
        /* As libvirt does: a high first byte keeps the bridge from adopting the tap's address. */
        mac[0] = 0xfe;
}

struct tap_state {
        bool processed;
        struct vnc_error err;
};

/* Creates [i, j): ioctls one by one, then every tap's attributes in one netlink batch. */
static int run_creates(struct vnc_nl *nl, struct vnc_backend_ctx *ctx, const struct vnc_action *acts, size_t i,
                       size_t j, bool undo, struct tap_state *st) {
        _cleanup_(vnc_live_freep) struct vnc_live *fresh = NULL;
        _cleanup_(vnc_nl_batch_donep) struct vnc_nl_batch b = {0};
        _cleanup_free_ bool *created = calloc(j - i, sizeof(bool));
        bool stopped = false;
        int r;

        if (!created)
                return vnc_error_set(&st[i].err, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
        for (size_t k = i; k < j && !stopped; k++) {
                r = tap_create_ioctl(&acts[k], &st[k].err);
                if (r < 0) {
                        st[k].processed = true;
                        if (undo && r == -EBUSY)
                                vnc_error_clear(&st[k].err); /* recreating: it is there already */
                        else if (!undo)
                                stopped = true;
                        continue;
                }
                created[k - i] = true;
        }

        for (size_t k = i; k < j; k++) {
                const struct vnc_action *a = &acts[k];
                int master = 0;

                if (!created[k - i])
                        continue;
                if (a->master[0]) {
                        const struct vnc_live_link *l = fresh ? vnc_live_link_by_name(fresh, a->master)
                                                              : vnc_live_link_by_name(ctx->live, a->master);
                        if (!l && !fresh) {
                                /* One fresh dump for every master created earlier in this apply. */
                                r = vnc_nl_read_links(nl, &fresh, NULL, &st[k].err);
                                if (r < 0) {
                                        st[k].processed = true;
                                        stopped = true;
                                        break;
                                }
                                l = vnc_live_link_by_name(fresh, a->master);
                        }
                        if (!l) {
                                vnc_error_set(&st[k].err, VNC_ERR_RUNTIME, -ENODEV,
                                              "tap \"%s\": could not add to bridge \"%s\"", a->ifname, a->master);
                                vnc_error_detail(&st[k].err, "no such device");
                                st[k].processed = true;
                                if (!undo) {
                                        stopped = true;
                                        break;
                                }
                                continue;
                        }
                        master = l->ifindex;
                }
                uint8_t mac[6];
                if (a->has_mac)
                        memcpy(mac, a->mac, 6);
                else
                        random_mac(mac);
                struct nl_msg *m = vnc_nl_link_msg(RTM_SETLINK, 0, 0, a->up ? IFF_UP : 0, IFF_UP);
                if (m && (nla_put_string(m, IFLA_IFNAME, a->ifname) < 0 || nla_put(m, IFLA_ADDRESS, 6, mac) < 0 ||
                          (a->mtu && nla_put_u32(m, IFLA_MTU, a->mtu) < 0) ||
                          (a->alias[0] && nla_put_string(m, IFLA_IFALIAS, a->alias) < 0) ||
                          (master && nla_put_u32(m, IFLA_MASTER, (uint32_t)master) < 0))) {
                        nlmsg_free(m);
                        m = NULL;
                }
                r = vnc_nl_batch_add(&b, m, k);
                if (r < 0) {
                        vnc_error_set(&st[k].err, VNC_ERR_RUNTIME, r, "out of memory");
                        st[k].processed = true;
                        stopped = true;
                        break;
                }
        }
        /* In apply mode the taps created before a failure still get their attributes (alias = ours),
         * so that the rollback recognises them; the failure stops what comes after. */
        struct vnc_error sock_err = {0};
        r = vnc_nl_batch_flush(nl, &b, false, &sock_err);
        for (size_t k = 0; k < b.n; k++) {
                const struct vnc_nl_result *res = &b.res[k];
                struct tap_state *s = &st[res->tag];
                if (vnc_error_isset(&s->err))
                        continue;
                if (!res->acked) {
                        vnc_error_move(&s->err, &sock_err);
                        if (!vnc_error_isset(&s->err))
                                vnc_error_set(&s->err, VNC_ERR_RUNTIME, r < 0 ? r : -EIO,
                                              "tap \"%s\": could not set its attributes", acts[res->tag].ifname);
                } else if (res->error < 0)
                        vnc_nl_result_error(&s->err, res, "tap \"%s\": could not set its attributes",
                                            acts[res->tag].ifname);
                s->processed = true;
        }
        vnc_error_clear(&sock_err);
        return 0;
}

static void run_deletes(struct vnc_nl *nl, const struct vnc_action *acts, size_t i, size_t j, bool undo,
                        struct tap_state *st) {
        _cleanup_free_ struct vnc_nl_link_del *dels = calloc(j - i, sizeof(*dels));

        if (!dels) {
                vnc_error_set(&st[i].err, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
                st[i].processed = true;
                return;
        }
        for (size_t k = i; k < j; k++)
                dels[k - i] = (struct vnc_nl_link_del){
                        .what = "tap",
                        .ifname = acts[k].ifname,
                        .alias = acts[k].alias,
                        .kind = "tun",
                };
        (void)vnc_nl_links_delete(nl, dels, j - i, undo, NULL);
        for (size_t k = i; k < j; k++) {
                st[k].processed = true;
                vnc_error_move(&st[k].err, &dels[k - i].err);
                if (dels[k - i].error < 0 && !vnc_error_isset(&st[k].err))
                        vnc_error_set(&st[k].err, VNC_ERR_RUNTIME, dels[k - i].error, "tap \"%s\": could not delete",
                                      acts[k].ifname);
        }
}

static bool tap_handles(enum vnc_action_kind k) {
        return k == VNC_ACT_TAP;
}

static int tap_run(struct vnc_backend_ctx *ctx, const struct vnc_action *acts, size_t n, unsigned flags,
                   size_t *ret_done, struct vnc_error *e) {
        _cleanup_(vnc_nl_freep) struct vnc_nl *nl = NULL;
        _cleanup_free_ struct tap_state *st = NULL;
        bool undo = flags & VNC_RUN_UNDO;
        size_t done = 0;
        int r, first = 0;

        if (ret_done)
                *ret_done = 0;
        if (n == 0)
                return 0;
        for (size_t i = 0; i < n; i++)
                if (acts[i].kind != VNC_ACT_TAP || acts[i].op == VNC_OP_MODIFY)
                        return vnc_error_set(e, VNC_ERR_RUNTIME, -EINVAL,
                                             "tap backend: action %zu is not a tap create or delete", i);
        st = calloc(n, sizeof(*st));
        if (!st)
                return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOMEM, "out of memory");
        r = vnc_nl_open(&nl, e);
        if (r < 0)
                return r;

        for (size_t i = 0; i < n;) {
                size_t j = i;
                while (j < n && acts[j].op == acts[i].op)
                        j++;
                if (acts[i].op == VNC_OP_CREATE)
                        run_creates(nl, ctx, acts, i, j, undo, st);
                else
                        run_deletes(nl, acts, i, j, undo, st);
                bool failed = false;
                for (size_t k = i; k < j; k++)
                        failed = failed || vnc_error_isset(&st[k].err);
                i = j;
                if (failed && !undo)
                        break;
        }

        bool leading = true;
        for (size_t i = 0; i < n; i++) {
                if (vnc_error_isset(&st[i].err)) {
                        if (first == 0)
                                first = st[i].err.code;
                        vnc_error_move(e, &st[i].err);
                        leading = false;
                } else if (!st[i].processed)
                        leading = false;
                else if (leading)
                        done = i + 1;
                vnc_error_clear(&st[i].err);
        }
        if (ret_done)
                *ret_done = done;
        return first;
}

const struct vnc_backend_ops vnc_backend_tap = {
        .name = "tap",
        .handles = tap_handles,
        .run = tap_run,
};
