#!/usr/bin/env bash
# An isolated bridge gives the host no IPv6 address either: guests reach only each other.
#
#   host (this namespace): vn-iso (isolated, made by vnetcfg), a TCP listener on [::]:2222,
#                          2001:db8:ff::1/128 on lo (an address of the host's elsewhere)
#     g1 --veth-- vn-iso --veth-- g2   (guests: IPv6 link-local only)
#
# 1. apply: vn-iso has addrgenmode none and no IPv6 address; g1 and g2 reach each other over
#    link-local; no ping6 to ff02::1 is answered by the host, no TCP connect reaches it;
#    rollback --all restores the snapshot exactly.
# 2. an older vnetcfg's bridge (addrgenmode eui64, a fe80 address): status shows drift, apply
#    sets the mode and deletes the address, rollback puts both back exactly.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/guests.sh"

cat >"$TMP/v6.json" <<'JSON'
{"version": 1, "name": "v6", "networks": [{"name": "iso", "mode": "isolated"}]}
JSON

ip addr add 2001:db8:ff::1/128 dev lo
python3 -c '
import socket
s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", 2222)); s.listen(8)
while True:
    c, a = s.accept(); c.sendall(("%s\n" % a[0]).encode()); c.close()' &
defer "kill $!"

ll_of() { # ns dev -> its link-local address, once DAD is done (empty when none within 5 s)
        local i a
        for ((i = 0; i < 50; i++)); do
                a=$(ip -n "$1" -6 -o addr show dev "$2" scope link | grep -v tentative | awk '{print $4}' | cut -d/ -f1)
                [ -n "$a" ] && { echo "$a"; return; }
                sleep 0.1
        done
}
host_ll() { ip -6 -o addr show dev vn-iso | awk '{print $4}' | sort; }
genmode() { ip -d -j link show dev "$1" | python3 -c 'import json, sys; print(json.load(sys.stdin)[0].get("inet6_addr_gen_mode", ""))'; }
# The fe80 address the kernel would give vn-iso (EUI-64 of its MAC): what a guest would try.
eui64_of() {
        python3 -c '
import sys, ipaddress
m = [int(x, 16) for x in sys.argv[1].split(":")]
m[0] ^= 2
b = bytes([0xfe, 0x80] + [0] * 6 + m[:3] + [0xff, 0xfe] + m[3:])
print(ipaddress.IPv6Address(b))' "$(cat /sys/class/net/"$1"/address)"
}
ping6_from() { ip netns exec "$1" busybox ping6 -c 1 -W 2 "$2" >/dev/null 2>&1; }
# Every address answering a ping to all nodes on the guest's link, but the guest's own.
all_nodes() { # ns
        ip netns exec "$1" busybox ping6 -c 3 -W 3 ff02::1%eth0 2>/dev/null |
                sed -nE 's/.* bytes from ([0-9a-f:]+[0-9a-f]):.*/\1/p' | sort -u | grep -vx "$(ll_of "$1" eth0)"
}
connect6() { # ns addr -> what the host listener said, or nothing
        ip netns exec "$1" python3 -c '
import socket, sys
try:
    s = socket.create_connection((sys.argv[1], 2222), timeout=2); print(s.recv(100).decode().strip())
except OSError:
    pass' "$2"
}
# g1 tries the host at addr through vn-iso's MAC (a neighbour entry set by hand, as a
# hostile guest would), with a route to it on eth0.
via_bridge_mac() { # ns addr
        ip -n "$1" -6 route replace "$2" dev eth0
        ip -n "$1" -6 neigh replace "$2" lladdr "$(cat /sys/class/net/vn-iso/address)" dev eth0 nud permanent
        connect6 "$1" "$2"
}

snap before
expect_rc 0 apply --no-verify "$TMP/v6.json"
assert_eq "$(genmode vn-iso)" "none" "vn-iso's IPv6 address generation"
ns_add g1 vn-iso
ns_add g2 vn-iso
l1=$(ll_of g1 eth0)
l2=$(ll_of g2 eth0)
[ -n "$l1" ] && [ -n "$l2" ] || fail "the guests got no link-local address: g1 \"$l1\", g2 \"$l2\""
ping6_from g1 "$l2%eth0" || fail "g1 does not reach g2 ($l2) over IPv6 link-local"
ping6_from g2 "$l1%eth0" || fail "g2 does not reach g1 ($l1) over IPv6 link-local"
ok "guests on an isolated bridge reach each other over IPv6 link-local"

