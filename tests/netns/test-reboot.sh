#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Reboots (SPEC section 3): the kernel objects vanish, the state dir stays.
# A reboot is simulated the way it leaves the host: the "host" is a network
# namespace, and rebooting replaces it by a fresh one, so every kernel object
# vnetcfg made (bridge, tap, address, route, firewall rules, sysctls) is gone
# behind its back, sysctls are at their boot values, and dnsmasq was killed
# (SIGKILL, no goodbye). The state dir (journal, lease file) survives. After the
# reboot, the unit's own command line (vnetcfg@.service ExecStart) re-applies.
#
#   g (guest, eth0 52:54:00:00:00:42) --veth-- g-p --+-- vn-rb 10.76.0.1/24 nat + DHCP, tap rb-t0
#                                                    |   (in host1, then in host2 after the reboot)
#   host1: boots with ip_forward 0        host2: boots with ip_forward 1 (the admin's sysctl.conf)
. "$(dirname "$0")/lib.sh"

UNIT=$(dirname "$VNETCFG")/systemd/vnetcfg@.service
[ -f "$UNIT" ] || fail "the configured unit is not at $UNIT"
command -v busybox >/dev/null || fail "busybox is not installed (apt-get install busybox-static)"
defer 'for f in "$STATE"/dnsmasq/*.pid; do kill -9 "$(cat "$f")"; done'

HOST=host1
H() { ip netns exec "$HOST" "$VNETCFG" --state-dir "$STATE" "$@"; }
HJ() { # python expression over d = the --json document of a vnetcfg command in $HOST
        local expr=$1
        shift
        H --json "$@" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$expr"
}
boot() { # NAME IP_FORWARD: a fresh host with a foreign uplink of its own
        ip netns add "$1"
        defer "ip netns del $1"
        ip -n "$1" link set lo up
        ip netns exec "$1" sysctl -qw net.ipv4.ip_forward="$2"
        ip -n "$1" link add up0 type veth peer name up1
        ip -n "$1" addr add 192.0.2.10/24 dev up0
        ip -n "$1" link set up0 up
        ip -n "$1" route add default via 192.0.2.1
        HOST=$1
}
plug_guest() { # GUEST MAC: the guest's port on the host's bridge (what libvirt does when the VM starts)
        ip link add "$1-p" netns "$HOST" type veth peer name eth0 netns "$1"
        ip -n "$1" link set eth0 address "$2" up
        ip -n "$HOST" link set "$1-p" master vn-rb up
}
cat >"$TMP/udhcpc.sh" <<'SH'
#!/bin/sh
# The guest configures the address it was given.
case $1 in
bound) busybox ip addr add "$ip/$mask" dev "$interface"; echo "$ip" >"$OUT" ;;
deconfig) busybox ip addr flush dev "$interface" ;;
esac
exit 0
SH
chmod +x "$TMP/udhcpc.sh"
dhcp() { # GUEST udhcpc-options...: the address the guest obtained in $LEASE
        local g=$1
        shift
        rm -f "$TMP/lease"
        ip netns exec "$g" env OUT="$TMP/lease" busybox udhcpc -i eth0 -n -q -t 10 -T 2 -s "$TMP/udhcpc.sh" "$@" \
                >/dev/null 2>&1 || fail "the guest got no lease (udhcpc $*)"
        LEASE=$(cat "$TMP/lease")
}

mkdir -p "$TMP/etc"
cat >"$TMP/etc/rb.json" <<'JSON'
{"version": 1, "name": "rb",
 "networks": [{"name": "rb", "mode": "nat", "ipv4": {"address": "10.76.0.1/24"},
               "dhcp": {"start": "10.76.0.100", "end": "10.76.0.199", "lease_seconds": 86400},
               "taps": [{"name": "rb-t0"}]}]}
JSON

for g in g g2; do
        ip netns add $g
        defer "ip netns del $g"
        ip -n $g link set lo up
done

# --- first boot: apply, a guest takes a lease -------------------------------------------
boot host1 0
expect_rc 0 --version # (the binary runs)
H apply "$TMP/etc/rb.json" >/dev/null || fail "apply on host1"
assert_eq "$(ip netns exec host1 sysctl -n net.ipv4.ip_forward)" 1 "ip_forward after apply"
plug_guest g 52:54:00:00:00:42
want=10.76.0.150
dhcp g -r "$want"
assert_eq "$LEASE" "$want" "the address the guest asked for"
assert_eq "$(HJ '[(l["mac"], l["ip"]) for l in d["leases"]]' leases rb)" "[('52:54:00:00:00:42', '$want')]" "leases before the reboot"
expiry=$(HJ 'd["leases"][0]["expiry"]' leases rb)
ok "host1: applied, the guest holds $want"

