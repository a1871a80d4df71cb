#!/usr/bin/env bash
# SIGKILL at several points mid-apply (VNETCFG_CRASH_AT=k kills the process
# with SIGKILL just before action k, after the journal holds it), then
# `rollback` ends in the exact snapshot. status shows the interrupted apply and
# a new apply refuses until it is rolled back. Also a real external SIGKILL at
# random moments of a large apply.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/profiles.sh"

make_foreign_world
write_lab "$TMP/lab.json"
snap before
expect_rc 0 --json plan "$TMP/lab.json"
n=$(echo "$OUT" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["actions"]))')
for k in 0 1 3 $((n / 2)) $((n - 1)); do
        VNETCFG_CRASH_AT=$k expect_rc 137 apply "$TMP/lab.json"
        expect_rc 0 status lab
        echo "$OUT" | grep -q interrupted || fail "k=$k: status does not show the interrupted apply: $OUT"
        expect_rc 2 apply "$TMP/lab.json"
        echo "$ERR" | grep -q 'interrupted apply' || fail "k=$k: apply after crash: $ERR"
        expect_rc 0 rollback lab
        snap "crash-$k"
        same_snap before "crash-$k"
done
ok "SIGKILL before actions 0 1 3 $((n / 2)) $((n - 1)), then rollback: exact snapshot"

# External kills at arbitrary moments of a bigger apply.
taps=$(for i in $(seq 1 60); do printf '{"name": "t%d"},' "$i"; done)
write_lab "$TMP/big.json" 1500 "${taps%,}"
for delay in 0.01 0.03 0.06 0.1; do
        "$VNETCFG" --state-dir "$STATE" apply "$TMP/big.json" >/dev/null 2>&1 &
        pid=$!
        sleep "$delay"
        kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        expect_rc 0 rollback lab
        snap "kill-$delay"
        same_snap before "kill-$delay"
done
ok "external SIGKILL at 4 moments, then rollback: exact snapshot"
echo "$TESTS_RUN passed, 0 failed"
