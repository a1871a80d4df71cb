#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# --json on every command (SPEC section 1): each command's one JSON document
# is checked against its definition in schemas/vnetcfg-output.schema.json,
# the schema the man page documents and the package installs. Each case also
# asserts a value of its own, so a schema that accepted anything would not pass.
#
#   gw (eth0 DHCP client, 52:54:00:00:00:21) --veth-- gw-p --+-- vn-jn 10.71.0.1/24 host-only + DHCP  (profile jt)
#   fw-up0 192.0.2.10/24 (a foreign interface; a host address the probe must not reach in "bad")
. "$(dirname "$0")/lib.sh"

SCHEMA=$VNC_SOURCE_DIR/schemas/vnetcfg-output.schema.json
CHECK=$VNC_SOURCE_DIR/tests/schema/check-output.py
defer 'for f in "$STATE"/dnsmasq/*.pid; do kill "$(cat "$f")"; done'
make_foreign_world

# J DEF RC ARGS...: run vnetcfg --json ARGS, expect exit RC, check stdout against $defs/DEF; doc in $TMP/out.json.
J() {
        local def=$1 want=$2 rc=0
        shift 2
        "$VNETCFG" --state-dir "$STATE" --json "$@" >"$TMP/out.json" 2>"$TMP/err" || rc=$?
        [ "$rc" = "$want" ] || fail "vnetcfg --json $* exited $rc, expected $want: $(cat "$TMP/out.json" "$TMP/err")"
        python3 "$CHECK" "$SCHEMA" "$def" "$TMP/out.json" || fail "vnetcfg --json $*: output does not match \$defs/$def"
        ok "--json $* matches $def"
}
field() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {"d": d}))' "$TMP/out.json" "$1"; }

cat >"$TMP/jt.json" <<'JSON'
{"version": 1, "name": "jt",
 "networks": [{"name": "jn", "mode": "host-only", "ipv4": {"address": "10.71.0.1/24"},
               "dhcp": {"start": "10.71.0.100", "end": "10.71.0.150", "lease_seconds": 600},
               "taps": [{"name": "jt-tap0"}]}]}
JSON
# The same network, plus a check that fails: the host's own foreign address answers the probe.
sed 's/"taps": \[{"name": "jt-tap0"}\]/"taps": [{"name": "jt-tap0"}], "verify": {"unreachable": ["192.0.2.10"]}/' \
        "$TMP/jt.json" >"$TMP/bad.json"
grep -q unreachable "$TMP/bad.json" || fail "could not make bad.json"

J version 0 --version
assert_eq "$(field 'd["version"]')" "$(sed -n 's/^project(vnetcfg VERSION \([0-9.]*\).*/\1/p' "$VNC_SOURCE_DIR/CMakeLists.txt")" "version"
J validate 0 validate "$TMP/jt.json"
assert_eq "$(field 'd["networks"]')" 1 "validate networks"
J plan 0 plan "$TMP/jt.json"
assert_eq "$(field 'd["actions"][0]["op"]')" create "first planned op"
J apply 0 apply "$TMP/jt.json"
defer "'$VNETCFG' --state-dir '$STATE' rollback --all jt"
assert_eq "$(field 'd["changed"], d["verify"]["ok"], d["rolled_back"]')" "(True, True, False)" "apply result"
J apply 0 apply --no-verify "$TMP/jt.json"
assert_eq "$(field 'd["changed"], d["verify"]["status"]')" "(False, 'skipped')" "second apply"
J verify 0 verify jt
assert_eq "$(field 'd["status"]')" pass "verify"

