# shellcheck shell=bash
# Shared by the netns integration tests. Sourcing it re-executes the test
# inside its own network and mount namespaces (the root namespace is never
# touched), brings lo up, and gives the test a private state dir.
#
#   . "$(dirname "$0")/lib.sh"
#   V apply profile.json          # vnetcfg with the sandbox's state dir
#   snap before; ...; snap after; same_snap before after
set -u

# Debian's python3 (where install-deps puts python3-jsonschema), not a version
# manager's shim in front of it: a shim costs a second or more per start, which
# turns every timing-sensitive step (a pinger started beside a command, a
# confirmation deadline) into a race on a loaded machine.
PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
export PATH

if [ -z "${VNC_SANDBOXED:-}" ]; then
        exec unshare -n -m --propagation private -- env VNC_SANDBOXED=1 bash "$0" "$@"
fi

: "${VNETCFG:?VNETCFG must point at the vnetcfg binary}"
: "${VNC_SOURCE_DIR:?VNC_SOURCE_DIR must point at the source tree}"

ip link set lo up
mkdir -p /run/netns && mount -t tmpfs tmpfs /run/netns
# A libvirt daemon of the machine's own is out of reach (profiles default to "define": "auto").
[ -d /run/libvirt ] && mount -t tmpfs tmpfs /run/libvirt
# /sys shows the namespace that mounted it: mount our own.
mount -t sysfs sysfs /sys
TMP=$(mktemp -d /tmp/vnc-test.XXXXXX)
STATE="$TMP/state"
_deferred=()
defer() { _deferred+=("$*"); }
_cleanup() {
        local i
        for ((i = ${#_deferred[@]} - 1; i >= 0; i--)); do eval "${_deferred[$i]}" >/dev/null 2>&1; done
        _end_helpers
        rm -rf "$TMP"
}
# The sandbox is a network namespace, not a PID namespace: a dnsmasq that vnetcfg
# started for this test (its argv names this test's state dir) would outlive it
# when the test ends without a rollback. End exactly those, by PID, and say so.
_end_helpers() {
        local d pid
        for d in /proc/[0-9]*; do
                pid=${d#/proc/}
                [ "$pid" != $$ ] && tr '\0' ' ' <"$d/cmdline" 2>/dev/null | grep -qF -- "$STATE/" || continue
                echo "# ended a process this test left running: $pid $(tr '\0' ' ' <"$d/cmdline" 2>/dev/null)" >&2
                kill "$pid" 2>/dev/null
        done
}
trap _cleanup EXIT

TESTS_RUN=0
fail() {
        echo "FAIL: $*" >&2
        exit 1
}
ok() {
        TESTS_RUN=$((TESTS_RUN + 1))
        echo "ok $TESTS_RUN - $*"
}

V() { "$VNETCFG" --state-dir "$STATE" "$@"; }

# Run a command with vnetcfg-faults as $VNETCFG: the test-only build that reads VNETCFG_FAIL_AT,
# VNETCFG_CRASH_AT and VNETCFG_FAIL_COMMIT (tests/faults/faults.c), e.g.
#   VNETCFG_FAIL_AT=3 faults expect_rc 1 apply "$TMP/lab.json"
faults() { VNETCFG="${VNETCFG_FAULTS:?VNETCFG_FAULTS must point at the vnetcfg-faults binary}" "$@"; }

# Run vnetcfg expecting exit code $1; output in $OUT, stderr in $ERR.
expect_rc() {
        local want=$1 rc=0
        shift
        OUT=$("$VNETCFG" --state-dir "$STATE" "$@" 2>"$TMP/stderr") || rc=$?
        ERR=$(cat "$TMP/stderr")
        [ "$rc" = "$want" ] || fail "vnetcfg $* exited $rc, expected $want
stdout: $OUT
stderr: $ERR"
}

# A snapshot of everything vnetcfg could touch (see snapshot.py for what is
# left out of links and why).
snap() {
        {
                echo "## links"
                python3 "$VNC_SOURCE_DIR/tests/netns/snapshot.py"
                echo "## addresses"
                # IPv6 link-local addresses are made by the kernel when a link gains
                # carrier (addrconf), on its own schedule: derived, like carrier.
                # Remaining lifetimes of dynamic addresses count down: keep that they are finite.
                ip -o addr show | grep -v ' inet6 fe80::' | sed -E 's/^[0-9]+: //; s/\\ +/ /g' |
                        sed -E 's/(valid|preferred)_lft [0-9]+sec/\1_lft Nsec/g' | sort
                echo "## routes"
                # "linkdown" follows carrier, which the kernel updates on its own (linkwatch).
                { ip route show table all; ip -6 route show table all; } | grep -v '^local fe80::' | sed 's/ linkdown//' | sort
                echo "## sysctls"
                # ip_forward, and what writing it changes on its own (inet_forward_change):
                # conf/all/accept_redirects and every interface's forwarding.
                local key
                for key in ip_forward conf/all/accept_redirects conf/*/forwarding; do
                        [ -e "/proc/sys/net/ipv4/$key" ] && echo "$key=$(cat "/proc/sys/net/ipv4/$key")"
                done
                echo "## iptables-legacy"
                legacy_rules
                echo "## nftables"
                nft_rules
                echo "## state"
                find "$STATE" -mindepth 2 2>/dev/null | sed "s#^$STATE##" | sort
        } >"$TMP/snap.$1"
}

# The legacy x_tables (what libiptc writes), counters zeroed. A table that holds
# nothing but its builtin chains with policy ACCEPT is the same as no table
# (the kernel instantiates a table on first use and never removes it).
legacy_rules() {
        iptables-legacy-save 2>/dev/null | grep -v '^#' | sed -E 's/\[[0-9]+:[0-9]+\]/[0:0]/' | awk '
                /^\*/ { table = $0; n = 0; boring = 1; next }
                /^COMMIT/ { if (!boring) { print table; for (i = 0; i < n; i++) print lines[i]; print "COMMIT" } next }
                { lines[n++] = $0; if ($0 !~ /^:(INPUT|FORWARD|OUTPUT|PREROUTING|POSTROUTING) ACCEPT /) boring = 0 }'
}

# The whole nftables ruleset (iptables-nft's tables included), counters zeroed.
# A test may narrow what is compared by defining nft_rules_filter (a stdin filter).
nft_rules_filter() { cat; }
nft_rules() {
        nft list ruleset 2>/dev/null | sed -E 's/counter packets [0-9]+ bytes [0-9]+/counter/' | nft_rules_filter
}

same_snap() {
        diff -u "$TMP/snap.$1" "$TMP/snap.$2" >"$TMP/snap.diff" ||
                fail "host differs between $1 and $2:
$(cat "$TMP/snap.diff")"
}

# A foreign world vnetcfg must never touch: an uplink-like interface pair with
# addresses and routes, and a bridge of someone else's.
# A namespace "up" behind uplink0, the host's way out: 192.0.2.1 here,
# 192.0.2.2 there, no route back to the guests' subnets unless a test adds one.
make_upstream() {
        ip netns add up
        defer "ip netns del up"
        ip link add uplink0 type veth peer name eth0 netns up
        defer "ip link del uplink0"
        ip addr add 192.0.2.1/24 dev uplink0
        ip link set uplink0 up
        ip -n up link set lo up
        ip -n up addr add 192.0.2.2/24 dev eth0
        ip -n up link set eth0 up
}

make_foreign_world() {
        ip link add fw-up0 type veth peer name fw-up1
        ip link set fw-up0 up
        ip addr add 192.0.2.10/24 dev fw-up0
        ip route add 198.51.100.0/24 via 192.0.2.1 dev fw-up0
        ip link add fw-br type bridge
        ip link set fw-br alias "somebody else's"
        ip addr add 172.31.0.1/24 dev fw-br
}

# Assertions on kernel objects (exact values).
link_field() { # link field (alias|mtu|master|kind|operstate)
        ip -d -j link show dev "$1" 2>/dev/null | python3 -c '
import json, sys
l = json.load(sys.stdin)[0]
f = sys.argv[1]
if f == "alias":
    print(l.get("ifalias", ""))
elif f == "kind":
    print(l.get("linkinfo", {}).get("info_kind", ""))
elif f == "flags_up":
    print("UP" in l.get("flags", []))
else:
    print(l.get(f, ""))' "$2"
}

assert_eq() { # actual expected what
        [ "$1" = "$2" ] || fail "$3: got \"$1\", expected \"$2\""
}

ifindex_of() { cat "/sys/class/net/$1/ifindex"; }
