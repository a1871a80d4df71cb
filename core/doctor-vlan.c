/* SPDX-License-Identifier: MIT */
#include <stdio.h>

#include "doctor-vlan.h"

/* "v10 (VLAN 10), v20 (VLAN 20)": the networks that need 802.1Q interfaces. Caller frees. */
static char *vlan_users(const struct vnc_profile *p) {
        char *s = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&s, &size);
        const char *sep = "";

        if (!f)
                return NULL;
        for (size_t i = 0; i < p->n_networks; i++) {
                const struct vnc_network *n = &p->networks[i];
                bool on_trunk_tap = false;
                for (size_t t = 0; t < p->n_trunk_taps && !on_trunk_tap; t++)
                        for (size_t k = 0; k < p->trunk_taps[t].n_vlans; k++)
                                on_trunk_tap |= p->trunk_taps[t].vlans[k] == i;
                if (n->has_vlan && (n->vlan.trunk[0] || on_trunk_tap)) {
                        fprintf(f, "%s%s (VLAN %u)", sep, n->name, n->vlan.id);
                        sep = ", ";
                }
        }
        if (fclose(f) != 0) {
                free(s);
                return NULL;
        }
        return s;
}

static int check_8021q(const struct vnc_profile *p, const struct vnc_live *live, struct vnc_doctor_report *rep) {
        if (live->vlan_8021q != VNC_8021Q_MISSING && live->vlan_8021q != VNC_8021Q_UNLOADABLE)
                return 0;
        _cleanup_free_ char *users = vlan_users(p);
        if (!users || !*users)
                return users ? 0 : -ENOMEM;
        if (live->vlan_8021q == VNC_8021Q_MISSING)
                return vnc_doctor_add(
                        rep, "8021q-missing", VNC_SEV_ERROR, NULL,
                        vnc_strdup_printf("this kernel has no 802.1Q support: 8021q is not loaded (no /proc/net/vlan) "
                                          "and neither built in nor a module (modules.builtin, modules.dep); %s "
                                          "need 802.1Q interfaces",
                                          users),
                        strdup("boot a kernel with CONFIG_VLAN_8021Q (Debian: apt-get install linux-image-amd64, "
                               "then reboot into it), then vnetcfg apply the profile"));
        return vnc_doctor_add(
                rep, "8021q-unloadable", VNC_SEV_ERROR, NULL,
                vnc_strdup_printf("8021q is a module of this kernel but is not loaded, and kernel.modules_disabled = 1 "
                                  "forbids loading it; %s need 802.1Q interfaces",
                                  users),
                strdup("echo 8021q > /etc/modules-load.d/8021q.conf and reboot (modules_disabled cannot be "
                       "turned off while the system runs)"));
}

static int check_trunk(const struct vnc_profile *p, const struct vnc_network *n, const struct vnc_live *live,
                       struct vnc_doctor_report *rep) {
        const struct vnc_live_link *t = vnc_live_link_by_name(live, n->vlan.trunk);
        const struct vnc_live_link *sub = vnc_live_link_by_name(live, n->vlan.interface);
        const struct vnc_live_link *br = vnc_live_link_by_name(live, n->bridge);
        int r;

        if (!t)
                return vnc_doctor_add(rep, "trunk-missing", VNC_SEV_ERROR, n->name,
                                      vnc_strdup_printf("trunk \"%s\" of VLAN %u does not exist: %s cannot reach "
                                                        "anything beyond the host",
                                                        n->vlan.trunk, n->vlan.id, n->bridge),
                                      vnc_strdup_printf("bring the interface \"%s\" back (driver, cable, rename), or "
                                                        "set networks[].vlan.trunk of \"%s\" to the right one; then "
                                                        "vnetcfg apply the profile of \"%s\"",
                                                        n->vlan.trunk, n->name, p->name));
        if (!t->admin_up)
                r = vnc_doctor_add(rep, "trunk-down", VNC_SEV_ERROR, n->name,
                                   vnc_strdup_printf("trunk \"%s\" is administratively down: VLAN %u frames of %s go "
                                                     "nowhere",
                                                     t->name, n->vlan.id, n->bridge),
                                   vnc_strdup_printf("ip link set %s up", t->name));
        else if (!t->oper_up)
                r = vnc_doctor_add(rep, "trunk-down", VNC_SEV_ERROR, n->name,
                                   vnc_strdup_printf("trunk \"%s\" is up but has no carrier: VLAN %u frames of %s go "
                                                     "nowhere",
                                                     t->name, n->vlan.id, n->bridge),
                                   vnc_strdup_printf("check the cable and the switch port of \"%s\" (it must carry "
                                                     "VLAN %u tagged: switchport trunk allowed vlan %u)",
                                                     t->name, n->vlan.id, n->vlan.id));
        else
                r = 0;
        if (r < 0)
                return r;

        /* The network's MTU (the profile's, else the bridge's) and the sub-interface's, against the trunk's. */
        uint32_t want = n->mtu ? n->mtu : br ? br->mtu : 0;
        const char *what = n->mtu ? "the network's MTU" : "the MTU of its bridge";
        if (sub && sub->mtu > t->mtu) {
                want = sub->mtu;
                what = "the MTU of its sub-interface";
        }
        if (want > t->mtu)
                return vnc_doctor_add(rep, "vlan-mtu", VNC_SEV_ERROR, n->name,
                                      vnc_strdup_printf("VLAN %u: %s, %u, is above trunk \"%s\"'s MTU %u: frames "
                                                        "longer than %u bytes are dropped on the trunk",
                                                        n->vlan.id, what, want, t->name, t->mtu, t->mtu),
                                      vnc_strdup_printf("ip link set %s mtu %u (and the switch port), or lower "
                                                        "\"mtu\" of network \"%s\" to %u",
                                                        t->name, want, n->name, t->mtu));
        return 0;
}

int vnc_doctor_vlan(const struct vnc_profile *p, const struct vnc_live *live, struct vnc_doctor_report *rep,
                    struct vnc_error *e) {
        int r = 0;

        if (!p)
                return 0;
        r = check_8021q(p, live, rep);
        for (size_t i = 0; r >= 0 && i < p->n_networks; i++) {
                const struct vnc_network *n = &p->networks[i];
                if (n->has_vlan && n->vlan.trunk[0])
                        r = check_trunk(p, n, live, rep);
        }
        return r < 0 ? vnc_error_set(e, VNC_ERR_RUNTIME, r, "doctor: %s", strerror(-r)) : 0;
}
