#!/usr/bin/env bash
# vnetcfg beside a real ufw (SPEC section 4, "Living with the host's firewall").
# ufw runs in this test's sandbox on copies of /etc/ufw and /etc/default/ufw;
# Debian's iptables is iptables-nft, so its DROP policies on INPUT and FORWARD
# live in nftables "table ip filter". Topology: see hostfw-lib.sh.
. "$(dirname "$0")/hostfw-lib.sh"

command -v ufw >/dev/null || fail "ufw is not installed (scripts/install-deps.sh installs it)"
hf_private_etc /etc/ufw
hf_private_etc /etc/default/ufw
hf_topology
ufw allow 22/tcp >/dev/null
ufw --force enable >/dev/null || fail "ufw enable failed"
assert_eq "$(iptables -S FORWARD | head -1)" "-P FORWARD DROP" "ufw's FORWARD policy"
assert_eq "$(iptables -S INPUT | head -1)" "-P INPUT DROP" "ufw's INPUT policy"
assert_eq "$(cat /proc/sys/net/ipv4/conf/all/accept_redirects)" 0 "ufw's accept_redirects"
ok "ufw enabled in the sandbox (INPUT and FORWARD policy DROP, accept_redirects=0)"

HF_NAME=ufw
hf_check_openings() {
        hf_expect_dhcp_input "$1"
        hf_expect_egress "$1"
        hf_expect_contained "$1"
        grep -q -- '-A INPUT -i vn-ho -p udp -m udp --dport 67' "$1" || fail "host-only's DHCP not opened"
        hf_expect_no_isolated_input "$1"
        # At the top: before ufw's first jump.
        iptables -S FORWARD | sed -n 2p | grep -q 'vnetcfg:' || fail "openings are not at the top of FORWARD"
        iptables -S INPUT | sed -n 2p | grep -q 'vnetcfg:' || fail "openings are not at the top of INPUT"
}
hf_reload() {
        ufw reload >/dev/null || fail "ufw reload failed"
}
hf_flow
