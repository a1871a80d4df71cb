#!/usr/bin/env bash
# Refused before any change (exit 2), nothing touched: a foreign bridge named
# like one of the profile's; a subnet overlapping a foreign address; a bridge
# claimed by another profile; an invalid profile (with file:line:col and path).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/profiles.sh"

make_foreign_world
write_lab "$TMP/lab.json"

ip link add vn-rt type bridge
ip link set vn-rt mtu 1400
ix=$(ifindex_of vn-rt)
snap before
expect_rc 2 apply "$TMP/lab.json"
echo "$ERR" | grep -q 'networks\[1\].bridge: "vn-rt": an interface of that name exists and was not created by vnetcfg' ||
        fail "foreign bridge message: $ERR"
echo "$ERR" | grep -qE "^vnetcfg: $TMP/lab.json:[0-9]+:[0-9]+: " || fail "no file:line:col: $ERR"
snap after
same_snap before after
assert_eq "$(ifindex_of vn-rt)" "$ix" "foreign bridge kept"
assert_eq "$(link_field vn-rt mtu)" 1400 "foreign bridge mtu untouched"
expect_rc 0 rollback --all lab
echo "$OUT" | grep -q "nothing to roll back" || fail "rollback of a refused apply: $OUT"
ok "foreign bridge named like ours: refused, untouched"
ip link del vn-rt

ip addr add 10.10.0.77/16 dev fw-up0
snap before2
expect_rc 2 apply "$TMP/lab.json"
echo "$ERR" | grep -q 'networks\[0\].ipv4.address: subnet overlaps address 10.10.0.77/16 on interface "fw-up0"' ||
        fail "overlap message: $ERR"
snap after2
same_snap before2 after2
ok "subnet overlapping a foreign address: refused, untouched"
ip addr del 10.10.0.77/16 dev fw-up0

cat >"$TMP/other.json" <<'JSON'
{"version": 1, "name": "other", "networks": [{"name": "x", "mode": "isolated", "bridge": "vn-iso"}]}
JSON
expect_rc 0 apply "$TMP/other.json"
snap before3
expect_rc 2 apply "$TMP/lab.json"
echo "$ERR" | grep -q '"vn-iso": interface is managed by vnetcfg profile "other"' || fail "claimed bridge: $ERR"
snap after3
same_snap before3 after3
ok "bridge of another profile: refused, untouched"
expect_rc 0 rollback other

printf '{\n  "version": 1,\n  "name": "lab",\n  "networks": [\n    {"name": "a", "mode": "routed", "ipv4": {"address": "10.0.0.1/33"}}\n  ]\n}\n' >"$TMP/bad.json"
snap before4
expect_rc 2 apply "$TMP/bad.json"
assert_eq "$ERR" "vnetcfg: $TMP/bad.json:5:57: networks[0].ipv4.address: \"10.0.0.1/33\": prefix length must be 0..32" "error line"
snap after4
same_snap before4 after4
ok "invalid profile: exit 2 with file:line:col and JSON path, nothing changed"

bad_name="$TMP/badname.json"
printf '{"version": 1, "name": "lab", "networks": [{"name": "a", "mode": "isolated", "bridge": "../../x"}]}\n' >"$bad_name"
expect_rc 2 apply "$bad_name"
echo "$ERR" | grep -q 'networks\[0\].bridge' || fail "bad interface name: $ERR"
ok "interface names are validated"
echo "$TESTS_RUN passed, 0 failed"
