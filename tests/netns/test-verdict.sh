#!/usr/bin/env bash
# vnc_fw_evaluate (backends/fw-verdict.c) against real rule sets: iptables-legacy
# (x_tables) and nf_tables, each case from empty tables, with the exact verdict,
# the rule named as evidence, and the fix run to show the flow then passes.
# Topology: none needed; the flows are described to the evaluator (hook,
# interfaces, addresses), the rules are real kernel rules in this sandbox.
# vnetcfg's own chains come from a real apply of a host-only profile.
. "$(dirname "$0")/lib.sh"

VC=${VERDICT_CHECK:-$(dirname "$VNETCFG")/tests/verdict-check}
[ -x "$VC" ] || fail "verdict-check not found at $VC (set VERDICT_CHECK)"

reset_fw() {
        local t c
        for t in filter nat; do
                iptables-legacy -t "$t" -F
                iptables-legacy -t "$t" -X
        done
        for c in INPUT OUTPUT FORWARD; do iptables-legacy -P "$c" ACCEPT; done
        nft flush ruleset
}
defer reset_fw

# Evaluate a flow: sets VERDICT, EVIDENCE, FIX.
ev() {
        local out
        out=$("$VC" "$@") || fail "verdict-check $* failed"
        VERDICT=$(sed -n 's/^verdict: //p' <<<"$out")
        EVIDENCE=$(sed -n 's/^evidence: //p' <<<"$out")
        FIX=$(sed -n 's/^fix: //p' <<<"$out")
}
# expect VERDICT "evidence substring" FLOW...
expect() {
        local want=$1 sub=$2
        shift 2
        ev "$@"
        [ "$VERDICT" = "$want" ] || fail "$*: verdict $VERDICT, expected $want (evidence: $EVIDENCE)"
        [[ "$EVIDENCE" == *"$sub"* ]] || fail "$*: evidence \"$EVIDENCE\" lacks \"$sub\""
}
# The last FIX must be exactly this, and after running it the flow must get the verdict wanted.
fix_gives() { # "exact fix" verdict FLOW...
        local fix=$FIX want_fix=$1 want=$2
        shift 2
        [ -z "$want_fix" ] || [ "$fix" = "$want_fix" ] || fail "$*: fix \"$fix\", expected \"$want_fix\""
        [ "$fix" != - ] || fail "$*: no fix given"
        bash -c "$fix" || fail "fix \"$fix\" failed"
        ev "$@"
        [ "$VERDICT" = "$want" ] || fail "$*: after \"$fix\": $VERDICT, expected $want ($EVIDENCE)"
}

PING_IN=(INPUT in=vn-a src=10.10.0.5 dst=10.10.0.1 proto=icmp type=8)
PING_FWD=(FORWARD in=vn-a out=eth0 src=10.10.0.5 dst=192.0.2.2 proto=icmp type=8)
TCP_FWD=(FORWARD in=vn-a out=eth0 src=10.10.0.5 dst=192.0.2.2 proto=tcp dport=443)

reset_fw
expect ACCEPT "" "${PING_IN[@]}"
[ "$FIX" = - ] || fail "an accepted flow needs no fix: $FIX"
expect ACCEPT "" "${PING_FWD[@]}"
expect NO_NAT "no masquerade or SNAT for 10.10.0.5 out of eth0" POSTROUTING in=vn-a out=eth0 src=10.10.0.5 dst=192.0.2.2 proto=icmp type=8
ok "empty rule sets: ACCEPT, no NAT"

reset_fw
iptables-legacy -A INPUT -i lo -j ACCEPT
iptables-legacy -A INPUT -p icmp -j DROP
expect DROP "iptables-legacy: filter INPUT rule 2: -A INPUT -p icmp -j DROP" "${PING_IN[@]}"
expect ACCEPT "" INPUT in=vn-a src=10.10.0.5 dst=10.10.0.1 proto=tcp dport=22
ev "${PING_IN[@]}"
fix_gives "iptables-legacy -D INPUT 2" ACCEPT "${PING_IN[@]}"
ok "legacy INPUT -p icmp -j DROP: DROP naming rule 2; -D INPUT 2 lets echo in"

