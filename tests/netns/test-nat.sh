#!/usr/bin/env bash
# NAT, isolation, port forwarding, DHCP and the firewall's manners, on the real
# kernel with real dnsmasq. Topology (all inside this test's sandbox):
#
#   upstream ns "up": eth0 192.0.2.2/24 (no route back to 10.x: replies need NAT)
#        |
#   uplink0 192.0.2.1/24  (this sandbox is the host)
#   vn-nat 10.10.0.1/24 nat via uplink0, port forward tcp 2222 -> 10.10.0.10:22
#      |- g1 (10.10.0.10, static, listener on :22)     |- g2 (10.10.0.11, static)
#      |- g3 (DHCP)                                     |- g4 (DHCP, MAC 52:54:00:00:00:20 -> 10.10.0.20)
#   vn-ho 10.30.0.1/24 host-only   |- h1 (10.30.0.10)
#   vn-iso isolated                |- i1 (10.40.0.10), i2 (10.40.0.11)
#   vn-rt 10.50.0.1/24 routed      |- r1 (10.50.0.10, listener on :80); upstream routes 10.50.0.0/24 to us
. "$(dirname "$0")/lib.sh"

. "$(dirname "$0")/guests.sh"

make_upstream
listen up 8080

# Foreign rules, in both tables and a chain of their own, that must stay as they are and in order.
iptables-legacy -A INPUT -p tcp --dport 9999 -j ACCEPT
iptables-legacy -A FORWARD -s 203.0.113.0/24 -j DROP
iptables-legacy -N SOMEONE
iptables-legacy -A SOMEONE -j RETURN
iptables-legacy -t nat -A POSTROUTING -s 203.0.113.0/24 -j MASQUERADE
# Another tool's DROP policies: vnetcfg's accepts must still carry ICMP echo,
# DHCP/DNS and the networks' own traffic.
iptables-legacy -P INPUT DROP
iptables-legacy -P OUTPUT DROP
iptables-legacy -P FORWARD DROP
iptables-legacy -A INPUT -i lo -j ACCEPT
iptables-legacy -A OUTPUT -o lo -j ACCEPT
# The sandbox's own link to upstream (the test's listener and port forward probe use it).
iptables-legacy -A INPUT -i uplink0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
iptables-legacy -A OUTPUT -o uplink0 -j ACCEPT
iptables-legacy-save | grep -v '^#' | sed 's/\[[0-9:]*\]//' >"$TMP/ipt.before"

cat >"$TMP/nat.json" <<'JSON'
{
  "version": 1,
  "name": "lab",
  "networks": [
    {"name": "nat", "mode": "nat", "ipv4": {"address": "10.10.0.1/24"},
     "nat": {"uplink": "uplink0",
             "port_forwards": [{"proto": "tcp", "host_port": 2222, "guest": "10.10.0.10", "guest_port": 22}]},
     "dhcp": {"start": "10.10.0.100", "end": "10.10.0.199",
              "hosts": [{"mac": "52:54:00:00:00:20", "ip": "10.10.0.20", "name": "g4"}]}},
    {"name": "ho", "mode": "host-only", "ipv4": {"address": "10.30.0.1/24"}},
    {"name": "iso", "mode": "isolated"},
    {"name": "rt", "mode": "routed", "ipv4": {"address": "10.50.0.1/24"}}
  ]
}
JSON
snap before
expect_rc 0 apply "$TMP/nat.json"
ns_add g1 vn-nat 10.10.0.10/24 10.10.0.1
ns_add g2 vn-nat 10.10.0.11/24 10.10.0.1
ns_add h1 vn-ho 10.30.0.10/24 10.30.0.1
ns_add i1 vn-iso 10.40.0.10/24
ns_add i2 vn-iso 10.40.0.11/24
ns_add r1 vn-rt 10.50.0.10/24 10.50.0.1
listen g1 22
listen r1 80

[ "$(connect g1 192.0.2.2 8080)" = 192.0.2.1 ] || fail "nat guest -> upstream must work, seen as the uplink address"
pings g1 192.0.2.2 || fail "nat guest cannot ping upstream"
ok "nat: guest reaches upstream, masqueraded to the uplink address"

