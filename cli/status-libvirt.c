/* SPDX-License-Identifier: MIT */
/* status: each libvirt network of an applied profile, as the daemon reports it (libvirt helper). */
#include "cli.h"
#include "plan-libvirt.h"

static const char *lv_state_word(const struct vnc_live_lvnet *ln) {
        return !ln ? "missing" : ln->active ? "active" : "inactive";
}

void cli_status_libvirt(const struct cli *c, json_t *jp, const struct vnc_status_entry *en) {
        const struct vnc_libvirt_view *v = &en->lv;
        const struct vnc_profile *p = en->applied;
        json_t *arr = NULL;

        if (!p || v->state == VNC_LV_UNREAD || (c->json && !jp) || (!c->json && jp))
                return;
        if (jp)
                arr = json_array();
        if (!jp && v->state == VNC_LV_UNREACHABLE)
                printf("  libvirt: no daemon answers at \"%s\" (%s)\n", v->uri, v->error ? v->error : "?");
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
                if (arr) {
                        json_t *o = json_pack("{s:s, s:s, s:b, s:b, s:b}", "name", n->name, "state",
                                              v->state == VNC_LV_OK ? lv_state_word(ln) : "unknown", "defined",
                                              ln && ln->persistent, "active", ln && ln->active, "autostart",
                                              ln && ln->autostart);
                        json_object_set_new(o, "bridge", ln ? json_string(ln->bridge) : json_null());
                        json_object_set_new(o, "drift", json_boolean(drift));
                        json_array_append_new(arr, o);
                        continue;
                }
                if (v->state != VNC_LV_OK)
                        continue;
                if (!ln)
                        printf("  libvirt network %s: missing (undefined by someone; apply defines it again)\n",
                               n->name);
                else
                        printf("  libvirt network %s: %s, %s, autostart %s, bridge %s%s\n", n->name,
                               ln->persistent ? "defined" : "transient", lv_state_word(ln),
                               ln->autostart ? "on" : "off", ln->bridge[0] ? ln->bridge : "none",
                               drift ? " (drift: apply repairs it)" : "");
        }
        if (arr)
                json_object_set_new(jp, "libvirt",
                                    json_pack("{s:s, s:s, s:o}", "uri", v->uri ? v->uri : "", "daemon",
                                              v->state == VNC_LV_OK ? "answers" : "unreachable", "networks", arr));
}
