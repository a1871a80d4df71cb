/* SPDX-License-Identifier: MIT */
/*
 * firewalld openings over its D-Bus interface (sd-bus), never firewall-cmd:
 * the bridge goes into a zone at runtime (changeZoneOfInterface), as libvirt
 * puts its bridges into its "libvirt" zone, and comes out of it again
 * (removeInterface) on rollback. Runtime only: firewalld's permanent
 * configuration is never written, and `firewall-cmd --reload` drops the
 * binding, which status then shows as drift and the next apply restores.
 *
 * On a recorded host (tests/record) the two calls below, getActiveZones and
 * the zone method, are answered by and recorded in backends/record.c instead
 * of going to the bus; everything around them runs as in production.
 */
#include <systemd/sd-bus.h>

#include "fw-open.h"
#include "open.h"
#include "record.h"

#define FWD_NAME "org.fedoraproject.FirewallD1"
#define FWD_PATH "/org/fedoraproject/FirewallD1"
#define FWD_ZONE FWD_NAME ".zone"

static void bus_unrefp(sd_bus **b) {
        if (*b)
                sd_bus_flush_close_unref(*b);
}
static void msg_unrefp(sd_bus_message **m) {
        if (*m)
                sd_bus_message_unref(*m);
}

/* Skip one value of any type in m. */
static int skip_value(sd_bus_message *m) {
        return sd_bus_message_skip(m, NULL);
}

/*
 * getActiveZones: a{sa{sas}}, zone -> {"interfaces": [...], "sources": [...]}.
 * Calls fn for each (zone, interface).
 */
