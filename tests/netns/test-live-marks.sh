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
elif [ -n "${VNC_REQUIRE_8021Q:-}" ]; then
        fail "no 802.1Q on this kernel ($(uname -r)), yet the kernel matrix runs this test for its VLAN part"
else
        echo "# no 802.1Q on this kernel: the VLAN part runs in the kernel matrix (kernel/test-kernel-live-marks)" >&2
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

# A marked bridge with a port vnetcfg never makes (a bridged uplink, say): which addresses and
# routes were the uplink's cannot be told from the host, so apply leaves it, and status says why.
expect_rc 0 apply --no-verify "$TMP/lab.json"
ip link add vn-brold type bridge
ip link set vn-brold alias "vnetcfg:lab/brold"
ip link add brold-up type veth peer name brold-peer
ip link set brold-up master vn-brold
brix=$(ifindex_of vn-brold)
expect_rc 0 --json status lab
echo "$OUT" | python3 -c '
import json, sys
p = json.load(sys.stdin)["profiles"][0]
assert any("vn-brold" in n and "brold-up" in n for n in p.get("notes", [])), p
' || fail "status must say why the marked bridge vn-brold is left alone: $OUT"
expect_rc 0 status lab
echo "$OUT" | grep -q '^  note: bridge "vn-brold" carries the mark of profile "lab"' || fail "status text lacks the note: $OUT"
expect_rc 0 apply --no-verify "$TMP/lab.json"
assert_eq "$(ifindex_of vn-brold)" "$brix" "vn-brold left alone"
ip link del brold-up
ip link del vn-brold
expect_rc 0 rollback lab --all
ok "a marked bridge with a foreign port is left alone, and status says why"

# dnsmasq: one of profile dh runs though its pid file is gone (removed, a state dir from a backup).
# It is found by its argv (which names the profile's pid file), replaced when the config changes,
# and stopped when no network has DHCP left: never leaked beside a new one.
dh_profile() { # file dhcp-json-or-empty
        cat >"$1" <<JSON
{"version": 1, "name": "dh", "networks": [
  {"name": "d", "mode": "host-only", "ipv4": {"address": "10.60.0.1/24"}${2:+, \"dhcp\": $2}}]}
JSON
}
dh_pids() { # the pids of dnsmasq processes whose argv names dh's pid file
        local d
        for d in /proc/[0-9]*; do
                tr '\0' '\n' <"$d/cmdline" 2>/dev/null | grep -qx -- "--pid-file=$(realpath "$STATE")/dnsmasq/dh.pid" &&
                        echo "${d#/proc/}"
        done | sort
}
dh_profile "$TMP/dh.json" '{"start": "10.60.0.100", "end": "10.60.0.150"}'
expect_rc 0 apply --no-verify "$TMP/dh.json"
old=$(dh_pids)
[ -n "$old" ] && [ "$(echo "$old" | wc -l)" = 1 ] || fail "one dnsmasq of dh expected: \"$old\""
rm "$STATE/dnsmasq/dh.pid"
expect_rc 0 --json status dh
echo "$OUT" | python3 -c '
import json, sys
p = json.load(sys.stdin)["profiles"][0]
assert p["dnsmasq"] == "running" and p["state"] == "ok", p
' || fail "status must find dh's dnsmasq without its pid file: $OUT"
ok "status finds a dnsmasq of the profile by its argv when its pid file is gone"

dh_profile "$TMP/dh.json" '{"start": "10.60.0.100", "end": "10.60.0.120"}'
expect_rc 0 apply --no-verify "$TMP/dh.json"
new=$(dh_pids)
[ -n "$new" ] && [ "$(echo "$new" | wc -l)" = 1 ] && [ "$new" != "$old" ] ||
        fail "the config changed: dnsmasq $old must be replaced by exactly one new one, got \"$new\""
# gone, or a zombie its reaper (not vnetcfg) has yet to collect
[[ $(sed 's/.*) //' "/proc/$old/stat" 2>/dev/null | cut -d' ' -f1) == [RSDT] ]] && fail "dnsmasq $old (old config) still runs"
ok "a changed config replaces it, none left beside the new one"

rm "$STATE/dnsmasq/dh.pid"
dh_profile "$TMP/dh.json" ""
expect_rc 0 apply --no-verify "$TMP/dh.json"
[ -z "$(dh_pids)" ] || fail "no network has DHCP left, yet dnsmasq runs: $(dh_pids)"
ok "no DHCP left: the dnsmasq found by its argv is stopped"
expect_rc 0 rollback dh --all
