#!/usr/bin/env bash
# A second apply of the same profile changes nothing, performs no writes to
# the kernel (an `ip monitor` capture stays empty) and reports changed: false.
# (The capture runs with --no-verify: verify's probe is a temporary port of its
# own, checked separately to leave nothing behind.)
# Editing the profile changes only what changed: dropping a tap deletes only
# that tap; changing the MTU modifies links in place (same ifindex).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/profiles.sh"

write_lab "$TMP/lab.json"
expect_rc 0 apply "$TMP/lab.json"

ip monitor link address route >"$TMP/monitor" 2>&1 &
mon=$!
defer "kill $mon"
# The kernel reports carrier changes of the first apply up to ~1 s later
# (linkwatch): wait until the capture has been quiet for 1.5 s, then mark it.
quiet_since=$(date +%s.%N) last=0
for _ in $(seq 1 100); do
        size=$(stat -c %s "$TMP/monitor")
        [ "$size" != "$last" ] && { last=$size; quiet_since=$(date +%s.%N); }
        python3 -c "import sys,time; sys.exit(0 if time.time() - $quiet_since >= 1.5 else 1)" && break
        sleep 0.2
done
mark=$(stat -c %s "$TMP/monitor")
expect_rc 0 --json apply --no-verify "$TMP/lab.json"
sleep 1.2
kill "$mon"; wait "$mon" 2>/dev/null
tail -c +$((mark + 1)) "$TMP/monitor" >"$TMP/monitor.second"
echo "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["changed"] is False and d["actions"] == [] and d["rolled_back"] is False, d' || fail "second apply json: $OUT"
[ ! -s "$TMP/monitor.second" ] || fail "second apply wrote to the kernel:
$(cat "$TMP/monitor.second")"
# The capture must be able to see writes: prove it with one we make ourselves.
ip monitor link >"$TMP/monitor2" 2>&1 &
mon=$!
sleep 0.3
ip link set vm1-eth0 alias probe-of-the-monitor
sleep 0.3
kill "$mon"; wait "$mon" 2>/dev/null
grep -q vm1-eth0 "$TMP/monitor2" || fail "ip monitor did not see a write; the check above proves nothing"
ip link set vm1-eth0 alias "vnetcfg:lab/ho"
ok "second apply: nothing to change, no kernel writes"

snap noop-before
expect_rc 0 --json apply "$TMP/lab.json"
echo "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["changed"] is False and d["verify"]["status"] in ("pass", "fail"), d' || fail "no-op apply with verify: $OUT"
snap noop-after
same_snap noop-before noop-after
ok "a no-op apply still verifies, and its probe leaves nothing behind"

ix_vm1=$(ifindex_of vm1-eth0)
ix_vm3=$(ifindex_of vm3-eth0)
ix_br=$(ifindex_of vn-ho)
write_lab "$TMP/lab2.json" 1500 '{"name": "vm1-eth0"}, {"name": "vm3-eth0"}'
expect_rc 0 --json plan "$TMP/lab2.json"
echo "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert [(a["op"], a["kind"], a["name"]) for a in d["actions"]] == [("delete", "tap", "vm2-eth0")], d' ||
        fail "dropping one tap must plan exactly one delete: $OUT"
expect_rc 0 apply "$TMP/lab2.json"
[ ! -e /sys/class/net/vm2-eth0 ] || fail "vm2-eth0 still exists"
assert_eq "$(ifindex_of vm1-eth0)" "$ix_vm1" "vm1-eth0 untouched"
assert_eq "$(ifindex_of vm3-eth0)" "$ix_vm3" "vm3-eth0 untouched"
ok "dropping one tap deletes only that tap"

write_lab "$TMP/lab3.json" 9000 '{"name": "vm1-eth0"}, {"name": "vm3-eth0"}'
expect_rc 0 --json apply "$TMP/lab3.json"
echo "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
acts = [(a["op"], a["kind"], a["name"]) for a in d["actions"]]
assert sorted(acts) == sorted([("modify", "link", n) for n in ("vn-ho", "vm1-eth0", "vm3-eth0")]), acts' ||
        fail "MTU change must modify, not recreate: $OUT"
assert_eq "$(ifindex_of vn-ho)" "$ix_br" "bridge not recreated"
assert_eq "$(ifindex_of vm1-eth0)" "$ix_vm1" "tap not recreated"
for l in vn-ho vm1-eth0 vm3-eth0; do assert_eq "$(link_field $l mtu)" 9000 "$l mtu"; done
ok "changing the MTU modifies links in place"

expect_rc 0 rollback lab
for l in vn-ho vm1-eth0 vm3-eth0; do assert_eq "$(link_field $l mtu)" 1500 "$l mtu after rollback"; done
expect_rc 0 rollback lab
[ -e /sys/class/net/vm2-eth0 ] || fail "rollback did not bring vm2-eth0 back"
assert_eq "$(link_field vm2-eth0 master)" vn-ho "vm2-eth0 back on its bridge"
ok "rollback undoes one generation at a time"
echo "$TESTS_RUN passed, 0 failed"