sleep 1 # time for the kernel to make a link-local on vn-iso, were it going to
assert_eq "$(host_ll)" "" "IPv6 addresses of the host on vn-iso"
assert_eq "$(all_nodes g1)" "$l2" "who answers g1's ping to ff02::1 (only g2, never the host)"
guess=$(eui64_of vn-iso)
assert_eq "$(connect6 g1 "$guess%eth0")" "" "a TCP connect from g1 to the host's would-be link-local $guess"
ok "the host has no IPv6 address on an isolated bridge, answers no ping6, accepts no connect"

expect_rc 0 status v6
grep -q drift <<<"$OUT" && fail "status shows drift right after apply: $OUT"
expect_rc 0 apply --no-verify "$TMP/v6.json"
grep -q '"changed": *true' <<<"$OUT" && fail "a second apply changed something: $OUT"
ok "a second apply changes nothing"

ip link del g1-h
ip link del g2-h
expect_rc 0 rollback v6 --all
snap after
same_snap before after
ok "rollback --all restores the host exactly"

# 2. As an older vnetcfg made it: IPv6 address generation on, a link-local on the bridge.
ip link add vn-iso type bridge
ip link set vn-iso alias "vnetcfg:v6/iso" up
ns_add g3 vn-iso
for ((i = 0; i < 50; i++)); do [ -n "$(host_ll)" ] && break; sleep 0.1; done
old_ll=$(host_ll)
[ -n "$old_ll" ] || fail "the hand-made bridge got no link-local address"
assert_eq "$(genmode vn-iso)" "eui64" "the hand-made bridge's IPv6 address generation"
l3=$(ll_of g3 eth0)
ping6_from g3 "${old_ll%/*}%eth0" || fail "with a link-local on the bridge, g3 does not reach the host: the check proves nothing"
[ -n "$(connect6 g3 "${old_ll%/*}%eth0")" ] || fail "with a link-local on the bridge, g3 does not connect to the host: the check proves nothing"
[ -n "$(via_bridge_mac g3 2001:db8:ff::1)" ] || fail "with a link-local on the bridge, g3 does not reach 2001:db8:ff::1: the check proves nothing"
snap old
expect_rc 0 --json plan "$TMP/v6.json"
grep -q 'addrgenmode eui64 -> none' <<<"$OUT" || fail "plan does not set the bridge's address generation: $OUT"
grep -q "\"name\": *\"${old_ll} dev vn-iso\"" <<<"$OUT" || fail "plan does not delete $old_ll: $OUT"
expect_rc 0 apply --no-verify "$TMP/v6.json"
assert_eq "$(genmode vn-iso)" "none" "vn-iso's IPv6 address generation after the repair"
assert_eq "$(host_ll)" "" "IPv6 addresses of the host on vn-iso after the repair"
assert_eq "$(connect6 g3 "${old_ll%/*}%eth0")" "" "a TCP connect from g3 to the host's old link-local"
ok "apply repairs an isolated bridge an older vnetcfg made: no IPv6 address generation, no link-local"

# The host's addresses elsewhere stay out of reach too: with no address on vn-iso the host
# answers no neighbour solicitation there, so a guest needs a hand-made neighbour entry.
assert_eq "$(via_bridge_mac g3 2001:db8:ff::1)" "" "a TCP connect from g3 to the host's 2001:db8:ff::1 through vn-iso's MAC"
ok "a guest reaches no other IPv6 address of the host through the bridge"

expect_rc 0 rollback v6
assert_eq "$(genmode vn-iso)" "eui64" "vn-iso's IPv6 address generation after rollback"
for ((i = 0; i < 30; i++)); do ip -6 -o addr show dev vn-iso | grep -q tentative || break; sleep 0.1; done
assert_eq "$(host_ll)" "$old_ll" "vn-iso's link-local after rollback"
snap old-again
same_snap old old-again
ok "rollback restores the older bridge exactly: address generation and link-local"

# Applied, then the same state again as an older vnetcfg would leave it: status calls it drift.
expect_rc 0 apply --no-verify "$TMP/v6.json"
ip link set vn-iso addrgenmode eui64
ip link set vn-iso down
ip link set vn-iso up
for ((i = 0; i < 50; i++)); do [ -n "$(host_ll)" ] && break; sleep 0.1; done
[ -n "$(host_ll)" ] || fail "vn-iso got no link-local address back"
expect_rc 0 status v6
grep -q drift <<<"$OUT" || fail "status does not show the link-local of an isolated bridge as drift: $OUT"
grep -q 'addrgenmode eui64 -> none' <<<"$OUT" || fail "status does not say what drifted: $OUT"
ok "status shows IPv6 address generation on an isolated bridge as drift"
expect_rc 0 apply --no-verify "$TMP/v6.json"
assert_eq "$(host_ll)" "" "IPv6 addresses of the host on vn-iso after the second repair"
expect_rc 0 status v6
grep -q drift <<<"$OUT" && fail "status shows drift after the repair: $OUT"
ok "the next apply repairs it"
