#!/usr/bin/env bash
# vnetcfg doctor (SPEC section 6) on the real kernel: start from a healthy
# applied network, inject exactly one fault, expect its finding code with
# evidence that proves the right thing was found, repair, expect clean again.
# Driven through tests/doctor-check (the same vnc_doctor_run the CLI calls).
# Topology (all inside this test's sandbox):
#
#   upstream ns "up": eth0 192.0.2.2/24 (no route back to 10.x: replies need NAT)
#        |
#   uplink0 192.0.2.1/24  (this sandbox is the host)
#   vn-nat 10.10.0.1/24 nat via uplink0, dhcp    |- g1 (10.10.0.10)  |- g2 (10.10.0.11)
#   vn-ho  10.30.0.1/24 host-only                |- h1 (10.30.0.10)
#   fw-br  172.31.0.1/24, not vnetcfg's (bare)   |- b1 (172.31.0.10)  |- b2 (172.31.0.11)
. "$(dirname "$0")/lib.sh"

DC="${DOCTOR_CHECK:-$(dirname "$VNETCFG")/tests/doctor-check}"
[ -x "$DC" ] || fail "doctor-check not found at $DC"

# shellcheck source=guests.sh
. "$(dirname "$0")/guests.sh"

# Run the doctor; findings and hops in $OUT, exit code in $RC.
doc() { # [--bridge NAME | (profile)] [--target IP]
        RC=0
        if [ "${1:-}" = --bridge ]; then
                OUT=$("$DC" "$@" 2>"$TMP/dc.err") || RC=$?
        else
                OUT=$("$DC" --state-dir "$STATE" --profile "$TMP/doc.json" "$@" 2>"$TMP/dc.err") || RC=$?
        fi
        [ "$RC" = 0 ] || [ "$RC" = 3 ] || fail "doctor-check $* exited $RC: $(cat "$TMP/dc.err")"
}

# No finding of severity error, exit 0.
expect_clean() { # what [doctor args]
        local what=$1
        shift
        doc "$@"
        if [ "$RC" != 0 ] || echo "$OUT" | grep -q '^[a-z-]* error |'; then
                fail "$what: expected no error finding (rc $RC):
$OUT"
        fi
}

