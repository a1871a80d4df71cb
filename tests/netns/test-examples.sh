#!/usr/bin/env bash
# Every example in profiles/: the ones this version applies are applied and
# the kernel objects checked against the profile (check-applied.py), a second
# apply changes nothing, and rollback restores the exact snapshot. The ones
# that need a backend not yet in this version are refused by plan and apply
# with exit 2, a message saying so, and nothing changed.
. "$(dirname "$0")/lib.sh"

# What this version applies, and what it must refuse (update as issues land).
applies="lab host-only isolated routed nat bridged"
refuses="vlan"

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
n_examples=$(ls "$VNC_SOURCE_DIR"/profiles/*.json | grep -vc schema)
[ "$n_examples" = 7 ] || fail "profiles/ has $n_examples examples; list each one above"
echo "$TESTS_RUN passed, 0 failed"
