#!/usr/bin/env bash
# Real guests on a routed network: upstream reaches them directly through its
# static route, and sees their own addresses (no NAT). Topology, all inside
# this test's sandbox:
#
#   upstream ns "up": eth0 192.0.2.2/24, listener :8080, route 10.50.0.0/24 via 192.0.2.1
#        |
#   uplink0 192.0.2.1/24                    (the sandbox is the host; vnetcfg turns ip_forward on)
#   vn-rt 10.50.0.1/24 routed
#      |- tap r1-eth0 -- guest r1 10.50.0.10/24 gw 10.50.0.1, listener :80
#      |- tap r2-eth0 -- guest r2 10.50.0.11/24 gw 10.50.0.1
. "$(dirname "$0")/lib.sh"

make_upstream
listen up 8080
ip -n up route add 10.50.0.0/24 via 192.0.2.1

cat >"$TMP/p.json" <<'JSON'
{
  "version": 1,
  "name": "vmrt",
  "networks": [
    {"name": "rt", "mode": "routed", "ipv4": {"address": "10.50.0.1/24"},
     "taps": [{"name": "r1-eth0"}, {"name": "r2-eth0"}]}
  ]
}
JSON
assert_eq "$(cat /proc/sys/net/ipv4/ip_forward)" 0 "ip_forward before apply"
snap before
expect_rc 0 apply "$TMP/p.json"
assert_eq "$(cat /proc/sys/net/ipv4/ip_forward)" 1 "ip_forward after apply"
ok "apply: vn-rt with taps r1-eth0, r2-eth0, ip_forward on"

t0=$(now)
vm_start r1 r1-eth0 52:54:00:00:50:10 \
        "vnc.addr=10.50.0.10/24 vnc.gw=10.50.0.1 vnc.listen=80 vnc.ping=10.50.0.1,192.0.2.2,10.50.0.11 vnc.connect=192.0.2.2:8080 vnc.stay=1"
vm_start r2 r2-eth0 52:54:00:00:50:11 \
        "vnc.addr=10.50.0.11/24 vnc.gw=10.50.0.1 vnc.ping=10.50.0.1,10.50.0.10 vnc.stay=1"
vm_wait r1 r2
echo "# both guests done in $(elapsed "$t0") s"

vm_expect r1 "ping 10.50.0.1 ok"
vm_expect r2 "ping 10.50.0.1 ok"
pings_ok "" 10.50.0.10 || vm_fail r1 "the host cannot ping r1"
pings_ok "" 10.50.0.11 || vm_fail r2 "the host cannot ping r2"
vm_expect r1 "ping 10.50.0.11 ok"
vm_expect r2 "ping 10.50.0.10 ok"
ok "guest <-> host ping both ways; guest <-> guest"

pings_ok up 10.50.0.10 || vm_fail r1 "upstream cannot ping r1 through its route"
assert_eq "$(connect_ok up 10.50.0.10 80)" 192.0.2.2 "the client address r1's listener saw from upstream"
vm_expect r1 "ping 192.0.2.2 ok"
vm_expect r1 "connect 192.0.2.2:8080 ok 10.50.0.10"
ok "upstream <-> r1 directly, each seeing the other's own address (no NAT)"

# The control: without its route, upstream has no way to the guests.
ip -n up route del 10.50.0.0/24 via 192.0.2.1
! pings up 10.50.0.10 || fail "upstream reached r1 without a route"
ip -n up route add 10.50.0.0/24 via 192.0.2.1
ok "without the static route upstream cannot reach r1"

vm_verify vmrt \
        "rt:probe-to-host=$(vm_saw r1 'ping 10.50.0.1')" \
        "rt:host-to-probe=true"

vm_kill r1
vm_kill r2
expect_rc 0 rollback --all vmrt
snap after
same_snap before after
assert_eq "$(cat /proc/sys/net/ipv4/ip_forward)" 0 "ip_forward after rollback"
ok "rollback: exact snapshot, ip_forward back to 0"
echo "$TESTS_RUN passed, 0 failed ($(elapsed "$t0") s with guests)"
