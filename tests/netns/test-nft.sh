#!/usr/bin/env bash
# The nftables backend on a host with no firewall of its own (firewall.backend
# "auto" picks nftables: no legacy rules, and Debian's iptables is
# iptables-nft). Real kernel, libnftables, dnsmasq. Topology (this sandbox is the host):
#
#   upstream ns "up": eth0 192.0.2.2/24, listener :8080 (no route back to 10.x)
#        |
#   uplink0 192.0.2.1/24
#   vn-nat 10.10.0.1/24 nat via uplink0, forward tcp 2222 -> 10.10.0.10:22, DHCP
#      |- g1 (10.10.0.10, listener :22)  |- g2 (10.10.0.11)  |- g4 (DHCP, reserved 10.10.0.20)
#   vn-ho 10.30.0.1/24 host-only  |- h1 (10.30.0.10)
#   vn-iso isolated               |- i1 (10.40.0.10), i2 (10.40.0.11)
#
# Checks: the rules live in table ip vnetcfg (nothing in the legacy tables);
# NAT, hairpin port forward, DHCP + DNS, host-only and isolation work; a second
# apply changes nothing; a rule of an older generator is drift and the next
# apply deletes it (rollback puts it back, byte for byte); switching to the
# iptables backend and back moves the rules; a refused transaction and
# rollback --all both end in the exact snapshot (rulesets and sysctls included).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/guests.sh"

command -v nft >/dev/null || fail "nft is missing (apt-get install nftables)"
ruleset() { nft list ruleset | sed -E 's/counter packets [0-9]+ bytes [0-9]+/counter/'; }

make_upstream
listen up 8080

write_nat() { # file [backend]
        local fw=""
        [ -n "${2:-}" ] && fw="\"firewall\": {\"backend\": \"$2\"},"
        cat >"$1" <<JSON
{
  "version": 1,
  "name": "lab",
  $fw
  "networks": [
    {"name": "nat", "mode": "nat", "ipv4": {"address": "10.10.0.1/24"},
     "nat": {"uplink": "uplink0",
             "port_forwards": [{"proto": "tcp", "host_port": 2222, "guest": "10.10.0.10", "guest_port": 22}]},
     "dhcp": {"start": "10.10.0.100", "end": "10.10.0.199",
              "hosts": [{"mac": "52:54:00:00:00:20", "ip": "10.10.0.20", "name": "g4"}]}},
    {"name": "ho", "mode": "host-only", "ipv4": {"address": "10.30.0.1/24"}},
    {"name": "iso", "mode": "isolated"}
  ]
}
JSON
}
write_nat "$TMP/nat.json"
write_nat "$TMP/nat-ipt.json" iptables
snap before

# ---- auto picks nftables, and says why ----
case "$(readlink -f /usr/sbin/iptables 2>/dev/null)" in
*nft*) why="the host's iptables is iptables-nft" ;;
*legacy*) fail "this test needs a host whose iptables is iptables-nft (Debian 12's default)" ;;
*) why="no host firewall" ;;
esac
expect_rc 0 plan "$TMP/nat.json"
echo "$OUT" | grep -q "^  firewall: nftables (auto: $why" || fail "plan does not say nftables and why: $OUT"
expect_rc 0 --json plan "$TMP/nat.json"
echo "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["firewall"]["backend"] == "nftables", d["firewall"]
assert d["firewall"]["reason"].startswith("auto: "), d["firewall"]' || fail "plan --json firewall: $OUT"
ok "auto: plan picks nftables ($why), in text and JSON"

expect_rc 0 apply "$TMP/nat.json"
nft list table ip vnetcfg >/dev/null || fail "no table ip vnetcfg after apply"
[ "$(nft list chain ip vnetcfg forward | grep -c 'jump VNETCFG_FWD')" = 1 ] || fail "forward base chain has no single jump"
nft list chain ip vnetcfg forward | grep -q 'policy accept' || fail "base chain policy is not accept"
! iptables-legacy-save 2>/dev/null | grep -q VNETCFG || fail "nftables backend wrote legacy rules"
n_rules=$(nft list table ip vnetcfg | grep -c 'comment "vnetcfg:lab/')
[ "$n_rules" -ge 30 ] || fail "only $n_rules marked rules in table ip vnetcfg"
expect_rc 0 status lab
echo "$OUT" | grep -q "firewall: nftables" || fail "status does not name the backend: $OUT"
ok "apply: $n_rules marked rules in table ip vnetcfg, base chains policy accept, nothing in the legacy tables"

