#!/usr/bin/env bash
# Topology (all inside this test's own network namespace):
#
#   fw-up0 (192.0.2.10/24, route 198.51.100.0/24)   fw-br (172.31.0.1/24, foreign)
#   vn-ho  [vm1-eth0 vm2-eth0]  10.10.0.1/24            host-only, mtu 9000
#   vn-rt                       10.20.0.1/24            routed, route 10.21.0.0/24 via 10.20.0.254
#   vn-iso [iso-a]                                       isolated
#
# apply creates exactly these objects; status reports them; rollback restores the exact snapshot.
. "$(dirname "$0")/lib.sh"

make_foreign_world
echo 0 >/proc/sys/net/ipv4/ip_forward
cat >"$TMP/lab.json" <<'JSON'
{
  "version": 1,
  "name": "lab",
  "networks": [
    {"name": "ho", "mode": "host-only", "mtu": 9000, "ipv4": {"address": "10.10.0.1/24"},
     "taps": [{"name": "vm1-eth0"}, {"name": "vm2-eth0", "mac": "02:00:00:00:00:02", "vnet_hdr": true}]},
    {"name": "rt", "mode": "routed", "ipv4": {"address": "10.20.0.1/24"},
     "routes": [{"to": "10.21.0.0/24", "via": "10.20.0.254"}]},
    {"name": "iso", "mode": "isolated", "taps": [{"name": "iso-a"}]}
  ]
}
JSON
snap before

expect_rc 0 plan "$TMP/lab.json"
echo "$OUT" | grep -q 'create bridge  *vn-ho' || fail "plan does not create vn-ho: $OUT"
snap after-plan
same_snap before after-plan
ok "plan changes nothing"

expect_rc 0 apply "$TMP/lab.json"
for l in vn-ho vn-rt vn-iso; do
        assert_eq "$(link_field $l kind)" bridge "$l kind"
done
assert_eq "$(link_field vn-ho alias)" "vnetcfg:lab/ho" "vn-ho alias"
assert_eq "$(link_field vn-iso alias)" "vnetcfg:lab/iso" "vn-iso alias"
assert_eq "$(link_field vn-ho mtu)" 9000 "vn-ho mtu"
for t in vm1-eth0 vm2-eth0; do
        assert_eq "$(link_field $t kind)" tun "$t kind"
        assert_eq "$(link_field $t master)" vn-ho "$t master"
        assert_eq "$(link_field $t mtu)" 9000 "$t mtu"
        assert_eq "$(link_field $t alias)" "vnetcfg:lab/ho" "$t alias"
        assert_eq "$(link_field $t flags_up)" True "$t up"
done
assert_eq "$(link_field vm2-eth0 address)" 02:00:00:00:00:02 "vm2-eth0 mac"
case "$(link_field vm1-eth0 address)" in fe:*) ;; *) fail "vm1-eth0 random mac must start with fe: $(link_field vm1-eth0 address)" ;; esac
assert_eq "$(link_field iso-a master)" vn-iso "iso-a master"
assert_eq "$(ip -o -4 addr show dev vn-ho | awk '{print $4}')" 10.10.0.1/24 "vn-ho address"
assert_eq "$(ip -o -4 addr show dev vn-rt | awk '{print $4}')" 10.20.0.1/24 "vn-rt address"
assert_eq "$(ip -o -4 addr show dev vn-iso | wc -l)" 0 "isolated bridge has no address"
assert_eq "$(ip route show 10.21.0.0/24 | sed "s/ linkdown//; s/ *$//")" "10.21.0.0/24 via 10.20.0.254 dev vn-rt proto static" "static route"
assert_eq "$(cat /proc/sys/net/ipv4/ip_forward)" 1 "ip_forward for routed"
assert_eq "$(cat /sys/class/net/vm2-eth0/tun_flags)" 0x5802 "vm2-eth0 tun flags (TAP|NO_PI|PERSIST|VNET_HDR)"
assert_eq "$(cat /sys/class/net/vm1-eth0/tun_flags)" 0x1802 "vm1-eth0 tun flags (TAP|NO_PI|PERSIST)"
ok "apply creates the exact kernel objects"

expect_rc 0 --json status lab
echo "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
p = d["profiles"][0]
assert p["name"] == "lab" and p["state"] == "ok" and p["drift"] == [], p
objs = {o["name"]: o["state"] for n in p["networks"] for o in n["objects"]}
assert objs == {"vn-ho": "up", "vm1-eth0": "up", "vm2-eth0": "up", "vn-rt": "up", "vn-iso": "up", "iso-a": "up"}, objs
' || fail "status --json: $OUT"
ok "status reports every object, no drift"

ip link set vm1-eth0 down
expect_rc 0 status lab
echo "$OUT" | grep -q 'drift' || fail "status misses a tap set down: $OUT"
echo "$OUT" | grep -q 'modify link *vm1-eth0  down -> up' || fail "status drift detail: $OUT"
ok "status reports drift"

expect_rc 0 --json apply "$TMP/lab.json"
echo "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["changed"] is True and d["rolled_back"] is False, d
assert [(a["op"], a["kind"], a["name"]) for a in d["actions"]] == [("modify", "link", "vm1-eth0")], d["actions"]
' || fail "apply repairing drift: $OUT"
assert_eq "$(link_field vm1-eth0 flags_up)" True "vm1-eth0 up again"
ok "apply repairs drift with one modify"

expect_rc 0 rollback lab
expect_rc 0 rollback lab
snap after
same_snap before after
expect_rc 0 rollback lab
echo "$OUT" | grep -q 'nothing to roll back' || fail "third rollback: $OUT"
ok "rollback of both generations restores the exact snapshot"

expect_rc 0 apply "$TMP/lab.json"
expect_rc 0 rollback --all lab
snap after-all
same_snap before after-all
ok "rollback --all restores the exact snapshot"
echo "$TESTS_RUN passed, 0 failed"
