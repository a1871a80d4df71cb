/* SPDX-License-Identifier: MIT */
/*
 * libvirt networks through the libvirt API (never virsh): read what the
 * daemon at a URI has, and define/start/autostart, destroy/undefine the
 * networks vnetcfg plans (VNC_ACT_LIBVIRT). The XML comes from the state
 * dir's blob store, where the planner put it before anything ran.
 *
 * A network is touched only when its uuid is the one the action carries
 * (the one vnetcfg gave it): a user's network of the same name is never
 * destroyed or redefined, not even by a rollback.
 */
#include <fcntl.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>

#include "backends.h"
#include "record.h"
#include "libvirt.h"

/* libvirt prints every error to stderr unless told otherwise: errors here are reported once, by the caller. */
static void quiet(void *userdata, virErrorPtr err) {}

static void lv_init(void) {
        static bool done;
        if (!done) {
                virSetErrorFunc(NULL, quiet);
                done = true;
        }
}

static const char *lv_error_text(void) {
        const char *m = virGetLastErrorMessage();
        return m ? m : "unknown libvirt error";
}

static void conn_closep(virConnectPtr *c) {
        if (*c)
                virConnectClose(*c);
}
#define _cleanup_conn_ _cleanup_(conn_closep)

static void net_freep(virNetworkPtr *n) {
        if (*n)
                virNetworkFree(*n);
}
#define _cleanup_net_ _cleanup_(net_freep)

/* ---- reading ------------------------------------------------------------- */

/* The value of attribute attr of the first <elem ...> element of xml, or "" (either quote style). */
void vnc_libvirt_xml_attr(const char *xml, const char *elem, const char *attr, char *ret, size_t size) {
        size_t el = strlen(elem), al = strlen(attr);

        ret[0] = 0;
        for (const char *p = xml; (p = strchr(p, '<')); p++) {
                if (strncmp(p + 1, elem, el) != 0 || (p[1 + el] != ' ' && p[1 + el] != '/' && p[1 + el] != '>'))
                        continue;
                const char *end = strchr(p, '>');
                for (const char *q = p + 1 + el; end && q < end; q++) {
                        if (q[-1] == ' ' && strncmp(q, attr, al) == 0 && q[al] == '=' &&
                            (q[al + 1] == '\'' || q[al + 1] == '"')) {
                                const char *v = q + al + 2, *close = strchr(v, q[al + 1]);
                                if (close) {
                                        size_t n = (size_t)(close - v);
                                        snprintf(ret, size, "%.*s", (int)(n < size ? n : size - 1), v);
                                }
                                return;
                        }
                }
                return;
        }
}

/* "<profile>/<network>" from vnetcfg's metadata element, or NULL. */
char *vnc_libvirt_xml_owner(const char *xml) {
        const char *p = strstr(xml, VNC_LIBVIRT_OWNER_NS);
        if (!p || !(p = strchr(p, '>')))
                return NULL;
        p++;
        size_t n = strcspn(p, "<");
        if (n == 0 || n > 2 * VNC_NAME_MAX + 1)
                return NULL;
        return strndup(p, n);
}

static int read_net(virNetworkPtr net, struct vnc_live_lvnet *ln) {
        const char *name = virNetworkGetName(net);
        int autostart = 0;

        ln->name = strdup(name ? name : "");
        if (!ln->name)
                return -ENOMEM;
        if (virNetworkGetUUIDString(net, ln->uuid) < 0)
                ln->uuid[0] = 0;
        ln->active = virNetworkIsActive(net) == 1;
        ln->persistent = virNetworkIsPersistent(net) == 1;
        ln->autostart = virNetworkGetAutostart(net, &autostart) == 0 && autostart;
        /* The recorder's test:///default driver knows no VIR_NETWORK_XML_INACTIVE (its networks have one XML). */
        ln->xml = virNetworkGetXMLDesc(net, vnc_record_on() ? 0 : VIR_NETWORK_XML_INACTIVE);
        if (!ln->xml)
                return -EIO;
        vnc_libvirt_xml_attr(ln->xml, "bridge", "name", ln->bridge, sizeof(ln->bridge));
        if (strstr(ln->xml, "<forward")) {
                vnc_libvirt_xml_attr(ln->xml, "forward", "mode", ln->forward, sizeof(ln->forward));
                if (!ln->forward[0])
                        snprintf(ln->forward, sizeof(ln->forward), "nat"); /* libvirt's default mode */
        }
        ln->owner = vnc_libvirt_xml_owner(ln->xml);
        return 0;
}

