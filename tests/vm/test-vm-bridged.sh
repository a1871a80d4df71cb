#!/usr/bin/env bash
# A real guest on a bridged network: it sits on the LAN itself, reaches the LAN
# router directly with its own LAN address (no NAT), and the host stays
# reachable. Topology, all inside this test's sandbox:
#
#   "lan" ns: eth0 192.0.2.1/24 (the LAN router), listener :8080
#        |
#   lan0 (the host's NIC: 192.0.2.10/24, default via 192.0.2.1) -- joins vn-lan
#   vn-lan [lan0, tap b1-eth0] -- guest b1 192.0.2.50/24 gw 192.0.2.1, listener :22
. "$(dirname "$0")/lib.sh"

ip netns add lan
defer "ip netns del lan"
ip link add lan0 type veth peer name eth0 netns lan
ip -n lan link set lo up
ip -n lan addr add 192.0.2.1/24 dev eth0
ip -n lan link set eth0 up
ip link set lan0 up
ip addr add 192.0.2.10/24 dev lan0
ip route add default via 192.0.2.1
listen lan 8080

cat >"$TMP/p.json" <<'JSON'
{
  "version": 1,
  "name": "vmlan",
  "networks": [
    {"name": "lan", "mode": "bridged", "uplink": "lan0", "taps": [{"name": "b1-eth0"}]}
  ]
}
JSON
snap before
expect_rc 0 apply "$TMP/p.json"
assert_eq "$(link_field lan0 master)" vn-lan "the NIC is a port of the bridge"
assert_eq "$(ip -o -4 addr show dev vn-lan | awk '{print $4}')" 192.0.2.10/24 "the host's address on the bridge"
ok "apply: vn-lan holds the host's address, lan0 and the tap are its ports"

t0=$(now)
vm_start b1 b1-eth0 52:54:00:00:60:50 \
        "vnc.addr=192.0.2.50/24 vnc.gw=192.0.2.1 vnc.listen=22 vnc.ping=192.0.2.1,192.0.2.10 vnc.connect=192.0.2.1:8080 vnc.stay=1"
vm_wait b1
echo "# guest done in $(elapsed "$t0") s"

vm_expect b1 "ping 192.0.2.1 ok"
vm_expect b1 "connect 192.0.2.1:8080 ok 192.0.2.50"
ok "the guest reaches the LAN router directly, with its own LAN address (no NAT)"
pings_ok lan 192.0.2.50 || vm_fail b1 "the LAN cannot ping the guest"
assert_eq "$(connect_ok lan 192.0.2.50 22)" 192.0.2.1 "the client address the guest's listener saw from the LAN"
ok "the LAN reaches the guest directly"
vm_expect b1 "ping 192.0.2.10 ok"
pings_ok lan 192.0.2.10 || fail "the host is no longer reachable from the LAN"
pings_ok "" 192.0.2.50 || vm_fail b1 "the host cannot ping the guest"
ok "the host stays reachable from the LAN, and host <-> guest"

vm_verify vmlan "lan:probe-to-host=true" "lan:host-to-probe=true"

vm_kill b1
expect_rc 0 rollback --all vmlan
snap after
same_snap before after
pings_ok lan 192.0.2.10 || fail "the host is not reachable after rollback"
ok "rollback: exact snapshot, the host still reachable"
echo "$TESTS_RUN passed, 0 failed ($(elapsed "$t0") s with a guest)"