# A finding "CODE SEVERITY | ..." whose line holds every given substring; rc 3 for errors, 0 otherwise.
expect_finding() { # code severity substring... [-- doctor args]
        local code=$1 sev=$2 line
        shift 2
        local subs=()
        while [ $# -gt 0 ] && [ "$1" != -- ]; do subs+=("$1"); shift; done
        [ "${1:-}" = -- ] && shift
        doc "$@"
        line=$(echo "$OUT" | grep "^$code $sev |" || true)
        [ -n "$line" ] || fail "expected a $code $sev finding:
$OUT"
        local s
        for s in "${subs[@]}"; do
                echo "$line" | grep -qF -- "$s" || fail "$code: evidence lacks \"$s\":
$line"
        done
        if [ "$sev" = error ]; then
                [ "$RC" = 3 ] || fail "$code error: doctor-check exited $RC, expected 3"
        fi
        FOUND="$line"
}

expect_no_code() { # code [doctor args]
        local code=$1
        shift
        doc "$@"
        ! echo "$OUT" | grep -q "^$code " || fail "unexpected $code:
$OUT"
}

make_upstream

cat >"$TMP/doc.json" <<'JSON'
{
  "version": 1,
  "name": "doc",
  "firewall": {"backend": "iptables"},
  "networks": [
    {"name": "nat", "mode": "nat", "ipv4": {"address": "10.10.0.1/24"},
     "nat": {"uplink": "uplink0"},
     "dhcp": {"start": "10.10.0.100", "end": "10.10.0.199"}},
    {"name": "ho", "mode": "host-only", "ipv4": {"address": "10.30.0.1/24"}}
  ]
}
JSON
expect_rc 0 apply "$TMP/doc.json"
defer "$VNETCFG --state-dir $STATE rollback --all doc"
ns_add g1 vn-nat 10.10.0.10/24 10.10.0.1
ns_add g2 vn-nat 10.10.0.11/24 10.10.0.1
ns_add h1 vn-ho 10.30.0.10/24 10.30.0.1
ip link add fw-br type bridge
ip addr add 172.31.0.1/24 dev fw-br
ip link set fw-br up
ns_add b1 fw-br 172.31.0.10/24 172.31.0.1
ns_add b2 fw-br 172.31.0.11/24 172.31.0.1
pings g1 192.0.2.2 || fail "healthy setup: nat guest cannot reach upstream"
pings h1 10.30.0.1 || fail "healthy setup: host-only guest cannot reach the host"

# ---------------------------------------------------------------- healthy
expect_clean "healthy profile"
expect_no_code ip-conflict
expect_clean "healthy, target a nat guest" --target 10.10.0.10
echo "$OUT" | grep -q '^broken_hop none$' || fail "healthy walk to a guest broke:
$OUT"
echo "$OUT" | grep -q '^hop 0 ok guest 10.10.0.10 on vn-nat' || fail "walk does not start at the guest:
$OUT"
expect_clean "healthy, target upstream" --target 192.0.2.2
echo "$OUT" | grep -q '^broken_hop none$' || fail "healthy walk to upstream broke:
$OUT"
echo "$OUT" | grep -q '^hop 2 ok uplink uplink0 (route to 192.0.2.2)' || fail "walk does not end at the uplink:
$OUT"
expect_clean "healthy bare bridge" --bridge fw-br --target 172.31.0.10
ok "healthy: no error finding for the profile, the guest and upstream walks, and a bare bridge"

# ---------------------------------------------------------------- one fault at a time
sysctl -qw net.ipv4.ip_forward=0
expect_finding forward-disabled error "net.ipv4.ip_forward = 0" "sysctl -w net.ipv4.ip_forward=1"
sysctl -qw net.ipv4.ip_forward=1
expect_clean "after forward-disabled"
ok "forward-disabled: ip_forward=0 found with the sysctl and its fix"

iptables-legacy -I INPUT 1 -p icmp -j DROP
expect_finding icmp-blocked error "INPUT" "10.30.0" "iptables-legacy"
iptables-legacy -D INPUT 1
expect_clean "after icmp-blocked"
ok "icmp-blocked: an INPUT icmp DROP in the legacy tables"

nft add table inet filter
nft add chain inet filter forward '{ type filter hook forward priority 0; policy drop; }'
expect_finding forward-blocked error "FORWARD" "vn-nat" "uplink0" "inet filter"
nft delete table inet filter
expect_clean "after forward-blocked"
ok "forward-blocked: an nft FORWARD chain with policy drop"

iptables-legacy -t nat -I POSTROUTING 1 -s 10.10.0.0/24 -j ACCEPT
expect_finding no-masquerade error "uplink0" "POSTROUTING"
iptables-legacy -t nat -D POSTROUTING 1
expect_clean "after no-masquerade"
ok "no-masquerade: a nat ACCEPT before vnetcfg's masquerade"

iptables-legacy -I FORWARD 1 -i vn-nat -o vn-nat -j DROP
expect_finding br-netfilter warning "bridge-nf-call-iptables = 1" "vn-nat"
[ "$RC" = 0 ] || fail "br-netfilter is a warning: rc $RC"
iptables-legacy -D FORWARD 1
expect_clean "after br-netfilter"
echo "$OUT" | grep -q '^br-netfilter warning' && fail "br-netfilter warning after repair:
$OUT"
ok "br-netfilter: bridged frames dropped by FORWARD is a warning"

ip link set vn-nat down
expect_finding bridge-down error "vn-nat" "ip link set vn-nat up"
ip link set vn-nat up
expect_clean "after bridge-down"
ok "bridge-down"

ip link del vn-ho
expect_finding bridge-missing error '"vn-ho"' "vnetcfg apply"
expect_rc 0 apply "$TMP/doc.json"
ip link set h1-h master vn-ho
expect_clean "after bridge-missing"
expect_finding bridge-missing error '"nosuch0"' -- --bridge nosuch0
ok "bridge-missing: for a profile's bridge, and a bare name"

ip link set h1-h nomaster
expect_finding no-ports warning "vn-ho has no ports"
[ "$RC" = 0 ] || fail "no-ports is a warning: rc $RC"
ip link set h1-h master vn-ho
expect_clean "after no-ports"
expect_no_code no-ports
ok "no-ports: a warning"

ip link set g2-h down
expect_finding port-down warning "1 of 2" "g2-h" "ip link set g2-h up"
ip link set g1-h down
expect_finding port-down error "2 of 2"
ip link set g1-h up
ip link set g2-h up
expect_clean "after port-down"
expect_no_code port-down
ok "port-down: a warning for one port, an error when every port is down"

ip link set g1-h mtu 1400
expect_finding mtu-mismatch error "port g1-h mtu 1400" "the other ports mtu 1500" "ip link set g1-h mtu 1500"
ip link set g1-h mtu 1500
expect_clean "after mtu-mismatch"
expect_no_code mtu-mismatch
ok "mtu-mismatch: a port's MTU against the bridge's"

sysctl -qw net.ipv4.conf.vn-nat.rp_filter=1
ip route add 10.10.0.10/32 via 192.0.2.2 dev uplink0
expect_finding rp-filter error "rp_filter = 1" "10.10.0.10" "uplink0" "sysctl -w net.ipv4.conf.vn-nat.rp_filter=2" -- --target 10.10.0.10
ip route del 10.10.0.10/32 via 192.0.2.2 dev uplink0
expect_no_code rp-filter --target 10.10.0.10
sysctl -qw net.ipv4.conf.vn-nat.rp_filter=0
expect_clean "after rp-filter" --target 10.10.0.10
ok "rp-filter: strict with an asymmetric route back to the guest"

ip route del 10.10.0.0/24 dev vn-nat
expect_finding no-route error "10.10.0" "ip route add 10.10.0.0/24 dev vn-nat src 10.10.0.1" -- --target 10.10.0.10
echo "$OUT" | grep -q '^hop 2 BROKEN host' || fail "no-route: the walk must break at the host:
$OUT"
ip route add 10.10.0.0/24 dev vn-nat proto kernel scope link src 10.10.0.1
expect_clean "after no-route" --target 10.10.0.10
ip route add 10.10.0.10/32 via 192.0.2.2 dev uplink0
expect_finding no-route error "leaves through uplink0" "ip route del 10.10.0.10/32 dev uplink0" -- --target 10.10.0.10
ip route del 10.10.0.10/32 via 192.0.2.2 dev uplink0
expect_clean "after no-route (wrong interface)" --target 10.10.0.10
ok "no-route: the subnet's route removed, and a route to the guest through the wrong interface"

ip link add ov0 type veth peer name ov1
ip addr add 10.30.0.77/24 dev ov0
expect_finding subnet-overlap error "10.30.0.77/24 on ov0" "vn-ho"
ip link del ov0
expect_clean "after subnet-overlap"
ok "subnet-overlap: another interface holds an address in a network's subnet"

ip -n g2 addr add 10.10.0.1/32 dev eth0
g2mac=$(ip netns exec g2 cat /sys/class/net/eth0/address)
expect_finding ip-conflict error "10.10.0.1" "$g2mac"
ip -n g2 addr del 10.10.0.1/32 dev eth0
expect_clean "after ip-conflict"
expect_no_code ip-conflict
ok "ip-conflict: a second namespace answers ARP for the host address"

g2hmac=$(cat /sys/class/net/g2-h/address)
g1hmac=$(cat /sys/class/net/g1-h/address)
ip link set g2-h address "$g1hmac"
expect_finding mac-conflict error "g1-h" "g2-h" "$g1hmac"
ip link set g2-h address "$g2hmac"
expect_clean "after mac-conflict"
expect_no_code mac-conflict
ok "mac-conflict: two ports of one bridge with the same MAC"

pid=$(cat "$STATE/dnsmasq/doc.pid")
kill "$pid"
while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
expect_finding dhcp-down error "not running" "vnetcfg apply"
expect_no_code dns-port-taken
python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 53)); time.sleep(600)' &
squatter=$!
defer "kill $squatter"
for _ in $(seq 50); do grep -q ':0035 ' /proc/net/udp && break; sleep 0.05; done
expect_finding dns-port-taken error "udp 0.0.0.0:53" "pid $squatter (python3)" "kill $squatter"
kill "$squatter"
wait "$squatter" 2>/dev/null
expect_rc 0 apply "$TMP/doc.json"
expect_clean "after dhcp-down and dns-port-taken"
ok "dhcp-down and dns-port-taken: dnsmasq killed, then port 53 held by another process"