# --- the reboot ---------------------------------------------------------------------------
pid=$(cat "$STATE/dnsmasq/rb.pid")
kill -9 "$pid"
while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
ip netns del host1
boot host2 1
snap_host() { ip netns exec host2 bash -c "$(declare -f snap); TMP=$TMP STATE=$STATE VNC_SOURCE_DIR=$VNC_SOURCE_DIR snap $1"; }
snap_host boot
ok "rebooted: host1 and its dnsmasq are gone, host2 booted with ip_forward 1"

# status: the objects are missing, dnsmasq is not running, apply would re-create them.
assert_eq "$(HJ 'd["profiles"][0]["state"], sorted(o["state"] for n in d["profiles"][0]["networks"] for o in n["objects"]), d["profiles"][0]["dnsmasq"]' status rb)" \
        "('drift', ['missing', 'missing'], 'not running')" "status after the reboot"
H status rb >"$TMP/status.txt"
grep -q 'bridge *vn-rb *missing' "$TMP/status.txt" || fail "status does not list the bridge as missing: $(cat "$TMP/status.txt")"
grep -q 'vnetcfg apply' "$TMP/status.txt" || fail "status does not say that apply re-creates them: $(cat "$TMP/status.txt")"
ok "status lists the objects as missing and says apply re-creates them"

# The unit's ExecStart, as systemd runs it at boot.
line=$(sed -n 's/^ExecStart=//p' "$UNIT")
line=${line//%i/rb}
line=${line//\/etc\/vnetcfg\//$TMP/etc/}
read -r -a argv <<<"$line"
argv[0]=$VNETCFG
ip netns exec host2 env VNETCFG_STATE_DIR="$STATE" "${argv[@]}" >"$TMP/apply.out" 2>&1 ||
        fail "the unit's ExecStart failed after the reboot: $(cat "$TMP/apply.out")"
grep -q '^applied "rb": .* (generation 2)$' "$TMP/apply.out" || fail "not a new generation: $(cat "$TMP/apply.out")"
assert_eq "$(HJ 'd["profiles"][0]["state"], d["profiles"][0]["dnsmasq"], d["profiles"][0]["generation"]' status rb)" \
        "('ok', 'running', 2)" "status after the re-apply"
assert_eq "$(ip netns exec host2 cat /sys/class/net/rb-t0/master/ifindex)" "$(ip netns exec host2 cat /sys/class/net/vn-rb/ifindex)" "tap on the bridge"
ok "the unit's ExecStart re-creates everything as generation 2 and verifies it"

# The guest keeps its lease: listed before it asks again, refused to another guest that
# asks for that address (dnsmasq remembers whose it is), and handed back to the guest.
assert_eq "$(HJ '[(l["mac"], l["ip"], l["expiry"]) for l in d["leases"]]' leases rb)" "[('52:54:00:00:00:42', '$want', $expiry)]" "leases after the reboot"
plug_guest g2 52:54:00:00:00:43
dhcp g2 -r "$want"
[ "$LEASE" != "$want" ] || fail "another guest got $want, the address leased to 52:54:00:00:00:42"
other=$LEASE
plug_guest g 52:54:00:00:00:42
dhcp g
assert_eq "$LEASE" "$want" "the guest's address after the reboot"
assert_eq "$(HJ 'sorted((l["mac"], l["ip"]) for l in d["leases"])' leases rb)" \
        "[('52:54:00:00:00:42', '$want'), ('52:54:00:00:00:43', '$other')]" "leases after both guests asked"
ok "the guest keeps its lease ($want) across the reboot; another guest asking for it gets $other"

# rollback --all: exactly host2 as it booted (ip_forward stays 1: the value found at this boot).
ip -n host2 link del g-p # the guests stop first
ip -n host2 link del g2-p
H rollback --all rb >/dev/null || fail "rollback --all after the reboot"
snap_host after
sed -i '/^## state/,$d' "$TMP/snap.boot" "$TMP/snap.after"
same_snap boot after
assert_eq "$(ip netns exec host2 sysctl -n net.ipv4.ip_forward)" 1 "ip_forward after rollback --all"
[ -z "$(ls -A "$STATE/profiles" 2>/dev/null)" ] || fail "state left behind: $(ls -R "$STATE/profiles")"
assert_eq "$(HJ 'd["profiles"]' status)" "[]" "status after rollback --all"
ok "rollback --all restores host2 exactly as it booted"
echo "PASS: $TESTS_RUN checks"
