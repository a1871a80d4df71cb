#!/usr/bin/env bash
# Two concurrent applies serialize on the state dir's lock and both succeed;
# a held lock makes vnetcfg wait --wait seconds and exit 4.
. "$(dirname "$0")/lib.sh"

for i in 1 2; do
        taps=$(for t in $(seq 1 30); do printf '{"name": "p%d-t%d"},' "$i" "$t"; done)
        cat >"$TMP/p$i.json" <<JSON
{"version": 1, "name": "p$i", "networks": [
  {"name": "n", "mode": "host-only", "bridge": "vn-p$i", "ipv4": {"address": "10.$i.0.1/24"}, "taps": [${taps%,}]}]}
JSON
done
"$VNETCFG" --state-dir "$STATE" apply "$TMP/p1.json" >"$TMP/o1" 2>&1 &
a=$!
"$VNETCFG" --state-dir "$STATE" apply "$TMP/p2.json" >"$TMP/o2" 2>&1 &
b=$!
wait $a || fail "apply p1 failed: $(cat "$TMP/o1")"
wait $b || fail "apply p2 failed: $(cat "$TMP/o2")"
for i in 1 2; do
        assert_eq "$(ls /sys/class/net/vn-p$i/brif | wc -l)" 30 "ports of vn-p$i"
done
expect_rc 0 --json status
echo "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert [(p["name"], p["state"]) for p in d["profiles"]] == [("p1", "ok"), ("p2", "ok")], d' || fail "status: $OUT"
ok "two concurrent applies serialize and both succeed"

exec 9>"$STATE/lock"
flock 9
start=$(date +%s.%N)
expect_rc 4 --wait 0.5 rollback p1
end=$(date +%s.%N)
echo "$ERR" | grep -q 'another vnetcfg holds the lock' || fail "lock message: $ERR"
python3 -c "import sys; d = $end - $start; sys.exit(0 if 0.45 <= d < 5 else 1)" || fail "waited $start..$end"
flock -u 9
exec 9>&-
expect_rc 0 rollback p1
expect_rc 0 rollback p2
ok "a held lock: wait, then exit 4"
echo "$TESTS_RUN passed, 0 failed"
