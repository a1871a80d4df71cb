#!/usr/bin/env bash
# libvirt networks on vnetcfg's bridges, against a real libvirtd.
#
# Topology (all inside this test's own namespaces, see libvirt-lib.sh):
#   vn-labnet  host-only 10.77.0.1/24, vnetcfg's   <- libvirt network "labnet" (forward mode bridge)
#   userbr     a user's bridge                     <- libvirt network "userlan", the user's own
#   virbr0     libvirt's own NAT network "default" (for doctor on a bridge libvirt made)
#
#  1. "define": true with no daemon: exit 2, named reason, host unchanged; "auto": plan says it skips
#  2. a profile network named like the user's libvirt network: exit 2, named, that network untouched
#  3. apply defines (a failure or crash just after the define: undone exactly)
#     apply defines, starts and autostarts "labnet" on vn-labnet (virsh net-list / net-dumpxml)
#  4. a second apply changes nothing (no action; libvirt's stored definition untouched)
#  5. status shows defined/active/autostart; a stopped network is drift and a doctor finding;
#     apply starts it again; a wrong bridge is a doctor finding and apply redefines it
#  6. a libvirtd restart keeps the network active
#  6b. libvirt networks with lab's mark the applied profile does not know: drift; apply removes, rollback restores
#  7. rollback: virsh net-list --all as before, and an exact snapshot
#  7b. rollback --all with a lost journal removes a lab-marked libvirt network
#  8. "libvirt": false on the network: libvirt is never asked (works with no daemon)
#  9. doctor virbr0 on libvirt's own bridge
. "$(dirname "$0")/libvirt-lib.sh"

write_profile() { # file define [network-libvirt]
        cat >"$1" <<JSON
{"version": 1, "name": "lab", "libvirt": {"uri": "$LV_URI", "define": $2},
 "networks": [{"name": "labnet", "mode": "host-only", "ipv4": {"address": "10.77.0.1/24"}${3:-}}]}
JSON
}
write_profile "$TMP/required.json" true
write_profile "$TMP/auto.json" '"auto"'
write_profile "$TMP/optout.json" true ', "libvirt": false'

# 1. No daemon.
snap before
expect_rc 2 apply "$TMP/required.json"
echo "$ERR" | grep -qE "^vnetcfg: $TMP/required.json:1:[0-9]+: libvirt.define: true: libvirt is required, but no daemon answers at \"$LV_URI\"" ||
        fail "define true without a daemon: $ERR"
snap after
same_snap before after
ok "define: true with no daemon: exit 2, host unchanged"

expect_rc 0 plan "$TMP/auto.json"
echo "$OUT" | grep -q "note: libvirt: no daemon answers at \"$LV_URI\" (.*): skipped (\"define\": \"auto\")" ||
        fail "plan with define auto and no daemon: $OUT"
echo "$OUT" | grep -v "note: libvirt" | grep -q "libvirt" && fail "a libvirt action planned without a daemon: $OUT"
expect_rc 0 --json plan "$TMP/auto.json"
echo "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert [a for a in d["actions"] if a["kind"] == "libvirt"] == [], d
assert len(d["notes"]) == 1 and "skipped" in d["notes"][0], d' || fail "plan --json with define auto and no daemon: $OUT"
ok "define: auto with no daemon: plan says it skips"

# 8. Opted out: needs no libvirt (there is no daemon; with define true this would be exit 2).
expect_rc 0 apply --no-verify "$TMP/optout.json"
echo "$OUT" | grep -q "libvirt" && fail "libvirt mentioned for an opted-out network: $OUT"
expect_rc 0 rollback lab
snap after-optout
same_snap before after-optout
ok "\"libvirt\": false on the network: no daemon needed, nothing asked"

lv_start

# 2. A user's libvirt network of the same name.
ip link add userbr type bridge
cat >"$TMP/userlan.xml" <<'XML'
<network>
  <name>userlan</name>
  <forward mode='bridge'/>
  <bridge name='userbr'/>
</network>
XML
virsh_ net-define "$TMP/userlan.xml" >/dev/null || fail "defining the user's network"
virsh_ net-start userlan >/dev/null || fail "starting the user's network"
virsh_ net-dumpxml --inactive userlan >"$TMP/userlan.before"
sed 's/"labnet"/"userlan"/; s/vn-labnet/vn-userlan/' "$TMP/required.json" >"$TMP/clash.json"
lv_list >"$TMP/list.before"
snap before-clash
expect_rc 2 apply "$TMP/clash.json"
echo "$ERR" | grep -q "networks\[0\].name: \"userlan\": a libvirt network of that name exists at \"$LV_URI\" (bridge \"userbr\", active) and was not defined by vnetcfg" ||
        fail "name clash message: $ERR"
