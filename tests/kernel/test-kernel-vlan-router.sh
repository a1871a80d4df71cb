#!/usr/bin/env bash
# Router on a stick: a router VM on a trunk tap, guests on access taps, no
# physical trunk (needs 8021q: runs in the kernel matrix). Then doctor on a
# physical trunk: trunk-down, vlan-mtu, trunk-missing.
#
#   rtr: eth0.10 10.0.10.254 ─┐ eth0 ══ tap-pump ══ rtr-eth0 (trunk tap, no master)
#        eth0.20 10.0.20.254 ─┘                      ├ rtr-eth0.10 ─ vn-v10 10.0.10.1 ─ g10-eth0 ─ g10 10.0.10.20 (gw .254)
#        (ip_forward on: it routes)                  └ rtr-eth0.20 ─ vn-v20 10.0.20.1 ─ g20-eth0 ─ g20 10.0.20.20 (gw .254)
#
# The host does not route (routed false): g10 reaches g20 only through the
# router VM. Dropping v20 from the trunk tap removes exactly rtr-eth0.20.
. "$(dirname "$0")/lib.sh"

guest_ns rtr
guest_ns g10
guest_ns g20
ip netns exec rtr sysctl -qw net.ipv4.ip_forward=1
for v in 10 20; do
        ip -n rtr link add link eth0 name eth0.$v type vlan id $v
        ip -n rtr addr add 10.0.$v.254/24 dev eth0.$v
        ip -n rtr link set eth0.$v up
        ip -n g$v addr add 10.0.$v.20/24 dev eth0
        ip -n g$v route add default via 10.0.$v.254
done
echo 0 >/proc/sys/net/ipv4/ip_forward

profile() { # the VLANs the trunk tap carries
        cat <<JSON
{"version": 1, "name": "stick",
 "networks": [
  {"name": "v10", "mode": "vlan", "ipv4": {"address": "10.0.10.1/24"}, "vlan": {"id": 10}, "taps": [{"name": "g10-eth0"}]},
  {"name": "v20", "mode": "vlan", "ipv4": {"address": "10.0.20.1/24"}, "vlan": {"id": 20}, "taps": [{"name": "g20-eth0"}]}
 ],
 "trunk_taps": [{"name": "rtr-eth0", "vlans": [$1]}]}
JSON
}
profile '"v10", "v20"' >"$TMP/both.json"
profile '"v10"' >"$TMP/one.json"

fsnap before
expect_rc 0 apply "$TMP/both.json"
echo "$OUT"
assert_eq "$(link_field rtr-eth0 kind)" tun "rtr-eth0 kind"
assert_eq "$(link_field rtr-eth0 master)" "" "rtr-eth0 is nobody's port"
assert_eq "$(link_field rtr-eth0 alias)" "vnetcfg:stick/" "rtr-eth0 alias"
for v in 10 20; do
        assert_eq "$(link_field rtr-eth0.$v kind)" vlan "rtr-eth0.$v kind"
        assert_eq "$(vlan_id_of rtr-eth0.$v)" $v "rtr-eth0.$v 802.1Q id"
        assert_eq "$(link_field rtr-eth0.$v master)" vn-v$v "rtr-eth0.$v master"
        assert_eq "$(link_field rtr-eth0.$v alias)" "vnetcfg:stick/v$v" "rtr-eth0.$v alias"
done
ok "apply: trunk tap rtr-eth0 with rtr-eth0.10 and rtr-eth0.20 on their VLANs' bridges"

pump rtr-eth0 rtr
pump g10-eth0 g10
pump g20-eth0 g20
ping_ok rtr 10.0.10.1 "router's eth0.10 to the host, tagged through the trunk tap"
ping_ok rtr 10.0.20.1 "router's eth0.20 to the host, tagged through the trunk tap"
ping_ok g10 10.0.10.254 "guest on an access tap to the router, VLAN 10"
ping_ok g10 10.0.20.20 "VLAN 10 -> 20 through the router VM"
ping_ok g20 10.0.10.20 "VLAN 20 -> 10 through the router VM"
ip -n g10 route add 10.0.20.20/32 via 10.0.10.1
ping_no g10 10.0.20.20 "VLAN 10 -> 20 through the host (not routed)"
ip -n g10 route del 10.0.20.20/32 via 10.0.10.1
ok "router on a stick: the router VM routes VLANs 10 and 20 over its trunk tap; the host does not"

expect_rc 0 --json plan "$TMP/one.json"
acts=$(echo "$OUT" | python3 -c 'import json,sys; print(" ".join(a["op"] + ":" + a["kind"] + ":" + a["name"] for a in json.load(sys.stdin)["actions"]))')
assert_eq "$acts" "delete:vlan:rtr-eth0.20" "plan after dropping v20 from the trunk tap"
expect_rc 0 apply --no-verify "$TMP/one.json"
[ ! -e /sys/class/net/rtr-eth0.20 ] || fail "rtr-eth0.20 still exists"
ping_ok rtr 10.0.10.1 "VLAN 10 on the trunk tap still carried"
ok "dropping a VLAN from the trunk tap deletes exactly its sub-interface"

expect_rc 0 rollback stick
assert_eq "$(link_field rtr-eth0.20 master)" vn-v20 "rtr-eth0.20 back after rollback"
expect_rc 0 rollback stick
fsnap after
same_snap before after
ok "rollback twice: the host exactly as before"

# doctor on a physical trunk that breaks after apply.
ip link add eth1 type veth peer name eth1-peer
ip link set eth1 mtu 9000 up
ip link set eth1-peer mtu 9000 up
cat >"$TMP/trunk.json" <<'JSON'
{"version": 1, "name": "trunkdoc",
 "networks": [{"name": "v10", "mode": "vlan", "mtu": 9000, "ipv4": {"address": "10.0.10.1/24"},
               "vlan": {"id": 10, "trunk": "eth1"}}]}
JSON
codes() { python3 -c 'import json,sys; print(" ".join(sorted(f["code"] for f in json.load(sys.stdin)["findings"] if f["code"] in ("8021q-missing","8021q-unloadable","trunk-missing","trunk-down","vlan-mtu"))))'; }
expect_rc 0 apply --no-verify "$TMP/trunk.json"
rc=0; OUT=$("$VNETCFG" --state-dir "$STATE" --json doctor trunkdoc 2>"$TMP/err") || rc=$?
assert_eq "$(echo "$OUT" | codes)" "" "doctor on a healthy trunk (exit $rc)"
ip link set eth1-peer down
expect_rc 3 --json doctor trunkdoc
assert_eq "$(echo "$OUT" | codes)" "trunk-down" "doctor with the trunk's peer down (no carrier)"
ip link set eth1-peer up
ip link set eth1 down
expect_rc 3 --json doctor trunkdoc
echo "$OUT" | grep -q '"fix": "ip link set eth1 up"' || fail "trunk-down fix: $OUT"
ip link set eth1 up
ip link set eth1 mtu 1500
expect_rc 3 --json doctor trunkdoc
assert_eq "$(echo "$OUT" | codes)" "vlan-mtu" "doctor with the trunk's MTU lowered to 1500"
echo "$OUT" | grep -q 'ip link set eth1 mtu 9000' || fail "vlan-mtu fix: $OUT"
ip link del eth1
expect_rc 3 --json doctor trunkdoc
assert_eq "$(echo "$OUT" | codes)" "trunk-missing" "doctor with the trunk gone"
expect_rc 0 rollback trunkdoc
ok "doctor: trunk-down (no carrier, admin down), vlan-mtu, trunk-missing, each with its fix"
echo "$TESTS_RUN passed, 0 failed"
