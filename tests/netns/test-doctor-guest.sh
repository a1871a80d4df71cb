#!/usr/bin/env bash
# vnetcfg doctor --target, the guest's side (SPEC section 6: guest-gateway,
# guest-no-route, guest-firewall, guest-subnet). A healthy nat network with a
# guest namespace on a bridge port; one fault at a time is injected INSIDE the
# guest namespace (its routes, its own iptables, its address), shown to be
# real from the guest's or the host's point of view, diagnosed by its code
# with exit 3 (the real CLI, and doctor-check for the walk), then repaired
# and the guest is clean again. No false alarms: healthy guests, a host-only
# guest without a default route, a guest that is down, an upstream target.
# Topology (all inside this test's sandbox):
#
#   upstream ns "up": eth0 192.0.2.2/24 (no route back to 10.x: replies need NAT)
#        |
#   uplink0 192.0.2.1/24  (this sandbox is the host)
#   vn-nat 10.17.0.1/24 nat via uplink0    |- g1 (10.17.0.10, gw 10.17.0.1)  |- g2 (10.17.0.11, gw 10.17.0.1)
#   vn-ho  10.37.0.1/24 host-only          |- h1 (10.37.0.10, no default route)
#   vn-two 10.47.0.1/24 host-only, profile gst2   |- m1 (10.27.0.60/24: misplaced, then 10.47.0.60)
. "$(dirname "$0")/lib.sh"

DC="${DOCTOR_CHECK:-$(dirname "$VNETCFG")/tests/doctor-check}"
[ -x "$DC" ] || fail "doctor-check not found at $DC"

# shellcheck source=guests.sh
. "$(dirname "$0")/guests.sh"
host_pings() { busybox ping -c 1 -W 1 "$1" >/dev/null 2>&1; }

# doctor-check: findings "CODE SEVERITY | EVIDENCE | FIX" and hops "hop I ok|BROKEN NAME | DETAIL" in $OUT.
doc() { # doctor-check args
        RC=0
        OUT=$("$DC" --state-dir "$STATE" --profile "$TMP/p.json" "$@" 2>"$TMP/dc.err") || RC=$?
        [ "$RC" = 0 ] || [ "$RC" = 3 ] || fail "doctor-check $* exited $RC: $(cat "$TMP/dc.err")"
}
no_guest_codes() { # what
        ! echo "$OUT" | grep -q '^guest-' || fail "$1: unexpected guest-side finding:
$OUT"
}
expect_guest_clean() { # what target [any-rc]
        doc --target "$2"
        no_guest_codes "$1"
        [ "$RC" = 0 ] || [ -n "${3:-}" ] || fail "$1: doctor-check exited $RC:
$OUT"
        echo "$OUT" | grep -q "^hop 0 ok guest $2 on " || fail "$1: the guest hop is not ok:
$OUT"
}
# A finding of that code whose line holds every substring, exit 3, the guest hop FAIL (doctor-check),
# and the CLI agreeing (exit 3, the code in its output).
expect_guest() { # code target substring...
        local code=$1 target=$2 line s
        shift 2
        doc --target "$target"
        line=$(echo "$OUT" | grep "^$code error |" || true)
        [ -n "$line" ] || fail "expected a $code error finding for $target:
$OUT"
        for s in "$@"; do
                echo "$line" | grep -qF -- "$s" || fail "$code: the finding lacks \"$s\":
$line"
        done
        [ "$RC" = 3 ] || fail "$code: doctor-check exited $RC, expected 3"
        echo "# $line"
        echo "$OUT" | grep -q "^hop 0 BROKEN guest $target on .*$code: " || fail "$code: the guest hop is not FAIL:
$OUT"
        echo "$OUT" | grep -q '^broken_hop 0$' || fail "$code: the walk does not break at the guest:
$OUT"
        local n
        n=$(echo "$OUT" | grep -c '^guest-' || true)
        [ "$n" = 1 ] || fail "$code: expected exactly one guest-side finding, got $n:
$OUT"
        expect_rc 3 doctor gst --target "$target"
        echo "$OUT" | grep -q "error   $code (" || fail "$code: vnetcfg doctor does not show it:
$OUT"
        echo "$OUT" | grep -q "FAIL guest $target on " || fail "$code: vnetcfg doctor's walk does not fail at the guest:
$OUT"
        echo "$OUT" | grep -q "Linux: " && echo "$OUT" | grep -q "Windows" ||
                fail "$code: the fix lacks the Linux and Windows commands:
$OUT"
}