snap after-clash
same_snap before-clash after-clash
lv_list >"$TMP/list.after"
diff -u "$TMP/list.before" "$TMP/list.after" || fail "net-list changed by a refused apply"
virsh_ net-dumpxml --inactive userlan | diff -u "$TMP/userlan.before" - || fail "the user's network was changed"
ok "a user's libvirt network of the same name: exit 2, named, untouched"

# 3a. A failure, and a crash, right after the libvirt network was defined and started:
# the automatic undo, and rollback after the crash, leave libvirt as it was.
lv_list >"$TMP/list.pre"
snap pre
expect_rc 0 --json plan "$TMP/required.json"
k=$(echo "$OUT" | python3 -c 'import json,sys; a=json.load(sys.stdin)["actions"]; print([i for i, x in enumerate(a) if x["kind"] == "libvirt"][0])')
[ "$k" -ge 0 ] && [ "$k" -lt "$(echo "$OUT" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["actions"]) - 1)')" ] ||
        fail "no action after the libvirt one to fail at: $OUT"
VNETCFG_FAIL_AT=$((k + 1)) faults expect_rc 1 apply "$TMP/required.json"
lv_list | diff -u "$TMP/list.pre" - || fail "net-list after a failed apply"
snap after-fail
same_snap pre after-fail
VNETCFG_CRASH_AT=$((k + 1)) faults expect_rc 137 apply "$TMP/required.json"
lv_list | grep -qx "labnet active yes yes" || fail "the crash came before the libvirt action: $(lv_list)"
expect_rc 0 rollback lab
lv_list | diff -u "$TMP/list.pre" - || fail "net-list after rollback of a crashed apply"
snap after-crash
same_snap pre after-crash
ok "a failure after the libvirt action undoes it; so does rollback after a crash there"

