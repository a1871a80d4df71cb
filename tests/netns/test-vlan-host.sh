#!/usr/bin/env bash
# VLAN networks that live inside the host (no trunk: nothing here needs 802.1Q,
# so this runs on any kernel), and what the host says about trunks on this one.
#
#   g10 10.0.10.20 ─ vn-v10 10.0.10.1 ┐ routed: the host routes v10 <-> v20
#   g20 10.0.20.20 ─ vn-v20 10.0.20.1 ┘
#   g30 10.0.30.20 ─ vn-v30 10.0.30.1   not routed: reaches the host only
#   (g*: namespaces on a veth port of the bridge, as guests)
#
# apply verifies inside each VLAN and between them (vlan-isolation checks);
# turning routed off changes only rules and ip_forward and keeps the VLANs
# apart even when someone turns ip_forward on; rollback returns to each
# generation exactly. (Trunks need 802.1Q: tests/kernel, and doctor's trunk
# findings there; tests/unit/test-doctor-vlan.c has every finding.)
. "$(dirname "$0")/lib.sh"

profile() { # routed
        cat <<JSON
{"version": 1, "name": "inhost",
 "networks": [
  {"name": "v10", "mode": "vlan", "ipv4": {"address": "10.0.10.1/24"}, "vlan": {"id": 10, "routed": $1}},
  {"name": "v20", "mode": "vlan", "ipv4": {"address": "10.0.20.1/24"}, "vlan": {"id": 20, "routed": $1}},
  {"name": "v30", "mode": "vlan", "ipv4": {"address": "10.0.30.1/24"}, "vlan": {"id": 30}}
 ]}
JSON
}
profile true >"$TMP/routed.json"
profile false >"$TMP/unrouted.json"
echo 0 >/proc/sys/net/ipv4/ip_forward

guest() { # VLAN: g<VLAN> on vn-v<VLAN> (after apply; gone before each snapshot)
        ip netns add g$1
        defer "ip netns del g$1"
        ip link add p-g$1 type veth peer name eth0 netns g$1
        ip link set p-g$1 master vn-v$1 up
        ip -n g$1 link set lo up
        ip -n g$1 link set eth0 up
        ip -n g$1 addr add 10.0.$1.20/24 dev eth0
        ip -n g$1 route add default via 10.0.$1.1
}
unguest() { ip netns del g$1; ip link del p-g$1 2>/dev/null; true; }
ping_ok() { ip netns exec "$1" busybox ping -c 1 -W 2 "$2" >/dev/null 2>&1 || ip netns exec "$1" busybox ping -c 2 -W 2 "$2" >/dev/null || fail "$3: $1 cannot ping $2"; }
ping_no() { ! ip netns exec "$1" busybox ping -c 2 -W 1 "$2" >/dev/null 2>&1 || fail "$3: $1 reaches $2"; }
# snap plus vnetcfg's iptables rules (the filter table used first: it appears once used). Sorted: a rollback re-creates the rules a generation deleted in
# reverse order, so rules that match disjoint traffic (other bridges) may come back in another order.
fsnap() { snap "$1"; { echo "## iptables-legacy"; iptables-legacy -t filter -S >/dev/null; iptables-legacy-save | grep -v '^#' | sed -E 's/\[[0-9]+:[0-9]+\]//' | sort; } >>"$TMP/snap.$1"; }

fsnap before
expect_rc 0 --json apply "$TMP/routed.json"
checks=$(echo "$OUT" | python3 -c '
import json, sys
v = json.load(sys.stdin)["verify"]
c = [k for k in v["checks"] if k["kind"] == "vlan-isolation"]
print(v["status"], len(c), sum(k["pass"] for k in c))
for k in c: print(k["network"], k["name"])' )
echo "$checks"
assert_eq "$(echo "$checks" | head -1)" "pass 6 6" "verify status, vlan-isolation checks, passed"
echo "$checks" | grep -q '^v10 VLAN 10 -> VLAN 20 probe 10.0.20.[0-9]* answers (both routed)$' || fail "no routed check: $checks"
echo "$checks" | grep -q '^v30 VLAN 30 -> VLAN 10 probe 10.0.10.[0-9]* must not answer (v30 not routed)$' ||
        fail "no isolation check: $checks"
assert_eq "$(cat /proc/sys/net/ipv4/ip_forward)" 1 "ip_forward with routed VLANs"
ok "apply: verify pings inside each VLAN, between the routed ones, and not into or out of the unrouted one"

for v in 10 20 30; do guest $v; done
ping_ok g10 10.0.20.20 "routed v10 -> v20"
ping_ok g20 10.0.10.20 "routed v20 -> v10"
ping_ok g30 10.0.30.1 "v30 to the host"
ping_no g30 10.0.10.20 "unrouted v30 -> v10"
ping_no g10 10.0.30.20 "v10 -> unrouted v30"
for v in 10 20 30; do unguest $v; done
ok "guests: v10 and v20 reach each other through the host, v30 only the host"
fsnap routed

expect_rc 0 --json plan "$TMP/unrouted.json"
kinds=$(echo "$OUT" | python3 -c 'import json,sys; print(" ".join(sorted({a["kind"] for a in json.load(sys.stdin)["actions"]})))')
assert_eq "$kinds" "rule sysctl" "what turning routed off plans"
expect_rc 0 --json apply "$TMP/unrouted.json"
echo "$OUT" | python3 -c '
import json, sys
v = json.load(sys.stdin)["verify"]
c = [k for k in v["checks"] if k["kind"] == "vlan-isolation"]
assert v["status"] == "pass" and len(c) == 6 and all("must not answer" in k["name"] for k in c), v' ||
        fail "verify after routed off: $OUT"
for v in 10 20; do guest $v; done
ping_no g10 10.0.20.20 "unrouted v10 -> v20"
echo 1 >/proc/sys/net/ipv4/ip_forward # someone else turns forwarding on
ping_no g10 10.0.20.20 "unrouted v10 -> v20 with ip_forward on"
ping_no g20 10.0.10.20 "unrouted v20 -> v10 with ip_forward on"
echo 0 >/proc/sys/net/ipv4/ip_forward
for v in 10 20; do unguest $v; done
ok "routed off: only rules and ip_forward change; the VLANs stay apart even with ip_forward on"

expect_rc 0 rollback inhost
fsnap back
same_snap routed back
ok "rollback returns to the routed generation exactly"
expect_rc 0 rollback inhost
fsnap after
same_snap before after
ok "rollback: the host exactly as before"

echo "$TESTS_RUN passed, 0 failed"