ns_add g1 vn-nat 10.10.0.10/24 10.10.0.1
ns_add g2 vn-nat 10.10.0.11/24 10.10.0.1
ns_add h1 vn-ho 10.30.0.10/24 10.30.0.1
ns_add i1 vn-iso 10.40.0.10/24
ns_add i2 vn-iso 10.40.0.11/24
listen g1 22

[ "$(connect g1 192.0.2.2 8080)" = 192.0.2.1 ] || fail "nat guest -> upstream must work, seen as the uplink address"
pings g1 192.0.2.2 || fail "nat guest cannot ping upstream"
ok "nat: TCP and ICMP upstream, masqueraded to the uplink address"

[ "$(connect up 192.0.2.1 2222)" = 192.0.2.2 ] || fail "port forward from upstream did not reach the guest"
[ -n "$(connect g2 10.10.0.1 2222)" ] || fail "hairpin: a guest on the same bridge cannot use the forward"
ok "port forward from upstream, and hairpin from a guest on the same bridge"

pings h1 10.30.0.1 || fail "host-only guest cannot ping the host"
busybox ping -c 1 -W 1 10.30.0.10 >/dev/null || fail "host cannot ping the host-only guest"
! pings h1 192.0.2.2 || fail "host-only guest reached upstream"
pings i1 10.40.0.11 || fail "isolated guests cannot reach each other"
! pings i1 192.0.2.2 || fail "isolated guest reached upstream"
! pings i1 10.10.0.10 || fail "isolated guest reached a nat guest"
! pings g1 10.40.0.10 || fail "nat guest reached an isolated guest"
! pings g1 10.30.0.10 || fail "nat guest reached a host-only guest"
ok "host-only and isolated: only what they allow"

ns_add g4 vn-nat "" "" 52:54:00:00:00:20
cat >"$TMP/udhcpc.sh" <<'SH'
#!/bin/sh
[ "$1" = bound ] && echo "$ip" >"$LEASE_OUT"
exit 0
SH
chmod +x "$TMP/udhcpc.sh"
LEASE_OUT="$TMP/lease.g4" ip netns exec g4 busybox udhcpc -i eth0 -n -q -f -t 6 -T 1 -s "$TMP/udhcpc.sh" >/dev/null 2>&1 ||
        fail "g4 got no DHCP lease"
assert_eq "$(cat "$TMP/lease.g4")" 10.10.0.20 "reserved DHCP lease"
ip -n g4 addr add 10.10.0.20/24 dev eth0
ip netns exec g4 python3 -c '
import socket, struct, sys
q = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + b"\x02g4\x00" + struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
s.sendto(q, ("10.10.0.1", 53))
sys.exit(0 if s.recv(512)[:2] == b"\x12\x34" else 1)' || fail "no DNS answer from the bridge address"
ok "DHCP: the reserved lease, and DNS answers from the host"

nft monitor >"$TMP/nft.monitor" 2>&1 &
mon=$!
defer "kill $mon"
sleep 0.5
expect_rc 0 apply --no-verify "$TMP/nat.json"
echo "$OUT" | grep -q 'nothing to change' || fail "second apply: $OUT"
sleep 0.5
kill "$mon"
wait "$mon" 2>/dev/null
[ ! -s "$TMP/nft.monitor" ] || fail "the second apply wrote to nftables: $(cat "$TMP/nft.monitor")"
ok "a second apply changes nothing and writes nothing to nftables (nft monitor stays silent)"

expect_rc 0 doctor lab --target 10.10.0.10
expect_rc 0 --json doctor lab
echo "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
bad = [f for f in d["findings"] if f["severity"] == "error"]
assert not bad, bad' || fail "doctor finds errors on the nftables host: $OUT"
ok "doctor judges vnetcfg's own nftables table: no error finding"