int vnc_libvirt_live_read(struct vnc_libvirt_view *v, const char *uri, struct vnc_error *e) {
        _cleanup_conn_ virConnectPtr conn = NULL;
        virNetworkPtr *nets = NULL;
        int n, r = 0;

        lv_init();
        vnc_libvirt_view_done(v);
        v->uri = strdup(uri);
        if (!v->uri)
                return -ENOMEM;
        if (vnc_record_on()) {
                /* The recorded host's daemon (tests/record); the reference is ours to close. */
                conn = vnc_record_libvirt();
                if (conn)
                        virConnectRef(conn);
        } else
                conn = virConnectOpen(uri);
        if (!conn) {
                v->state = VNC_LV_UNREACHABLE;
                v->error = strdup(lv_error_text());
                return v->error ? 0 : -ENOMEM;
        }
        n = virConnectListAllNetworks(conn, &nets, 0);
        if (n < 0)
                return vnc_error_set(e, VNC_ERR_RUNTIME, -EIO, "libvirt at \"%s\": could not list the networks: %s",
                                     uri, lv_error_text());
        for (int i = 0; i < n; i++) {
                struct vnc_live_lvnet *ln = r >= 0 ? vnc_libvirt_view_add(v) : NULL;
                if (r >= 0 && !ln)
                        r = -ENOMEM;
                if (r >= 0 && (r = read_net(nets[i], ln)) == -EIO)
                        vnc_error_set(e, VNC_ERR_RUNTIME, r, "libvirt at \"%s\": could not read network \"%s\": %s",
                                      uri, ln->name, lv_error_text());
                virNetworkFree(nets[i]);
        }
        free(nets);
        if (r >= 0)
                v->state = VNC_LV_OK;
        return r;
}

/* ---- changing ------------------------------------------------------------ */

static int read_blob(const char *state_dir, const char *hash, char **ret) {
        _cleanup_free_ char *path = vnc_strdup_printf("%s/blobs/%s", state_dir, hash);
        char *buf = NULL;
        size_t size = 0;
        FILE *f, *m;
        int c;

        if (!path)
                return -ENOMEM;
        if (strlen(hash) != 16 || strspn(hash, "0123456789abcdef") != 16)
                return -EINVAL;
        f = fopen(path, "re");
        if (!f)
                return -errno;
        m = open_memstream(&buf, &size);
        if (!m) {
                fclose(f);
                return -ENOMEM;
        }
        while ((c = fgetc(f)) != EOF)
                fputc(c, m);
        fclose(f);
        if (fclose(m) != 0)
                return -ENOMEM;
        *ret = buf;
        return 0;
}

_printf_(3, 4) static int lv_fail(struct vnc_error *e, const struct vnc_action *a, const char *fmt, ...) {
        char what[256];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        return vnc_error_set(e, VNC_ERR_RUNTIME, -EIO, "libvirt network \"%s\" at \"%s\": %s: %s", a->network,
                             a->lv_uri, what, lv_error_text());
}

/* The network of that name if it is ours (its uuid is the action's); NULL and *ret_foreign when another holds the name. */
static virNetworkPtr lookup_ours(virConnectPtr conn, const struct vnc_action *a, bool *ret_foreign) {
        virNetworkPtr net = virNetworkLookupByName(conn, a->network);
        char uuid[VIR_UUID_STRING_BUFLEN];

        *ret_foreign = false;
        if (!net)
                return NULL;
        if (virNetworkGetUUIDString(net, uuid) < 0 || !streq(uuid, a->lv_uuid)) {
                *ret_foreign = true;
                virNetworkFree(net);
                return NULL;
        }
        return net;
}

/* Recording (tests/record): each change to the daemon, before it is made (on the recorder's
 * in-process test:///default connection). */
static void record_call(const char *call, const struct vnc_action *a, const char *arg) {
        if (vnc_record_on())
                vnc_record_printf("libvirt %s network=%s%s%s", call, a->network, arg ? " " : "", arg ? arg : "");
}

static int define(virConnectPtr conn, struct vnc_backend_ctx *ctx, const struct vnc_action *a, const char *hash,
                  virNetworkPtr *ret, struct vnc_error *e) {
        _cleanup_free_ char *xml = NULL;
        int r = read_blob(ctx->state_dir, hash, &xml);

        if (r < 0)
                return vnc_error_set(e, VNC_ERR_RUNTIME, r, "libvirt network \"%s\": its definition %s is missing from "
                                     "the state dir", a->network, hash);
        _cleanup_free_ char *what = vnc_strdup_printf("uri=%s xml=blob %s", a->lv_uri, hash);
        record_call("virNetworkDefineXML", a, what);
        *ret = virNetworkDefineXML(conn, xml);
        if (!*ret)
                return lv_fail(e, a, "could not define it");
        return 0;
}