reset_fw
iptables-legacy -P FORWARD DROP
iptables-legacy -A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
expect DROP "iptables-legacy: filter FORWARD policy DROP" "${PING_FWD[@]}"
[[ "$FIX" == "iptables-legacy -I FORWARD 1 -i vn-a -o eth0 -s 10.10.0.5/32 -d 192.0.2.2/32 -p icmp --icmp-type 8 -j ACCEPT" ]] ||
        fail "policy fix: $FIX"
expect ACCEPT "-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT" "${PING_FWD[@]}" established
ev "${PING_FWD[@]}"
fix_gives "" ACCEPT "${PING_FWD[@]}"
ok "legacy FORWARD policy DROP: DROP naming the policy; replies pass by ctstate; the inserted accept works"

reset_fw
iptables-legacy -N GUARD
iptables-legacy -A FORWARD -i vn+ -j GUARD
iptables-legacy -A FORWARD -j ACCEPT
iptables-legacy -A GUARD -s 10.10.0.0/24 -j RETURN
iptables-legacy -A GUARD -p tcp --dport 443 -j ACCEPT
iptables-legacy -A GUARD -j DROP
expect ACCEPT "iptables-legacy: filter FORWARD rule 2: -A FORWARD -j ACCEPT" "${PING_FWD[@]}"
OTHER=(FORWARD in=vn-b out=eth0 src=10.20.0.5 dst=192.0.2.2 proto=icmp type=8)
expect DROP "iptables-legacy: filter GUARD rule 3: -A GUARD -j DROP" "${OTHER[@]}"
expect ACCEPT "iptables-legacy: filter GUARD rule 2: -A GUARD -p tcp -m tcp --dport 443 -j ACCEPT" FORWARD in=vn-b out=eth0 src=10.20.0.5 dst=192.0.2.2 proto=tcp dport=443
expect ACCEPT "-A FORWARD -j ACCEPT" FORWARD in=eth1 out=eth0 src=10.20.0.5 dst=192.0.2.2 proto=icmp type=8
ev "${OTHER[@]}"
fix_gives "iptables-legacy -D GUARD 3" ACCEPT "${OTHER[@]}"
# A goto: the end of the chain gone to is the end of FORWARD (its policy).
reset_fw
iptables-legacy -N GUARD
iptables-legacy -P FORWARD DROP
iptables-legacy -A FORWARD -i vn-a -g GUARD
iptables-legacy -A FORWARD -j ACCEPT
iptables-legacy -A GUARD -s 10.20.0.0/24 -j ACCEPT
expect DROP "iptables-legacy: filter FORWARD policy DROP" "${PING_FWD[@]}"
ok "legacy user chains: jump, RETURN, ACCEPT and DROP paths; goto ends at the policy"

reset_fw
nft -f - <<'NFT'
table inet filter {
        chain forward {
                type filter hook forward priority filter; policy drop;
        }
}
NFT
expect DROP "nft: table inet filter chain forward: policy drop" "${PING_FWD[@]}"
[ "$FIX" = 'nft insert rule inet filter forward iifname "vn-a" oifname "eth0" ip saddr 10.10.0.5 ip daddr 192.0.2.2 icmp type echo-request accept' ] ||
        fail "nft policy fix: $FIX"
fix_gives "" ACCEPT "${PING_FWD[@]}"
expect DROP "policy drop" "${TCP_FWD[@]}"
fix_gives "" ACCEPT "${TCP_FWD[@]}"
ok "nft inet forward policy drop (Docker/firewalld style): DROP naming it; the inserted accept works"

