#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The DHCP backend (one dnsmasq per profile) against real dnsmasq and a real
# DHCP client (busybox udhcpc), in a private network + mount namespace.
#
#   g1 (eth0, random MAC)        --veth-- g1-p --+
#   g2 (eth0, 52:54:00:00:00:10) --veth-- g2-p --+-- vn-d1 10.50.0.1/24   profile p1 (dhcp)
#   gx (eth0)                    --veth-- gx-p ----- vn-x  10.52.0.1/24   not served by anyone
#   g3 (eth0)                    --veth-- g3-p ----- vn-d3 10.53.0.1/24   profile p2 (dhcp, its own dnsmasq)
#   gb (eth0)                    --veth-- gb-p ----- vn-b499 of vn-b0..vn-b499   profile big (500 networks)
#
# dhcp-check drives the backend's actions (create/modify/delete, --undo) and
# vnc_dhcp_status; the config blobs are written by hand here, as the executor
# would write them into <state>/blobs/.

. "$(dirname "$0")/lib.sh"

if [[ -n "${DHCP_CHECK:-}" ]]; then
        dc=$DHCP_CHECK
else
        dc="$(dirname "$VNETCFG")/tests/dhcp-check"
fi
[[ -x "$dc" ]] || fail "dhcp-check not found at $dc (set DHCP_CHECK)"
command -v busybox >/dev/null || fail "busybox is not installed (apt-get install busybox-static)"
[[ -x /usr/sbin/dnsmasq || -x /usr/bin/dnsmasq ]] || fail "dnsmasq is not installed (apt-get install dnsmasq-base)"

mkdir -m 0700 "$STATE" "$STATE/blobs"
D() { "$dc" "$@"; }
# Every dnsmasq this test starts is stopped by its pid on exit, whatever happened.
defer 'for f in "$STATE"/dnsmasq/*.pid; do kill "$(cat "$f")"; done'

blob() { # name text -> writes <state>/blobs/<hash>, prints the hash
        local h
        h=$(printf '%s' "$2" | sha256sum | cut -c1-16)
        printf '%s' "$2" >"$STATE/blobs/$h"
        chmod 600 "$STATE/blobs/$h"
        eval "$1=$h"
}

# A guest namespace with one veth port on a bridge: guest NAME BRIDGE [MAC]
guest() {
        ip netns add "$1"
        defer "ip netns del $1"
        ip link add "$1-p" type veth peer name eth0 netns "$1"
        [[ -n "${3:-}" ]] && ip -n "$1" link set eth0 address "$3"
        ip link set "$1-p" master "$2" up
        ip -n "$1" link set lo up
        ip -n "$1" link set eth0 up
}

cat >"$TMP/udhcpc.sh" <<'EOF'
#!/bin/sh
[ "$1" = bound ] && echo "$ip" >"$OUT"
exit 0
EOF
chmod +x "$TMP/udhcpc.sh"

# lease GUEST [tries]: the address udhcpc obtained in GUEST in $LEASE ("" when none), ms taken in $LEASE_MS.
# 15 discovers a second apart by default: the exchange is milliseconds, but the rtnl lock is the
# whole kernel's, and another test tearing down a namespace of hundreds of links (ctest -j2) holds
# it for seconds, which stalls dnsmasq's reply (it sets the client's ARP entry before answering).
lease() {
        local t0 t1
        rm -f "$TMP/$1.ip"
        t0=$(date +%s%N)
        ip netns exec "$1" env OUT="$TMP/$1.ip" busybox udhcpc -i eth0 -n -q -t "${2:-15}" -T 1 \
                -s "$TMP/udhcpc.sh" >/dev/null 2>&1 || true
        t1=$(date +%s%N)
        LEASE_MS=$(((t1 - t0) / 1000000))
        LEASE=$(cat "$TMP/$1.ip" 2>/dev/null || true)
}

in_range() { # ip prefix lo hi
        local last=${1##*.}
        [[ "$1" == "$2".* ]] && ((last >= $3 && last <= $4))
}

status_is() { # profile expected
        local s
        s=$(D status "$STATE" "$1")
        [[ "$s" == "$2" ]] || fail "status of $1: got \"$s\", expected \"$2\""
}

# Running, read in one step: a zombie (exited, its reaper not run yet) and a reaped pid are not.
# Two steps (kill -0, then ps) raced with the reaper: a zombie reaped in between left ps with no
# state to print, and "" is not Z, so a dnsmasq that had exited was reported as still running.
alive() {
        local st
        st=$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null) || true
        [[ -n "$st" && "$st" != Z && "$st" != X ]]
}