/* Make the network match (definition, active, autostart). */
static int converge(virConnectPtr conn, struct vnc_backend_ctx *ctx, const struct vnc_action *a, bool redefine,
                    struct vnc_error *e) {
        _cleanup_net_ virNetworkPtr net = NULL;
        bool foreign;
        int r;

        net = lookup_ours(conn, a, &foreign);
        if (foreign)
                return vnc_error_set(e, VNC_ERR_RUNTIME, -EEXIST,
                                     "libvirt network \"%s\" at \"%s\": a network of that name that vnetcfg did not "
                                     "define exists; it is left alone",
                                     a->network, a->lv_uri);
        if (net && redefine && virNetworkIsActive(net) == 1 && (record_call("virNetworkDestroy", a, NULL),
                                                                 virNetworkDestroy(net) < 0))
                return lv_fail(e, a, "could not stop it to redefine it");
        if (!net || redefine) {
                virNetworkPtr fresh = NULL;
                if (!a->blob[0])
                        return vnc_error_set(e, VNC_ERR_RUNTIME, -ENOENT,
                                             "libvirt network \"%s\": no definition to restore", a->network);
                if ((r = define(conn, ctx, a, a->blob, &fresh, e)) < 0)
                        return r;
                if (net)
                        virNetworkFree(net);
                net = fresh;
        }
        int active = virNetworkIsActive(net);
        if (a->lv_active && active != 1 && (record_call("virNetworkCreate", a, NULL), virNetworkCreate(net) < 0))
                return lv_fail(e, a, "could not start it");
        if (!a->lv_active && active == 1 && (record_call("virNetworkDestroy", a, NULL), virNetworkDestroy(net) < 0))
                return lv_fail(e, a, "could not stop it");
        int autostart = 0;
        if (virNetworkGetAutostart(net, &autostart) < 0)
                return lv_fail(e, a, "could not read its autostart flag");
        if (!!autostart != a->lv_autostart &&
            (record_call("virNetworkSetAutostart", a, a->lv_autostart ? "1" : "0"),
             virNetworkSetAutostart(net, a->lv_autostart) < 0))
                return lv_fail(e, a, "could not set autostart %s", a->lv_autostart ? "on" : "off");
        return 0;
}

static int remove_net(virConnectPtr conn, const struct vnc_action *a, struct vnc_error *e) {
        _cleanup_net_ virNetworkPtr net = NULL;
        bool foreign;

        net = lookup_ours(conn, a, &foreign);
        if (!net)
                return 0; /* gone already, or someone else's: never touched */
        if (virNetworkIsActive(net) == 1 && (record_call("virNetworkDestroy", a, NULL), virNetworkDestroy(net) < 0))
                return lv_fail(e, a, "could not stop it");
        if (virNetworkIsPersistent(net) == 1 && (record_call("virNetworkUndefine", a, NULL), virNetworkUndefine(net) < 0))
                return lv_fail(e, a, "could not undefine it");
        return 0;
}

static bool lv_handles(enum vnc_action_kind k) {
        return k == VNC_ACT_LIBVIRT;
}

/* The connection of the current run, reused while the actions name the same URI. */
static virConnectPtr run_conn;
static char run_uri[sizeof(((struct vnc_action *)0)->lv_uri)];

static int lv_one(struct vnc_backend_ctx *ctx, const struct vnc_action *a, struct vnc_error *e) {
        if (vnc_record_on()) {
                virConnectPtr conn = vnc_record_libvirt();
                if (!conn)
                        return vnc_error_set(e, VNC_ERR_RUNTIME, -ECONNREFUSED, "libvirt network \"%s\": the recorder "
                                             "has no test:///default connection: %s", a->network, lv_error_text());
                return a->op == VNC_OP_DELETE ? remove_net(conn, a, e)
                                              : converge(conn, ctx, a, a->op == VNC_OP_MODIFY && a->blob[0] &&
                                                                               !streq(a->blob, a->old_blob), e);
        }
        if (run_conn && !streq(run_uri, a->lv_uri)) {
                virConnectClose(run_conn);
                run_conn = NULL;
        }
        if (!run_conn) {
                run_conn = virConnectOpen(a->lv_uri);
                if (!run_conn)
                        return vnc_error_set(e, VNC_ERR_RUNTIME, -ECONNREFUSED,
                                             "libvirt network \"%s\": no daemon answers at \"%s\": %s", a->network,
                                             a->lv_uri, lv_error_text());
                snprintf(run_uri, sizeof(run_uri), "%s", a->lv_uri);
        }
        if (a->op == VNC_OP_DELETE)
                return remove_net(run_conn, a, e);
        return converge(run_conn, ctx, a, a->op == VNC_OP_MODIFY && a->blob[0] && !streq(a->blob, a->old_blob), e);
}

static int lv_run(struct vnc_backend_ctx *ctx, const struct vnc_action *acts, size_t n, unsigned flags,
                  size_t *ret_done, struct vnc_error *e) {
        lv_init();
        int r = vnc_backend_run_each(ctx, acts, n, flags, ret_done, e, lv_one);
        if (run_conn)
                virConnectClose(run_conn);
        run_conn = NULL;
        return r;
}

const struct vnc_backend_ops vnc_backend_libvirt = {
        .name = "libvirt",
        .handles = lv_handles,
        .run = lv_run,
};
