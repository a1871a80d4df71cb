#!/usr/bin/env bash
# Plans of more than 50 actions show progress on a terminal
# ("[61/62] create tap t60"), and nothing of it when stderr is not a terminal.
. "$(dirname "$0")/lib.sh"

taps=$(for i in $(seq 1 60); do printf '{"name": "t%d"},' "$i"; done)
cat >"$TMP/big.json" <<JSON
{"version": 1, "name": "big", "networks": [
  {"name": "n", "mode": "host-only", "ipv4": {"address": "10.5.0.1/24"}, "taps": [${taps%,}]}]}
JSON
# script(1) gives the command a pseudo-terminal.
script -qec "$VNETCFG --state-dir $STATE apply $TMP/big.json" /dev/null >"$TMP/tty.out" 2>&1 ||
        fail "apply on a terminal failed: $(cat "$TMP/tty.out")"
grep -aqE '\[61/[0-9]+\] create tap t60' "$TMP/tty.out" || fail "no progress on a terminal: $(cat -v "$TMP/tty.out")"
grep -aqE 'applied "big": [0-9]+ actions' "$TMP/tty.out" || fail "no summary: $(cat -v "$TMP/tty.out")"
ok "progress shown on a terminal"

expect_rc 0 rollback big
expect_rc 0 apply "$TMP/big.json"
[ -z "$ERR" ] || fail "progress written to a non-terminal stderr: $ERR"
expect_rc 0 rollback big
ok "no progress when stderr is not a terminal"
echo "$TESTS_RUN passed, 0 failed"
