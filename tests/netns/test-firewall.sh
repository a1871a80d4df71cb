#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The iptables firewall backend (libiptc, legacy x_tables) against the real
# kernel, driven directly by tests/fw-check, in a private network namespace.
#
#   foreign world (never touched):  INPUT: -i lo ACCEPT, -j FOREIGN; FOREIGN: DROP 198.51.100.0/24
#                                   FORWARD: -i eth9 DROP; OUTPUT: a rule with a vnetcfg-looking comment
#                                   nat: PREROUTING DNAT :2222, POSTROUTING MASQUERADE 192.168.5.0/24
#   vnetcfg:  INPUT -> VNETCFG_INP, OUTPUT -> VNETCFG_OUT,
#             FORWARD -> VNETCFG_FWD -> FWX, FWO, FWI, FWA (in that order)
#             nat PREROUTING -> VNETCFG_PRE, OUTPUT -> VNETCFG_NOUT, POSTROUTING -> VNETCFG_POST
#
# Set p1 is a dozen-and-more rules of every kind (profile p1), p2 one rule of
# profile p2 (see fw-check.c). Checks: exact iptables-legacy-save text, the
# renderer agrees with it, jump positions, idempotence, live read, drift
# repair, undo back to the byte-identical snapshot, shared chains kept while
# another profile has rules, failures commit nothing, 2000 rules in one run.
. "$(dirname "$0")/lib.sh"

FWC="${FW_CHECK:-$(dirname "$VNETCFG")/tests/fw-check}"
[ -x "$FWC" ] || fail "fw-check not found at $FWC"
command -v iptables-legacy-save >/dev/null || fail "iptables-legacy-save is missing (apt-get install iptables)"

# iptables-legacy-save without its dated comment lines.
save() { iptables-legacy-save "$@" | grep -v '^#'; }
# iptables' lock, private to this test (iptables-legacy and the backend both honour it).
export XTABLES_LOCKFILE="$TMP/xtables.lock"
# The same with the rule hashes masked, for the golden text below.
save_masked() { save "$@" | sed -E 's/ #[0-9a-f]{8,16}"/ #HASH"/'; }
fwc() { "$FWC" "$@" || fail "fw-check $* failed"; }

# ---- the foreign world ----
iptables-legacy -N FOREIGN
iptables-legacy -A FOREIGN -s 198.51.100.0/24 -j DROP
iptables-legacy -A INPUT -i lo -j ACCEPT
iptables-legacy -A INPUT -j FOREIGN
iptables-legacy -A FORWARD -i eth9 -j DROP
iptables-legacy -A OUTPUT -p udp --dport 514 -m comment --comment "vnetcfg:p1/net1 #00000000" -j ACCEPT
iptables-legacy -t nat -A PREROUTING -p tcp --dport 2222 -j DNAT --to-destination 192.168.5.2:22
iptables-legacy -t nat -A POSTROUTING -s 192.168.5.0/24 -o eth9 -j MASQUERADE
save >"$TMP/fw.before"

out=$(fwc live-bits)
assert_eq "$out" "available=1 chains=0x0 rules=0" "live read before anything"
ok "live read of the foreign world: no chain, no rule (a rule with our comment in OUTPUT is not ours)"

# ---- create chains and every kind of rule in one run ----
fwc apply p1