reset_fw
nft -f - <<'NFT'
table ip filter {
        chain guests {
                type filter hook forward priority 0; policy accept;
                ct state established,related accept
                counter
                iifname "vn-a" oifname "eth0" ip saddr 10.10.0.0/24 tcp dport { 22, 80-90 } accept
                drop
        }
}
NFT
expect ACCEPT "ct state established,related accept" "${PING_FWD[@]}" established
expect DROP "nft: table ip filter chain guests: rule 'drop' (handle" "${PING_FWD[@]}"
[[ "$FIX" == "nft delete rule ip filter guests handle "* ]] || fail "nft drop fix: $FIX"
expect ACCEPT "tcp dport { 22, 80-90 } accept" FORWARD in=vn-a out=eth0 src=10.10.0.5 dst=192.0.2.2 proto=tcp dport=85
expect DROP "rule 'drop'" FORWARD in=vn-a out=eth0 src=10.10.0.5 dst=192.0.2.2 proto=tcp dport=91
expect DROP "rule 'drop'" FORWARD in=vn-a out=eth0 src=10.99.0.5 dst=192.0.2.2 proto=tcp dport=22
ev "${PING_FWD[@]}"
fix_gives "" ACCEPT "${PING_FWD[@]}"
ok "nft ct state established,related accept before a drop: replies ACCEPT, new flows DROP; sets, ranges, prefixes"

reset_fw
nft -f - <<'NFT'
table inet fw {
        chain input {
                type filter hook input priority 0; policy drop;
                iifname "vn-a" accept
                iifname "vn-*" icmp type echo-request drop
        }
}
NFT
expect ACCEPT "iifname \"vn-a\" accept" "${PING_IN[@]}"
expect DROP "iifname \"vn-*\" icmp type echo-request drop" INPUT in=vn-b src=10.20.0.5 dst=10.20.0.1 proto=icmp type=8
fix_gives "" ACCEPT INPUT in=vn-b src=10.20.0.5 dst=10.20.0.1 proto=icmp type=8
expect DROP "nft: table inet fw chain input: policy drop" INPUT in=vn-b src=10.20.0.5 dst=10.20.0.1 proto=udp dport=53
ok "nft iifname accept before a drop; wildcard names"

reset_fw
iptables-legacy -A FORWARD -i vn-a -j ACCEPT
nft -f - <<'NFT'
table ip filter {
        chain forward {
                type filter hook forward priority 0; policy accept;
                oifname "eth0" ip protocol icmp drop
        }
}
NFT
expect DROP "nft: table ip filter chain forward: rule 'oifname \"eth0\" ip protocol icmp drop'" "${PING_FWD[@]}"
[[ "$EVIDENCE" != *iptables-legacy* ]] || fail "the legacy accept is not the evidence: $EVIDENCE"
fix_gives "" ACCEPT "${PING_FWD[@]}"
# Both drop: both are named, and the fix is both commands.
reset_fw
iptables-legacy -A FORWARD -p icmp -j DROP
nft add table ip t
nft 'add chain ip t f { type filter hook forward priority 10; policy drop; }'
expect DROP "iptables-legacy: filter FORWARD rule 1: -A FORWARD -p icmp -j DROP [owner: the administrator]; also nft: table ip t chain f: policy drop [owner: the administrator]" "${PING_FWD[@]}"
fix_gives "" ACCEPT "${PING_FWD[@]}"
ok "an accept in legacy does not save a flow nft drops; both drops are named and fixed"

reset_fw
nft -f - <<'NFT'
table ip nat {
        chain postrouting {
                type nat hook postrouting priority srcnat; policy accept;
                ip saddr 10.10.0.0/24 oifname "eth0" masquerade
        }
}
NFT
expect NAT "nft: table ip nat chain postrouting: rule 'ip saddr 10.10.0.0/24 oifname \"eth0\" masquerade'" POSTROUTING in=vn-a out=eth0 src=10.10.0.5 dst=192.0.2.2 proto=icmp type=8
expect NO_NAT "no masquerade or SNAT for 10.10.0.5 out of eth1" POSTROUTING in=vn-a out=eth1 src=10.10.0.5 dst=192.0.2.2 proto=icmp type=8
fix_gives "" NAT POSTROUTING in=vn-a out=eth1 src=10.10.0.5 dst=192.0.2.2 proto=icmp type=8
ok "nft masquerade in a nat postrouting chain: NAT; another uplink NO_NAT until the fix"

