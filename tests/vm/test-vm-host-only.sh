#!/usr/bin/env bash
# Real guests on a host-only network: they reach the host and each other,
# nothing beyond. Topology, all inside this test's sandbox:
#
#   upstream ns "up": eth0 192.0.2.2/24, listener :8080, route to 10.30.0.0/24 via the host
#        |
#   uplink0 192.0.2.1/24                    (the sandbox is the host, ip_forward on)
#   vn-ho 10.30.0.1/24 host-only
#      |- tap h1-eth0 -- guest h1 10.30.0.10/24 gw 10.30.0.1, listener :22
#      |- tap h2-eth0 -- guest h2 10.30.0.11/24 gw 10.30.0.1
#
# The host forwards (ip_forward=1) and upstream has a route to the guests, so
# only vnetcfg's rules keep host-only traffic in: a guest that reached
# upstream, or upstream that reached a guest, would be a failure of vnetcfg.
. "$(dirname "$0")/lib.sh"

make_upstream
listen up 8080
ip -n up route add 10.30.0.0/24 via 192.0.2.1
echo 1 >/proc/sys/net/ipv4/ip_forward

cat >"$TMP/p.json" <<'JSON'
{
  "version": 1,
  "name": "vmho",
  "networks": [
    {"name": "ho", "mode": "host-only", "ipv4": {"address": "10.30.0.1/24"},
     "taps": [{"name": "h1-eth0"}, {"name": "h2-eth0"}],
     "verify": {"targets": ["192.0.2.2"]}}
  ]
}
JSON
snap before
expect_rc 0 apply "$TMP/p.json"
ok "apply: vn-ho with taps h1-eth0, h2-eth0"

t0=$(now)
vm_start h1 h1-eth0 52:54:00:00:30:10 \
        "vnc.addr=10.30.0.10/24 vnc.gw=10.30.0.1 vnc.listen=22 vnc.ping=10.30.0.1,10.30.0.11 vnc.noping=192.0.2.2 vnc.noconnect=192.0.2.2:8080 vnc.stay=1"
vm_start h2 h2-eth0 52:54:00:00:30:11 \
        "vnc.addr=10.30.0.11/24 vnc.gw=10.30.0.1 vnc.ping=10.30.0.1,10.30.0.10 vnc.noping=192.0.2.2 vnc.stay=1"
vm_wait h1 h2
echo "# both guests done in $(elapsed "$t0") s"

vm_expect h1 "ping 10.30.0.1 ok"
vm_expect h2 "ping 10.30.0.1 ok"
pings_ok "" 10.30.0.10 || vm_fail h1 "the host cannot ping h1"
pings_ok "" 10.30.0.11 || vm_fail h2 "the host cannot ping h2"
assert_eq "$(connect_ok "" 10.30.0.10 22)" 10.30.0.1 "what h1's listener saw of the host's connection"
ok "guest <-> host: ping both ways, and the host connects to h1's listener"

vm_expect h1 "ping 10.30.0.11 ok"
vm_expect h2 "ping 10.30.0.10 ok"
ok "guest <-> guest"

vm_expect h1 "noping 192.0.2.2 ok"
vm_expect h2 "noping 192.0.2.2 ok"
vm_expect h1 "noconnect 192.0.2.2:8080 ok"
! pings up 10.30.0.10 || fail "upstream pinged h1"
[ -z "$(connect up 10.30.0.10 22)" ] || fail "upstream connected to h1's listener"
ok "not upstream: neither way, though the host forwards and upstream has a route"

vm_verify vmho \
        "ho:probe-to-host=$(vm_saw h1 'ping 10.30.0.1')" \
        "ho:host-to-probe=true" \
        "ho:target-blocked=$(vm_saw h1 'noping 192.0.2.2')"

vm_kill h1
vm_kill h2
expect_rc 0 rollback --all vmho
snap after
same_snap before after
ok "rollback: exact snapshot"
echo "$TESTS_RUN passed, 0 failed ($(elapsed "$t0") s with guests)"