pings h1 10.30.0.1 || fail "host-only guest cannot ping the host (INPUT/OUTPUT policy DROP)"
busybox ping -c 1 -W 1 10.30.0.10 >/dev/null || fail "host cannot ping the host-only guest (INPUT/OUTPUT policy DROP)"
! pings h1 192.0.2.2 || fail "host-only guest reached upstream"
[ -z "$(connect h1 192.0.2.2 8080)" ] || fail "host-only guest connected upstream"
ok "host-only: guest <-> host (ICMP through DROP policies), not upstream"

pings i1 10.40.0.11 || fail "isolated guests cannot reach each other"
! pings i1 192.0.2.2 || fail "isolated guest reached upstream"
! pings i1 10.10.0.10 || fail "isolated guest reached a nat guest"
! pings g1 10.40.0.10 || fail "nat guest reached an isolated guest"
! pings g1 10.30.0.10 || fail "nat guest reached a host-only guest"
ok "isolated: guests reach each other only; no network reaches into another"

ip -n up route add 10.50.0.0/24 via 192.0.2.1
[ "$(connect up 10.50.0.10 80)" = 192.0.2.2 ] || fail "upstream with a static route must reach the routed guest, unNATed"
[ "$(connect r1 192.0.2.2 8080)" = 10.50.0.10 ] || fail "routed guest -> upstream must keep its own address"
! pings r1 10.40.0.10 || fail "routed guest reached an isolated guest"
[ -z "$(connect r1 10.10.0.10 22)" ] || fail "routed guest opened a connection into the nat network"
ok "routed: upstream reaches the guest directly and sees its real address; no way into nat or isolated"

[ "$(connect up 192.0.2.1 2222)" = 192.0.2.2 ] || fail "port forward from upstream did not reach the guest listener"
[ -n "$(connect g2 10.10.0.1 2222)" ] || fail "hairpin: a guest on the same bridge cannot use the forward"
ok "port forward from upstream, and hairpin from a guest on the same bridge"

ns_add g3 vn-nat
ns_add g4 vn-nat "" "" 52:54:00:00:00:20
cat >"$TMP/udhcpc.sh" <<'SH'
#!/bin/sh
[ "$1" = bound ] && echo "$ip" >"$LEASE_OUT"
exit 0
SH
chmod +x "$TMP/udhcpc.sh"
for g in g3 g4; do
        LEASE_OUT="$TMP/lease.$g" ip netns exec $g busybox udhcpc -i eth0 -n -q -f -t 6 -T 1 -s "$TMP/udhcpc.sh" >/dev/null 2>&1 ||
                fail "$g got no DHCP lease"
done
python3 -c "import ipaddress,sys; a=ipaddress.ip_address(open('$TMP/lease.g3').read().strip()); sys.exit(0 if ipaddress.ip_address('10.10.0.100') <= a <= ipaddress.ip_address('10.10.0.199') else 1)" ||
        fail "g3 lease $(cat "$TMP/lease.g3") is not in 10.10.0.100-199"
assert_eq "$(cat "$TMP/lease.g4")" 10.10.0.20 "static DHCP host"
ip -n g4 addr add 10.10.0.20/24 dev eth0
ip netns exec g4 python3 -c '
import socket, struct, sys
# A DNS query for "g4" (a dhcp-host name dnsmasq knows) to the bridge address.
q = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + b"\x02g4\x00" + struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
s.sendto(q, ("10.10.0.1", 53))
r = s.recv(512)
sys.exit(0 if r[:2] == b"\x12\x34" else 1)' || fail "no DNS answer from the bridge address (OUTPUT policy DROP)"
ok "DHCP: a lease in range, the static host's fixed address, and DNS answers"

