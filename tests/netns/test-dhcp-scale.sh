#!/usr/bin/env bash
# One profile with 500 DHCP networks is served by ONE dnsmasq (libvirt's one
# process per network runs out of the host's 128 inotify instances past about
# 128 networks): apply, a guest on the last bridge gets a lease in its range,
# exactly one dnsmasq runs for the profile, and rollback restores the snapshot.
. "$(dirname "$0")/lib.sh"

python3 - >"$TMP/big.json" <<'PY'
import json
nets = []
for i in range(500):
    a, b = 100 + i // 250, i % 250
    nets.append({"name": f"n{i}", "mode": "host-only", "ipv4": {"address": f"10.{a}.{b}.1/24"},
                 "dhcp": {"start": f"10.{a}.{b}.100", "end": f"10.{a}.{b}.199"}})
print(json.dumps({"version": 1, "name": "big", "networks": nets}))
PY
snap before
start=$(date +%s.%N)
expect_rc 0 apply "$TMP/big.json"
end=$(date +%s.%N)
echo "# apply of 500 DHCP networks: $(python3 -c "print(round($end - $start, 2))") s"

n=$(pgrep -fc -- "--pid-file=$(readlink -f "$STATE")/dnsmasq/big.pid" || true)
assert_eq "$n" 1 "dnsmasq processes serving the profile"
pid=$(cat "$STATE/dnsmasq/big.pid")
inotify=$(grep -l inotify /proc/"$pid"/fdinfo/* 2>/dev/null | wc -l)
[ "$inotify" -le 1 ] || fail "dnsmasq holds $inotify inotify instances"
ok "500 DHCP networks: one dnsmasq ($inotify inotify instance)"

ip netns add g
defer "ip netns del g"
ip link add g-h type veth peer name eth0 netns g
ip link set g-h master vn-n499 up
ip -n g link set eth0 up
cat >"$TMP/udhcpc.sh" <<'SH'
#!/bin/sh
[ "$1" = bound ] && echo "$ip" >"$LEASE_OUT"
exit 0
SH
chmod +x "$TMP/udhcpc.sh"
LEASE_OUT="$TMP/lease" ip netns exec g busybox udhcpc -i eth0 -n -q -f -t 15 -T 1 -s "$TMP/udhcpc.sh" >/dev/null 2>&1 ||
        fail "no lease on the 500th network"
case "$(cat "$TMP/lease")" in 10.101.249.1[0-9][0-9]) ;; *) fail "lease $(cat "$TMP/lease") not in 10.101.249.100-199" ;; esac
ok "a guest on the 500th bridge gets a lease in its range"

ip link del g-h
expect_rc 0 rollback --all big
! pgrep -f -- "--pid-file=$(readlink -f "$STATE")/dnsmasq/big.pid" >/dev/null || fail "dnsmasq still running"
snap after
same_snap before after
ok "rollback: exact snapshot, dnsmasq stopped"
echo "$TESTS_RUN passed, 0 failed"