# ---- a rule of an older generator: drift, deleted by the next apply ----
ruleset >"$TMP/nft.gen1"
# Sealed as vnetcfg seals: FNV-1a 64 of the rule's iptables-save form without its comment.
seal=$(python3 -c '
h = 0xcbf29ce484222325
for c in b"-A VNETCFG_FWI -d 10.10.0.0/24 -o vn-nat -p tcp -m tcp --dport 8080 -j ACCEPT":
    h = ((h ^ c) * 0x100000001b3) & 0xffffffffffffffff
print("%016x" % h)')
nft insert rule ip vnetcfg VNETCFG_FWI oifname '"vn-nat"' ip daddr 10.10.0.0/24 tcp dport 8080 accept \
        comment "\"vnetcfg:lab/nat #$seal\""
ruleset >"$TMP/nft.old"
expect_rc 0 status lab
echo "$OUT" | grep -q "^lab: generation 1, drift" || fail "status does not show the old rule as drift: $OUT"
echo "$OUT" | grep -Eq "delete +rule .*tcp dport 8080 accept" || fail "status does not name the old rule: $OUT"
expect_rc 0 --json apply "$TMP/nat.json"
echo "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert [(a["op"], a["kind"]) for a in d["actions"]] == [("delete", "rule")], d["actions"]
assert "dport 8080" in d["actions"][0]["name"], d["actions"]' || fail "apply after an old rule: $OUT"
ruleset >"$TMP/nft.gen2"
diff -u "$TMP/nft.gen1" "$TMP/nft.gen2" >/dev/null || fail "the old rule is not gone: $(diff -u "$TMP/nft.gen1" "$TMP/nft.gen2")"
expect_rc 0 status lab
echo "$OUT" | grep -q "^lab: generation 2, ok" || fail "status after the repair: $OUT"
expect_rc 0 rollback lab
ruleset >"$TMP/nft.back"
diff -u "$TMP/nft.old" "$TMP/nft.back" || fail "rollback did not put the deleted rule back as it was"
expect_rc 0 apply "$TMP/nat.json"
ok "a live rule of an older generator: status shows drift, apply deletes it by its mark, rollback restores it exactly"

# ---- switching backend moves the rules, and back ----
expect_rc 0 plan "$TMP/nat-ipt.json"
echo "$OUT" | grep -q '^  firewall: iptables (firewall.backend is "iptables" in the profile)' || fail "plan: $OUT"
expect_rc 0 apply "$TMP/nat-ipt.json"
! nft list table ip vnetcfg >/dev/null 2>&1 || fail "table ip vnetcfg left after moving to iptables"
[ "$(iptables-legacy-save | grep -c 'vnetcfg:lab/')" = "$(grep -c 'vnetcfg:lab/' "$TMP/nft.gen1")" ] ||
        fail "the legacy tables do not hold the same rules"
[ "$(connect g1 192.0.2.2 8080)" = 192.0.2.1 ] || fail "nat guest -> upstream after the move"
[ "$(connect up 192.0.2.1 2222)" = 192.0.2.2 ] || fail "port forward after the move"
expect_rc 0 apply "$TMP/nat-ipt.json"
echo "$OUT" | grep -q 'nothing to change' || fail "second apply on iptables: $OUT"
expect_rc 0 rollback lab
ruleset >"$TMP/nft.moved-back"
diff -u "$TMP/nft.gen1" "$TMP/nft.moved-back" || fail "rollback of the move: nftables ruleset differs"
! iptables-legacy-save 2>/dev/null | grep -q VNETCFG || fail "legacy rules left after rolling the move back"
[ "$(connect g1 192.0.2.2 8080)" = 192.0.2.1 ] || fail "nat guest -> upstream after moving back"
ok "backend nftables -> iptables moves every rule (guests keep working); rollback moves them back exactly"

for ns in g1 g2 g4 h1 i1 i2; do ip link del "$ns-h"; ip netns del $ns; done
expect_rc 0 rollback --all lab
snap after
same_snap before after
ok "rollback --all: exact snapshot (links, addresses, routes, sysctls, both rulesets)"

# ---- one transaction: refused, nothing stays ----
VNETCFG_FAIL_COMMIT=nftables faults expect_rc 1 apply "$TMP/nat.json"
echo "$ERR" | grep -q 'nftables table "ip vnetcfg": could not commit' || fail "commit failure message: $ERR"
snap failed
same_snap before failed
pgrep -f "$STATE/" >/dev/null && fail "dnsmasq left running after a failed commit"
ok "a refused nftables transaction: links and dnsmasq undone, exact snapshot"
echo "$TESTS_RUN passed, 0 failed"
