#!/usr/bin/env bash
# Every example in profiles/: the ones this version applies are applied and
# the kernel objects checked against the profile (check-applied.py), a second
# apply changes nothing, and rollback restores the exact snapshot. The ones
# that need a backend not yet in this version are refused by plan and apply
# with exit 2, a message saying so, and nothing changed.
. "$(dirname "$0")/lib.sh"

# What this version applies, and what it must refuse (update as issues land).
applies="lab host-only isolated routed nat bridged"
refuses=""
# The vlan example puts 802.1Q sub-interfaces on eth1: applied where the kernel
# has 8021q (the kernel matrix, tests/kernel), refused with exit 1 and nothing
# changed where it has none (this CI machine's kernel).
if [ -e /proc/net/vlan ] || grep -qs '/8021q\.ko' "/lib/modules/$(uname -r)/modules.dep" \
        "/lib/modules/$(uname -r)/modules.builtin"; then
        applies="$applies vlan"
        no_8021q=""
else
        no_8021q="vlan"
fi

make_foreign_world
echo 0 >/proc/sys/net/ipv4/ip_forward
# The nat example masquerades through "eth0".
ip link add eth0 type veth peer name eth0-peer
ip addr add 192.0.2.10/24 dev eth0
# The bridged example's uplink, with a static LAN address and a default route.
ip link add eth1 type veth peer name eth1-peer
ip link set eth1 up
ip addr add 192.168.1.20/24 dev eth1
ip route add default via 192.168.1.1 dev eth1
snap before
for ex in $applies; do
        f="$VNC_SOURCE_DIR/profiles/$ex.json"
        [ -f "$f" ] || f="$TMP/$ex.json"
        name=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["name"])' "$f")
        expect_rc 0 apply --no-verify "$f"
        python3 "$VNC_SOURCE_DIR/tests/netns/check-applied.py" "$f" "$STATE" || fail "$ex: kernel objects differ"
        expect_rc 0 --json apply --no-verify "$f"
        echo "$OUT" | grep -q '"changed": false' || fail "$ex: second apply changed something: $OUT"
        expect_rc 0 rollback "$name"
        snap "after-$ex"
        same_snap before "after-$ex"
        ok "example $ex: applied exactly, idempotent, rolled back exactly"
done
for ex in $refuses; do
        expect_rc 2 plan "$VNC_SOURCE_DIR/profiles/$ex.json"
        echo "$ERR" | grep -qE 'cannot be (applied|served) by this version yet' || fail "$ex: $ERR"
        expect_rc 2 apply "$VNC_SOURCE_DIR/profiles/$ex.json"
        snap "refused-$ex"
        same_snap before "refused-$ex"
        ok "example $ex: refused (not in this version), nothing changed"
done
for ex in $no_8021q; do
        expect_rc 1 plan "$VNC_SOURCE_DIR/profiles/$ex.json"
        echo "$ERR" | grep -q 'this kernel cannot make 802.1Q VLAN interfaces: it has no 8021q module' || fail "$ex: $ERR"
        expect_rc 1 apply "$VNC_SOURCE_DIR/profiles/$ex.json"
        snap "no8021q-$ex"
        same_snap before "no8021q-$ex"
        ok "example $ex: this kernel has no 802.1Q: refused with the reason, nothing changed (applied in the kernel matrix)"
done
n_examples=$(ls "$VNC_SOURCE_DIR"/profiles/*.json | grep -vc schema)
[ "$n_examples" = 7 ] || fail "profiles/ has $n_examples examples; list each one above"
echo "$TESTS_RUN passed, 0 failed"