cat >"$TMP/filter.want" <<'EOF'
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:FOREIGN - [0:0]
:VNETCFG_FWA - [0:0]
:VNETCFG_FWD - [0:0]
:VNETCFG_FWI - [0:0]
:VNETCFG_FWO - [0:0]
:VNETCFG_FWX - [0:0]
:VNETCFG_INP - [0:0]
:VNETCFG_OUT - [0:0]
-A INPUT -j VNETCFG_INP
-A INPUT -i lo -j ACCEPT
-A INPUT -j FOREIGN
-A FORWARD -j VNETCFG_FWD
-A FORWARD -i eth9 -j DROP
-A OUTPUT -j VNETCFG_OUT
-A OUTPUT -p udp -m udp --dport 514 -m comment --comment "vnetcfg:p1/net1 #HASH" -j ACCEPT
-A FOREIGN -s 198.51.100.0/24 -j DROP
-A VNETCFG_FWA -s 10.10.0.0/24 -i vn-a -m comment --comment "vnetcfg:p1/net1 #HASH" -j ACCEPT
-A VNETCFG_FWD -j VNETCFG_FWX
-A VNETCFG_FWD -j VNETCFG_FWO
-A VNETCFG_FWD -j VNETCFG_FWI
-A VNETCFG_FWD -j VNETCFG_FWA
-A VNETCFG_FWI -d 10.10.0.5/32 -o vn-a -p tcp -m tcp --dport 80 -m conntrack --ctstate DNAT -m comment --comment "vnetcfg:p1/net1 #HASH" -j ACCEPT
-A VNETCFG_FWI -d 10.10.0.0/24 -o vn-a -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "vnetcfg:p1/net1 #HASH" -j ACCEPT
-A VNETCFG_FWI -o vn-h -m comment --comment "vnetcfg:p1/net1 #HASH" -j REJECT --reject-with icmp-port-unreachable
-A VNETCFG_FWI -o vn-a -m comment --comment "vnetcfg:p1/net1 #HASH" -j REJECT --reject-with icmp-port-unreachable
-A VNETCFG_FWO -i vn-h -m comment --comment "vnetcfg:p1/net1 #HASH" -j REJECT --reject-with icmp-port-unreachable
-A VNETCFG_FWX -i vn-a -o vn-a -m comment --comment "vnetcfg:p1/net1 #HASH" -j ACCEPT
-A VNETCFG_INP -i vn-a -p udp -m udp --sport 53 -m comment --comment "vnetcfg:p1/net1 #HASH" -j ACCEPT
-A VNETCFG_INP -i vn-a -p tcp -m tcp --dport 53 -m comment --comment "vnetcfg:p1/net1 #HASH" -j ACCEPT
-A VNETCFG_INP -i vn-a -p udp -m udp --sport 68 --dport 67 -m comment --comment "vnetcfg:p1/net1 #HASH" -j ACCEPT
-A VNETCFG_INP -s 10.10.0.0/24 -i vn-a -p icmp -m icmp --icmp-type 8 -m comment --comment "vnetcfg:p1/net1 #HASH" -j ACCEPT
-A VNETCFG_OUT ! -o vn-h -p icmp -m conntrack --ctstate RELATED,ESTABLISHED,DNAT -m comment --comment "vnetcfg:p1/net1 #HASH" -j RETURN
-A VNETCFG_OUT -d 10.10.0.0/24 -o vn-a -p icmp -m icmp --icmp-type 0 -m comment --comment "vnetcfg:p1/net1 #HASH" -j ACCEPT
COMMIT
EOF
cat >"$TMP/nat.want" <<'EOF'
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:VNETCFG_NOUT - [0:0]
:VNETCFG_POST - [0:0]
:VNETCFG_PRE - [0:0]
-A PREROUTING -j VNETCFG_PRE
-A PREROUTING -p tcp -m tcp --dport 2222 -j DNAT --to-destination 192.168.5.2:22
-A OUTPUT -j VNETCFG_NOUT
-A POSTROUTING -j VNETCFG_POST
-A POSTROUTING -s 192.168.5.0/24 -o eth9 -j MASQUERADE
-A VNETCFG_NOUT -p tcp -m tcp --dport 8080 -m addrtype --dst-type LOCAL -m comment --comment "vnetcfg:p1/net1 #HASH" -j DNAT --to-destination 10.10.0.5:80
-A VNETCFG_POST -s 10.10.0.0/24 -d 224.0.0.0/24 -m comment --comment "vnetcfg:p1/net1 #HASH" -j RETURN
-A VNETCFG_POST -s 10.10.0.0/24 ! -d 10.10.0.0/24 ! -o vn-a -m comment --comment "vnetcfg:p1/net1 #HASH" -j MASQUERADE
-A VNETCFG_POST -s 10.10.0.0/24 -d 10.10.0.5/32 -o vn-a -p tcp -m tcp --dport 80 -m comment --comment "vnetcfg:p1/net1 #HASH" -j MASQUERADE
-A VNETCFG_PRE -d 192.0.2.7/32 -p udp -m udp --dport 5353 -m comment --comment "vnetcfg:p1/net1 #HASH" -j DNAT --to-destination 10.10.0.6:53
-A VNETCFG_PRE -p tcp -m tcp --dport 8080 -m addrtype --dst-type LOCAL -m comment --comment "vnetcfg:p1/net1 #HASH" -j DNAT --to-destination 10.10.0.5:80
COMMIT
EOF
save_masked -t filter >"$TMP/filter.got"
save_masked -t nat >"$TMP/nat.got"
diff -u "$TMP/filter.want" "$TMP/filter.got" >&2 || fail "filter table differs from the expected text (diff above)"
diff -u "$TMP/nat.want" "$TMP/nat.got" >&2 || fail "nat table differs from the expected text (diff above)"
ok "one run: chains, jumps first in the builtin chains, FWD order FWX FWO FWI FWA, every rule kind exact"

