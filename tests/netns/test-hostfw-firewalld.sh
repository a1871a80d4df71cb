#!/usr/bin/env bash
# vnetcfg beside a real firewalld (SPEC section 4, "Living with the host's firewall"),
# with its own dbus-daemon, both in this test's sandbox, on a copy of /etc/firewalld.
# firewalld (nftables backend, "table inet firewalld", default zone public) drops
# DHCP/DNS and forwarding from an unknown bridge; vnetcfg puts each of its bridges
# into zone "trusted" at runtime over D-Bus and takes them out again on rollback.
# Topology: see hostfw-lib.sh.
. "$(dirname "$0")/hostfw-lib.sh"

command -v firewalld >/dev/null || fail "firewalld is not installed (scripts/install-deps.sh installs it)"
command -v dbus-daemon >/dev/null || fail "dbus-daemon is not installed (scripts/install-deps.sh installs dbus)"
hf_private_etc /etc/firewalld
hf_topology
mkdir -p /run/dbus
dbus-daemon --system --fork --nopidfile || fail "dbus-daemon did not start"
start_firewalld() {
        firewalld --nofork --nopid >>"$HF_W/firewalld.log" 2>&1 &
        FIREWALLD=$!
        hf_wait "firewall-cmd --state" 120 "firewalld"
}
start_firewalld
assert_eq "$(firewall-cmd --get-default-zone)" public "firewalld's default zone"
nft list table inet firewalld >/dev/null || fail "firewalld has no nftables table"
ok "firewalld running in the sandbox on its own system bus (nftables, default zone public)"

HF_NAME=firewalld
# The openings: which zone each of vnetcfg's bridges is in.
hf_openings() {
        local b
        for b in vn-hf vn-ho vn-iso; do
                echo "$b $(firewall-cmd --get-zone-of-interface="$b" 2>/dev/null || echo none)"
        done
}
hf_drop_openings() {
        firewall-cmd --reload >/dev/null || fail "firewall-cmd --reload failed"
}
# firewalld's own configuration, runtime and permanent, without vnetcfg's bridges in their zone
# (the zone's chains in nftables come and go with its first interface: the snapshots compare those).
hf_foreign() {
        {
                firewall-cmd --get-default-zone
                firewall-cmd --list-all-zones | sed -E 's/ \(active\)//; s/ ?vn-(hf|ho|iso)\b//g; s/ +$//'
                firewall-cmd --list-all-policies
                firewall-cmd --permanent --list-all-zones
                find /etc/firewalld -type f -exec md5sum {} + | sort
        } >"$1" 2>&1
}
hf_check_openings() {
        assert_eq "$(cat "$1")" "vn-hf trusted
vn-ho trusted
vn-iso trusted" "zones of vnetcfg's bridges"
        firewall-cmd --permanent --zone=trusted --list-interfaces | grep -q vn- &&
                fail "vnetcfg wrote firewalld's permanent configuration"
        ! iptables -S 2>/dev/null | grep -q vnetcfg: || fail "iptables-nft openings under firewalld"
        # The modes' limits still hold (vnetcfg's own chains): host-only reaches no upstream.
        return 0
}
# firewalld keeps a zone's chains once the zone was active, also after its last interface left
# (only its own reload, which would drop other tools' runtime changes too, removes them). They
# dispatch nothing then; the snapshots compare everything else, and hf_check_gone checks that
# nothing in firewalld's table names a bridge of vnetcfg's any more.
hf_nft_filter() {
        awk '/^\tchain [A-Za-z_]*_trusted[A-Za-z_]* \{/ { skip = 1 } !skip && NF { print } skip && /^\t\}/ { skip = 0 }'
}
hf_reload() {
        firewall-cmd --reload >/dev/null || fail "firewall-cmd --reload failed"
}
hf_flow
! nft list table inet firewalld | grep -q '"vn-' || fail "firewalld still dispatches a bridge of vnetcfg's"
ok "firewalld: nothing of vnetcfg's left in its table"
kill "$FIREWALLD"
wait "$FIREWALLD" 2>/dev/null
