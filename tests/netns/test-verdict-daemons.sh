#!/usr/bin/env bash
# doctor against real host firewalls: ufw, firewalld (with its own dbus-daemon)
# and dockerd, each started with its stock Debian defaults inside this test's
# own sandbox (network, mount and PID namespaces: every daemon ends with it;
# the machine's /etc is never written, copies are bind-mounted over it).
#
# Topology (one sandbox per firewall):
#   netns g: g0 10.10.0.10/24 --veth-- gp ] bridge vn-nat 10.10.0.1/24
#   sandbox: up0 192.0.2.1/24 --veth-- up1 192.0.2.2/24 (netns up, route back to 10.10.0.0/24)
# No vnetcfg apply: doctor (through tests/doctor-check, the vnc_doctor_run the
# CLI calls) judges the firewall as the daemon left it. For each firewall:
# forward-blocked (and input-blocked where DHCP/DNS is dropped) names the
# daemon as owner with the fix in its own tool; a TCP SYN from the guest is
# really dropped; running doctor's fixes makes the findings go and the SYN
# pass (answered by RST from up), so the verdict is the kernel's.
# ufw-legacy and docker-legacy: the same daemons on a host whose iptables is
# iptables-legacy (x_tables, read through libiptc): in the sandbox
# xtables-legacy-multi is bind-mounted over xtables-nft-multi.
set -u
if [ $# -eq 0 ]; then
        : "${VNETCFG:?VNETCFG must point at the vnetcfg binary}"
        for fw in ufw firewalld docker ufw-legacy docker-legacy; do
                echo "# $fw"
                unshare -n -m -p -f --mount-proc --propagation private -- env VNC_SANDBOXED=1 bash "$0" "$fw" ||
                        exit 1
        done
        echo "all firewalls passed"
        exit 0
fi
FW=${1%-legacy}
LEGACY=
[ "$1" = "$FW" ] || LEGACY=1
mount -t tmpfs tmpfs /run
. "$(dirname "$0")/lib.sh"

DC="${DOCTOR_CHECK:-$(dirname "$VNETCFG")/tests/doctor-check}"
[ -x "$DC" ] || fail "doctor-check not found at $DC"
W=$TMP/w
mkdir -p "$W"

ip netns add g
ip netns add up
ip link add vn-nat type bridge
ip addr add 10.10.0.1/24 dev vn-nat
ip link add gp type veth peer name g0 netns g
ip link set gp master vn-nat
ip link set gp up
ip link set vn-nat up
ip -n g addr add 10.10.0.10/24 dev g0
ip -n g link set g0 up
ip -n g link set lo up
ip -n g route add default via 10.10.0.1
ip link add up0 type veth peer name up1 netns up
ip addr add 192.0.2.1/24 dev up0
ip link set up0 up
ip -n up addr add 192.0.2.2/24 dev up1
ip -n up link set up1 up
ip -n up link set lo up
ip -n up route add 10.10.0.0/24 via 192.0.2.1
# Docker turns forwarding on itself (then sets FORWARD policy DROP), as on a stock host.
[ "$FW" = docker ] || sysctl -qw net.ipv4.ip_forward=1

cat >"$W/nat.json" <<'JSON'
{
  "version": 1,
  "name": "vd",
  "libvirt": {"define": false},
  "networks": [{"name": "nat", "mode": "nat", "bridge": "vn-nat",
                "ipv4": {"address": "10.10.0.1/24"},
                "dhcp": {"start": "10.10.0.100", "end": "10.10.0.199"},
                "nat": {"uplink": "up0"},
                "verify": {"targets": ["192.0.2.2"]}}]
}
JSON

if [ -n "$LEGACY" ]; then
        mount --bind /usr/sbin/xtables-legacy-multi /usr/sbin/xtables-nft-multi
        [[ "$(iptables -V)" == *legacy* ]] || fail "iptables is not iptables-legacy in the sandbox: $(iptables -V)"
fi
IPT=iptables
WHERE="nft: table ip filter chain"
[ "$FW" != firewalld ] || WHERE="nft: table inet firewalld chain"
[ -z "$LEGACY" ] || { IPT=iptables-legacy; WHERE="iptables-legacy: filter"; }

case $FW in
ufw)
        cp -a /etc/ufw "$W/etc-ufw"
        cp /etc/default/ufw "$W/default-ufw"
        mount --bind "$W/etc-ufw" /etc/ufw
        mount --bind "$W/default-ufw" /etc/default/ufw
        ufw allow 22/tcp >/dev/null || fail "ufw allow"
        ufw --force enable >/dev/null || fail "ufw enable"
        OWNER="[owner: ufw]"
        FWD_FIX="ufw route allow in on vn-nat out on up0"
        ;;
firewalld)
        cp -a /etc/firewalld "$W/etc-fwd"
        mount --bind "$W/etc-fwd" /etc/firewalld
        mkdir -p /run/dbus
        dbus-daemon --system --fork --nopidfile || fail "dbus-daemon"
        firewalld --nofork --nopid >"$W/firewalld.log" 2>&1 &
        for _ in $(seq 300); do firewall-cmd --state >/dev/null 2>&1 && break; sleep 0.2; done
        firewall-cmd --state >/dev/null 2>&1 || fail "firewalld did not start: $(tail -5 "$W/firewalld.log")"
        OWNER="[owner: firewalld, zone public]"
        FWD_FIX="firewall-cmd --zone=trusted --add-interface=vn-nat"
        ;;