# Inserted rules come first (latest first), REJECT/MASQUERADE are appended (in order).
assert_eq "$(save -t filter | grep -m1 '^-A INPUT ')" "-A INPUT -j VNETCFG_INP" "first rule of INPUT"
assert_eq "$(save -t filter | grep -m1 '^-A FORWARD ')" "-A FORWARD -j VNETCFG_FWD" "first rule of FORWARD"
assert_eq "$(save -t nat | grep -m1 '^-A POSTROUTING ')" "-A POSTROUTING -j VNETCFG_POST" "first rule of nat POSTROUTING"
assert_eq "$(save -t filter | grep -c -- '-j VNETCFG_')" 7 "jumps to vnetcfg chains in filter"
ok "exactly one jump per chain"

# vnc_fw_rule_render must print each rule exactly as iptables-legacy-save does.
fwc render p1 >"$TMP/rendered"
assert_eq "$(wc -l <"$TMP/rendered")" 19 "rendered rules"
while IFS= read -r line; do
        case "$line" in
        "-t nat "*) table=nat text=${line#-t nat } ;;
        *) table=filter text=$line ;;
        esac
        n=$(save -t "$table" | grep -cxF -- "$text") || true
        [ "$n" = 1 ] || fail "rendered rule found $n times in table $table: $line"
done <"$TMP/rendered"
ok "vnc_fw_rule_render text == iptables-legacy-save text for all 19 rules"

# ---- idempotence ----
save >"$TMP/fw.applied"
fwc apply p1
save >"$TMP/fw.again"
cmp -s "$TMP/fw.applied" "$TMP/fw.again" || fail "second identical run changed the tables:
$(diff -u "$TMP/fw.applied" "$TMP/fw.again")"
ok "second identical run: iptables-legacy-save byte-identical"

# ---- live read ----
fwc live p1
assert_eq "$(fwc live-bits)" "available=1 chains=0x3ff rules=19" "live bits after apply"
# The check itself can fail: p2 is not applied.
if "$FWC" live p1 p2 2>/dev/null; then fail "fw-check live accepted a rule that is not there"; fi
ok "live read: exactly the 19 rules, all 10 chain bits (and a missing rule is noticed)"

# ---- drift: a lost jump and a broken FWD order are repaired ----
iptables-legacy -D FORWARD -j VNETCFG_FWD
iptables-legacy -D VNETCFG_FWD -j VNETCFG_FWO
iptables-legacy -t nat -I OUTPUT -j VNETCFG_NOUT   # a duplicate jump
iptables-legacy -I INPUT -p tcp --dport 80 -j ACCEPT # a foreign rule lands above our jump
assert_eq "$(fwc live-bits)" "available=1 chains=0x3eb rules=19" "live bits with two jumps missing"
fwc apply p1
assert_eq "$(save -t filter | grep '^-A INPUT ' | head -2 | tr '\n' '|')" \
        "-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT|-A INPUT -j VNETCFG_INP|" "INPUT after repair"
iptables-legacy -D INPUT -p tcp --dport 80 -j ACCEPT
assert_eq "$(fwc live-bits)" "available=1 chains=0x3ff rules=19" "live bits after repair"
save >"$TMP/fw.repaired"
cmp -s "$TMP/fw.applied" "$TMP/fw.repaired" || fail "repair did not restore the tables:
$(diff -u "$TMP/fw.applied" "$TMP/fw.repaired")"
ok "drift repaired: missing jumps back (first), FWD order rebuilt, duplicate jump removed; foreign rule kept where it was"

