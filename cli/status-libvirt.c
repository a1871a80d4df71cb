/* SPDX-License-Identifier: MIT */
/* status: each libvirt network of an applied profile, as the daemon reports it (libvirt helper). */
#include "cli.h"
#include "plan-libvirt.h"

static const char *lv_state_word(const struct vnc_live_lvnet *ln) {
        return !ln ? "missing" : ln->active ? "active" : "inactive";
}

void cli_status_libvirt(const struct vnc_status_entry *en) {
        const struct vnc_libvirt_view *v = &en->lv;
        const struct vnc_profile *p = en->applied;

        if (!p || v->state == VNC_LV_UNREAD)
                return;
        print_open_object("libvirt");
        print_string(PRINT_ANY, "uri", "  libvirt \"%s\": ", v->uri ? v->uri : "");
        print_string(PRINT_ANY, "daemon", "daemon %s", v->state == VNC_LV_OK ? "answers" : "unreachable");
        print_string(PRINT_ANY, "error", " (%s)", v->error);
        print_text("\n");
        print_open_array("networks");
        for (size_t i = 0; i < p->n_networks; i++) {
                const struct vnc_network *n = &p->networks[i];
                if (!vnc_libvirt_wanted(p, n))
                        continue;
                const struct vnc_live_lvnet *ln = v->state == VNC_LV_OK ? vnc_libvirt_view_find(v, n->name) : NULL;
                bool ours = ln && vnc_libvirt_owned(ln, p->name, n->name);
                if (!ours)
                        ln = NULL;
                bool drift = v->state == VNC_LV_OK && (!ln || !ln->active || !ln->autostart || !ln->persistent ||
                                                       !streq(ln->bridge, n->bridge));
                /* No daemon answered: nothing is known of its networks, and the line above says why. */
                enum print_type known = v->state == VNC_LV_OK ? PRINT_ANY : PRINT_JSON;
                /* A missing network has nothing defined, started or bridged to show: its state says "missing". */
                enum print_type found = ln ? known : PRINT_JSON;

                print_open_object(NULL);
                print_string(known, "name", "  libvirt network %s: ", n->name);
                print_bool_word(found, "defined", "%s, ", ln && ln->persistent, "defined", "transient");
                print_string(known, "state", "%s", v->state == VNC_LV_OK ? lv_state_word(ln) : "unknown");
                print_bool(PRINT_JSON, "active", NULL, ln && ln->active); /* the text says it with the state */
                print_bool_word(found, "autostart", ", autostart %s", ln && ln->autostart, "on", "off");
                /* "" when libvirt names no bridge: the text says "none". */
                print_string(found, "bridge", ln && *ln->bridge ? ", bridge %s" : ", bridge none%s", ln ? ln->bridge : NULL);
                print_bool_word(known, "drift", "%s\n", drift,
                                ln ? " (drift: apply repairs it)" : " (undefined by someone; apply defines it again)", "");
                print_close_object();
        }
        print_close_array();
        print_close_object();
}
