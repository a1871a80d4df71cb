#!/usr/bin/env bash
# A failure injected before every action index k (VNETCFG_FAIL_AT=k) ends in
# the exact pre-apply snapshot with exit 1; so does a failure during an
# edit-and-reapply (the first generation stays as it was).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/profiles.sh"

make_foreign_world
write_lab "$TMP/lab.json"
snap before
expect_rc 0 --json plan "$TMP/lab.json"
n=$(echo "$OUT" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["actions"]))')
[ "$n" -ge 10 ] || fail "plan too small to be interesting: $n"
for ((k = 0; k < n; k++)); do
        VNETCFG_FAIL_AT=$k expect_rc 1 apply "$TMP/lab.json"
        echo "$ERR" | grep -q "injected failure before action $k" || fail "k=$k: $ERR"
        snap "fail-$k"
        same_snap before "fail-$k"
done
ok "failure at each of $n action indexes restores the exact snapshot"

expect_rc 0 apply "$TMP/lab.json"
snap gen1
write_lab "$TMP/lab2.json" 9000 '{"name": "vm1-eth0"}, {"name": "vm4-eth0"}'
expect_rc 0 --json plan "$TMP/lab2.json"
n=$(echo "$OUT" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["actions"]))')
for ((k = 0; k < n; k++)); do
        VNETCFG_FAIL_AT=$k expect_rc 1 apply "$TMP/lab2.json"
        snap "fail2-$k"
        same_snap gen1 "fail2-$k"
done
ok "failure at each of $n indexes of an edit restores the previous generation exactly"
expect_rc 0 rollback --all lab
snap end
same_snap before end
echo "$TESTS_RUN passed, 0 failed"
