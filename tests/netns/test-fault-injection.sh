#!/usr/bin/env bash
# A failure injected before every action index k (VNETCFG_FAIL_AT=k) ends in
# the exact pre-apply snapshot with exit 1; so does a failure during an
# edit-and-reapply (the first generation stays as it was). Run once with each
# firewall backend: the snapshots hold the whole ruleset, legacy and nft.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/profiles.sh"

make_foreign_world

# Every index with nftables; with iptables every index of the firewall step (the
# steps before it are the same whatever the backend).
for fw in nftables iptables; do
        write_lab_fw "$TMP/lab.json" $fw
        snap "before-$fw"
        expect_rc 0 --json plan "$TMP/lab.json"
        n=$(echo "$OUT" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["actions"]))')
        [ "$n" -ge 10 ] || fail "plan too small to be interesting: $n"
        echo "$OUT" | python3 -c "import json,sys; assert json.load(sys.stdin)['firewall']['backend'] == '$fw'" ||
                fail "$fw: the plan is for another backend: $OUT"
        first=0
        [ $fw = iptables ] &&
                first=$(echo "$OUT" | python3 -c 'import json,sys; print([a["kind"] for a in json.load(sys.stdin)["actions"]].index("chains"))')
        for ((k = first; k < n; k++)); do
                VNETCFG_FAIL_AT=$k faults expect_rc 1 apply "$TMP/lab.json"
                echo "$ERR" | grep -q "injected failure before action $k" || fail "$fw k=$k: $ERR"
                snap "fail-$fw-$k"
                same_snap "before-$fw" "fail-$fw-$k"
        done
        ok "$fw: failure at each of action indexes $first..$((n - 1)) restores the exact snapshot"
        [ $fw = iptables ] && continue

        expect_rc 0 apply "$TMP/lab.json"
        snap "gen1-$fw"
        write_lab_fw "$TMP/lab2.json" $fw 9000 '{"name": "vm1-eth0"}, {"name": "vm4-eth0"}'
        expect_rc 0 --json plan "$TMP/lab2.json"
        n=$(echo "$OUT" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["actions"]))')
        for ((k = 0; k < n; k++)); do
                VNETCFG_FAIL_AT=$k faults expect_rc 1 apply "$TMP/lab2.json"
                snap "fail2-$fw-$k"
                same_snap "gen1-$fw" "fail2-$fw-$k"
        done
        ok "$fw: failure at each of $n indexes of an edit restores the previous generation exactly"
        expect_rc 0 rollback --all lab
        snap "end-$fw"
        same_snap "before-$fw" "end-$fw"
done

# Moving the rules to the other backend fails at each index of the move: the rules stay where they were.
write_lab_fw "$TMP/lab.json" iptables
write_lab_fw "$TMP/lab-nft.json" nftables
expect_rc 0 apply "$TMP/lab.json"
snap gen1-move
expect_rc 0 --json plan "$TMP/lab-nft.json"
n=$(echo "$OUT" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["actions"]))')
# The first index, inside the nftables run, at the first iptables action, inside that run, the last.
b=$(echo "$OUT" | python3 -c '
import json, sys
acts = json.load(sys.stdin)["actions"]
print(next(i for i, a in enumerate(acts) if a["kind"] == "rule" and a["op"] == "delete"))')
ks=$(printf '%s\n' 0 1 $((b / 2)) "$b" $((b + 1)) $(((b + n) / 2)) $((n - 1)) | sort -nu | tr '\n' ' ')
for k in $ks; do
        VNETCFG_FAIL_AT=$k faults expect_rc 1 apply "$TMP/lab-nft.json"
        snap "fail-move-$k"
        same_snap gen1-move "fail-move-$k"
done
expect_rc 0 rollback --all lab
snap end
same_snap before-iptables end
ok "a move iptables -> nftables failing at indexes $ks(of $n) leaves the legacy rules exactly as they were"
echo "$TESTS_RUN passed, 0 failed"
