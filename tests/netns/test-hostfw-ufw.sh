#!/usr/bin/env bash
# vnetcfg beside a real ufw (SPEC section 4, "Living with the host's firewall").
# ufw runs in this test's sandbox on copies of /etc/ufw and /etc/default/ufw;
# Debian's iptables is iptables-nft, so its DROP policies on INPUT and FORWARD
# live in nftables "table ip filter". Topology: see hostfw-lib.sh.
. "$(dirname "$0")/hostfw-lib.sh"

command -v ufw >/dev/null || fail "ufw is not installed (scripts/install-deps.sh installs it)"
hf_private_etc /etc/ufw
hf_private_etc /etc/default/ufw
hf_topology
ufw allow 22/tcp >/dev/null
ufw --force enable >/dev/null || fail "ufw enable failed"
assert_eq "$(iptables -S FORWARD | head -1)" "-P FORWARD DROP" "ufw's FORWARD policy"
assert_eq "$(iptables -S INPUT | head -1)" "-P INPUT DROP" "ufw's INPUT policy"
assert_eq "$(cat /proc/sys/net/ipv4/conf/all/accept_redirects)" 0 "ufw's accept_redirects"
ok "ufw enabled in the sandbox (INPUT and FORWARD policy DROP, accept_redirects=0)"

hf_foreign "$TMP/foreign.before"
hf_snap before
expect_rc 0 apply "$TMP/hf.json"
hf_no_unsupported
hf_openings >"$TMP/open.1"
grep -q -- '-A INPUT -i vn-hf -p udp -m udp --dport 67 -m comment --comment "vnetcfg:hf/n #' "$TMP/open.1" ||
        fail "no DHCP opening in INPUT: $(cat "$TMP/open.1")"
grep -q -- '-A FORWARD -s 10.77.0.0/24 -i vn-hf -o uplink0 -m comment --comment "vnetcfg:hf/n #' "$TMP/open.1" ||
        fail "no egress opening in FORWARD: $(cat "$TMP/open.1")"
# host-only and isolated: nothing forwarded beyond their own bridge.
grep -- '-A FORWARD' "$TMP/open.1" | grep -E 'vn-(ho|iso)' | grep -v -- '-i vn-\(ho\|iso\) -o vn-\(ho\|iso\) ' &&
        fail "host-only/isolated got forwarding opened"
grep -q -- '-A INPUT -i vn-ho -p udp -m udp --dport 67' "$TMP/open.1" || fail "host-only's DHCP not opened"
grep -q -- '-A INPUT.*vn-iso' "$TMP/open.1" && fail "isolated got an INPUT opening"
# At the top: before ufw's first jump.
iptables -S FORWARD | sed -n 2p | grep -q 'vnetcfg:' || fail "openings are not at the top of FORWARD"
hf_foreign "$TMP/foreign.during"
diff -u "$TMP/foreign.before" "$TMP/foreign.during" || fail "ufw's rules changed"
ok "apply with verify: openings at the top of ufw's INPUT/FORWARD, readable by iptables -S, ufw's rules intact"

hf_guest
hf_guest_checks "with ufw"
ok "guest: reserved lease, DNS, ping both ways, TCP out masqueraded, in through the port forward"

expect_rc 0 doctor hf
ok "doctor is clean"

iptables -I FORWARD 1 -j DROP
expect_rc 3 doctor hf
echo "$OUT$ERR" | grep -q forward-blocked || fail "doctor did not name forward-blocked: $OUT $ERR"
iptables -D FORWARD 1
ok "an admin's DROP at the top of FORWARD: doctor names forward-blocked (exit 3)"

expect_rc 0 apply "$TMP/hf.json"
echo "$OUT" | grep -q 'nothing to change' || fail "second apply changed something: $OUT"
ok "a second apply changes nothing"

ufw reload >/dev/null || fail "ufw reload failed"
if [ "$(hf_openings)" != "$(cat "$TMP/open.1")" ]; then
        expect_rc 0 status
        echo "$OUT" | grep -q 'fw-open' || fail "ufw reload dropped the openings and status shows no drift: $OUT"
fi
# Whatever the reload did, a reload that drops them (as a flush of the chains does) is repaired by one apply.
iptables -S | grep 'vnetcfg:' | sed 's/^-A/-D/' | while read -r rule; do eval "iptables $rule"; done
[ -z "$(hf_openings)" ] || fail "could not drop the openings by hand"
expect_rc 0 status
echo "$OUT" | grep -q 'fw-open' || fail "status shows no drift without the openings: $OUT"
expect_rc 0 apply "$TMP/hf.json"
hf_openings | sort >"$TMP/open.2"
diff -u <(sort "$TMP/open.1") "$TMP/open.2" || fail "apply did not restore the same openings"
hf_guest_checks "after ufw reload and apply"
ok "after ufw reload: status shows the drift, one apply restores the openings and guest traffic"

ip link del g1-h # the guest's port on the bridge was not there before either
expect_rc 0 rollback --all hf
hf_snap after
same_snap before after
hf_foreign "$TMP/foreign.after"
diff -u "$TMP/foreign.before" "$TMP/foreign.after" || fail "ufw's rules changed by rollback"
ok "rollback gives the exact pre-apply host: ruleset (nft and legacy), sysctls, links"
