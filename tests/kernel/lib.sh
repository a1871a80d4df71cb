# shellcheck shell=bash
# Shared by the kernel-matrix tests (run by run-kernel.sh inside the Debian
# kernel guest). On top of tests/netns/lib.sh (private network and mount
# namespaces, snapshots, assertions): the 802.1Q requirement, guests behind
# taps, pings with retries, and snapshots that include the firewall.
# shellcheck source=../netns/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../netns/lib.sh"

# Not a skip: without 8021q this test cannot say anything, so it fails.
[ -e /proc/net/vlan ] || grep -qs '/8021q\.ko' "/lib/modules/$(uname -r)/modules.dep" ||
        fail "this kernel ($(uname -r)) has no 802.1Q support: this test runs in the kernel matrix (ctest -L kernel)"
: "${VNC_TAP_PUMP:?VNC_TAP_PUMP must point at the tap-pump binary}"

# A "guest" behind a tap vnetcfg made: namespace NS with eth0 (a veth whose
# other end, p-NS, is bridged to TAP by tap-pump, as QEMU would). Make the
# veth before the snapshot the test compares; start the pump once the tap exists.
guest_ns() { # NS
        ip netns add "$1"
        defer "ip netns del $1"
        ip link add "p-$1" type veth peer name eth0 netns "$1"
        ip link set "p-$1" up
        ip -n "$1" link set lo up
        ip -n "$1" link set eth0 up
}
pump() { # TAP NS
        "$VNC_TAP_PUMP" "$1" "p-$2" >"$TMP/pump-$2.log" 2>&1 &
        defer "kill $! 2>/dev/null"
}

# Must answer: TCG is slow and the first packets wait for ARP, so retry.
ping_ok() { # NS DST what
        local i
        for i in 1 2 3 4 5 6; do
                ip netns exec "$1" busybox ping -c 1 -W 2 "$2" >/dev/null 2>&1 && return 0
        done
        fail "$3: $1 cannot ping $2"
}
# Must not answer (tried after the positive checks, so ARP is warm).
ping_no() { # NS DST what
        ! ip netns exec "$1" busybox ping -c 2 -W 1 "$2" >/dev/null 2>&1 || fail "$3: $1 reaches $2"
}

# snap (tests/netns/lib.sh) plus the legacy iptables rules vnetcfg writes, counters left out.
fsnap() { # NAME
        snap "$1"
        # Sorted: a rollback re-creates the rules a generation deleted in reverse order, so rules that
        # match disjoint traffic (other bridges) may come back in another order.
        # A table appears in iptables-save once something used it: use it first.
        { echo "## iptables-legacy"; iptables-legacy -t filter -S >/dev/null; iptables-legacy-save | grep -v '^#' | sed -E 's/\[[0-9]+:[0-9]+\]//' | sort; } >>"$TMP/snap.$1"
}

vlan_id_of() { # IFNAME
        ip -d -j link show dev "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["linkinfo"]["info_data"]["id"])'
}
