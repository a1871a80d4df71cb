#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# vnetcfg@.service's command lines, run the way systemd runs them: ExecStart
# and ExecStop read from the unit the build configured, %i substituted, split
# into words, the profile at /etc/vnetcfg/%i.json (an overlay on /etc inside
# this test's mount namespace: the machine's /etc is never written). Only the
# binary is the build's and the state dir is the sandbox's (VNETCFG_STATE_DIR).
#
#   vn-boot 10.73.0.1/24 host-only + DHCP, tap boot-t0          profile boot
#   vn-bad  10.74.0.1/24 host-only; an admin's nftables input rule  profile bad
#           drops ICMP from vn-bad, so verify fails and doctor names the rule
. "$(dirname "$0")/lib.sh"

UNIT=$(dirname "$VNETCFG")/systemd/vnetcfg@.service
[ -f "$UNIT" ] || fail "the configured unit is not at $UNIT"
defer 'for f in "$STATE"/dnsmasq/*.pid; do kill "$(cat "$f")"; done'

mkdir -p "$TMP/etc-up" "$TMP/etc-work"
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$TMP/etc-up,workdir=$TMP/etc-work" /etc ||
        fail "could not put an overlay on /etc"
defer "umount /etc"
mkdir -p /etc/vnetcfg

# unit_cmd KEY INSTANCE: run the unit's KEY= command line for INSTANCE; exit code in $RC, stderr in $UERR.
unit_cmd() {
        local line argv
        line=$(sed -n "s/^$1=//p" "$UNIT")
        [ "$(printf '%s\n' "$line" | wc -l)" = 1 ] && [ -n "$line" ] || fail "$UNIT: expected one $1= line, got \"$line\""
        line=${line//%i/$2}
        read -r -a argv <<<"$line"
        [[ ${argv[0]} == /*/vnetcfg ]] || fail "$1 runs \"${argv[0]}\", not an absolute path to vnetcfg"
        argv[0]=$VNETCFG
        RC=0
        VNETCFG_STATE_DIR=$STATE "${argv[@]}" >"$TMP/unit.out" 2>"$TMP/unit.err" || RC=$?
        UERR=$(cat "$TMP/unit.err")
}

grep -qx 'After=network-online.target' "$UNIT" && grep -qx 'Wants=network-online.target' "$UNIT" ||
        fail "the unit does not wait for network-online.target"
grep -qx 'Type=oneshot' "$UNIT" && grep -qx 'RemainAfterExit=yes' "$UNIT" ||
        fail "the unit is not a oneshot that stays active (ExecStop would run at once)"
ok "unit: oneshot, stays active, after network-online.target"

cat >/etc/vnetcfg/boot.json <<'JSON'
{"version": 1, "name": "boot",
 "networks": [{"name": "boot", "mode": "host-only", "ipv4": {"address": "10.73.0.1/24"},
               "dhcp": {"start": "10.73.0.100", "end": "10.73.0.150"},
               "taps": [{"name": "boot-t0"}]}]}
JSON
[ -f "$TMP/etc-up/vnetcfg/boot.json" ] || fail "/etc/vnetcfg/boot.json did not land in the overlay"

snap before
unit_cmd ExecStart boot
[ "$RC" = 0 ] || fail "ExecStart exited $RC: $UERR"
assert_eq "$(link_field vn-boot alias)" "vnetcfg:boot/boot" "bridge made by the unit"
expect_rc 0 --json status boot
assert_eq "$(echo "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin)["profiles"][0]; print(d["state"], d["dnsmasq"])')" \
        "ok running" "status after ExecStart"
ok "ExecStart applies /etc/vnetcfg/boot.json and verifies it"
unit_cmd ExecStart boot
[ "$RC" = 0 ] || fail "second ExecStart exited $RC: $UERR"
grep -q 'up to date' "$TMP/unit.out" || fail "a restart changed something: $(cat "$TMP/unit.out")"
ok "ExecStart again (systemctl restart) changes nothing"
unit_cmd ExecStop boot
[ "$RC" = 0 ] || fail "ExecStop exited $RC: $UERR"
snap after
same_snap before after
ok "ExecStop rolls everything back: the host is exactly as before"

# A failed verify fails the unit (non-zero), rolls back, and doctor's summary is on stderr (the journal).
nft -f - <<'NFT'
table inet admin {
        chain input {
                type filter hook input priority 0; policy accept;
                iifname "vn-bad" icmp type echo-request drop
        }
}
NFT
defer "nft delete table inet admin"
sed -e 's/"boot"/"bad"/g' -e 's/10\.73\./10.74./g' -e 's/boot-t0/bad-t0/' /etc/vnetcfg/boot.json >/etc/vnetcfg/bad.json
snap before
unit_cmd ExecStart bad
[ "$RC" = 3 ] || fail "ExecStart with a failing check exited $RC, expected 3: $UERR"
echo "$UERR" | sed 's/^/    /'
grep -q '^vnetcfg: verify of "bad" failed; doctor on the applied state: problems found$' "$TMP/unit.err" ||
        fail "no doctor summary on stderr"
grep -q '^vnetcfg: doctor: error icmp-blocked (bad): .*INPUT' "$TMP/unit.err" ||
        fail "doctor's summary does not name the INPUT rule that drops ICMP"
grep -q 'verification of "bad" failed.*rolled back' "$TMP/unit.err" || fail "no rollback reported"
snap after
same_snap before after
ok "a failed verify fails ExecStart (exit 3) with doctor's findings on stderr, and is rolled back"
echo "PASS: $TESTS_RUN checks"
