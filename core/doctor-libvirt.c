/* SPDX-License-Identifier: MIT */
/*
 * doctor, libvirt's side (libvirt helper): a profile's libvirt networks that
 * are missing, inactive or point at another bridge (libvirt-missing,
 * libvirt-inactive, libvirt-bridge), and for a bare bridge the libvirt
 * network it belongs to (libvirt-network; libvirt-inactive when stopped).
 */
#include <stdio.h>

#include "doctor.h"
#include "plan-libvirt.h"

#define BARE_BRIDGE_URI "qemu:///system"

static int check_profile(const struct vnc_profile *p, const struct vnc_libvirt_view *v, struct vnc_doctor_report *rep) {
        int r;

        for (size_t i = 0; i < p->n_networks; i++) {
                const struct vnc_network *n = &p->networks[i];
                if (!vnc_libvirt_wanted(p, n))
                        continue;
                const struct vnc_live_lvnet *ln = vnc_libvirt_view_find(v, n->name);
                if (ln && !vnc_libvirt_owned(ln, p->name, n->name))
                        continue; /* a user's network of that name: apply refuses it, nothing to diagnose here */
                if (!ln)
                        r = vnc_doctor_add(rep, "libvirt-missing", VNC_SEV_WARNING, n->name,
                                           vnc_strdup_printf("no libvirt network \"%s\" at \"%s\": guests that attach "
                                                             "with <source network='%s'/> cannot start",
                                                             n->name, v->uri, n->name),
                                           vnc_strdup_printf("vnetcfg apply %s", p->file ? p->file : p->name));
                else if (!streq(ln->bridge, n->bridge) || !streq(ln->forward, "bridge"))
                        r = vnc_doctor_add(rep, "libvirt-bridge", VNC_SEV_ERROR, n->name,
                                           vnc_strdup_printf("libvirt network \"%s\" at \"%s\" points at bridge \"%s\" "
                                                             "(forward mode \"%s\"), not at \"%s\" (forward mode "
                                                             "\"bridge\"): its guests are not on this network",
                                                             n->name, v->uri, ln->bridge[0] ? ln->bridge : "none",
                                                             ln->forward[0] ? ln->forward : "none", n->bridge),
                                           vnc_strdup_printf("vnetcfg apply %s  # redefines it on %s",
                                                             p->file ? p->file : p->name, n->bridge));
                else if (!ln->active)
                        r = vnc_doctor_add(rep, "libvirt-inactive", VNC_SEV_ERROR, n->name,
                                           vnc_strdup_printf("libvirt network \"%s\" at \"%s\" is inactive (autostart "
                                                             "%s): guests attached to it cannot start",
                                                             n->name, v->uri, ln->autostart ? "on" : "off"),
                                           vnc_strdup_printf("virsh -c %s net-start %s", v->uri, n->name));
                else
                        r = 0;
                if (r < 0)
                        return r;
        }
        return 0;
}

static int check_bridge(const char *bridge, const struct vnc_libvirt_view *v, struct vnc_doctor_report *rep) {
        for (size_t i = 0; i < v->n_nets; i++) {
                const struct vnc_live_lvnet *ln = &v->nets[i];
                if (!streq(ln->bridge, bridge))
                        continue;
                int r = vnc_doctor_add(rep, "libvirt-network", VNC_SEV_INFO, bridge,
                                       vnc_strdup_printf("bridge %s belongs to libvirt network \"%s\" at \"%s\" "
                                                         "(forward mode \"%s\", %s, autostart %s)%s",
                                                         bridge, ln->name, v->uri,
                                                         ln->forward[0] ? ln->forward : "none (isolated)",
                                                         ln->active ? "active" : "inactive",
                                                         ln->autostart ? "on" : "off",
                                                         ln->owner ? ", defined by vnetcfg" : ""),
                                       vnc_strdup_printf("virsh -c %s net-dumpxml %s", v->uri, ln->name));
                if (r >= 0 && !ln->active)
                        r = vnc_doctor_add(rep, "libvirt-inactive", VNC_SEV_ERROR, bridge,
                                           vnc_strdup_printf("libvirt network \"%s\" (bridge %s) is inactive",
                                                             ln->name, bridge),
                                           vnc_strdup_printf("virsh -c %s net-start %s", v->uri, ln->name));
                if (r < 0)
                        return r;
        }
        return 0;
}

int vnc_doctor_libvirt(const struct vnc_doctor_input *in, struct vnc_doctor_report *rep, struct vnc_error *e) {
        struct vnc_libvirt_view v = {0};
        struct vnc_error ignored = {0};
        const char *uri = in->profile ? in->profile->libvirt_uri : BARE_BRIDGE_URI;
        bool used = false;
        int r = 0;

        for (size_t i = 0; in->profile && i < in->profile->n_networks; i++)
                used |= vnc_libvirt_wanted(in->profile, &in->profile->networks[i]);
        if (in->profile && !used)
                return 0;
        /* Doctor reports what it can see: a daemon that cannot be read is a finding for profiles, silence for bridges. */
        if (in->host->libvirt_live_read(&v, uri, &ignored) < 0 || v.state != VNC_LV_OK) {
                /* "define": "auto" makes libvirt optional: only a required daemon is worth a finding. */
                if (in->profile && v.state == VNC_LV_UNREACHABLE && in->profile->libvirt_define == VNC_LIBVIRT_YES)
                        r = vnc_doctor_add(rep, "libvirt-unreachable", VNC_SEV_ERROR, NULL,
                                           vnc_strdup_printf("no libvirt daemon answers at \"%s\" (%s): guests "
                                                             "cannot attach to these networks by name",
                                                             uri, v.error ? v.error : "?"),
                                           strdup("systemctl start libvirtd"));
        } else if (in->profile)
                r = check_profile(in->profile, &v, rep);
        else
                r = check_bridge(in->bridge, &v, rep);
        vnc_error_clear(&ignored);
        vnc_libvirt_view_done(&v);
        if (r < 0)
                return vnc_error_set(e, VNC_ERR_RUNTIME, r, "doctor: out of memory");
        return 0;
}

bool vnc_doctor_libvirt_bridge(const struct vnc_host_ops *host, const char *bridge) {
        struct vnc_libvirt_view v = {0};
        struct vnc_error ignored = {0};
        bool found = false;

        if (host->libvirt_live_read(&v, BARE_BRIDGE_URI, &ignored) >= 0 && v.state == VNC_LV_OK)
                for (size_t i = 0; i < v.n_nets && !found; i++)
                        found = streq(v.nets[i].bridge, bridge);
        vnc_error_clear(&ignored);
        vnc_libvirt_view_done(&v);
        return found;
}
