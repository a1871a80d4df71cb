/* SPDX-License-Identifier: MIT */
/*
 * libvirt networks for vnetcfg's networks (SPEC section 2, "libvirt").
 *
 * For each network that uses libvirt, a libvirt network of the same name on
 * the network's bridge, <forward mode='bridge'/>, defined, active and set to
 * autostart, so guests attach with <source network='NAME'/>. vnetcfg knows
 * its own by the <metadata> it puts in the definition (kept by the daemon) and,
 * for a daemon that drops metadata, by the uuid it derives from the names.
 *
 * The planning here is pure: what libvirt has comes in live->lv.
 */
#include <stdarg.h>
#include <stdio.h>

#include "plan-libvirt.h"

static uint64_t fnv(const char *s, uint64_t h) {
        for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
                h ^= *c;
                h *= 0x100000001b3ULL;
        }
        return h;
}

void vnc_libvirt_uuid(const char *profile, const char *network, char ret[37]) {
        uint64_t a = fnv(network, fnv("/", fnv(profile, 0xcbf29ce484222325ULL)));
        uint64_t b = fnv(network, fnv("/", fnv(profile, fnv("vnetcfg libvirt network", 0x84222325cbf29ce4ULL))));
        uint8_t u[16];

        for (int i = 0; i < 8; i++) {
                u[i] = (uint8_t)(a >> (56 - 8 * i));
                u[8 + i] = (uint8_t)(b >> (56 - 8 * i));
        }
        u[6] = (uint8_t)((u[6] & 0x0f) | 0x80); /* version 8: vendor-specific (RFC 9562) */
        u[8] = (uint8_t)((u[8] & 0x3f) | 0x80); /* RFC variant */
        snprintf(ret, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2],
                 u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

char *vnc_libvirt_xml(const char *profile, const char *network, const char *bridge) {
        char uuid[37];

        /* Names and interface names are validated: no XML metacharacters in them. */
        vnc_libvirt_uuid(profile, network, uuid);
        return vnc_strdup_printf("<network>\n"
                                 "  <name>%s</name>\n"
                                 "  <uuid>%s</uuid>\n"
                                 "  <metadata>\n"
                                 "    <vnetcfg:owner xmlns:vnetcfg=\"" VNC_LIBVIRT_OWNER_NS "\">%s/%s</vnetcfg:owner>\n"
                                 "  </metadata>\n"
                                 "  <forward mode='bridge'/>\n"
                                 "  <bridge name='%s'/>\n"
                                 "</network>\n",
                                 network, uuid, profile, network, bridge);
}

bool vnc_libvirt_owned(const struct vnc_live_lvnet *n, const char *profile, const char *network) {
        char uuid[37], owner[2 * VNC_NAME_MAX + 2];

        snprintf(owner, sizeof(owner), "%s/%s", profile, network);
        if (n->owner)
                return streq(n->owner, owner);
        vnc_libvirt_uuid(profile, network, uuid);
        return streq(n->uuid, uuid);
}

bool vnc_libvirt_wanted(const struct vnc_profile *p, const struct vnc_network *n) {
        return p && p->libvirt_define != VNC_LIBVIRT_NO && n->libvirt;
}

static bool uses_libvirt(const struct vnc_profile *p) {
        for (size_t i = 0; p && i < p->n_networks; i++)
                if (vnc_libvirt_wanted(p, &p->networks[i]))
                        return true;
        return false;
}

int vnc_libvirt_read_for(const struct vnc_host_ops *host, struct vnc_live *live, const struct vnc_profile *want,
                         const struct vnc_profile *applied, struct vnc_error *e) {
        const char *uri = NULL;
        bool used = true;
        int r;

        vnc_libvirt_view_done(&live->lv);
        /* The profile being applied names the daemon; the networks an earlier apply made live at its uri. */
        if (uses_libvirt(applied))
                uri = applied->libvirt_uri;
        if (uses_libvirt(want))
                uri = want->libvirt_uri;
        /* No network uses libvirt, but "define" is not false: networks carrying this profile's mark
         * (an older vnetcfg's, a lost journal's) are looked for, where a daemon answers. */
        if (!uri && want && want->libvirt_define != VNC_LIBVIRT_NO) {
                uri = want->libvirt_uri;
                used = false;
        }
        if (!uri)
                return 0;
        r = host->libvirt_live_read(&live->lv, uri, e);
        if (r >= 0 && !used && live->lv.state != VNC_LV_OK)
                vnc_libvirt_view_done(&live->lv); /* nothing to say about a daemon nothing uses */
        return r;
}

/* ---- planning ------------------------------------------------------------ */

struct lvplan {
        const struct vnc_profile *want, *applied;
        const struct vnc_libvirt_view *lv;
        const char *profile;
        struct vnc_plan *del, *add, *blobs;
        struct vnc_error *e;
        bool noted;
};

static int note_unreachable(struct lvplan *p, const char *network, bool removing) {
        if (removing)
                return vnc_plan_add_note(p->blobs,
                                         "libvirt: no daemon answers at \"%s\" (%s): the libvirt network \"%s\" is "
                                         "left as it is",
                                         p->lv->uri, p->lv->error ? p->lv->error : "unreachable", network);
        if (p->noted)
                return 0;
        p->noted = true;
        return vnc_plan_add_note(p->blobs,
                                 "libvirt: no daemon answers at \"%s\" (%s): skipped (\"define\": \"auto\"), no "
                                 "libvirt network is defined",
                                 p->lv->uri, p->lv->error ? p->lv->error : "unreachable");
}

static void init_action(struct lvplan *p, struct vnc_action *a, enum vnc_action_op op, const char *network,
                        const char *bridge, const char *uri) {
        vnc_action_init(a, VNC_ACT_LIBVIRT, op, p->profile, network);
        memset(a->alias, 0, sizeof(a->alias)); /* no link alias: ownership is in the network XML */
        snprintf(a->ifname, sizeof(a->ifname), "%s", bridge);
        snprintf(a->lv_uri, sizeof(a->lv_uri), "%s", uri);
        vnc_libvirt_uuid(p->profile, network, a->lv_uuid);
}

_printf_(3, 4) static int lv_conflict(struct lvplan *p, const char *path, const char *fmt, ...) {
        int line = 0, col = 0;
        char msg[512];
        va_list ap;

        vnc_profile_locate(p->want, path, &line, &col);
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        return vnc_error_set_at(p->e, VNC_ERR_CONFLICT, p->want->file, line, col, path, "%s", msg);
}

static int plan_wanted(struct lvplan *p, size_t i) {
        const struct vnc_network *n = &p->want->networks[i];
        const struct vnc_live_lvnet *ln = vnc_libvirt_view_find(p->lv, n->name);
        _cleanup_free_ char *xml = NULL;
        char path[64], hash[17], owner[2 * VNC_NAME_MAX + 2];
        struct vnc_action a;
        int r;

        if (ln && !vnc_libvirt_owned(ln, p->profile, n->name)) {
                snprintf(path, sizeof(path), "networks[%zu].name", i);
                if (ln->owner) {
                        snprintf(owner, sizeof(owner), "%s", ln->owner);
                        owner[strcspn(owner, "/")] = 0;
                        return lv_conflict(p, path,
                                           "\"%s\": the libvirt network of that name at \"%s\" belongs to vnetcfg "
                                           "profile \"%s\"",
                                           n->name, p->lv->uri, owner);
                }
                return lv_conflict(p, path,
                                   "\"%s\": a libvirt network of that name exists at \"%s\" (bridge \"%s\", %s) and "
                                   "was not defined by vnetcfg; rename this network, or set \"libvirt\": false on it",
                                   n->name, p->lv->uri, ln->bridge[0] ? ln->bridge : "none",
                                   ln->active ? "active" : "inactive");
        }

        xml = vnc_libvirt_xml(p->profile, n->name, n->bridge);
        if (!xml)
                return -ENOMEM;
        if (!ln) {
                if ((r = vnc_plan_add_blob(p->blobs, xml, hash)) < 0)
                        return r;
                init_action(p, &a, VNC_OP_CREATE, n->name, n->bridge, p->want->libvirt_uri);
                memcpy(a.blob, hash, sizeof(a.blob));
                a.lv_active = a.lv_autostart = true;
                return vnc_plan_append(p->add, &a);
        }

        /* Ours: repair what drifted (someone stopped it, turned autostart off, edited the bridge). */
        bool redefine = !ln->persistent || !streq(ln->bridge, n->bridge) || !streq(ln->forward, "bridge");
        if (!redefine && ln->active && ln->autostart)
                return 0;
        init_action(p, &a, VNC_OP_MODIFY, n->name, n->bridge, p->want->libvirt_uri);
        snprintf(a.lv_uuid, sizeof(a.lv_uuid), "%s", ln->uuid);
        a.lv_active = a.lv_autostart = true;
        a.old_lv_active = ln->active;
        a.old_lv_autostart = ln->autostart;
        if (redefine) {
                if ((r = vnc_plan_add_blob(p->blobs, xml, hash)) < 0)
                        return r;
                memcpy(a.blob, hash, sizeof(a.blob));
                if (ln->persistent && ln->xml) {
                        if ((r = vnc_plan_add_blob(p->blobs, ln->xml, hash)) < 0)
                                return r;
                        memcpy(a.old_blob, hash, sizeof(a.old_blob));
                }
        }
        return vnc_plan_append(p->add, &a);
}

/* Does a libvirt network as read carry this profile's mark (its <metadata> owner, or the derived uuid)? */
static bool marked(const struct vnc_live_lvnet *ln, const char *profile) {
        size_t pl = strlen(profile);
        char uuid[37];

        if (ln->owner)
                return strncmp(ln->owner, profile, pl) == 0 && ln->owner[pl] == '/';
        vnc_libvirt_uuid(profile, ln->name, uuid);
        return streq(ln->uuid, uuid);
}

/* A libvirt network of ours, no longer wanted: destroy and undefine it (its XML kept for undo). */
static int plan_unwanted(struct lvplan *p, const struct vnc_live_lvnet *ln) {
        char hash[17] = "";
        struct vnc_action a;
        int r;

        if (ln->xml && (r = vnc_plan_add_blob(p->blobs, ln->xml, hash)) < 0)
                return r;
        init_action(p, &a, VNC_OP_DELETE, ln->name, ln->bridge, p->lv->uri);
        snprintf(a.lv_uuid, sizeof(a.lv_uuid), "%s", ln->uuid);
        memcpy(a.blob, hash, sizeof(a.blob));
        a.lv_active = ln->active;
        a.lv_autostart = ln->autostart;
        return vnc_plan_append(p->del, &a);
}

static const struct vnc_network *find_net(const struct vnc_profile *p, const char *name) {
        for (size_t i = 0; p && i < p->n_networks; i++)
                if (streq(p->networks[i].name, name))
                        return &p->networks[i];
        return NULL;
}

int vnc_plan_libvirt(const struct vnc_profile *want, const struct vnc_profile *applied, const struct vnc_live *live,
                     struct vnc_plan *del, struct vnc_plan *add, struct vnc_plan *blobs, struct vnc_error *e) {
        struct lvplan p = {
                .want = want,
                .applied = applied,
                .lv = &live->lv,
                .profile = want ? want->name : applied->name,
                .del = del,
                .add = add,
                .blobs = blobs,
                .e = e,
        };
        int r;

        if (live->lv.state == VNC_LV_UNREAD)
                return 0; /* libvirt not consulted: nothing uses it */

        if (want && uses_libvirt(want)) {
                if (strlen(want->libvirt_uri) >= sizeof(((struct vnc_action *)0)->lv_uri)) {
                        int line = 0, col = 0;
                        vnc_profile_locate(want, "libvirt.uri", &line, &col);
                        return vnc_error_set_at(e, VNC_ERR_PROFILE, want->file, line, col, "libvirt.uri",
                                                "URI longer than %zu bytes",
                                                sizeof(((struct vnc_action *)0)->lv_uri) - 1);
                }
                if (live->lv.state == VNC_LV_UNREACHABLE && want->libvirt_define == VNC_LIBVIRT_YES) {
                        int line = 0, col = 0;
                        vnc_profile_locate(want, "libvirt.define", &line, &col);
                        return vnc_error_set_at(e, VNC_ERR_CONFLICT, want->file, line, col, "libvirt.define",
                                                "true: libvirt is required, but no daemon answers at \"%s\" (%s)",
                                                want->libvirt_uri, live->lv.error ? live->lv.error : "unreachable");
                }
        }

        /*
         * Removals first (a dropped network, an opt-out, "define": false, rollback --all): every network
         * the daemon has that carries this profile's mark and is not wanted, whoever defined it (an
         * older vnetcfg, an apply whose journal is lost). Without a daemon, a note for each the applied
         * profile had.
         */
        for (size_t i = 0; live->lv.state == VNC_LV_OK && i < live->lv.n_nets; i++) {
                const struct vnc_live_lvnet *ln = &live->lv.nets[i];
                const struct vnc_network *w = find_net(want, ln->name);
                if (!marked(ln, p.profile) || (w && vnc_libvirt_wanted(want, w)))
                        continue;
                if ((r = plan_unwanted(&p, ln)) < 0)
                        return r;
        }
        for (size_t i = 0; live->lv.state != VNC_LV_OK && applied && i < applied->n_networks; i++) {
                const struct vnc_network *n = &applied->networks[i];
                const struct vnc_network *w = find_net(want, n->name);
                if (!vnc_libvirt_wanted(applied, n) || (w && vnc_libvirt_wanted(want, w)))
                        continue;
                if ((r = note_unreachable(&p, n->name, true)) < 0)
                        return r;
        }
        for (size_t i = 0; want && i < want->n_networks; i++) {
                if (!vnc_libvirt_wanted(want, &want->networks[i]))
                        continue;
                if (live->lv.state != VNC_LV_OK) {
                        if ((r = note_unreachable(&p, want->networks[i].name, false)) < 0)
                                return r;
                        continue;
                }
                if ((r = plan_wanted(&p, i)) < 0)
                        return r;
        }
        return 0;
}
