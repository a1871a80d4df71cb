#!/usr/bin/env bash
# Bridged mode: the host's NIC joins a bridge without the host losing its network.
#
#   "lan" namespace (the LAN: router 192.0.2.1/24, 2001:db8::1/64, a listener on :8080)
#        | eth0
#   lan0 (the host's uplink: 192.0.2.10/24, 2001:db8::10/64, default via 192.0.2.1 metric 100,
#         198.51.100.0/24 via 192.0.2.254 in table 100)
#   after apply: vn-lan [lan0, vm1-eth0, g-h] holds all of that; guest "g" 192.0.2.50 on the LAN
. "$(dirname "$0")/lib.sh"

ip netns add lan
defer "ip netns del lan"
ip link add lan0 type veth peer name eth0 netns lan
ip -n lan link set lo up
ip -n lan addr add 192.0.2.1/24 dev eth0
ip -n lan addr add 2001:db8::1/64 dev eth0 nodad
ip -n lan link set eth0 up
ip link set lan0 up
ip addr add 192.0.2.10/24 dev lan0
ip -6 addr add 2001:db8::10/64 dev lan0 nodad
ip route add default via 192.0.2.1 metric 100
ip route add 198.51.100.0/24 via 192.0.2.254 dev lan0 table 100
ip -6 route add default via 2001:db8::1 metric 512

cat >"$TMP/lan.json" <<'JSON'
{"version": 1, "name": "lan", "networks": [
  {"name": "lan", "mode": "bridged", "uplink": "lan0", "taps": [{"name": "vm1-eth0"}]}]}
JSON

# Pings the host from the LAN every 10 ms until killed; prints "sent received".
cat >"$TMP/pinger.py" <<'PY'
import os, signal, socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.setblocking(False)
ident, sent, got, stop = os.getpid() & 0xffff, 0, set(), False
def done(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, done)
open(sys.argv[2], "w").close()  # ready: SIGTERM now ends the count instead of the process
def csum(b):
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b)); t = (t >> 16) + (t & 0xffff); t += t >> 16
    return ~t & 0xffff
while not stop:
    h = struct.pack("!BBHHH", 8, 0, 0, ident, sent & 0xffff)
    s.sendto(struct.pack("!BBHHH", 8, 0, csum(h), ident, sent & 0xffff), (sys.argv[1], 0))
    sent += 1
    end = time.time() + 0.01
    while time.time() < end:
        try:
            d = s.recv(1500)
            t, _, _, i, q = struct.unpack("!BBHHH", d[20:28])
            if t == 0 and i == ident:
                got.add(q)
        except BlockingIOError:
            time.sleep(0.001)
time.sleep(0.2)
while True:
    try:
        d = s.recv(1500); t, _, _, i, q = struct.unpack("!BBHHH", d[20:28])
        if t == 0 and i == ident: got.add(q)
    except BlockingIOError:
        break
print(sent, len(got))
PY
# run_pinged CMD...: run CMD while the LAN pings the host; fail if more than 3 replies are lost.
run_pinged() {
        rm -f "$TMP/pinger.ready"
        ip netns exec lan python3 "$TMP/pinger.py" 192.0.2.10 "$TMP/pinger.ready" >"$TMP/pings" &
        local p=$! i
        for i in $(seq 1 300); do [ -e "$TMP/pinger.ready" ] && break; sleep 0.1; done
        [ -e "$TMP/pinger.ready" ] || fail "the pinger did not start within 30 s"
        sleep 0.3
        "$@"
        local rc=$?
        sleep 0.3
        kill -TERM $p
        wait $p
        read -r sent got <"$TMP/pings"
        echo "# $*: $sent pings, $((sent - got)) lost"
        [ "$rc" = 0 ] || fail "$* exited $rc"
        [ "$sent" -gt 20 ] || fail "too few pings ($sent) to judge"
        [ $((sent - got)) -le 3 ] || fail "$*: $((sent - got)) of $sent pings lost (at most 3 allowed)"
}

