/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdint.h>

#include "error.h"
#include "host.h"
#include "model.h"

/* SPEC section 6: read the host, report what is broken, the evidence, the fix. Changes nothing. */

enum vnc_severity {
        VNC_SEV_INFO,
        VNC_SEV_WARNING,
        VNC_SEV_ERROR,
};
const char *vnc_severity_to_string(enum vnc_severity s); /* "info", "warning", "error" */

struct vnc_finding {
        char *code;     /* stable: "bridge-missing", "forward-disabled", ... (SPEC section 6) */
        enum vnc_severity severity;
        char *network;  /* profile network or bridge it concerns, may be NULL */
        char *evidence; /* what was seen: the rule and its table/chain, the sysctl and value, the MTUs... */
        char *fix;      /* a concrete command */
};

/* One hop of the --target walk: guest -> bridge -> host -> uplink. */
struct vnc_hop {
        char *name;    /* "guest 10.10.0.10 on vn-nat (neighbour)", "bridge vn-nat", "host routing", "uplink eth0" */
        bool ok;
        char *detail;  /* the evidence for this hop */
};

struct vnc_doctor_input {
        const struct vnc_host_ops *host;   /* how the doctor reads the host (cli/host.c) */
        const struct vnc_profile *profile; /* applied profile to check, or NULL */
        const char *bridge;                /* a bare bridge (not vnetcfg's) when profile is NULL */
        const char *state_dir;             /* for dnsmasq state, may be NULL */
        bool has_target;
        uint32_t target;                   /* --target IP, host byte order */
        /* verdict: the host's rule sets, read once by a caller that runs the doctor for several
         * profiles (host->fw_rulesets_read); NULL: this run reads them itself, once. */
        struct vnc_fw_rulesets *fw;
};

struct vnc_doctor_report {
        struct vnc_finding *findings;
        size_t n_findings, alloc_findings;
        struct vnc_hop *hops;
        size_t n_hops, alloc_hops;
        size_t broken_hop; /* index of the first hop that is not ok; n_hops when all are */
};
void vnc_doctor_report_done(struct vnc_doctor_report *r);
int vnc_doctor_add(struct vnc_doctor_report *r, const char *code, enum vnc_severity sev, const char *network,
                   char *evidence /* taken */, char *fix /* taken */);
bool vnc_doctor_has_errors(const struct vnc_doctor_report *r);

int vnc_doctor_run(const struct vnc_doctor_input *in, struct vnc_doctor_report *ret, struct vnc_error *e);

/* libvirt's side of a profile or bridge (core/doctor-libvirt.c). */
int vnc_doctor_libvirt(const struct vnc_doctor_input *in, struct vnc_doctor_report *rep, struct vnc_error *e);
/* Does a libvirt network name this bridge (one that is stopped has no link)? */
bool vnc_doctor_libvirt_bridge(const struct vnc_host_ops *host, const char *bridge);
