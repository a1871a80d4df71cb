#!/usr/bin/env bash
# VLAN networks on an 802.1Q trunk to a switch (needs 8021q and bridge
# vlan_filtering: runs in the kernel matrix).
#
#   h10 10.0.10.10 ─ sw-h10 (access 10) ┐
#   h20 10.0.20.10 ─ sw-h20 (access 20) ┼ swbr ─ sw-trunk (tagged 10 20 30) ══ eth1 (the host's trunk, not vnetcfg's)
#   h30 10.0.30.10 ─ sw-h30 (access 30) ┘ vlan_filtering          eth1.10 ─ vn-v10 10.0.10.1 ─ g10-eth0 ─ g10 10.0.10.20
#   (namespace "sw": the physical switch)                           eth1.20 ─ vn-v20 10.0.20.1 ─ g20-eth0 ─ g20 10.0.20.20
#                                                                   eth1.30 ─ vn-v30 10.0.30.1 (not routed)
#
# v10 and v20 are routed to each other by the host, v30 is not: h30 reaches
# the host's 10.0.30.1 and nothing beyond. Then routed is turned off (only
# rules and ip_forward change), rolled back to the routed generation exactly,
# a too large MTU is refused against the live trunk, and the last rollback
# leaves the host and its trunk exactly as found.
. "$(dirname "$0")/lib.sh"

ip netns add sw
defer "ip netns del sw"
ip -n sw link set lo up
ip -n sw link add swbr type bridge vlan_filtering 1
ip link add eth1 type veth peer name sw-trunk netns sw
ip link set eth1 up
ip -n sw link set sw-trunk master swbr
for v in 10 20 30; do
        ip -n sw link set sw-trunk up
        bridge -n sw vlan add dev sw-trunk vid $v
        ip netns add h$v
        defer "ip netns del h$v"
        ip -n h$v link set lo up
        ip -n sw link add sw-h$v type veth peer name eth0 netns h$v
        ip -n sw link set sw-h$v master swbr
        bridge -n sw vlan del dev sw-h$v vid 1
        bridge -n sw vlan add dev sw-h$v vid $v pvid untagged
        ip -n sw link set sw-h$v up
        ip -n h$v link set eth0 up
        ip -n h$v addr add 10.0.$v.10/24 dev eth0
        ip -n h$v route add default via 10.0.$v.1
done
ip -n sw link set swbr up
guest_ns g10
guest_ns g20
ip -n g10 addr add 10.0.10.20/24 dev eth0
ip -n g10 route add default via 10.0.10.1
ip -n g20 addr add 10.0.20.20/24 dev eth0
ip -n g20 route add default via 10.0.20.1
echo 0 >/proc/sys/net/ipv4/ip_forward
# The trunk as found; its promiscuity counts its users (bridged VLANs above it make it promiscuous).
trunk() { ip -d link show dev eth1 | sed -E 's/^[0-9]+: //; s/promiscuity [0-9]+ +allmulti [0-9]+//'; }
trunk_before=$(trunk)