docker)
        mount -t cgroup2 cgroup2 /sys/fs/cgroup
        mkdir -p /var/lib/docker /var/lib/containerd "$W/etc-docker"
        mount -t tmpfs tmpfs /var/lib/docker
        mount -t tmpfs tmpfs /var/lib/containerd
        mount --bind "$W/etc-docker" /etc/docker
        dockerd --iptables=true --storage-driver=vfs >"$W/dockerd.log" 2>&1 &
        for _ in $(seq 300); do docker info >/dev/null 2>&1 && break; sleep 0.2; done
        docker info >/dev/null 2>&1 || fail "dockerd did not start: $(tail -5 "$W/dockerd.log")"
        [ "$(sysctl -n net.ipv4.ip_forward)" = 1 ] || fail "dockerd did not turn forwarding on"
        OWNER="[owner: docker]"
        FWD_FIX="$IPT -I DOCKER-USER -i vn-nat -o up0 -j ACCEPT"
        ;;
*) fail "unknown firewall $FW" ;;
esac

# A TCP SYN from the guest to a closed port upstream: "refused" (RST came back) means forwarded both ways.
syn() {
        ip netns exec g timeout 5 bash -c ': >/dev/tcp/192.0.2.2/9' 2>&1 | grep -q "Connection refused"
}

doctor() {
        RC=0
        OUT=$("$DC" --profile "$W/nat.json" 2>"$W/dc.err") || RC=$?
        [ "$RC" = 0 ] || [ "$RC" = 3 ] || fail "doctor-check exited $RC: $(cat "$W/dc.err")"
}
# The line of a finding: code, and a substring of the line.
line_of() {
        grep "^$1 " <<<"$OUT" | grep -F -- "$2" | head -1
}

syn && fail "$FW: the guest's SYN passes before any fix: the firewall was expected to drop it"
doctor
[ "$RC" = 3 ] || fail "$FW: doctor exited $RC, expected 3:
$OUT"
! grep -q "cannot tell" <<<"$OUT" || fail "$1: \"cannot tell\" on a stock $1 host:
$OUT"
L=$(line_of forward-blocked "FORWARD drops new flows (TCP")
[ -n "$L" ] || fail "$FW: no forward-blocked for new TCP flows:
$OUT"
[[ "$L" == *"$OWNER"* ]] || fail "$FW: forward-blocked does not name $OWNER: $L"
[[ "$L" == *"| $FWD_FIX" ]] || fail "$FW: forward-blocked fix is not \"$FWD_FIX\": $L"
[[ "$L" == *"$WHERE"* ]] || fail "$1: the drop is not read from the rule set the daemon wrote ($WHERE): $L"
ok "$1: forward-blocked names the owner ($OWNER) and its fix \"$FWD_FIX\"; no \"cannot tell\""

case $FW in
ufw)
        L=$(line_of input-blocked "INPUT drops DHCP")
        [[ "$L" == *"ufw-skip-to-policy-input"*"[owner: ufw]"*"| ufw allow in on vn-nat to any port 67 proto udp" ]] ||
                fail "ufw: input-blocked for DHCP: ${L:-none}
$OUT"
        L=$(line_of input-blocked "INPUT drops DNS")
        [[ "$L" == *"INPUT"*"policy "[Dd][Rr][Oo][Pp]" [owner: ufw]"*"| ufw allow in on vn-nat to any port 53 proto udp" ]] ||
                fail "ufw: input-blocked for DNS: ${L:-none}"
        # ufw passes forwarded echo while it drops TCP: doctor says TCP, not ICMP.
        [[ "$(line_of forward-blocked "FORWARD drops new flows")" != *ICMP* ]] || fail "ufw passes forwarded echo"
        ok "ufw: input-blocked for DHCP and DNS, each with its ufw allow; forwarded echo passes, TCP does not"
        ;;
firewalld)
        L=$(line_of input-blocked "INPUT drops DHCP")
        [[ "$L" == *"chain filter_IN_public"*"[owner: firewalld, zone public]"*"| firewall-cmd --zone=trusted --add-interface=vn-nat" ]] ||
                fail "firewalld: input-blocked for DHCP: ${L:-none}
$OUT"
        ok "firewalld: input-blocked for DHCP names zone public"
        ;;
docker)
        L=$(line_of forward-blocked "FORWARD drops replies")
        [[ "$L" == *"[owner: docker]"*"| $IPT -I DOCKER-USER -i up0 -o vn-nat -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT" ]] ||
                fail "docker: replies: ${L:-none}
$OUT"
        [ -z "$(line_of input-blocked "")" ] || fail "docker drops nothing on INPUT: $OUT"
        ok "docker: replies blocked too, with the DOCKER-USER conntrack rule as fix; INPUT untouched"
        ;;
esac

# Run every fix doctor gave for the firewall findings, as a person would.
grep -E "^(forward-blocked|input-blocked) " <<<"$OUT" | sed 's/.*| //' | sort -u >"$W/fixes"
while read -r fix; do
        bash -c "$fix" >/dev/null || fail "$FW: fix \"$fix\" failed"
done <"$W/fixes"
doctor
! grep -qE "^(forward-blocked|input-blocked) " <<<"$OUT" || fail "$FW: after the fixes:
$OUT"
syn || fail "$FW: after doctor's fixes ($(tr '\n' ';' <"$W/fixes")) the guest's SYN still does not pass"
ok "$1: doctor's own fixes clear forward-blocked/input-blocked and the guest's TCP passes"