make_upstream

cat >"$TMP/p.json" <<'JSON'
{
  "version": 1,
  "name": "gst",
  "networks": [
    {"name": "nat", "mode": "nat", "ipv4": {"address": "10.17.0.1/24"}, "nat": {"uplink": "uplink0"}},
    {"name": "ho", "mode": "host-only", "ipv4": {"address": "10.37.0.1/24"}}
  ]
}
JSON
expect_rc 0 apply "$TMP/p.json"
defer "$VNETCFG --state-dir $STATE rollback --all gst"
ns_add g1 vn-nat 10.17.0.10/24 10.17.0.1
ns_add g2 vn-nat 10.17.0.11/24 10.17.0.1
ns_add h1 vn-ho 10.37.0.10/24
pings g1 192.0.2.2 || fail "healthy setup: g1 cannot reach upstream"
pings h1 10.37.0.1 || fail "healthy setup: h1 cannot reach the host"

# ---------------------------------------------------------------- no false alarms
expect_guest_clean "healthy nat guest" 10.17.0.10
echo "$OUT" | grep -q '^hop 0 ok guest 10.17.0.10 on vn-nat.*from 192.0.2.1 (uplink0).*its gateway is the host' ||
        fail "healthy: the guest hop does not say what was seen:
$OUT"
expect_rc 0 doctor gst --target 10.17.0.10
expect_guest_clean "healthy second nat guest" 10.17.0.11
# (The nat network takes a target outside its subnet for an upstream one and judges the way there: its
# findings are not the guest's, so only the guest's side is asserted here.)
expect_guest_clean "host-only guest without a default route" 10.37.0.10 any-rc
echo "$OUT" | grep -q 'answers ICMP echo from the host' || fail "host-only guest: echo not reported:
$OUT"
doc --target 192.0.2.2
no_guest_codes "upstream target"
[ "$RC" = 0 ] || fail "upstream target: doctor-check exited $RC:
$OUT"
ip -n g2 link set eth0 down
doc --target 10.17.0.11
echo "$OUT" | grep -q '^neigh-failed error |.*10.17.0.11 never answered ARP' || fail "guest down: no neigh-failed:
$OUT"
no_guest_codes "guest down"
ip -n g2 link set eth0 up
ip -n g2 route add default via 10.17.0.1
expect_guest_clean "g2 back up" 10.17.0.11
ok "no false alarms: healthy guests (nat, host-only without a gateway), a guest that is down stays neigh-failed, upstream"

# ---------------------------------------------------------------- guest-gateway
ip -n g1 route replace default via 10.17.0.254
! pings g1 192.0.2.2 || fail "guest-gateway fault is not real: g1 still reaches upstream"
expect_guest guest-gateway 10.17.0.10 "who has 10.17.0.254" "default gateway is 10.17.0.254" \
        "ip route replace default via 10.17.0.1" "route -p add 0.0.0.0 mask 0.0.0.0 10.17.0.1"
ip -n g1 route replace default via 10.17.0.1
pings g1 192.0.2.2 || fail "guest-gateway repaired: g1 cannot reach upstream"
expect_guest_clean "guest-gateway repaired" 10.17.0.10
ok "guest-gateway: the guest's default route via 10.17.0.254 (nobody has it) is found and named"

# ---------------------------------------------------------------- guest-no-route
ip -n g1 route del default
! pings g1 192.0.2.2 || fail "guest-no-route fault is not real: g1 still reaches upstream"
pings g1 10.17.0.1 || fail "guest-no-route: g1 lost its own subnet too"
expect_guest guest-no-route 10.17.0.10 "from 192.0.2.1" "no default route" "ip route add default via 10.17.0.1"
ip -n g1 route add default via 10.17.0.1
expect_guest_clean "guest-no-route repaired" 10.17.0.10
ok "guest-no-route: a guest without a default route answers on its subnet only"