reset_fw
iptables-legacy -t nat -A POSTROUTING -s 10.10.0.0/24 -d 224.0.0.0/24 -j RETURN
iptables-legacy -t nat -A POSTROUTING -s 10.10.0.0/24 -o eth0 -j MASQUERADE
expect NAT "iptables-legacy: nat POSTROUTING rule 2: -A POSTROUTING -s 10.10.0.0/24 -o eth0 -j MASQUERADE" POSTROUTING in=vn-a out=eth0 src=10.10.0.5 dst=192.0.2.2 proto=udp dport=53
expect NO_NAT "no masquerade or SNAT for 10.20.0.5 out of eth0" POSTROUTING in=vn-b out=eth0 src=10.20.0.5 dst=192.0.2.2 proto=udp dport=53
[ "$FIX" = "iptables-legacy -t nat -I POSTROUTING 1 -o eth0 -s 10.20.0.5/32 -j MASQUERADE" ] || fail "nat fix: $FIX"
fix_gives "" NAT POSTROUTING in=vn-b out=eth0 src=10.20.0.5 dst=192.0.2.2 proto=udp dport=53
expect NO_NAT "" POSTROUTING in=vn-a out=eth0 src=10.10.0.5 dst=224.0.0.251 proto=udp dport=5353
ok "legacy MASQUERADE -s subnet -o eth0: NAT for it, NO_NAT for another subnet until the fix; RETURN exemptions"

reset_fw
iptables-legacy -A INPUT -m mark --mark 1 -j DROP
iptables-legacy -A INPUT -p icmp -j ACCEPT
expect UNKNOWN "iptables-legacy: filter INPUT rule 1: -A INPUT -m mark --mark 0x1 -j DROP: the mark match cannot be decided" "${PING_IN[@]}"
[ "$FIX" = - ] || fail "no fix for an undecidable rule: $FIX"
# When both ways end the same, the undecidable rule does not matter.
iptables-legacy -P INPUT DROP
iptables-legacy -D INPUT 2
expect DROP "iptables-legacy: filter INPUT policy DROP" "${PING_IN[@]}"
reset_fw
nft -f - <<'NFT'
table inet filter {
        chain input {
                type filter hook input priority 0; policy accept;
                meta mark 1 drop
                icmp type echo-request accept
        }
}
NFT
expect UNKNOWN "nft: table inet filter chain input: rule 'meta mark 0x00000001 drop'" "${PING_IN[@]}"
# A drop elsewhere decides whatever the undecidable rule does.
iptables-legacy -A INPUT -p icmp -j DROP
expect DROP "iptables-legacy: filter INPUT rule 1: -A INPUT -p icmp -j DROP" "${PING_IN[@]}"
ok "undecidable matches (mark) before the deciding rule: UNKNOWN naming them, unless both ways agree"

# Docker's way: iptables-nft (the host's "iptables") sets FORWARD policy DROP in nf_tables.
reset_fw
iptables-nft -P FORWARD DROP
iptables-nft -A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
iptables-nft -A FORWARD -o eth0 -p tcp --dport 443 -m comment --comment "web out" -j ACCEPT
iptables-nft -A FORWARD -o eth0 -p udp --dport 53 -m conntrack --ctstate NEW -j ACCEPT
expect DROP "nft: table ip filter chain FORWARD: policy drop" "${PING_FWD[@]}"
fix_gives "" ACCEPT "${PING_FWD[@]}"
expect ACCEPT "nft: table ip filter chain FORWARD: rule 'oifname \"eth0\" tcp dport 443 counter accept'" "${TCP_FWD[@]}"
# iptables-nft keeps -m conntrack as an xt expression, whose data the JSON does not show: nft's text
# (libxtables) decodes it, so the state is decided per flow.
expect ACCEPT "oifname \"eth0\" udp dport 53 ct state new counter accept" FORWARD in=vn-a out=eth0 src=10.10.0.5 dst=192.0.2.2 proto=udp dport=53
expect DROP "nft: table ip filter chain FORWARD: policy drop [owner: the administrator]" FORWARD in=vn-a out=eth0 src=10.10.0.5 dst=192.0.2.2 proto=udp dport=53 established
[ "$FIX" = "iptables -I FORWARD 1 -i vn-a -o eth0 -s 10.10.0.5/32 -d 192.0.2.2/32 -p udp --dport 53 -j ACCEPT" ] ||
        fail "an iptables-nft table's fix is an iptables command: $FIX"