ip link add vn-d1 type bridge && ip addr add 10.50.0.1/24 dev vn-d1 && ip link set vn-d1 up
ip link add vn-x type bridge && ip addr add 10.52.0.1/24 dev vn-x && ip link set vn-x up
ip link add vn-d3 type bridge && ip addr add 10.53.0.1/24 dev vn-d3 && ip link set vn-d3 up
guest g1 vn-d1
guest g2 vn-d1 52:54:00:00:00:10
guest gx vn-x
guest g3 vn-d3

common='bind-dynamic
except-interface=lo
dhcp-authoritative
'
blob B1 "interface=vn-d1
${common}dhcp-range=set:vn-d1,10.50.0.100,10.50.0.199,255.255.255.0,3600
dhcp-host=52:54:00:00:00:10,10.50.0.10,vm1
dhcp-option=tag:vn-d1,option:router,10.50.0.1
"
blob B2 "interface=vn-d1
${common}no-ping
dhcp-range=set:vn-d1,10.50.0.150,10.50.0.160,255.255.255.0,600
dhcp-host=52:54:00:00:00:10,10.50.0.10,vm1
dhcp-option=tag:vn-d1,option:router,10.50.0.1
"
blob B3 "interface=vn-d3
${common}no-ping
dhcp-range=set:vn-d3,10.53.0.100,10.53.0.199,255.255.255.0,3600
"
blob BAD "interface=vn-d1
no-such-option-here
"

# --- errors carry dnsmasq's own text; nothing is left behind ---
rc=0
D create "$STATE" p1 "$BAD" 2>"$TMP/err" || rc=$?
assert_eq "$rc" 1 "create with a bad config"
grep -q 'dnsmasq of profile "p1": could not start' "$TMP/err" || fail "error names no object: $(cat "$TMP/err")"
grep -q "bad option at line 2 of $STATE/blobs/$BAD" "$TMP/err" || fail "error lacks dnsmasq's text: $(cat "$TMP/err")"
status_is p1 "stopped -"
ok "a config dnsmasq refuses fails with dnsmasq's text: $(cat "$TMP/err")"

# Someone else's DNS server on the bridge address: dnsmasq's bind error is the detail.
python3 -c 'import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("10.50.0.1", 53)); print("ready", flush=True); time.sleep(60)' >"$TMP/squat" &
squatter=$!
defer "kill $squatter"
for _ in $(seq 200); do [[ -s "$TMP/squat" ]] && break; sleep 0.01; done
rc=0
D create "$STATE" p1 "$B1" 2>"$TMP/err" || rc=$?
kill "$squatter"
wait "$squatter" 2>/dev/null || true
assert_eq "$rc" 1 "create while 10.50.0.1:53 is taken"
grep -q 'failed to create listening socket for 10.50.0.1: Address already in use' "$TMP/err" ||
        fail "port clash: $(cat "$TMP/err")"
status_is p1 "stopped -"
ok "a DNS port held by another process fails with dnsmasq's text"

rc=0
D create "$STATE" p1 0123456789abcdef 2>"$TMP/err" || rc=$?
assert_eq "$rc" 1 "create with a missing blob"
grep -q "config \"$STATE/blobs/0123456789abcdef\" is not readable" "$TMP/err" || fail "missing blob: $(cat "$TMP/err")"
rc=0
D create "$STATE" ../p1 "$B1" 2>"$TMP/err" || rc=$?
assert_eq "$rc" 1 "create with a profile name that is a path"
[[ ! -e "$STATE/p1.pid" && ! -e "$TMP/p1.pid" ]] || fail "a path was built from ../p1"
rc=0
unshare -m --propagation private -- bash -c "mount --bind /dev/null /usr/sbin/dnsmasq
        [[ -e /usr/bin/dnsmasq ]] && mount --bind /dev/null /usr/bin/dnsmasq
        exec $dc create $STATE p1 $B1" 2>"$TMP/err" || rc=$?
assert_eq "$rc" 1 "create without dnsmasq installed"
grep -q 'dnsmasq is not installed (apt-get install dnsmasq-base)' "$TMP/err" || fail "no dnsmasq: $(cat "$TMP/err")"
ok "missing blob, bad profile name and missing dnsmasq are refused"

# --- create: up when the action returns, served on vn-d1 only ---
t0=$(date +%s%N)
D create "$STATE" p1 "$B1" || fail "create p1"
t1=$(date +%s%N)
start_ms=$(((t1 - t0) / 1000000))
status_is p1 "running $B1"
pid1=$(D pid "$STATE" p1)
alive "$pid1" || fail "dnsmasq $pid1 not alive"
assert_eq "$(ps -o user= -p "$pid1")" nobody "dnsmasq's user"
assert_eq "$(stat -c %a "$STATE/dnsmasq")" 700 "mode of the dnsmasq state dir"
assert_eq "$(cat "$STATE/dnsmasq/p1.blob")" "$B1" "blob record"
# Its stdio points at /dev/null: it holds nothing of ours.
for fd in 0 1 2; do assert_eq "$(readlink /proc/"$pid1"/fd/$fd)" /dev/null "dnsmasq fd $fd"; done
ok "create starts dnsmasq in ${start_ms} ms, as nobody, stdio on /dev/null"

