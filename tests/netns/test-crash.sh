#!/usr/bin/env bash
# SIGKILL at several points mid-apply (VNETCFG_CRASH_AT=k kills the process
# with SIGKILL just before action k, after the journal holds it), then
# `rollback` ends in the exact snapshot. status shows the interrupted apply and
# a new apply refuses until it is rolled back. Also a real external SIGKILL at
# random moments of a large apply. Run with each firewall backend: the
# snapshots hold the whole ruleset, legacy and nft.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/profiles.sh"

make_foreign_world
snap before
for fw in iptables nftables; do
        write_lab_fw "$TMP/lab.json" $fw
        expect_rc 0 --json plan "$TMP/lab.json"
        n=$(echo "$OUT" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["actions"]))')
        # the firewall's first action and the one in the middle of its run too
        fwk=$(echo "$OUT" | python3 -c 'import json,sys; print([a["kind"] for a in json.load(sys.stdin)["actions"]].index("chains"))')
        for k in 0 1 3 $((n / 2)) "$fwk" $(((fwk + n) / 2)) $((n - 1)); do
                VNETCFG_CRASH_AT=$k faults expect_rc 137 apply "$TMP/lab.json"
                expect_rc 0 status lab
                echo "$OUT" | grep -q interrupted || fail "$fw k=$k: status does not show the interrupted apply: $OUT"
                expect_rc 2 apply "$TMP/lab.json"
                echo "$ERR" | grep -q 'interrupted apply' || fail "$fw k=$k: apply after crash: $ERR"
                expect_rc 0 rollback lab
                snap "crash-$fw-$k"
                same_snap before "crash-$fw-$k"
        done
        ok "$fw: SIGKILL before actions 0 1 3 $((n / 2)) $fwk $(((fwk + n) / 2)) $((n - 1)), then rollback: exact snapshot"

        # External kills at arbitrary moments of a bigger apply.
        taps=$(for i in $(seq 1 60); do printf '{"name": "t%d"},' "$i"; done)
        write_lab_fw "$TMP/big.json" $fw 1500 "${taps%,}"
        for delay in 0.01 0.03 0.06 0.1; do
                "$VNETCFG" --state-dir "$STATE" apply "$TMP/big.json" >/dev/null 2>&1 &
                pid=$!
                sleep "$delay"
                kill -9 "$pid" 2>/dev/null
                wait "$pid" 2>/dev/null
                expect_rc 0 rollback lab
                snap "kill-$fw-$delay"
                same_snap before "kill-$fw-$delay"
        done
        ok "$fw: external SIGKILL at 4 moments, then rollback: exact snapshot"
done
echo "$TESTS_RUN passed, 0 failed"
