#!/usr/bin/env bash
# How the vnetcfg-*.nft rulesets in this directory were made: the real vnetcfg
# applies a case's profile inside a throwaway sandbox (network, mount and PID
# namespaces: the root namespace is never touched, the dnsmasq it starts ends
# with the sandbox), on a host shaped like the cases' host.txt (an uplink eth0
# with 192.168.1.10/24 and a default route via 192.168.1.1, forwarding off),
# and what it installed is saved:
#   nft -j list ruleset   > NAME.nft.json   (what test-doctor's evaluator reads)
#   nft -a list ruleset   > NAME.nft        (for people, and its rule texts)
# The firewall backend is the one vnetcfg picks here ("auto": this machine's
# iptables is iptables-nft, so vnetcfg's own nftables table).
#
# Run by hand, as root, from anywhere, with a built vnetcfg:
#   bash tests/record/doctor/capture.sh BUILD/vnetcfg CASE NAME
# e.g. capture.sh build/vnetcfg nat-healthy vnetcfg-nat
#      capture.sh build/vnetcfg nat-two-target-other vnetcfg-nat2
# then rerun test-doctor with VNC_REGENERATE=1 and review every diff of the cases' expected.
set -euo pipefail
vnetcfg=$(realpath "$1") case=$2 name=$3
here=$(dirname "$(realpath "$0")")
profile=$here/$case/profile.json
[ -f "$profile" ] || { echo "no $profile" >&2; exit 2; }
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
export W vnetcfg profile here name
PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH unshare -n -m -p -f --mount-proc --propagation private bash -euo pipefail -c '
mount -t tmpfs tmpfs /run
# A libvirt daemon of the machine is out of reach (profiles default to "define": "auto").
ip link set lo up
ip link add eth0 type veth peer name eth0-peer
ip addr add 192.168.1.10/24 dev eth0
ip link set eth0 up; ip link set eth0-peer up
ip route add default via 192.168.1.1 dev eth0
"$vnetcfg" --state-dir "$W/state" -q apply --no-verify "$profile"
nft -j list ruleset > "$here/$name.nft.json"
nft -a list ruleset > "$here/$name.nft"
"$vnetcfg" --state-dir "$W/state" -q rollback "$(jq -r .name "$profile")"
'
echo "captured $here/$name.nft and $here/$name.nft.json from $case/profile.json"
