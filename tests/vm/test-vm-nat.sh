#!/usr/bin/env bash
# Real guests on a nat network: two QEMU guests (Debian 6.1 kernel, busybox,
# virtio-net) on taps vnetcfg made, booted in parallel. Topology, all inside
# this test's sandbox (tests/netns/lib.sh):
#
#   upstream ns "up": eth0 192.0.2.2/24, listener :8080 (answers with the peer's address)
#        |
#   uplink0 192.0.2.1/24                    (the sandbox is the host)
#   vn-nat 10.10.0.1/24, nat via uplink0, DHCP 10.10.0.100-199 (+ 52:54:00:00:00:10 -> 10.10.0.10),
#          port forward tcp 192.0.2.1:2222 -> 10.10.0.10:22
#      |- tap g1-eth0 (vnet_hdr, QEMU vnet_hdr=on) -- guest g1, MAC 52:54:00:00:00:10, DHCP, listener :22
#      |- tap g2-eth0 (no vnet_hdr, QEMU default)  -- guest g2, MAC 52:54:00:00:00:11, DHCP
#
# Checked: leases (reserved and in range), guest <-> host ping both ways,
# guest -> upstream masqueraded to 192.0.2.1, guest <-> guest, the port forward
# from upstream (and hairpin from g2) reaching g1's listener with the client's
# own address, no way in from upstream without the forward, verify agreeing
# with the guests, and rollback to the exact snapshot.
. "$(dirname "$0")/lib.sh"

make_upstream
listen up 8080

cat >"$TMP/p.json" <<'JSON'
{
  "version": 1,
  "name": "vmnat",
  "networks": [
    {"name": "nat", "mode": "nat", "ipv4": {"address": "10.10.0.1/24"},
     "nat": {"uplink": "uplink0",
             "port_forwards": [{"proto": "tcp", "host_port": 2222, "guest": "10.10.0.10", "guest_port": 22}]},
     "dhcp": {"start": "10.10.0.100", "end": "10.10.0.199",
              "hosts": [{"mac": "52:54:00:00:00:10", "ip": "10.10.0.10", "name": "g1"}]},
     "taps": [{"name": "g1-eth0", "vnet_hdr": true}, {"name": "g2-eth0"}],
     "verify": {"targets": ["192.0.2.2"]}}
  ]
}
JSON
snap before
expect_rc 0 apply "$TMP/p.json"
tun_flag() { ip -d -j link show dev "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["linkinfo"]["info_data"].get(sys.argv[1]))' "$2"; }
assert_eq "$(tun_flag g1-eth0 vnet_hdr)" True "g1-eth0 vnet_hdr"
assert_eq "$(tun_flag g2-eth0 vnet_hdr)" False "g2-eth0 vnet_hdr"
ok "apply: taps g1-eth0 (vnet_hdr) and g2-eth0 (none) on vn-nat"

t0=$(now)
vm_start g1 g1-eth0 52:54:00:00:00:10 \
        "vnc.dhcp=1 vnc.listen=22 vnc.ping=10.10.0.1,192.0.2.2 vnc.connect=192.0.2.2:8080 vnc.noping=10.10.0.11 vnc.stay=1" \
        ",vnet_hdr=on"
vm_start g2 g2-eth0 52:54:00:00:00:11 \
        "vnc.dhcp=1 vnc.ping=10.10.0.1,10.10.0.10 vnc.connect=10.10.0.1:2222 vnc.stay=1"
vm_wait g1 g2
echo "# both guests done in $(elapsed "$t0") s"

g2=$(vm_results g2 | awk '$1 == "dhcp" && $3 == "ok" {print $2}')
vm_expect g1 "dhcp 10.10.0.10 ok"
[ -n "$g2" ] || vm_fail g2 "g2 got no DHCP lease"
python3 -c 'import ipaddress as i, sys; a = i.ip_address(sys.argv[1]); sys.exit(not i.ip_address("10.10.0.100") <= a <= i.ip_address("10.10.0.199"))' "$g2" ||
        vm_fail g2 "g2's lease $g2 is not in 10.10.0.100-199"
grep -q " 52:54:00:00:00:11 $g2 " "$STATE/dnsmasq/vmnat.leases" || fail "dnsmasq's lease file lacks g2: $(cat "$STATE/dnsmasq/vmnat.leases")"
ok "DHCP: g1 got its reserved 10.10.0.10, g2 got $g2 from the range"

vm_expect g1 "ping 10.10.0.1 ok"
vm_expect g2 "ping 10.10.0.1 ok"
pings_ok "" 10.10.0.10 || vm_fail g1 "the host cannot ping g1"
pings_ok "" "$g2" || vm_fail g2 "the host cannot ping g2 at $g2"
ok "guest <-> host ping, both ways, both guests"

vm_expect g2 "ping 10.10.0.10 ok"
# Nobody has 10.10.0.11: the control that a guest's ping can fail.
vm_expect g1 "noping 10.10.0.11 ok"
ok "guest <-> guest on the bridge (and no answer from an absent address)"

vm_expect g1 "ping 192.0.2.2 ok"
vm_expect g1 "connect 192.0.2.2:8080 ok 192.0.2.1"
ok "g1 -> upstream, masqueraded: upstream saw 192.0.2.1"

# g1's listener answers with the client address it saw: the forward must not rewrite it.
assert_eq "$(connect_ok up 192.0.2.1 2222)" 192.0.2.2 "the client address g1 saw through the port forward"
hairpin=$(vm_result g2 connect 10.10.0.1:2222)
case "$hairpin" in
"ok 10.10.0."*) ;;
*) vm_fail g2 "hairpin: g2 -> 10.10.0.1:2222 did not reach g1's listener: $hairpin" ;;
esac
ok "port forward: upstream -> 192.0.2.1:2222 reaches g1's listener; hairpin from g2 too (g1 saw ${hairpin#ok })"

ip -n up route add 10.10.0.0/24 via 192.0.2.1
[ -z "$(connect up 10.10.0.10 22)" ] || fail "upstream reached g1 directly, without the forward"
! pings up 10.10.0.10 || fail "upstream pinged g1 directly"
ip -n up route del 10.10.0.0/24 via 192.0.2.1
ok "no way in from upstream but the forward (even with a route to 10.10.0.0/24)"

vm_verify vmnat \
        "nat:probe-to-host=$(vm_saw g1 'ping 10.10.0.1')" \
        "nat:host-to-probe=true" \
        "nat:target=$(vm_saw g1 'ping 192.0.2.2')" \
        "nat:dhcp=$(vm_saw g2 "dhcp $g2")"

vm_kill g1
vm_kill g2
expect_rc 0 rollback --all vmnat
snap after
same_snap before after
ok "rollback: exact snapshot"
echo "$TESTS_RUN passed, 0 failed ($(elapsed "$t0") s with guests)"