# Reconfigure: a narrower range restarts dnsmasq with the new config, and the leases stay.
sed 's/"10.10.0.199"/"10.10.0.180"/' "$TMP/nat.json" >"$TMP/nat2.json"
lease_g3=$(cat "$TMP/lease.g3")
expect_rc 0 --json apply "$TMP/nat2.json"
echo "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert [(a["op"], a["kind"]) for a in d["actions"]] == [("modify", "dhcp")], d["actions"]' || fail "range change: $OUT"
grep -q " $lease_g3 " "$STATE/dnsmasq/lab.leases" || fail "g3's lease $lease_g3 lost on reconfiguration"
grep -q "dhcp-range=set:vn-nat,10.10.0.100,10.10.0.180," "$STATE"/blobs/* || fail "new range not in any config"
expect_rc 0 rollback lab
ok "DHCP reconfigured by apply (one restart, leases kept), and rolled back"

pid=$(cat "$STATE"/dnsmasq/lab.pid)
kill -9 "$pid"
expect_rc 0 status lab
echo "$OUT" | grep -q 'dnsmasq.*not running' || fail "status does not report the dead dnsmasq: $OUT"
expect_rc 0 --json apply "$TMP/nat.json"
echo "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert [(a["op"], a["kind"]) for a in d["actions"]] == [("create", "dhcp")], d["actions"]' || fail "apply after dnsmasq died: $OUT"
pid=$(cat "$STATE"/dnsmasq/lab.pid)
alive "$pid" || fail "dnsmasq not restarted"
ok "a dead dnsmasq: status reports it, apply restarts it"

expect_rc 0 apply "$TMP/nat.json"
echo "$OUT" | grep -q 'nothing to change' || fail "second apply: $OUT"

# Foreign rules intact and in order while ours are in place.
iptables-legacy-save | grep -v '^#' | sed 's/\[[0-9:]*\]//' | grep -v VNETCFG >"$TMP/ipt.during"
diff -u "$TMP/ipt.before" "$TMP/ipt.during" || fail "foreign rules changed by apply"

# Deleting one end of a veth removes the pair at once; deleting a namespace does it later.
for ns in g1 g2 g3 g4 h1 i1 i2 r1; do ip link del "$ns-h"; ip netns del $ns; done
expect_rc 0 rollback --all lab
snap after
same_snap before after
iptables-legacy-save | grep -v '^#' | sed 's/\[[0-9:]*\]//' >"$TMP/ipt.after"
diff -u "$TMP/ipt.before" "$TMP/ipt.after" || fail "iptables-legacy-save differs after rollback"
[ ! -e "$STATE/dnsmasq/lab.pid" ] || fail "dnsmasq pid file left"
! alive "$pid" || fail "dnsmasq still running"
ok "rollback: tables byte-identical to before (foreign rules in order), dnsmasq gone, exact snapshot"

# A failure injected at the first firewall action: links and dnsmasq made before it are undone too.
expect_rc 0 --json plan "$TMP/nat.json"
k=$(echo "$OUT" | python3 -c 'import json,sys; print([a["kind"] for a in json.load(sys.stdin)["actions"]].index("chains"))')
VNETCFG_FAIL_AT=$k faults expect_rc 1 apply "$TMP/nat.json"
snap failed
same_snap before failed
pgrep -f "$STATE/" >/dev/null && fail "dnsmasq left running after a failed apply"
iptables-legacy-save | grep -v '^#' | sed 's/\[[0-9:]*\]//' >"$TMP/ipt.failed"
diff -u "$TMP/ipt.before" "$TMP/ipt.failed" || fail "tables differ after a failed apply"
ok "a failure in the firewall step rolls back links and dnsmasq too"

# A failure in the nat table's commit, after the filter table's commit went through.
VNETCFG_FAIL_COMMIT=nat faults expect_rc 1 apply "$TMP/nat.json"
echo "$ERR" | grep -q 'iptables table "nat": could not commit' || fail "commit failure message: $ERR"
snap failed2
same_snap before failed2
pgrep -f "$STATE/" >/dev/null && fail "dnsmasq left running after a failed commit"
iptables-legacy-save | grep -v '^#' | sed 's/\[[0-9:]*\]//' >"$TMP/ipt.failed2"
diff -u "$TMP/ipt.before" "$TMP/ipt.failed2" || fail "tables differ after a failed commit (filter was committed first)"
ok "a failed nat commit: the committed filter rules, links and dnsmasq are all undone"
echo "$TESTS_RUN passed, 0 failed"
