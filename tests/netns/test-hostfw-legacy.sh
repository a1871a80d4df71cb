#!/usr/bin/env bash
# vnetcfg with firewall.backend nftables beside an administrator's iptables-legacy rules
# (SPEC section 4: "an admin's legacy rules"). A packet must be accepted by the base chains
# of every table on its hook, so vnetcfg's accepts in its own nftables table cannot pass the
# legacy filter table's FORWARD DROP policy nor the admin's catch-all INPUT DROP: vnetcfg
# puts its marked openings at the top of the legacy filter INPUT/FORWARD through libiptc.
# The policy stays DROP, the admin's rules stay where they are; rollback removes exactly
# the openings; after the admin restores the saved rules (dropping them), status shows the
# drift and one apply repairs it. Topology and flow: see hostfw-lib.sh.
. "$(dirname "$0")/hostfw-lib.sh"

command -v iptables-legacy >/dev/null || fail "iptables-legacy is not installed"
hf_topology
# The profile of hostfw-lib.sh with the nftables backend: vnetcfg's own rules are not in
# the legacy tables, so only openings can let its traffic past the admin's.
sed -i 's/"name": "hf", /"name": "hf", "firewall": {"backend": "nftables"}, /' "$TMP/hf.json"
grep -q '"backend": "nftables"' "$TMP/hf.json" || fail "could not set the nftables backend"

# The admin's legacy rules: FORWARD policy DROP, and INPUT that lets in loopback and ssh,
# then drops everything else (DHCP and DNS from the guests included).
iptables-legacy -P FORWARD DROP
iptables-legacy -A INPUT -i lo -j ACCEPT
iptables-legacy -A INPUT -p tcp --dport 22 -j ACCEPT
iptables-legacy -A INPUT -j DROP
iptables-legacy-save -t filter >"$TMP/admin.rules"
iptables-legacy -S >"$TMP/admin.S"
ok "the admin's legacy rules: FORWARD policy DROP, a catch-all INPUT DROP"

HF_NAME=iptables-legacy
hf_openings() {
        iptables-legacy -S 2>&1 | grep 'vnetcfg:' || true
}
hf_drop_openings() {
        iptables-legacy -S | grep 'vnetcfg:' | sed 's/^-A/-D/' | while read -r rule; do eval "iptables-legacy $rule"; done
}
hf_foreign() { # file: the admin's rules, without vnetcfg's marked ones, in their order
        iptables-legacy-save 2>/dev/null | grep -v '^#' | grep -v 'vnetcfg:' | sed 's/\[[0-9:]*\]//' >"$1"
}
hf_no_unsupported() {
        ! iptables-legacy-save 2>&1 | grep -qi 'unsupported' ||
                fail "iptables-legacy cannot read a rule: $(iptables-legacy-save 2>&1 | grep -i unsupported)"
}
# Every marked opening comes before the first rule of the admin's in that chain.
hf_above_admin() { # chain
        local first_mark last_mark first_admin
        iptables-legacy -S "$1" | grep -n '^-A' >"$TMP/chain.$1"
        first_admin=$(grep -v 'vnetcfg:' "$TMP/chain.$1" | head -1 | cut -d: -f1)
        last_mark=$(grep 'vnetcfg:' "$TMP/chain.$1" | tail -1 | cut -d: -f1)
        first_mark=$(grep 'vnetcfg:' "$TMP/chain.$1" | head -1 | cut -d: -f1)
        [ -n "$first_mark" ] || fail "no opening in $1: $(cat "$TMP/chain.$1")"
        [ "$first_mark" = 2 ] || fail "the openings are not at the top of $1: $(cat "$TMP/chain.$1")"
        [ -z "$first_admin" ] || [ "$last_mark" -lt "$first_admin" ] ||
                fail "an opening is below the admin's rules in $1: $(cat "$TMP/chain.$1")"
}
hf_check_openings() {
        hf_expect_dhcp_input "$1"
        hf_expect_egress "$1"
        hf_expect_contained "$1"
        hf_expect_no_isolated_input "$1"
        hf_above_admin INPUT
        hf_above_admin FORWARD
        assert_eq "$(iptables-legacy -S FORWARD | head -1)" "-P FORWARD DROP" "the admin's FORWARD policy"
        assert_eq "$(iptables-legacy -S INPUT | head -1)" "-P INPUT ACCEPT" "the admin's INPUT policy"
        assert_eq "$(iptables-legacy -S | grep -v 'vnetcfg:')" "$(cat "$TMP/admin.S")" "the admin's rules, in order"
        ! iptables-legacy-save | grep -q 'VNETCFG_' || fail "vnetcfg's own chains are in the legacy tables"
        nft list table ip vnetcfg >/dev/null 2>&1 || fail "vnetcfg's nftables table is missing"
}
# The admin restores the saved rules (as a boot-time iptables-restore would): the openings go.
hf_reload() {
        iptables-legacy-restore <"$TMP/admin.rules" || fail "iptables-legacy-restore failed"
}
hf_flow
assert_eq "$(iptables-legacy -S)" "$(cat "$TMP/admin.S")" "the admin's legacy rules at the end"
ok "iptables-legacy: the admin's rules and policies are as they were"
