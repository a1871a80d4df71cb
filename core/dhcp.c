/* SPDX-License-Identifier: MIT */
#include <stdio.h>

#include "dhcp.h"

int vnc_dhcp_config(const struct vnc_profile *p, char **ret) {
        char *buf = NULL, a[16], b[16], m[16];
        size_t size = 0;
        bool any = false;
        FILE *f;

        *ret = NULL;
        for (size_t i = 0; i < p->n_networks; i++)
                any |= p->networks[i].has_dhcp;
        if (!any)
                return 0;
        /* dnsmasq's default of 1000 leases is for the whole process: size it for every range. */
        unsigned long long leases = 0;
        for (size_t i = 0; i < p->n_networks; i++)
                if (p->networks[i].has_dhcp)
                        leases += (unsigned long long)p->networks[i].dhcp.end - p->networks[i].dhcp.start + 1 +
                                  p->networks[i].dhcp.n_hosts;
        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        fprintf(f,
                "# dnsmasq of vnetcfg profile \"%s\"; generated, do not edit\n"
                /* Only the bridges below, with sockets bound to their addresses: never
                 * port 53 or 67 on every interface, and no clash with a resolver on lo. */
                "bind-dynamic\n"
                "except-interface=lo\n"
                "strict-order\n"
                "no-hosts\n"
                "dhcp-authoritative\n"
                "dhcp-no-override\n"
                /* Offer at once: guests with short DHCP timeouts (and verify) need it. */
                "no-ping\n"
                "dhcp-lease-max=%llu\n",
                p->name, leases);
        for (size_t i = 0; i < p->n_networks; i++) {
                const struct vnc_network *n = &p->networks[i];
                if (!n->has_dhcp)
                        continue;
                const char *tag = n->bridge;
                fprintf(f, "\n# network %s\ninterface=%s\n", n->name, tag);
                fprintf(f, "dhcp-range=set:%s,%s,%s,%s,%u\n", tag, vnc_ipv4_str(n->dhcp.start, a),
                        vnc_ipv4_str(n->dhcp.end, b), vnc_ipv4_str(vnc_prefix_mask(n->ipv4.prefix), m),
                        n->dhcp.lease_seconds);
                fprintf(f, "dhcp-option=tag:%s,option:router,%s\n", tag, vnc_ipv4_str(n->ipv4.addr, a));
                fprintf(f, "dhcp-option=tag:%s,option:dns-server,%s\n", tag, vnc_ipv4_str(n->ipv4.addr, a));
                if (n->mtu)
                        fprintf(f, "dhcp-option=tag:%s,option:mtu,%u\n", tag, n->mtu);
                for (size_t k = 0; k < n->dhcp.n_hosts; k++) {
                        const struct vnc_dhcp_host *h = &n->dhcp.hosts[k];
                        fprintf(f, "dhcp-host=%02x:%02x:%02x:%02x:%02x:%02x,%s%s%s\n", h->mac[0], h->mac[1],
                                h->mac[2], h->mac[3], h->mac[4], h->mac[5], vnc_ipv4_str(h->ip, a),
                                h->name ? "," : "", h->name ? h->name : "");
                }
        }
        if (fclose(f) != 0) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        return 0;
}
