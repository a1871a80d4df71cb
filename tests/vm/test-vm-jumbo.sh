#!/usr/bin/env bash
# Real guests on a network with MTU 9000: 9000-byte packets cross tap, bridge
# and host whole, with Don't-Fragment. Topology, all inside this test's sandbox:
#
#   vn-jb 10.60.0.1/24 host-only, mtu 9000 (bridge and taps)
#      |- tap j1-eth0 -- guest j1 10.60.0.10/24, eth0 mtu 9000
#      |- tap j2-eth0 -- guest j2 10.60.0.11/24, eth0 mtu 9000
#
# 8972 bytes of ICMP payload + 8 (ICMP) + 20 (IP) = 9000: the largest echo
# that fits. The guests ping with busybox (DF on every echo it does not
# fragment itself); the host pings with IP_PMTUDISC_DO (tests/vm/dfping.py).
. "$(dirname "$0")/lib.sh"

cat >"$TMP/p.json" <<'JSON'
{
  "version": 1,
  "name": "vmjb",
  "networks": [
    {"name": "jb", "mode": "host-only", "mtu": 9000, "ipv4": {"address": "10.60.0.1/24"},
     "taps": [{"name": "j1-eth0"}, {"name": "j2-eth0"}]}
  ]
}
JSON
snap before
expect_rc 0 apply "$TMP/p.json"
for l in vn-jb j1-eth0 j2-eth0; do assert_eq "$(link_field "$l" mtu)" 9000 "$l mtu"; done
ok "apply: vn-jb, j1-eth0, j2-eth0 all at MTU 9000"

t0=$(now)
vm_start j1 j1-eth0 52:54:00:00:60:10 \
        "vnc.mtu=9000 vnc.addr=10.60.0.10/24 vnc.ping=10.60.0.1,10.60.0.11 vnc.pingdf=10.60.0.1:8972,10.60.0.11:8972 vnc.stay=1"
vm_start j2 j2-eth0 52:54:00:00:60:11 \
        "vnc.mtu=9000 vnc.addr=10.60.0.11/24 vnc.ping=10.60.0.1,10.60.0.10 vnc.pingdf=10.60.0.1:8972,10.60.0.10:8972 vnc.stay=1"
vm_wait j1 j2
echo "# both guests done in $(elapsed "$t0") s"

vm_expect j1 "mtu 9000 ok"
vm_expect j2 "mtu 9000 ok"
vm_expect j1 "pingdf 10.60.0.1:8972 ok"
vm_expect j2 "pingdf 10.60.0.1:8972 ok"
ok "guest -> host: 8972-byte echo with DF answered"

vm_expect j1 "pingdf 10.60.0.11:8972 ok"
vm_expect j2 "pingdf 10.60.0.10:8972 ok"
ok "guest <-> guest across the bridge: 8972-byte echo with DF, both ways"

ping_df 10.60.0.10 8972 || vm_fail j1 "the host's 8972-byte DF echo to j1 got no answer"
ping_df 10.60.0.11 8972 || vm_fail j2 "the host's 8972-byte DF echo to j2 got no answer"
# The control: one byte more does not fit in 9000 and DF forbids splitting it.
! ping_df 10.60.0.10 8973 2>/dev/null || fail "an 8973-byte DF echo got through a 9000 MTU"
ok "host -> guests: 8972-byte echo with DF answered; 8973 bytes refused"

vm_verify vmjb \
        "jb:mtu=$(vm_saw j1 'pingdf 10.60.0.1:8972')" \
        "jb:probe-to-host=$(vm_saw j1 'ping 10.60.0.1')" \
        "jb:host-to-probe=true"

vm_kill j1
vm_kill j2
expect_rc 0 rollback --all vmjb
snap after
same_snap before after
ok "rollback: exact snapshot"
echo "$TESTS_RUN passed, 0 failed ($(elapsed "$t0") s with guests)"