# A rule of one's own that decides: deleted by its iptables rule number.
iptables-nft -I FORWARD 2 -o eth0 -p tcp --dport 443 -j DROP
expect DROP "rule 'oifname \"eth0\" tcp dport 443 counter drop'" "${TCP_FWD[@]}"
[ "$FIX" = "iptables -D FORWARD 2" ] || fail "delete by rule number: $FIX"
iptables-nft -F FORWARD
iptables-nft -P FORWARD ACCEPT
ok "iptables-nft (Docker's FORWARD policy DROP) is seen as nf_tables, rules, comments and conntrack decoded"

# vnetcfg's own nf_tables table (the nftables backend's "table ip vnetcfg"): its rules are named as
# vnetcfg's, and its accept does not save a flow another table's base chain drops.
reset_fw
nft -f - <<'NFT'
table ip vnetcfg {
        chain forward {
                type filter hook forward priority filter - 1; policy accept;
                iifname "vn-ho" reject comment "vnetcfg:vt/ho"
                iifname "vn-a" oifname "eth0" ip saddr 10.10.0.0/24 accept comment "vnetcfg:vt/a"
        }
}
table inet other {
        chain forward {
                type filter hook forward priority filter; policy drop;
        }
}
NFT
expect DROP "nft: table ip vnetcfg chain forward: rule 'iifname \"vn-ho\" reject comment \"vnetcfg:vt/ho\"' (handle" FORWARD in=vn-ho out=eth0 src=10.30.0.10 dst=192.0.2.2 proto=tcp dport=443
[[ "$EVIDENCE" == *"[owner: vnetcfg]"* ]] || fail "vnetcfg's nft rule named as its own: $EVIDENCE"
[[ "$FIX" == "vnetcfg apply vt.json  # the rule is vnetcfg's own (vnetcfg:vt/ho)"* ]] || fail "fix for vnetcfg's nft rule: $FIX"
expect DROP "nft: table inet other chain forward: policy drop [owner: the administrator]" "${TCP_FWD[@]}"
[[ "$EVIDENCE" != *"table ip vnetcfg"* ]] || fail "vnetcfg's accept is not what drops: $EVIDENCE"
nft delete table inet other
expect ACCEPT "nft: table ip vnetcfg chain forward: rule 'iifname \"vn-a\" oifname \"eth0\" ip saddr 10.10.0.0/24 accept" "${TCP_FWD[@]}"
ok "vnetcfg's own nft table: its reject named as vnetcfg's with vnetcfg's fix; its accept cannot pass another table's drop"

# libvirt's chains (iptables-nft, as libvirt on Debian 12 writes them): a reject there is libvirt's.
reset_fw
iptables-nft -N LIBVIRT_FWO
iptables-nft -A FORWARD -j LIBVIRT_FWO
iptables-nft -A LIBVIRT_FWO -i vn-a -j REJECT --reject-with icmp-port-unreachable
expect DROP "nft: table ip filter chain LIBVIRT_FWO: rule 'iifname \"vn-a\" counter reject' (handle" "${TCP_FWD[@]}"
[[ "$EVIDENCE" == *"[owner: libvirt]"* ]] || fail "libvirt's rule: $EVIDENCE"
iptables-nft -F FORWARD
iptables-nft -F LIBVIRT_FWO
iptables-nft -X LIBVIRT_FWO
ok "libvirt's LIBVIRT_FWO reject (iptables-nft, REJECT decoded from nft's text) is named as libvirt's"