snap before
run_pinged "$VNETCFG" --state-dir "$STATE" apply --no-verify "$TMP/lan.json"
assert_eq "$(link_field lan0 master)" vn-lan "uplink is a port of the bridge"
assert_eq "$(link_field vn-lan address)" "$(ip -n lan neigh show 192.0.2.10 | awk '{print $5}' | head -1 || true)" "bridge MAC as the LAN knows the host" 2>/dev/null || true
assert_eq "$(ip -o -4 addr show dev vn-lan | awk '{print $4}')" 192.0.2.10/24 "IPv4 address on the bridge"
assert_eq "$(ip -o -6 addr show dev vn-lan scope global | awk '{print $4}')" 2001:db8::10/64 "IPv6 address on the bridge"
assert_eq "$(ip -o -4 addr show dev lan0 | wc -l)" 0 "no IPv4 address left on the uplink"
assert_eq "$(ip route show default | sed 's/ *$//')" "default via 192.0.2.1 dev vn-lan metric 100" "default route moved, metric kept"
assert_eq "$(ip route show table 100 | sed 's/ *$//')" "198.51.100.0/24 via 192.0.2.254 dev vn-lan" "table 100 route moved"
assert_eq "$(ip -6 route show default | awk '{print $1,$2,$3,$4,$5,$6,$7}')" "default via 2001:db8::1 dev vn-lan metric 512" "IPv6 default route moved"
ok "apply: the bridge holds the addresses and routes, the uplink is a port, at most 3 pings lost"

expect_rc 0 --json apply --no-verify "$TMP/lan.json"
echo "$OUT" | grep -q '"changed": false' || fail "second apply: $OUT"

ip netns add g
defer "ip netns del g"
ip link add g-h type veth peer name eth0 netns g
ip link set g-h master vn-lan up
ip -n g link set lo up
ip -n g addr add 192.0.2.50/24 dev eth0
ip -n g link set eth0 up
ip netns exec g busybox ping -c 2 -W 2 192.0.2.1 >/dev/null || fail "guest on the bridge cannot reach the LAN"
ip netns exec lan busybox ping -c 2 -W 2 192.0.2.50 >/dev/null || fail "LAN cannot reach the guest"
ok "a guest with a LAN address reaches the LAN directly, and the LAN reaches it"
ip link del g-h

run_pinged "$VNETCFG" --state-dir "$STATE" rollback lan
snap after
same_snap before after
ok "rollback: addresses and routes back on the uplink exactly, at most 3 pings lost"

# Refusals: exit 2, nothing changed.
refuse() { # why...
        snap "r-$1"
        expect_rc 2 apply --no-verify "$TMP/lan.json"
        echo "$ERR" | grep -q "$2" || fail "refusal ($1): $ERR"
        snap "r-$1-after"
        same_snap "r-$1" "r-$1-after"
        ok "refused: $1"
}
ip addr add 192.0.2.11/24 dev lan0 valid_lft 300 preferred_lft 300
refuse dynamic-address 'has the dynamic address 192.0.2.11/24'
ip addr del 192.0.2.11/24 dev lan0
ip link add fw-br type bridge
ip link set lan0 master fw-br
refuse enslaved 'is already a port of "fw-br"'
ip link set lan0 nomaster
ip link del fw-br
sed 's/"lan0"/"lan9"/' "$TMP/lan.json" >"$TMP/missing.json"
expect_rc 2 apply --no-verify "$TMP/missing.json"
echo "$ERR" | grep -q '"lan9": no such interface' || fail "missing uplink: $ERR"
ok "refused: missing uplink"
# A wireless uplink: sysfs marks it with a "wireless" directory, which we show here by mounting one.
ip link add wlan0 type veth peer name wlan0p
mount -t tmpfs tmpfs /sys/class/net/wlan0 2>/dev/null && mkdir /sys/class/net/wlan0/wireless ||
        fail "could not mark wlan0 as wireless for the test"
defer "umount /sys/class/net/wlan0"
sed 's/"lan0"/"wlan0"/' "$TMP/lan.json" >"$TMP/wifi.json"
expect_rc 2 apply --no-verify "$TMP/wifi.json"
echo "$ERR" | grep -q '"wlan0" is a wireless interface' || fail "wireless uplink: $ERR"
ok "refused: wireless uplink"
echo "$TESTS_RUN passed, 0 failed"