static int read_active_zones(sd_bus *bus, sd_bus_error *err, int (*fn)(void *u, const char *zone, const char *ifname),
                             void *userdata) {
        _cleanup_(msg_unrefp) sd_bus_message *reply = NULL;
        int r;

        if (vnc_record_on()) {
                if (!vnc_record_fwd_running())
                        return sd_bus_error_set_const(err, SD_BUS_ERROR_SERVICE_UNKNOWN, "firewalld is not running");
                return vnc_record_fwd_zones(fn, userdata);
        }
        r = sd_bus_call_method(bus, FWD_NAME, FWD_PATH, FWD_ZONE, "getActiveZones", err, &reply, "");
        if (r < 0)
                return r;
        if ((r = sd_bus_message_enter_container(reply, 'a', "{sa{sas}}")) < 0)
                return r;
        while ((r = sd_bus_message_enter_container(reply, 'e', "sa{sas}")) > 0) {
                const char *zone;
                if ((r = sd_bus_message_read(reply, "s", &zone)) < 0 ||
                    (r = sd_bus_message_enter_container(reply, 'a', "{sas}")) < 0)
                        return r;
                while ((r = sd_bus_message_enter_container(reply, 'e', "sas")) > 0) {
                        const char *key;
                        if ((r = sd_bus_message_read(reply, "s", &key)) < 0)
                                return r;
                        if (!streq(key, "interfaces")) {
                                if ((r = skip_value(reply)) < 0)
                                        return r;
                        } else {
                                const char *ifname;
                                if ((r = sd_bus_message_enter_container(reply, 'a', "s")) < 0)
                                        return r;
                                while ((r = sd_bus_message_read(reply, "s", &ifname)) > 0)
                                        if ((r = fn(userdata, zone, ifname)) < 0)
                                                return r;
                                if (r < 0 || (r = sd_bus_message_exit_container(reply)) < 0)
                                        return r;
                        }
                        if ((r = sd_bus_message_exit_container(reply)) < 0)
                                return r;
                }
                if (r < 0 || (r = sd_bus_message_exit_container(reply)) < 0 ||
                    (r = sd_bus_message_exit_container(reply)) < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(reply);
}

static int add_live(void *u, const char *zone, const char *ifname) {
        return vnc_live_add_opening(u, VNC_OPEN_FIREWALLD, zone, ifname);
}

int vnc_fwd_live_read(struct vnc_live *live, struct vnc_error *e) {
        _cleanup_(bus_unrefp) sd_bus *bus = NULL;
        sd_bus_error err = SD_BUS_ERROR_NULL;
        int r;

        /* No system bus, or no firewalld on it: no firewalld to live with. */
        if (!vnc_record_on() && sd_bus_open_system(&bus) < 0)
                return 0;
        r = read_active_zones(bus, &err, add_live, live);
        if (r == -ENOMEM) {
                sd_bus_error_free(&err);
                return vnc_error_set(e, VNC_ERR_RUNTIME, r, "out of memory");
        }
        live->open_need[VNC_OPEN_FIREWALLD] = r >= 0;
        sd_bus_error_free(&err);
        return 0;
}

struct zone_of {
        const char *ifname;
        char zone[64];
};

static int find_zone(void *u, const char *zone, const char *ifname) {
        struct zone_of *z = u;
        if (streq(ifname, z->ifname))
                snprintf(z->zone, sizeof(z->zone), "%s", zone);
        return 0;
}

/* A method of firewalld's zone interface taking (zone, interface). */
static int zone_call(sd_bus *bus, const char *method, const char *zone, const char *ifname, sd_bus_error *err) {
        if (!vnc_record_on())
                return sd_bus_call_method(bus, FWD_NAME, FWD_PATH, FWD_ZONE, method, err, NULL, "ss", zone, ifname);
        if (!vnc_record_fwd_running())
                return sd_bus_error_set_const(err, SD_BUS_ERROR_SERVICE_UNKNOWN, "firewalld is not running");
        int r = vnc_record_fwd_call(method, zone, ifname);
        return r < 0 ? sd_bus_error_set_errno(err, r) : r;
}

static int fwd_one(sd_bus *bus, const struct vnc_action *a, unsigned flags, struct vnc_error *e) {
        sd_bus_error err = SD_BUS_ERROR_NULL;
        struct zone_of cur = {.ifname = a->ifname};
        int r;

        r = read_active_zones(bus, &err, find_zone, &cur);
        if (r >= 0 && a->op == VNC_OP_CREATE && streq(cur.zone, a->zone))
                return 0; /* already there */
        if (r >= 0 && a->op != VNC_OP_CREATE && !streq(cur.zone, a->zone))
                return 0; /* not in our zone (any more): nothing of ours to remove */
        if (r >= 0)
                r = zone_call(bus, a->op == VNC_OP_CREATE ? "changeZoneOfInterface" : "removeInterface", a->zone,
                              a->ifname, &err);
        if (r < 0 && (flags & VNC_RUN_UNDO) && a->op != VNC_OP_CREATE &&
            sd_bus_error_has_names(&err, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
                r = 0; /* firewalld is gone, and with it the binding */
        if (r < 0) {
                int rr = vnc_error_set(e, VNC_ERR_RUNTIME, r, "firewalld: could not %s interface \"%s\" %s zone \"%s\"",
                                       a->op == VNC_OP_CREATE ? "put" : "remove", a->ifname,
                                       a->op == VNC_OP_CREATE ? "into" : "from", a->zone);
                vnc_error_detail(e, "%s", err.message ? err.message : strerror(-r));
                sd_bus_error_free(&err);
                return rr;
        }
        sd_bus_error_free(&err);
        return 0;
}

int vnc_fwd_run(_unused_ struct vnc_backend_ctx *ctx, const struct vnc_action *acts, size_t n, unsigned flags,
                struct vnc_error *e) {
        _cleanup_(bus_unrefp) sd_bus *bus = NULL;
        int r, first = 0;

        r = vnc_record_on() ? 0 : sd_bus_open_system(&bus);
        if (r < 0) {
                if (flags & VNC_RUN_UNDO)
                        return 0; /* no bus, no firewalld, no binding left */
                r = vnc_error_set(e, VNC_ERR_RUNTIME, r, "firewalld: could not connect to the system bus");
                vnc_error_detail(e, "%s", strerror(-r));
                return r;
        }
        for (size_t i = 0; i < n; i++) {
                r = fwd_one(bus, &acts[i], flags, e);
                if (r < 0 && first == 0)
                        first = r;
                if (r < 0 && !(flags & VNC_RUN_UNDO))
                        break;
        }
        return first;
}
