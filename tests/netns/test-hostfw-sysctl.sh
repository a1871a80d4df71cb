#!/usr/bin/env bash
# Exact rollback around ip_forward (issue 9.3). Writing net.ipv4.ip_forward
# makes the kernel rewrite conf/all/accept_redirects, conf/default/forwarding and
# every interface's conf/<if>/forwarding (inet_forward_change). A hardened host
# (ufw: accept_redirects=0) and an interface with forwarding of its own must be
# exactly as before after rollback, and after a failed apply.
#
#   uplink0 192.0.2.1/24 (veth, forwarding=1 set by the "admin" while ip_forward=0)
#   side0 (veth, forwarding=0)
#   vn-hf 10.77.0.1/24 nat via uplink0
. "$(dirname "$0")/lib.sh"

keys() { # every IPv4 conf key inet_forward_change touches, with its value
        local d
        echo "ip_forward=$(cat /proc/sys/net/ipv4/ip_forward)"
        for d in /proc/sys/net/ipv4/conf/*; do
                echo "${d##*/}.forwarding=$(cat "$d/forwarding")"
                echo "${d##*/}.accept_redirects=$(cat "$d/accept_redirects")"
        done
}

ip link add uplink0 type veth peer name side0
ip addr add 192.0.2.1/24 dev uplink0
ip link set uplink0 up
ip link set side0 up
echo 0 >/proc/sys/net/ipv4/ip_forward
echo 0 >/proc/sys/net/ipv4/conf/all/accept_redirects     # as ufw's sysctl.conf does
echo 0 >/proc/sys/net/ipv4/conf/default/accept_redirects
echo 1 >/proc/sys/net/ipv4/conf/uplink0/forwarding       # an admin's per-interface choice

cat >"$TMP/p.json" <<JSON
{"version": 1, "name": "hf", "networks": [
  {"name": "n", "mode": "nat", "bridge": "vn-hf", "ipv4": {"address": "10.77.0.1/24"},
   "nat": {"uplink": "uplink0"}}]}
JSON

keys >"$TMP/keys.before"
snap before
expect_rc 0 apply --no-verify "$TMP/p.json"
assert_eq "$(cat /proc/sys/net/ipv4/ip_forward)" 1 "ip_forward while applied"
# The kernel's side effect happened (so the test below proves a restore, not a no-op).
assert_eq "$(cat /proc/sys/net/ipv4/conf/side0/forwarding)" 1 "side0 forwarding while applied"
ok "apply turned forwarding on"

expect_rc 0 rollback hf
keys >"$TMP/keys.after"
diff -u "$TMP/keys.before" "$TMP/keys.after" || fail "conf keys differ after rollback"
snap after
same_snap before after
[ ! -s "$STATE/sysctl.claims" ] || fail "claims left: $(cat "$STATE/sysctl.claims")"
ok "rollback restores ip_forward, accept_redirects and every interface's forwarding"

# A failure after the sysctl was written rolls back to the same values.
n=$(V --json plan "$TMP/p.json" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["actions"]))')
VNETCFG_FAIL_AT=$((n - 1)) faults expect_rc 1 apply --no-verify "$TMP/p.json"
keys >"$TMP/keys.failed"
diff -u "$TMP/keys.before" "$TMP/keys.failed" || fail "conf keys differ after a failed apply"
ok "a failed apply restores them too"

# Two profiles: the first release keeps forwarding, the last restores everything.
sed 's/"hf"/"hg"/; s/vn-hf/vn-hg/; s/10.77/10.78/' "$TMP/p.json" >"$TMP/q.json"
expect_rc 0 apply --no-verify "$TMP/p.json"
expect_rc 0 apply --no-verify "$TMP/q.json"
expect_rc 0 rollback hf
assert_eq "$(cat /proc/sys/net/ipv4/conf/side0/forwarding)" 1 "side0 forwarding while hg still needs it"
expect_rc 0 rollback hg
keys >"$TMP/keys.two"
diff -u "$TMP/keys.before" "$TMP/keys.two" || fail "conf keys differ after two profiles"
ok "shared forwarding: restored by the last release only"