# ---------------------------------------------------------------- guest-firewall
ip netns exec g1 iptables-legacy -I INPUT -p icmp --icmp-type echo-request -j DROP
! host_pings 10.17.0.10 || fail "guest-firewall fault is not real: the host still pings g1"
expect_guest guest-firewall 10.17.0.10 "answers ARP on vn-nat" "no ICMP echo reply" \
        "iptables -I INPUT -p icmp --icmp-type echo-request -j ACCEPT" "netsh advfirewall firewall add rule"
ip netns exec g1 iptables-legacy -D INPUT -p icmp --icmp-type echo-request -j DROP
host_pings 10.17.0.10 || fail "guest-firewall repaired: the host cannot ping g1"
expect_guest_clean "guest-firewall repaired" 10.17.0.10
ok "guest-firewall: the guest's own iptables dropping echo requests"

# ---------------------------------------------------------------- guest-subnet
ip -n g1 addr flush dev eth0
ip -n g1 addr add 10.27.0.50/24 dev eth0
! pings g1 10.17.0.1 || fail "guest-subnet fault is not real: g1 still reaches the host"
expect_guest guest-subnet 10.27.0.50 "10.27.0.50 answers ARP on vn-nat" "10.17.0.0/24" \
        "ip addr add 10.17.0.50/24 dev eth0" "netsh interface ipv4 set address"
ip -n g1 addr flush dev eth0
ip -n g1 addr add 10.17.0.10/24 dev eth0
ip -n g1 route add default via 10.17.0.1
pings g1 10.17.0.1 || fail "guest-subnet repaired: g1 cannot reach the host"
expect_guest_clean "guest-subnet repaired" 10.17.0.10
doc --target 10.27.0.50
no_guest_codes "nobody has 10.27.0.50 any more"
ok "guest-subnet: a guest configured in 10.27.0.0/24 on the 10.17.0.0/24 bridge is found on vn-nat"

# On another profile's bridge: doctor gst looks on every vnetcfg bridge, not only gst's.
cat >"$TMP/p2.json" <<'JSON'
{"version": 1, "name": "gst2", "networks": [{"name": "two", "mode": "host-only", "ipv4": {"address": "10.47.0.1/24"}}]}
JSON
expect_rc 0 apply "$TMP/p2.json"
defer "$VNETCFG --state-dir $STATE rollback --all gst2"
ns_add m1 vn-two 10.27.0.60/24
! pings m1 10.47.0.1 || fail "guest-subnet on vn-two is not real: m1 reaches the host"
expect_rc 3 doctor gst --target 10.27.0.60
echo "$OUT" | grep -q 'error   guest-subnet$' || fail "no guest-subnet for a guest on another profile's bridge:
$OUT"
echo "$OUT" | grep -q "evidence: 10.27.0.60 answers ARP on vn-two (MAC .*), but vn-two's subnet is 10.47.0.0/24" ||
        fail "guest-subnet does not name vn-two and its subnet:
$OUT"
ip -n m1 addr flush dev eth0
ip -n m1 addr add 10.47.0.60/24 dev eth0
pings m1 10.47.0.1 || fail "m1 repaired cannot reach the host"
doc --target 10.27.0.60
no_guest_codes "m1 repaired"
ok "guest-subnet: found on another profile's bridge (vn-two, 10.47.0.0/24)"

# The mask half of "wrong address or mask": 10.17.0.10/30 puts the host's 10.17.0.1 behind a router.
ip -n g1 addr flush dev eth0
ip -n g1 addr add 10.17.0.10/30 dev eth0
ip -n g1 route add default via 10.17.0.9
! pings g1 10.17.0.1 || fail "guest-subnet (mask) fault is not real: g1 still reaches the host"
expect_guest guest-subnet 10.17.0.10 "asks ARP \"who has 10.17.0.9\"" "vn-nat's subnet is 10.17.0.0/24" \
        "ip addr add 10.17.0.10/24 dev eth0"
ip -n g1 addr flush dev eth0
ip -n g1 addr add 10.17.0.10/24 dev eth0
ip -n g1 route add default via 10.17.0.1
expect_guest_clean "guest-subnet (mask) repaired" 10.17.0.10
ok "guest-subnet: a /30 mask that leaves the host's address out"

echo "1..$TESTS_RUN"