# A guest takes a lease.
ip netns add gw
defer "ip netns del gw"
ip link add gw-p type veth peer name eth0 netns gw
ip -n gw link set eth0 address 52:54:00:00:00:21
ip link set gw-p master vn-jn up
ip -n gw link set eth0 up
printf '#!/bin/sh\n[ "$1" = bound ] && echo "$ip" >"$OUT"; exit 0\n' >"$TMP/udhcpc.sh"
chmod +x "$TMP/udhcpc.sh"
ip netns exec gw env OUT="$TMP/gw.ip" busybox udhcpc -i eth0 -x hostname:guest21 -n -q -t 10 -T 2 \
        -s "$TMP/udhcpc.sh" >/dev/null 2>&1 || fail "the guest got no lease"
gip=$(cat "$TMP/gw.ip")
ip -n gw addr add "$gip/24" dev eth0

J leases 0 leases
assert_eq "$(field '[(l["network"], l["mac"], l["ip"], l["hostname"]) for l in d["leases"]]')" \
        "[('jn', '52:54:00:00:00:21', '$gip', 'guest21')]" "leases"
assert_eq "$(field '0 < d["leases"][0]["expires_in"] <= 600')" True "lease expiry"
J leases 0 leases jt
assert_eq "$(field 'len(d["leases"])')" 1 "leases jt"
expect_rc 0 leases jt
assert_eq "$(echo "$OUT" | awk 'NR == 2 {print $1, $2, $3, $4, $5, $6}')" "jt jn vn-jn $gip 52:54:00:00:00:21 guest21" \
        "human leases: the same fields as --json"
expect_rc 2 leases nosuch

J status 0 status
assert_eq "$(field 'd["profiles"][0]["state"], [o["state"] for o in d["profiles"][0]["networks"][0]["objects"]]')" \
        "('ok', ['up', 'up'])" "status"
ip link del jt-tap0
J status 0 status jt
assert_eq "$(field 'd["profiles"][0]["state"], d["profiles"][0]["drift"][0]["op"]')" "('drift', 'create')" "status drift"
J doctor 0 doctor jt
J doctor 0 doctor --target "$gip" jt
assert_eq "$(field 'd["path"][-1]["hop"].startswith("guest") or any(h["hop"].startswith("guest") for h in d["path"])')" True "doctor path"
J rollback 0 rollback jt
assert_eq "$(field 'd["changed"], d["generations"]')" "(True, 1)" "rollback"

J apply 0 apply --no-verify --confirm-timeout 120 "$TMP/jt.json"
assert_eq "$(field 'd["confirm_deadline"] is not None')" True "confirm deadline"
J status 0 status jt
assert_eq "$(field 'd["profiles"][0]["confirm"]["generation"]')" "$(field 'd["profiles"][0]["generation"]')" "pending generation"
J confirm 0 confirm jt
assert_eq "$(field 'd["confirmed"]')" True "confirm"

# Failures keep the contract: apply and verify still report on stdout, with exit 3.
J rollback 0 rollback --all jt
assert_eq "$(field 'd["changed"], d["generations"]')" "(True, 1)" "rollback --all"
J apply 3 apply "$TMP/bad.json"
assert_eq "$(field 'd["changed"], d["verify"]["ok"], d["rolled_back"]')" "(False, False, True)" "apply with a failing check"
J verify 3 verify "$TMP/bad.json"
J status 0 status
assert_eq "$(field 'd["profiles"]')" "[]" "status after rollback --all"
J leases 0 leases
assert_eq "$(field 'd["leases"]')" "[]" "no leases after rollback --all"
# Errors: nothing on stdout, the message on stderr.
rc=0
"$VNETCFG" --state-dir "$STATE" --json validate "$VNC_SOURCE_DIR/tests/invalid/$(ls "$VNC_SOURCE_DIR/tests/invalid" | grep json | head -1)" >"$TMP/out" 2>"$TMP/err" || rc=$?
assert_eq "$rc:$(wc -c <"$TMP/out")" "2:0" "an invalid profile under --json"
[ -s "$TMP/err" ] || fail "no error on stderr"
ok "an error under --json leaves stdout empty"
echo "PASS: $TESTS_RUN checks"
