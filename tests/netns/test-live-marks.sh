#!/usr/bin/env bash
# Deletions come from the marks on the host, not from what the journal knows.
#
#   foreign world (fw-up0/fw-up1 veth with addresses, fw-br), lab applied (write_lab);
#   then by hand, as an older vnetcfg or a lost journal would leave them:
#     vn-old   bridge  alias vnetcfg:lab/old  10.40.0.1/24, route 10.41.0.0/24 via 10.40.0.254
#     old-tap  tap     alias vnetcfg:lab/old  user 1000, vnet_hdr, port of vn-old
#     fw-up0.30 vlan on the foreign fw-up0, alias vnetcfg:lab/old, port of vn-old
#   and links that must stay: vn-oth (alias vnetcfg:other/x), plain-tap (no alias),
#   near-tap (alias vnetcfg:labx/x).
# status shows the marked links as drift; apply deletes exactly them; rollback
# restores the host exactly as it was (snapshot).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/profiles.sh"

make_foreign_world
write_lab "$TMP/lab.json"
expect_rc 0 apply --no-verify "$TMP/lab.json"

ip link add vn-old type bridge
ip link set vn-old alias "vnetcfg:lab/old" mtu 1400 up
ip addr add 10.40.0.1/24 dev vn-old
ip route add 10.41.0.0/24 via 10.40.0.254 dev vn-old
ip tuntap add dev old-tap mode tap user 1000 vnet_hdr
ip link set old-tap alias "vnetcfg:lab/old" master vn-old mtu 1400 up
marked="vn-old old-tap"
if ip link add link fw-up0 name fw-up0.30 type vlan id 30 2>/dev/null; then
        ip link set fw-up0.30 alias "vnetcfg:lab/old" master vn-old mtu 1400 up
        marked="$marked fw-up0.30"
else
        echo "# no 802.1Q on this kernel: the VLAN part is covered by tests/golden/link-old-marked-drift" >&2
fi
ip link add vn-oth type bridge
ip link set vn-oth alias "vnetcfg:other/x"
ip tuntap add dev plain-tap mode tap
ip tuntap add dev near-tap mode tap
ip link set near-tap alias "vnetcfg:labx/x"
keep="vn-oth plain-tap near-tap fw-up0 fw-br vn-ho vm1-eth0"
declare -A ix
for l in $keep; do ix[$l]=$(ifindex_of "$l"); done
snap before

expect_rc 0 --json status lab
echo "$OUT" | python3 -c '
import json, sys
p = json.load(sys.stdin)["profiles"][0]
got = sorted((a["op"], a["kind"], a["name"]) for a in p["drift"])
want = [("delete", "address", "10.40.0.1/24 dev vn-old"), ("delete", "bridge", "vn-old"),
        ("delete", "route", "10.41.0.0/24 via 10.40.0.254 dev vn-old"), ("delete", "tap", "old-tap")]
if "fw-up0.30" in sys.argv[1]:
    want.append(("delete", "vlan", "fw-up0.30"))
assert p["state"] == "drift" and got == sorted(want), (p["state"], got)
' "$marked" || fail "status must show the marked links as drift: $OUT"
ok "status shows links with this profile's mark that the applied profile does not know as drift"

expect_rc 0 apply --no-verify "$TMP/lab.json"
for l in $marked; do
        [ ! -e "/sys/class/net/$l" ] || fail "$l (marked vnetcfg:lab/old) still exists after apply"
done
for l in $keep; do assert_eq "$(ifindex_of "$l")" "${ix[$l]}" "$l untouched"; done
assert_eq "$(link_field near-tap alias)" "vnetcfg:labx/x" "near-tap alias"
expect_rc 0 --json status lab
echo "$OUT" | python3 -c '
import json, sys
p = json.load(sys.stdin)["profiles"][0]
assert p["state"] == "ok" and p["drift"] == [], p
' || fail "status after apply: $OUT"
ok "apply deletes them; another profile's, a near miss and an unmarked link stay"

expect_rc 0 rollback lab
snap after
same_snap before after
ok "rollback restores them exactly"

expect_rc 0 rollback lab --all
for l in vn-oth plain-tap near-tap fw-up0 fw-br; do assert_eq "$(ifindex_of "$l")" "${ix[$l]}" "$l after rollback --all"; done