D create "$STATE" p1 "$B1" || fail "create p1 again"
assert_eq "$(D pid "$STATE" p1)" "$pid1" "pid after an idempotent create"
ok "create with the running blob changes nothing"

# Sockets: port 53 only on the bridge's address, port 67 bound to the bridge device.
ss -H -lnup >"$TMP/ss.u"
ss -H -lntp >"$TMP/ss.t"
grep dnsmasq "$TMP/ss.u" | grep -E '(0\.0\.0\.0|\*|\[::\]):53 ' && fail "dnsmasq has a wildcard DNS socket"
grep dnsmasq "$TMP/ss.t" | grep -E '(0\.0\.0\.0|\*|\[::\]):53 ' && fail "dnsmasq has a wildcard DNS listener"
grep -q "10.50.0.1:53 .*pid=$pid1," "$TMP/ss.u" || fail "no DNS socket on 10.50.0.1: $(cat "$TMP/ss.u")"
[[ "$(grep -c ":67 .*pid=$pid1," "$TMP/ss.u")" == 1 ]] || fail "expected one DHCP socket: $(cat "$TMP/ss.u")"
grep -q "0.0.0.0%vn-d1:67 .*pid=$pid1," "$TMP/ss.u" || fail "DHCP socket not bound to vn-d1: $(cat "$TMP/ss.u")"
ok "DNS on 10.50.0.1:53 only, DHCP on 0.0.0.0%vn-d1:67 (SO_BINDTODEVICE)"

# --- leases ---
lease g1
ip1=$LEASE
in_range "$ip1" 10.50.0 100 199 || fail "g1 got \"$ip1\", expected 10.50.0.100-199"
ok "g1 leased $ip1 in ${LEASE_MS} ms (dnsmasq pings before the first offer: no no-ping)"
lease g2
ip2=$LEASE
assert_eq "$ip2" 10.50.0.10 "g2's static lease"
ok "g2 (52:54:00:00:00:10) leased its dhcp-host address $ip2 in ${LEASE_MS} ms"
lease gx 2
ipx=$LEASE
assert_eq "$ipx" "" "a guest on a bridge nobody serves"
ok "no offer on vn-x, a bridge not in the config"
g1mac=$(ip -n g1 -br link show eth0 | awk '{print $3}')
grep -q "$g1mac $ip1 " "$STATE/dnsmasq/p1.leases" || fail "g1's lease not in the lease file: $(cat "$STATE/dnsmasq/p1.leases")"

# --- a second profile: its own dnsmasq beside the first (both hold port 67) ---
D create "$STATE" p2 "$B3" || fail "create p2 beside p1"
lease g3
ip3=$LEASE
in_range "$ip3" 10.53.0 100 199 || fail "g3 got \"$ip3\""
alive "$pid1" || fail "p1's dnsmasq died when p2 started"
ok "profile p2's dnsmasq runs beside p1's and serves g3 ($ip3)"
D delete "$STATE" p2 || fail "delete p2"
[[ -d "$STATE/dnsmasq" ]] || fail "delete p2 removed the dir p1 still uses"

# --- modify: restart with the new config, leases kept ---
D modify "$STATE" p1 "$B2" "$B1" || fail "modify p1"
status_is p1 "running $B2"
pid2=$(D pid "$STATE" p1)
[[ "$pid2" != "$pid1" ]] || fail "modify did not restart dnsmasq"
alive "$pid1" && fail "the old dnsmasq $pid1 still runs"
grep -q "$g1mac $ip1 " "$STATE/dnsmasq/p1.leases" || fail "modify lost g1's lease"
lease g1
ip4=$LEASE
# g1 asks for its old address, which is outside the new range: it gets one inside.
in_range "$ip4" 10.50.0 150 160 || fail "after modify g1 got \"$ip4\", expected 10.50.0.150-160"
ok "modify restarts with the new blob (pid $pid1 -> $pid2), the lease file kept; g1 now $ip4 in ${LEASE_MS} ms (no-ping)"

D --undo modify "$STATE" p1 "$B1" "$B2" || fail "inverse of modify"
status_is p1 "running $B1"
ok "the inverse modify restarts with the old blob"

# --- a dnsmasq that died is shown, and the next create restarts it ---
pid3=$(D pid "$STATE" p1)
kill -9 "$pid3"
for _ in $(seq 100); do alive "$pid3" || break; sleep 0.02; done
status_is p1 "stopped $B1"
assert_eq "$(D pid "$STATE" p1)" 0 "pid of a dead dnsmasq"
D create "$STATE" p1 "$B1" || fail "create after kill -9"
status_is p1 "running $B1"
pid4=$(D pid "$STATE" p1)
[[ "$pid4" != "$pid3" ]] || fail "no new dnsmasq after kill -9"
ok "after kill -9 status says stopped; create restarts it (pid $pid4)"