# 3. Apply.
expect_rc 0 apply "$TMP/required.json"
lv_list | grep -qx "labnet active yes yes" || fail "labnet not active+autostart+persistent: $(lv_list)"
virsh_ net-dumpxml labnet >"$TMP/labnet.xml"
grep -q "<bridge name='vn-labnet'/>" "$TMP/labnet.xml" || fail "net-dumpxml has no vn-labnet bridge: $(cat "$TMP/labnet.xml")"
grep -q "<forward mode='bridge'/>" "$TMP/labnet.xml" || fail "net-dumpxml: forward mode is not bridge"
grep -q "lab/labnet</vnetcfg:owner>" "$TMP/labnet.xml" || fail "no ownership metadata: $(cat "$TMP/labnet.xml")"
assert_eq "$(virsh_ net-info labnet | awk '/^Bridge:/ {print $2}')" vn-labnet "net-info bridge"
grep -lq "<name>labnet</name>" "$STATE"/blobs/* || fail "the XML vnetcfg defined is not in the state dir"
grep -q "create libvirt .*network=labnet" "$STATE"/profiles/lab/gen-1.journal || fail "no journaled libvirt action: $(cat "$STATE"/profiles/lab/gen-1.journal)"
ok "apply defines, starts and autostarts labnet on vn-labnet; XML in the state dir"

# 4. Idempotent.
stored=/etc/libvirt/qemu/networks/labnet.xml
[ -f "$stored" ] || fail "libvirt keeps no $stored"
stamp=$(stat -c '%Y.%Z %i' "$stored" /etc/libvirt/qemu/networks/autostart/labnet.xml)
sleep 1.1
expect_rc 0 --json apply "$TMP/required.json"
echo "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["changed"] is False and d["actions"] == [], d' ||
        fail "second apply changed something: $OUT"
assert_eq "$(stat -c '%Y.%Z %i' "$stored" /etc/libvirt/qemu/networks/autostart/labnet.xml)" "$stamp" "libvirt's stored definition"
ok "a second apply changes nothing in libvirt"

# 5. Status, drift, doctor.
expect_rc 0 status lab
echo "$OUT" | grep -q "libvirt network labnet: defined, active, autostart on, bridge vn-labnet$" ||
        fail "status libvirt line: $OUT"
expect_rc 0 --json status lab
echo "$OUT" | python3 -c '
import json, sys
lv = json.load(sys.stdin)["profiles"][0]["libvirt"]
want = {"name": "labnet", "state": "active", "defined": True, "active": True, "autostart": True,
        "bridge": "vn-labnet", "drift": False}
assert lv["daemon"] == "answers" and lv["networks"] == [want], lv' || fail "status --json libvirt: $OUT"
virsh_ net-destroy labnet >/dev/null
expect_rc 0 status lab
echo "$OUT" | grep -q "libvirt network labnet: defined, inactive, autostart on, bridge vn-labnet (drift" ||
        fail "status after net-destroy: $OUT"
echo "$OUT" | grep -q "modify libvirt network labnet  start" || fail "status drift action: $OUT"
expect_rc 3 doctor lab
echo "$OUT" | grep -q "libvirt-inactive" || fail "doctor on a stopped libvirt network: $OUT"
echo "$OUT" | grep -q "virsh -c $LV_URI net-start labnet" || fail "doctor fix: $OUT"
expect_rc 0 apply "$TMP/required.json"
lv_list | grep -qx "labnet active yes yes" || fail "apply did not start labnet again: $(lv_list)"
ok "status shows defined/active/autostart and drift; doctor finds it stopped; apply starts it"

# Someone points it at another bridge.
virsh_ net-dumpxml --inactive labnet | sed "s/name='vn-labnet'/name='userbr'/" >"$TMP/moved.xml"
virsh_ net-define "$TMP/moved.xml" >/dev/null || fail "redefining labnet by hand"
virsh_ net-destroy labnet >/dev/null && virsh_ net-start labnet >/dev/null
expect_rc 3 doctor lab
echo "$OUT" | grep -q "libvirt-bridge" || fail "doctor on a moved libvirt network: $OUT"
echo "$OUT" | grep -q "points at bridge \"userbr\"" || fail "doctor evidence: $OUT"
expect_rc 0 apply "$TMP/required.json"
assert_eq "$(virsh_ net-info labnet | awk '/^Bridge:/ {print $2}')" vn-labnet "bridge after repair"
expect_rc 0 doctor lab
ok "doctor finds a libvirt network on the wrong bridge; apply redefines it"

# 6. Restart.
lv_stop
lv_start
lv_list | grep -qx "labnet active yes yes" || fail "after a libvirtd restart: $(lv_list)"
expect_rc 0 plan "$TMP/required.json"
echo "$OUT" | grep -q "nothing to change" || fail "plan after restart: $OUT"
ok "a libvirtd restart keeps the network active"

# Someone undefines it: drift, and apply defines it again.
virsh_ net-destroy labnet >/dev/null && virsh_ net-undefine labnet >/dev/null || fail "undefining labnet by hand"
expect_rc 0 status lab
echo "$OUT" | grep -q "libvirt network labnet: missing" || fail "status after net-undefine: $OUT"
echo "$OUT" | grep -q "create libvirt network labnet" || fail "status drift after net-undefine: $OUT"
expect_rc 0 apply "$TMP/required.json"
lv_list | grep -qx "labnet active yes yes" || fail "apply after net-undefine: $(lv_list)"
ok "an undefined network is drift in status; apply defines it again"

# 6b. Marks: libvirt networks carrying lab's mark that the applied profile does not know (an older
# vnetcfg's, a lost journal's; one with vnetcfg's derived uuid and no metadata) are drift, and the
# next apply undefines them; rollback defines them again exactly. Another profile's stays.
mark_net() { # name owner-or-empty [uuid]
        {
                printf '<network>\n  <name>%s</name>\n' "$1"
                [ -n "${3:-}" ] && printf '  <uuid>%s</uuid>\n' "$3"
                [ -n "$2" ] && printf '  <metadata>\n    <vnetcfg:owner xmlns:vnetcfg="%s">%s</vnetcfg:owner>\n  </metadata>\n' \
                        "https://vnetcfg.invalid/libvirt/1" "$2"
                printf "  <forward mode='bridge'/>\n  <bridge name='userbr'/>\n</network>\n"
        } >"$TMP/$1.xml"
        virsh_ net-define "$TMP/$1.xml" >/dev/null || fail "defining $1 by hand: $(cat "$TMP/$1.xml")"
}
mark_net oldnet lab/oldnet
mark_net bareold "" "$(python3 - <<'PY'
# vnc_libvirt_uuid("lab", "bareold"): FNV-1a 64 over "lab" "/" "bareold", twice
def fnv(s, h):
    for c in s.encode():
        h ^= c
        h = (h * 0x100000001b3) & 0xffffffffffffffff
    return h
a = fnv("bareold", fnv("/", fnv("lab", 0xcbf29ce484222325)))
b = fnv("bareold", fnv("/", fnv("lab", fnv("vnetcfg libvirt network", 0x84222325cbf29ce4))))
u = bytearray(a.to_bytes(8, "big") + b.to_bytes(8, "big"))
u[6] = (u[6] & 0x0f) | 0x80
u[8] = (u[8] & 0x3f) | 0x80
h = u.hex()
print(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")
PY
)"
mark_net othernet other/othernet
virsh_ net-start oldnet >/dev/null || fail "starting oldnet"
virsh_ net-dumpxml --inactive oldnet >"$TMP/oldnet.before"
virsh_ net-dumpxml --inactive bareold >"$TMP/bareold.before"
lv_list >"$TMP/list.marks"
expect_rc 0 --json status lab
echo "$OUT" | python3 -c '
import json, sys
p = json.load(sys.stdin)["profiles"][0]
got = sorted((a["op"], a["kind"], a["name"]) for a in p["drift"])
assert p["state"] == "drift" and [g[:2] for g in got] == [("delete", "libvirt")] * 2, got
assert "oldnet" in got[1][2] and "bareold" in got[0][2], got
' || fail "status must show lab-marked libvirt networks as drift: $OUT"
expect_rc 0 apply --no-verify "$TMP/required.json"
lv_list | grep -Eq "^(oldnet|bareold) " && fail "lab-marked libvirt networks still defined: $(lv_list)"
lv_list | grep -qx "othernet inactive no yes" || fail "another profile's libvirt network touched: $(lv_list)"
expect_rc 0 rollback lab
lv_list | diff -u "$TMP/list.marks" - || fail "net-list after rollback of the mark deletions"
virsh_ net-dumpxml --inactive oldnet | diff -u "$TMP/oldnet.before" - || fail "oldnet not restored exactly"
virsh_ net-dumpxml --inactive bareold | diff -u "$TMP/bareold.before" - || fail "bareold not restored exactly"
for n in oldnet bareold othernet; do
        virsh_ net-destroy "$n" >/dev/null 2>&1
        virsh_ net-undefine "$n" >/dev/null || fail "undefining $n"
done
ok "libvirt networks with lab's mark (metadata or derived uuid) are drift, apply removes them, rollback restores them"

# 7. Rollback of every generation.
expect_rc 0 rollback --all lab
lv_list >"$TMP/list.post"
diff -u "$TMP/list.pre" "$TMP/list.post" || fail "virsh net-list --all differs after rollback"
[ ! -e "$stored" ] || fail "labnet still defined after rollback"
virsh_ net-dumpxml --inactive userlan | diff -u "$TMP/userlan.before" - || fail "rollback touched the user's network"
snap post
same_snap pre post
ok "rollback: net-list --all as before, exact snapshot"

# 7b. A lost journal: rollback --all with no generation left still removes a libvirt network
# carrying lab's mark (at the default daemon), and leaves another profile's.
mark_net oldnet lab/oldnet
mark_net othernet other/othernet
expect_rc 0 rollback --all lab
lv_list | grep -q "^oldnet " && fail "rollback --all left a lab-marked libvirt network: $(lv_list)"
lv_list | grep -qx "othernet inactive no yes" || fail "rollback --all touched another profile's network: $(lv_list)"
virsh_ net-undefine othernet >/dev/null || fail "undefining othernet"
lv_list | diff -u "$TMP/list.pre" - || fail "virsh net-list --all differs after the sweep"
ok "rollback --all sweeps a lab-marked libvirt network a lost journal left"

# 9. doctor on libvirt's own bridge.
cat >"$TMP/default.xml" <<'XML'
<network>
  <name>default</name>
  <forward mode='nat'/>
  <bridge name='virbr0' stp='on' delay='0'/>
  <ip address='192.168.122.1' netmask='255.255.255.0'/>
</network>
XML
virsh_ net-define "$TMP/default.xml" >/dev/null || fail "defining libvirt's default network"
virsh_ net-start default >/dev/null || fail "starting libvirt's default network"
rc=0
OUT=$("$VNETCFG" --state-dir "$STATE" doctor virbr0 2>&1) || rc=$?
echo "$OUT" | grep -q "bridge virbr0 belongs to libvirt network \"default\" at \"$LV_URI\" (forward mode \"nat\", active" ||
        fail "doctor virbr0 (rc $rc): $OUT"
echo "$OUT" | grep -q "bridge-missing" && fail "doctor virbr0 does not see the bridge: $OUT"
virsh_ net-destroy default >/dev/null
expect_rc 3 doctor virbr0
echo "$OUT" | grep -q "libvirt-inactive" || fail "doctor virbr0 of a stopped network: $OUT"
echo "$OUT" | grep -q "virsh -c $LV_URI net-start default" || fail "doctor virbr0 fix: $OUT"
ok "doctor virbr0 works on libvirt's own bridge"

echo "all $TESTS_RUN libvirt checks passed"