profile() { # routed(true|false) [v10 mtu]
        cat <<JSON
{"version": 1, "name": "trunklab",
 "networks": [
  {"name": "v10", "mode": "vlan", ${2:+\"mtu\": $2,} "ipv4": {"address": "10.0.10.1/24"},
   "vlan": {"id": 10, "trunk": "eth1", "routed": $1}, "taps": [{"name": "g10-eth0"}]},
  {"name": "v20", "mode": "vlan", "ipv4": {"address": "10.0.20.1/24"},
   "vlan": {"id": 20, "trunk": "eth1", "routed": $1}, "taps": [{"name": "g20-eth0"}]},
  {"name": "v30", "mode": "vlan", "ipv4": {"address": "10.0.30.1/24"}, "vlan": {"id": 30, "trunk": "eth1"}}
 ]}
JSON
}
profile true >"$TMP/routed.json"
profile false >"$TMP/unrouted.json"
profile true 9000 >"$TMP/jumbo.json"

fsnap before
expect_rc 0 apply "$TMP/routed.json"
echo "$OUT"
for v in 10 20 30; do
        assert_eq "$(link_field eth1.$v kind)" vlan "eth1.$v kind"
        assert_eq "$(vlan_id_of eth1.$v)" $v "eth1.$v 802.1Q id"
        assert_eq "$(link_field eth1.$v master)" vn-v$v "eth1.$v master"
        assert_eq "$(link_field eth1.$v alias)" "vnetcfg:trunklab/v$v" "eth1.$v alias"
done
assert_eq "$(trunk)" "$trunk_before" "the trunk eth1 after apply"
ok "apply: eth1.10/20/30 on the trunk, each a port of its VLAN's bridge; the trunk untouched"

pump g10-eth0 g10
pump g20-eth0 g20
ping_ok h10 10.0.10.1 "VLAN 10 tagged through the switch"
ping_ok h20 10.0.20.1 "VLAN 20 tagged through the switch"
ping_ok h30 10.0.30.1 "VLAN 30 tagged through the switch"
ping_ok g10 10.0.10.10 "access tap and switch host in VLAN 10 (layer 2 over the trunk)"
ping_ok h10 10.0.20.10 "routed VLANs 10 -> 20 through the host"
ping_ok g20 10.0.10.10 "routed VLANs 20 -> 10 through the host"
ping_no h30 10.0.10.10 "unrouted VLAN 30 -> 10"
ping_no h10 10.0.30.10 "VLAN 10 -> unrouted VLAN 30"
ok "VLANs 10 and 20 reach each other through the host; VLAN 30 reaches only the host"

expect_rc 0 --json apply --no-verify "$TMP/routed.json"
echo "$OUT" | grep -q '"changed": false' || fail "second apply changed something: $OUT"
fsnap routed
ok "a second apply changes nothing"

expect_rc 0 --json plan "$TMP/unrouted.json"
kinds=$(echo "$OUT" | python3 -c 'import json,sys; print(" ".join(sorted({a["kind"] for a in json.load(sys.stdin)["actions"]})))')
assert_eq "$kinds" "rule sysctl" "what turning routed off plans"
expect_rc 0 apply --no-verify "$TMP/unrouted.json"
assert_eq "$(cat /proc/sys/net/ipv4/ip_forward)" 0 "ip_forward once no network needs it"
ping_ok h10 10.0.10.1 "VLAN 10 to the host, unrouted"
ping_no h10 10.0.20.10 "unrouted VLANs 10 -> 20"
echo 1 >/proc/sys/net/ipv4/ip_forward # someone else turns forwarding on
ping_no h10 10.0.20.10 "unrouted VLANs 10 -> 20 with ip_forward on"
ping_no g20 10.0.10.10 "unrouted VLANs 20 -> 10 with ip_forward on"
echo 0 >/proc/sys/net/ipv4/ip_forward
ok "routed off: only rules and ip_forward change; the VLANs stay apart even with ip_forward on"

expect_rc 0 rollback trunklab
fsnap back-to-routed
same_snap routed back-to-routed
ping_ok h10 10.0.20.10 "routed again after rollback"
ok "rollback returns to the routed generation exactly"

expect_rc 2 plan "$TMP/jumbo.json"
echo "$ERR" | grep -q 'networks\[0\].mtu: 9000: above the MTU 1500 of trunk "eth1"' || fail "jumbo: $ERR"
expect_rc 2 apply "$TMP/jumbo.json"
fsnap refused
same_snap routed refused
ok "an MTU above the live trunk's is refused (exit 2), nothing changed"

expect_rc 0 rollback trunklab
fsnap after
same_snap before after
assert_eq "$(trunk)" "$trunk_before" "the trunk eth1 after rollback"
ok "rollback: the host exactly as before, the trunk as found"
echo "$TESTS_RUN passed, 0 failed"