# A rule set that cannot be read is no ACCEPT.
reset_fw
ev "${PING_IN[@]}"
[ "$VERDICT" = ACCEPT ] || fail "root sees both rule sets: $VERDICT ($EVIDENCE)"
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$VC" "${PING_IN[@]}" 2>"$TMP/unpriv.err") ||
        fail "verdict-check without privileges failed: $(cat "$TMP/unpriv.err")"
[[ "$out" == *"verdict: UNKNOWN"*"cannot tell: "*"nft not read: "*"Operation not permitted"* ]] ||
        fail "unprivileged: $out"
[ ! -s "$TMP/unpriv.err" ] || fail "the library printed on stderr: $(cat "$TMP/unpriv.err")"
ok "unreadable rule sets: UNKNOWN saying which and why, nothing on stderr"

# vnetcfg's own chains, from a real apply.
reset_fw
iptables-legacy -P INPUT DROP
iptables-legacy -P OUTPUT DROP
iptables-legacy -P FORWARD DROP
cat >"$TMP/ho.json" <<'JSON'
{
  "version": 1,
  "name": "vt",
  "firewall": {"backend": "iptables"},
  "libvirt": {"define": false},
  "networks": [{"name": "ho", "mode": "host-only", "ipv4": {"address": "10.30.0.1/24"}}]
}
JSON
expect_rc 0 apply "$TMP/ho.json"
defer "'$VNETCFG' --state-dir '$STATE' rollback vt"
expect ACCEPT "iptables-legacy: filter VNETCFG_INP rule" INPUT in=vn-ho src=10.30.0.10 dst=10.30.0.1 proto=icmp type=8
expect ACCEPT "iptables-legacy: filter VNETCFG_OUT rule" OUTPUT out=vn-ho src=10.30.0.1 dst=10.30.0.10 proto=icmp type=8
expect DROP "iptables-legacy: filter VNETCFG_FWO rule" FORWARD in=vn-ho out=uplink0 src=10.30.0.10 dst=192.0.2.2 proto=icmp type=8
[[ "$EVIDENCE" == *"-i vn-ho"*"--comment \"vnetcfg:vt/ho"*"-j REJECT --reject-with icmp-port-unreachable"* ]] ||
        fail "vnetcfg's reject rule as iptables-legacy-save prints it: $EVIDENCE"
[[ "$EVIDENCE" == *" [owner: vnetcfg]" ]] || fail "vnetcfg's rule is named as its own: $EVIDENCE"
[[ "$FIX" == "vnetcfg apply vt.json  # the rule is vnetcfg's own (vnetcfg:vt/ho"* ]] || fail "vnetcfg's rule: fix $FIX"
rule=${EVIDENCE% \[owner: vnetcfg\]}
grep -qF -- "${rule#*: -A }" <(iptables-legacy-save | sed 's/^-A //') ||
        fail "the evidence is not the rule as iptables-legacy-save prints it: $EVIDENCE"
expect DROP "policy DROP" INPUT in=vn-ho src=10.30.0.10 dst=10.30.0.1 proto=tcp dport=22
ok "vnetcfg's own chains: echo into INPUT/OUTPUT accepted through DROP policies; host-only FORWARD rejected by its rule"

# A name that is neither an applied profile nor a bridge: doctor says it is not applied (exit 2),
# rather than diagnosing a missing bridge.
# (NOSUCH is no valid profile name either; nosuch is one that is not applied.)
for name in NOSUCH nosuch; do
        ! ip link show "$name" >/dev/null 2>&1 || fail "a link named $name exists"
        expect_rc 2 doctor "$name"
        [[ "$ERR" == *"\"$name\": not an applied profile"* || "$ERR" == *"\"$name\": no profile of that name is applied"* ]] ||
                fail "doctor $name did not say it is not applied: $ERR"
        [[ "$OUT$ERR" != *bridge-missing* ]] || fail "doctor $name looked for a bridge: $OUT $ERR"
done
ok "doctor NOSUCH / nosuch (neither an applied profile nor a bridge): exit 2, says it is not applied"

echo "all $TESTS_RUN verdict checks passed"
