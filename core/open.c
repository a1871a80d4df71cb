/* SPDX-License-Identifier: MIT */
#include <stdio.h>

#include "open.h"

static const char *const place_names[_VNC_OPEN_PLACE_MAX] = {
        [VNC_OPEN_IPT_NFT] = "iptables-nft",
        [VNC_OPEN_IPT_LEGACY] = "iptables-legacy",
        [VNC_OPEN_FIREWALLD] = "firewalld",
};

const char *vnc_open_place_to_string(int p) {
        return p >= 0 && p < _VNC_OPEN_PLACE_MAX ? place_names[p] : NULL;
}

int vnc_open_place_from_string(const char *s) {
        for (int i = 0; s && i < _VNC_OPEN_PLACE_MAX; i++)
                if (streq(place_names[i], s))
                        return i;
        return _VNC_OPEN_PLACE_INVALID;
}

/*
 * firewalld: the bridge into zone "trusted" at runtime. firewalld's runtime API
 * cannot make a zone of its own, and no stock zone lets in DHCP/DNS/ICMP while
 * forwarding nothing, so the zone lets the bridge's traffic past firewalld and
 * vnetcfg's own chains keep deciding what the mode allows (every base chain must
 * accept: their rejects of host-only/isolated forwarding and of isolated input
 * still hold). Bridged networks are the LAN's business: left alone.
 */
const char *vnc_open_firewalld_zone(const struct vnc_network *n) {
        switch (n->mode) {
        case VNC_MODE_NAT:
        case VNC_MODE_ROUTED:
        case VNC_MODE_HOST_ONLY:
        case VNC_MODE_ISOLATED:
                return "trusted";
        default:
                return NULL;
        }
}

/* The builtin chain an accept of vnetcfg's own chain is mirrored into, or NULL. */
static const char *mirror_chain(const struct vnc_fw_rule *r) {
        if (r->table != VNC_FW_TABLE_FILTER || r->target != VNC_FW_ACCEPT)
                return NULL;
        if (streq(r->chain, "VNETCFG_INP"))
                return "INPUT";
        /* Port forwards (ct DNAT) enter through the subnet's opening of the same bridge. */
        if ((streq(r->chain, "VNETCFG_FWX") || streq(r->chain, "VNETCFG_FWA") || streq(r->chain, "VNETCFG_FWI")) &&
            !(r->ctstate & VNC_CT_DNAT))
                return "FORWARD";
        return NULL;
}

int vnc_open_rules_for_profile(const struct vnc_profile *p, struct vnc_fw_rule **ret, size_t *ret_n) {
        _cleanup_free_ struct vnc_fw_rule *own = NULL;
        struct vnc_fw_rule *out = NULL;
        size_t n_own = 0, n = 0;
        int r;

        r = vnc_fw_rules_for_profile(p, &own, &n_own);
        if (r < 0)
                return r;
        out = calloc(n_own ? n_own : 1, sizeof(*out));
        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < n_own; i++) {
                const char *chain = mirror_chain(&own[i]);
                if (!chain)
                        continue;
                /* the network is the part of the comment between '/' and ' #' */
                const char *slash = strchr(own[i].comment, '/');
                char network[VNC_NAME_MAX + 1];
                snprintf(network, sizeof(network), "%.*s", slash ? (int)strcspn(slash + 1, " ") : 0,
                         slash ? slash + 1 : "");
                struct vnc_fw_rule o = own[i];
                snprintf(o.chain, sizeof(o.chain), "%s", chain);
                o.ctstate = 0;
                o.comment[0] = 0;
                vnc_fw_rule_seal(&o, p->name, network);
                bool dup = false;
                for (size_t k = 0; k < n && !dup; k++)
                        dup = streq(out[k].comment, o.comment);
                if (!dup)
                        out[n++] = o;
        }
        *ret = out;
        *ret_n = n;
        return 0;
}
