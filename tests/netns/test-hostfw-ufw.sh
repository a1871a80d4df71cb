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
        grep -q -- '-A INPUT -i vn-hf -p udp -m udp --dport 67 -m comment --comment "vnetcfg:hf/n #' "$1" ||
                fail "no DHCP opening in INPUT: $(cat "$1")"
        grep -q -- '-A FORWARD -s 10.77.0.0/24 -i vn-hf -o uplink0 -m comment --comment "vnetcfg:hf/n #' "$1" ||
                fail "no egress opening in FORWARD: $(cat "$1")"
        # host-only and isolated: nothing forwarded beyond their own bridge; isolated: no INPUT.
        ! grep -- '-A FORWARD' "$1" | grep -E 'vn-(ho|iso)' | grep -vE -- '-i (vn-ho|vn-iso) -o (vn-ho|vn-iso) ' ||
                fail "host-only/isolated got forwarding opened"
        grep -q -- '-A INPUT -i vn-ho -p udp -m udp --dport 67' "$1" || fail "host-only's DHCP not opened"
        ! grep -q -- '-A INPUT.*vn-iso' "$1" || fail "isolated got an INPUT opening"
        # At the top: before ufw's first jump.
        iptables -S FORWARD | sed -n 2p | grep -q 'vnetcfg:' || fail "openings are not at the top of FORWARD"
        iptables -S INPUT | sed -n 2p | grep -q 'vnetcfg:' || fail "openings are not at the top of INPUT"
}
hf_reload() {
        ufw reload >/dev/null || fail "ufw reload failed"
}
hf_flow
