/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdint.h>
#include <stdio.h>

/*
 * dnsmasq's lease database (<state_dir>/dnsmasq/<profile>.leases, see
 * dnsmasq.h): one lease per line, "EXPIRY MAC IP HOSTNAME CLIENT-ID", where
 * EXPIRY is the end of the lease in seconds since the epoch (0: infinite),
 * HOSTNAME and CLIENT-ID are "*" when unknown. DHCPv6 lines ("duid ..." and
 * leases whose address is IPv6) are skipped: vnetcfg serves IPv4 only.
 */
struct vnc_lease {
        long long expiry; /* CLOCK_REALTIME seconds; 0 = never expires */
        char mac[18];     /* "52:54:00:00:00:10", lower case as dnsmasq writes it */
        uint32_t ip;      /* host byte order */
        char *hostname;   /* NULL when dnsmasq knows none */
        char *client_id;  /* NULL when none */
};

struct vnc_leases {
        struct vnc_lease *leases;
        size_t n, alloc;
};
void vnc_leases_done(struct vnc_leases *l);

/* Parse the text of a lease file. Lines that are not IPv4 leases are skipped; a malformed
 * IPv4 lease line is -EBADMSG with its 1-based number in *ret_line. */
int vnc_leases_parse(FILE *f, struct vnc_leases *ret, unsigned *ret_line);
/* <state_dir>/dnsmasq/<profile>.leases: where the profile's dnsmasq keeps its leases (malloc'd, NULL on ENOMEM). */
char *vnc_dnsmasq_lease_path(const char *state_dir, const char *profile);
/* The profile's lease file; a missing file (no dnsmasq ever ran) is no leases. */
int vnc_leases_read(const char *state_dir, const char *profile, struct vnc_leases *ret, unsigned *ret_line);