# --- delete ---
D delete "$STATE" p1 || fail "delete p1"
alive "$pid4" && fail "dnsmasq $pid4 still runs after delete"
status_is p1 "stopped -"
[[ -e "$STATE/dnsmasq" ]] && fail "files left: $(ls -la "$STATE/dnsmasq")"
ss -H -lnup | grep -q dnsmasq && fail "a dnsmasq socket is left"
D delete "$STATE" p1 || fail "delete when absent"
D --undo delete "$STATE" p1 || fail "undo delete when absent"
ok "delete stops dnsmasq and removes its pid, lease and blob files and the dir; absent is success"

# --- a recycled pid is never signalled ---
sleep 600 &
sleeper=$!
defer "kill $sleeper"
mkdir -m 0700 "$STATE/dnsmasq"
echo "$sleeper" >"$STATE/dnsmasq/p1.pid"
status_is p1 "stopped -"
D delete "$STATE" p1 || fail "delete with a foreign pid in the pid file"
alive "$sleeper" || fail "delete killed an unrelated process"
mkdir -p -m 0700 "$STATE/dnsmasq"
echo "$sleeper" >"$STATE/dnsmasq/p1.pid"
D create "$STATE" p1 "$B1" || fail "create over a pid file naming an unrelated process"
alive "$sleeper" || fail "create killed an unrelated process"
pid5=$(D pid "$STATE" p1)
[[ "$pid5" != "$sleeper" && "$pid5" != 0 ]] || fail "create did not start dnsmasq"
D delete "$STATE" p1 || fail "delete p1"
alive "$sleeper" || fail "an unrelated process died"
ok "a pid file naming an unrelated process: never signalled, dnsmasq started anyway"

# --- 500 DHCP networks, one dnsmasq ---
{
        for i in $(seq 0 499); do
                a=$((60 + i / 256)) b=$((i % 256))
                echo "link add vn-b$i type bridge"
                echo "addr add 10.$a.$b.1/24 dev vn-b$i"
                echo "link set vn-b$i up"
        done
} >"$TMP/batch"
ip -batch "$TMP/batch" || fail "creating 500 bridges"
defer 'for i in $(seq 0 499); do echo "link del vn-b$i"; done | ip -batch -'
big="$common"no-ping$'\n'dhcp-lease-max=50000$'\n'
for i in $(seq 0 499); do
        a=$((60 + i / 256)) b=$((i % 256))
        big+="interface=vn-b$i
dhcp-range=set:vn-b$i,10.$a.$b.100,10.$a.$b.199,255.255.255.0,3600
dhcp-option=tag:vn-b$i,option:router,10.$a.$b.1
"
done
blob BBIG "$big"
guest gb vn-b499
# The usual soft limit, which one socket pair per bridge would exceed.
t0=$(date +%s%N)
(ulimit -S -n 1024 && exec "$dc" create "$STATE" big "$BBIG") || fail "create with 500 networks"
t1=$(date +%s%N)
big_ms=$(((t1 - t0) / 1000000))
pidb=$(D pid "$STATE" big)
lease gb
ipb=$LEASE
in_range "$ipb" 10.61.243 100 199 || fail "guest on vn-b499 got \"$ipb\""
nofile=$(awk '/^Max open files/ {print $4}' /proc/"$pidb"/limits)
((nofile > 1024)) || fail "dnsmasq's soft open-files limit is $nofile: 500 bridges need more"
nfd=$(find /proc/"$pidb"/fd -mindepth 1 | wc -l)
ninotify=$(find /proc/"$pidb"/fd -mindepth 1 -lname 'anon_inode:inotify' | wc -l)
nsock=$(ss -H -lnup | grep -c "pid=$pidb,")
dhcp_sock=$(ss -H -lnup | grep "pid=$pidb," | grep -c ':67 ')
assert_eq "$dhcp_sock" 1 "DHCP sockets of the 500-network dnsmasq"
ss -H -lnup | grep "pid=$pidb," | grep -E '(0\.0\.0\.0|\*|\[::\]):53 ' && fail "wildcard DNS socket with 500 networks"
[[ "$ninotify" -le 1 ]] || fail "dnsmasq uses $ninotify inotify instances"
D delete "$STATE" big || fail "delete big"
ok "one dnsmasq serves 500 networks: started in ${big_ms} ms, vn-b499's guest leased $ipb in ${LEASE_MS} ms; $nfd fds (limit $nofile), $nsock UDP sockets (1 DHCP), $ninotify inotify instance(s)"

echo "test-dhcp: all $TESTS_RUN passed"