# ---- shared chains: another profile's rule keeps them ----
fwc apply p2
fwc live p1 p2
fwc undo p1
# p2 has filter rules only: the nat chains went, the filter chains stay.
assert_eq "$(fwc live-bits)" "available=1 chains=0x7f rules=1" "live bits after undoing p1 with p2 applied"
assert_eq "$(save -t nat | grep -c VNETCFG_)" 0 "vnetcfg nat chains after undoing p1"
fwc live --bits=0x7f p2
n=$(save -t filter | grep -c 'vnetcfg:p1/') || true
assert_eq "$n" 1 "p1 rules left in filter (only the foreign OUTPUT one)"
fwc undo p1 # again: everything already absent
fwc undo p2
save >"$TMP/fw.undone"
cmp -s "$TMP/fw.before" "$TMP/fw.undone" || fail "undo did not restore the tables byte-identical:
$(diff -u "$TMP/fw.before" "$TMP/fw.undone")"
assert_eq "$(fwc live-bits)" "available=1 chains=0x0 rules=0" "live bits after undo"
ok "filter chains kept while p2 has a rule there, nat chains removed; undo twice is fine; final undo restores iptables-legacy-save byte-identical"

# ---- a rule that is not vnetcfg's, inside a vnetcfg chain, keeps the chains ----
fwc apply p1
iptables-legacy -A VNETCFG_INP -s 203.0.113.9/32 -j ACCEPT
fwc undo p1
assert_eq "$(save -t filter | grep -c '^:VNETCFG_')" 7 "vnetcfg filter chains kept"
assert_eq "$(save -t filter | grep '^-A VNETCFG_INP')" "-A VNETCFG_INP -s 203.0.113.9/32 -j ACCEPT" "foreign rule in VNETCFG_INP"
assert_eq "$(save -t nat | grep -c '^:VNETCFG_')" 0 "vnetcfg nat chains removed"
iptables-legacy -D VNETCFG_INP -s 203.0.113.9/32 -j ACCEPT
fwc chains delete filter
cmp -s "$TMP/fw.before" <(save) || fail "chains delete did not restore the tables"
ok "a foreign rule in a vnetcfg chain keeps the chains (and is kept); chains delete removes them once empty"

# ---- failures commit nothing of the failing table ----
out=$(fwc fail-early)
echo "  $out"
cmp -s "$TMP/fw.before" <(save) || fail "a refused rule left changes:
$(diff -u "$TMP/fw.before" <(save))"
ok "an invalid rule mid-table (DNAT in filter): error names the rule, nothing committed, done 0"

save -t nat >"$TMP/nat.before"
out=$(fwc fail-commit)
echo "  $out"
cmp -s "$TMP/nat.before" <(save -t nat) || fail "the refused nat table was changed:
$(diff -u "$TMP/nat.before" <(save -t nat))"
assert_eq "$(save -t filter | grep -c 'vnetcfg:p1/net1')" 14 "filter rules committed before the nat failure (13 + the foreign one)"
fwc undo p1
cmp -s "$TMP/fw.before" <(save) || fail "undo after the failed run did not restore the tables"
ok "the kernel refuses the nat table (MASQUERADE from PREROUTING): nat untouched, filter committed, done = filter actions"

# ---- the xtables lock: a run waits for its holder ----
flock "$XTABLES_LOCKFILE" sleep 1 &
holder=$!
defer "kill $holder"
sleep 0.2
t0=$(date +%s%N)
fwc apply p2
t1=$(date +%s%N)
wait "$holder"
waited=$(((t1 - t0) / 1000000))
[ "$waited" -ge 600 ] || fail "the run did not wait for the xtables lock (took $waited ms)"
fwc undo p2
cmp -s "$TMP/fw.before" <(save) || fail "undo after the lock test did not restore the tables"
ok "a run waits for iptables' xtables lock ($waited ms) and then succeeds"

# ---- scale: 2000 rules in one run, one commit per table ----
out=$(fwc bench 2000)
echo "  $out"
ms=$(echo "$out" | sed -E 's/.*: apply ([0-9.]+) ms.*/\1/')
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < 1000 else 1)" "$ms" ||
        fail "2000 rules took $ms ms (one commit per table should take far less than a second)"
cmp -s "$TMP/fw.before" <(save) || fail "bench undo did not restore the tables"
ok "2000 rules applied in one run in $ms ms, undone to the byte-identical snapshot"

echo "test-firewall: $TESTS_RUN checks passed"
