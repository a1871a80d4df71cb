#!/usr/bin/env bash
# Real guests on an isolated network: they reach each other, not the host.
# Topology, all inside this test's sandbox:
#
#   upstream ns "up": eth0 192.0.2.2/24
#        |
#   uplink0 192.0.2.1/24                    (the sandbox is the host, ip_forward on)
#   vn-iso isolated, no host address
#      |- tap i1-eth0 -- guest i1 10.40.0.10/24, default route on-link (no gateway exists)
#      |- tap i2-eth0 -- guest i2 10.40.0.11/24, same
#
# The guests send everything else straight onto the bridge, so a host that
# answered on vn-iso (ARP for its addresses, then the echo) or forwarded to
# upstream would show; upstream even has a route to 10.40.0.0/24.
. "$(dirname "$0")/lib.sh"

make_upstream
ip -n up route add 10.40.0.0/24 via 192.0.2.1
echo 1 >/proc/sys/net/ipv4/ip_forward

cat >"$TMP/p.json" <<'JSON'
{
  "version": 1,
  "name": "vmiso",
  "networks": [
    {"name": "iso", "mode": "isolated",
     "taps": [{"name": "i1-eth0"}, {"name": "i2-eth0"}],
     "verify": {"targets": ["192.0.2.1"]}}
  ]
}
JSON
snap before
expect_rc 0 apply "$TMP/p.json"
assert_eq "$(ip -4 -o addr show dev vn-iso)" "" "vn-iso's IPv4 addresses"
ok "apply: vn-iso, no host address, taps i1-eth0, i2-eth0"

t0=$(now)
vm_start i1 i1-eth0 52:54:00:00:40:10 \
        "vnc.addr=10.40.0.10/24 vnc.onlink=1 vnc.listen=22 vnc.ping=10.40.0.11 vnc.connect=10.40.0.11:22 vnc.noping=192.0.2.1,192.0.2.2 vnc.stay=1"
vm_start i2 i2-eth0 52:54:00:00:40:11 \
        "vnc.addr=10.40.0.11/24 vnc.onlink=1 vnc.listen=22 vnc.ping=10.40.0.10 vnc.noping=192.0.2.1 vnc.stay=1"
vm_wait i1 i2
echo "# both guests done in $(elapsed "$t0") s"

vm_expect i1 "ping 10.40.0.11 ok"
vm_expect i2 "ping 10.40.0.10 ok"
vm_expect i1 "connect 10.40.0.11:22 ok 10.40.0.10"
ok "guest <-> guest: ping both ways, and i1 connects to i2's listener"

vm_expect i1 "noping 192.0.2.1 ok"
vm_expect i2 "noping 192.0.2.1 ok"
vm_expect i1 "noping 192.0.2.2 ok"
! pings "" 10.40.0.10 || fail "the host pinged i1"
! pings up 10.40.0.10 || fail "upstream pinged i1"
ok "not the host (at its uplink address), not upstream, neither way"

vm_verify vmiso "iso:target-blocked=$(vm_saw i1 'noping 192.0.2.1')"

vm_kill i1
vm_kill i2
expect_rc 0 rollback --all vmiso
snap after
same_snap before after
ok "rollback: exact snapshot"
echo "$TESTS_RUN passed, 0 failed ($(elapsed "$t0") s with guests)"