ip -n g1 link set eth0 arp off
expect_finding neigh-failed error "10.10.0.10 never answered ARP" "layer 2 problem, not layer 3" -- --target 10.10.0.10
echo "$OUT" | grep -q '^broken_hop 0$' || fail "neigh-failed: the walk must break at the guest:
$OUT"
ip -n g1 link set eth0 arp on
expect_clean "after neigh-failed" --target 10.10.0.10
echo "$OUT" | grep -q '^broken_hop none$' || fail "after neigh-failed: walk still broken:
$OUT"
ok "neigh-failed: a guest that does not answer ARP, the walk breaks at the guest hop"

# Bare bridge: checks that need no profile.
ip link set b1-h mtu 1300
expect_finding mtu-mismatch error "port b1-h mtu 1300" "the other ports mtu 1500" "ip link set b1-h mtu 1500" -- --bridge fw-br
ip link set b1-h mtu 1500
expect_clean "bare bridge after mtu-mismatch" --bridge fw-br
ip link set fw-br down
expect_finding bridge-down error "fw-br" -- --bridge fw-br --target 172.31.0.10
echo "$OUT" | grep -q '^hop 1 BROKEN bridge fw-br' || fail "bare bridge down: the walk must break at the bridge:
$OUT"
ip link set fw-br up
expect_clean "bare bridge after bridge-down" --bridge fw-br --target 172.31.0.10
ok "bare bridge not made by vnetcfg: mtu-mismatch, bridge-down, and its target walk"

expect_rc 0 rollback --all doc
echo "$TESTS_RUN passed, 0 failed"
