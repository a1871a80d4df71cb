#!/usr/bin/env bash
# apply --confirm-timeout N and vnetcfg confirm NAME, on a bridged uplink (the
# case it exists for). Topology as test-bridged.sh: a "lan" namespace behind
# lan0 (192.0.2.10/24, default via 192.0.2.1) which joins vn-lan.
. "$(dirname "$0")/lib.sh"

ip netns add lan
defer "ip netns del lan"
ip link add lan0 type veth peer name eth0 netns lan
ip -n lan link set lo up
ip -n lan addr add 192.0.2.1/24 dev eth0
ip -n lan link set eth0 up
ip link set lan0 up
ip addr add 192.0.2.10/24 dev lan0
ip route add default via 192.0.2.1
cat >"$TMP/lan.json" <<'JSON'
{"version": 1, "name": "lan", "networks": [{"name": "lan", "mode": "bridged", "uplink": "lan0"}]}
JSON
snap before

# Without confirm: rolled back at the deadline, by a watcher that outlives vnetcfg and its terminal.
start=$(date +%s)
expect_rc 0 apply --no-verify --confirm-timeout 3 "$TMP/lan.json"
echo "$OUT" | grep -q 'awaiting confirmation: run "vnetcfg confirm lan" within 3 s' || fail "apply output: $OUT"
assert_eq "$(link_field lan0 master)" vn-lan "applied while pending"
expect_rc 0 --json status lan
watcher=$(echo "$OUT" | python3 -c '
import json, sys, time
c = json.load(sys.stdin)["profiles"][0]["confirm"]
assert c and c["watcher_alive"] and 0 < c["deadline"] - time.time() <= 3.5, c
print(c["watcher"])') || fail "status does not show the pending confirmation: $OUT"
expect_rc 0 status lan
echo "$OUT" | grep -q 'awaiting confirmation: generation 1 is rolled back at' || fail "status text: $OUT"
# The watcher: its own session, no controlling terminal, not our child.
read -r sid tty ppid < <(awk '{print $6, $7, $4}' "/proc/$watcher/stat")
[ "$sid" != "$(awk '{print $6}' /proc/$$/stat)" ] || fail "watcher shares our session"
assert_eq "$tty" 0 "watcher's controlling terminal"
[ "$ppid" != "$$" ] || fail "watcher is our child"
expect_rc 2 apply --no-verify "$TMP/lan.json"
echo "$ERR" | grep -q 'awaits confirmation' || fail "apply while pending: $ERR"
for _ in $(seq 1 60); do [ -e "$STATE/profiles/lan/pending" ] || break; sleep 0.1; done
[ ! -e "$STATE/profiles/lan/pending" ] || fail "not rolled back by the deadline"
elapsed=$(($(date +%s) - start))
[ "$elapsed" -ge 3 ] || fail "rolled back before the deadline ($elapsed s)"
snap expired
same_snap before expired
ok "--confirm-timeout 3 without confirm: rolled back at the deadline to the exact snapshot ($elapsed s)"

# With confirm: the state stays past the deadline.
expect_rc 0 apply --no-verify --confirm-timeout 2 "$TMP/lan.json"
expect_rc 0 confirm lan
echo "$OUT" | grep -q 'confirmed "lan"' || fail "confirm output: $OUT"
sleep 3
assert_eq "$(link_field lan0 master)" vn-lan "confirmed apply stays"
expect_rc 0 --json status lan
echo "$OUT" | grep -q '"confirm": null' || fail "still pending after confirm: $OUT"
expect_rc 2 confirm lan
ok "confirmed: the changes stay past the deadline; a second confirm says there is nothing to confirm"
expect_rc 0 rollback lan
snap back
same_snap before back

# A watcher that dies leaves a record that status shows and rollback completes.
expect_rc 0 apply --no-verify --confirm-timeout 30 "$TMP/lan.json"
expect_rc 0 --json status lan
watcher=$(echo "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["profiles"][0]["confirm"]["watcher"])')
kill -9 "$watcher"
sleep 0.2
expect_rc 0 status lan
echo "$OUT" | grep -qF "its watcher (pid $watcher) is gone: run confirm or rollback" || fail "dead watcher not shown: $OUT"
expect_rc 0 rollback lan
snap crashed
same_snap before crashed
[ ! -e "$STATE/profiles/lan/pending" ] || fail "pending record left after rollback"
ok "a killed watcher: status says so, rollback completes to the exact snapshot"
echo "$TESTS_RUN passed, 0 failed"
