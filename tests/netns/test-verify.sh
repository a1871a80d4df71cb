#!/usr/bin/env bash
# Verify (SPEC section 5): a probe per network, checks by mode, each broken
# on purpose and reported as exactly the failed check. Topology (inside this
# test's sandbox):
#
#   upstream ns "up": eth0 192.0.2.2/24, .3 (targets), route 10.50.0.0/24 back via us
#        |
#   uplink0 192.0.2.1/24 (this sandbox is the host)
#   vn-nat 10.10.0.1/24 nat + DHCP      target 192.0.2.2, unreachable 10.99.0.1
#   vn-ho  10.30.0.1/24 host-only        target 192.0.2.3 (must not answer)
#   vn-iso isolated                      (other host address must not answer)
#   vn-rt  10.50.0.1/24 routed, mtu 9000 target 192.0.2.3
#   vn-lan bridged over lan0 (a veth)    IPv6 link-local host <-> probe
#
# Probes are driven through verify-check (vnc_verify_profile, one line per check).
. "$(dirname "$0")/lib.sh"

CHECK=${VERIFY_CHECK:-$(dirname "$VNETCFG")/tests/verify-check}
[ -x "$CHECK" ] || fail "verify-check not built at $CHECK"

make_upstream
ip -n up addr add 192.0.2.3/24 dev eth0
ip -n up route add 10.50.0.0/24 via 192.0.2.1

cat >"$TMP/p.json" <<'JSON'
{
  "version": 1,
  "name": "vt",
  "firewall": {"backend": "iptables"},
  "networks": [
    {"name": "nat", "mode": "nat", "ipv4": {"address": "10.10.0.1/24"}, "nat": {"uplink": "uplink0"},
     "dhcp": {"start": "10.10.0.100", "end": "10.10.0.199"},
     "verify": {"targets": ["192.0.2.2"], "unreachable": ["10.99.0.1"]}},
    {"name": "ho", "mode": "host-only", "ipv4": {"address": "10.30.0.1/24"}, "verify": {"targets": ["192.0.2.3"]}},
    {"name": "iso", "mode": "isolated"},
    {"name": "rt", "mode": "routed", "mtu": 9000, "ipv4": {"address": "10.50.0.1/24"},
     "verify": {"targets": ["192.0.2.3"]}}
  ]
}
JSON
expect_rc 0 apply "$TMP/p.json"
defer "'$VNETCFG' --state-dir '$STATE' rollback --all vt"

# Run the checks; RES holds the lines, FAILED the sorted "network: name" of failed checks.
run_check() { # expected exit code
        local rc=0
        RES=$("$CHECK" "$TMP/p.json" 2>"$TMP/check.err") || rc=$?
        [ "$rc" = "$1" ] || fail "verify-check exited $rc, expected $1:
$RES
$(cat "$TMP/check.err")"
        FAILED=$(echo "$RES" | awk -F'\t' '$1 == "FAIL" {print $2 ": " $4}' | sort)
        echo "$RES" | sed 's/^/    /'
}
expect_failed() { # what, then the expected failed checks, one per argument
        local what=$1 want
        shift
        want=$(printf '%s\n' "$@" | sort)
        [ "$FAILED" = "$want" ] || fail "$what: failed checks
$FAILED
expected
$want"
}
detail_of() { # network name -> detail column
        echo "$RES" | awk -F'\t' -v n="$1" -v c="$2" '$2 == n && $4 == c {print $6}'
}

t0=$(date +%s%N)
run_check 0
t1=$(date +%s%N)
names=$(echo "$RES" | awk -F'\t' '$1 != "total" {print $2 "|" $3 "|" $4}')
assert_eq "$names" "nat|dhcp|dhcp offer
nat|probe-to-host|probe -> host 10.10.0.1
nat|host-to-probe|host -> probe 10.10.0.254
nat|mtu|mtu 1500 with DF: probe -> host
nat|target|target 192.0.2.2 answers
nat|target-tcp|target 192.0.2.2 tcp/443 answers
nat|target-udp|target 192.0.2.2 udp/33434 not refused by the host
nat|dns|dns query to 10.10.0.1 answered
nat|unreachable|unreachable 10.99.0.1 must not answer
ho|probe-to-host|probe -> host 10.30.0.1
ho|host-to-probe|host -> probe 10.30.0.254
ho|mtu|mtu 1500 with DF: probe -> host
ho|target-blocked|target 192.0.2.3 must not answer
iso|target-blocked|host 10.10.0.1 (network nat) must not answer
rt|probe-to-host|probe -> host 10.50.0.1
rt|host-to-probe|host -> probe 10.50.0.254
rt|mtu|mtu 9000 with DF: probe -> host
rt|target|target 192.0.2.3 answers
rt|target-tcp|target 192.0.2.3 tcp/443 answers
rt|target-udp|target 192.0.2.3 udp/33434 not refused by the host" "checks of a healthy profile"
expect_failed "healthy profile"
offer=$(detail_of nat "dhcp offer")
[[ $offer =~ ^offered\ 10\.10\.0\.1[0-9][0-9]\ by\ 10\.10\.0\.1$ ]] || fail "dhcp offer detail: \"$offer\""
ms=$(( (t1 - t0) / 1000000 )) # printed, not judged: speed is measured in bench/verify-bench.sh
[ -z "$(ip -br link | grep '^vnp-')" ] || fail "probe links left: $(ip -br link)"
ok "healthy nat/host-only/isolated/routed with DHCP: every check passes ($ms ms)"

# "tcp:IP:PORT" targets: a TCP check on that port instead of the echo (same bridges, so
# verify-check runs this profile against what p.json applied).
sed 's#"targets": \["192.0.2.2"\]#"targets": ["tcp:192.0.2.2:8080"]#' "$TMP/p.json" >"$TMP/t.json"
grep -q 'tcp:192.0.2.2:8080' "$TMP/t.json" || fail "t.json"
ip netns exec up python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("192.0.2.2", 8080)); s.listen(16); print("listening", flush=True); time.sleep(600)' >"$TMP/listener.out" &
listener=$!
defer "kill $listener"
for _ in $(seq 100); do grep -q listening "$TMP/listener.out" && break; sleep 0.05; done
RES=$("$CHECK" "$TMP/t.json") || fail "verify of a tcp:IP:PORT target failed: $RES"
echo "$RES" | sed 's/^/    /'
assert_eq "$(echo "$RES" | awk -F'\t' '$2 == "nat" && $3 ~ /^target/ {print $3 "|" $4 "|" $6}')" \
        "target-tcp|target 192.0.2.2 tcp/8080 answers|SYN-ACK
target-udp|target 192.0.2.2 udp/33434 not refused by the host|the target answered with a port unreachable" "tcp:IP:PORT checks"
kill $listener
wait $listener 2>/dev/null || true
ok "a tcp:IP:PORT target: SYN-ACK from the listening port, no echo check"

# A guest already on the highest free address: the probe's ARP probes (sent from the bridge
# while the probe is made) find it, and the probe takes the next one.
ip netns add g254
defer "ip netns del g254"
ip link add g254-p type veth peer name eth0 netns g254
ip link set g254-p master vn-nat up
ip -n g254 addr add 10.10.0.254/24 dev eth0
ip -n g254 link set eth0 up
run_check 0
assert_eq "$(echo "$RES" | awk -F'\t' '$2 == "nat" && $3 == "host-to-probe" {print $4}')" "host -> probe 10.10.0.253" \
        "probe address beside a guest on .254"
ip link del g254-p
ok "a guest answers ARP for 10.10.0.254: the probe takes 10.10.0.253"

# --- each check kind broken on purpose ---

ip addr del 10.30.0.1/24 dev vn-ho
run_check 3
expect_failed "host address removed" "ho: host -> probe 10.30.0.254" "ho: mtu 1500 with DF: probe -> host" \
        "ho: probe -> host 10.30.0.1"
ip addr add 10.30.0.1/24 dev vn-ho
ok "host address removed: probe -> host, host -> probe and the MTU probe fail, nothing else"

iptables-legacy -I INPUT 1 -s 10.30.0.0/24 -p icmp -j DROP
run_check 3
expect_failed "ICMP dropped in INPUT" "ho: host -> probe 10.30.0.254" "ho: mtu 1500 with DF: probe -> host" \
        "ho: probe -> host 10.30.0.1"
assert_eq "$(detail_of ho "probe -> host 10.30.0.1")" "no reply within 2000 ms (2 requests)" "detail"
iptables-legacy -D INPUT -s 10.30.0.0/24 -p icmp -j DROP
ok "ICMP from the subnet dropped in INPUT before vnetcfg's jump: the echo checks of that network fail"

ip netns exec up iptables-legacy -I INPUT 1 -d 192.0.2.2 -p icmp -j DROP
run_check 3
expect_failed "nat target silent" "nat: target 192.0.2.2 answers"
ip netns exec up iptables-legacy -D INPUT -d 192.0.2.2 -p icmp -j DROP
ok "a nat target that stops answering"

iptables-legacy -I FORWARD 1 -i vn-ho -j ACCEPT
iptables-legacy -I FORWARD 1 -o vn-ho -j ACCEPT
ip -n up route add 10.30.0.0/24 via 192.0.2.1
run_check 3
expect_failed "host-only leak" "ho: target 192.0.2.3 must not answer"
[[ $(detail_of ho "target 192.0.2.3 must not answer") == answered\ in* ]] || fail "leak detail"
iptables-legacy -D FORWARD -i vn-ho -j ACCEPT
iptables-legacy -D FORWARD -o vn-ho -j ACCEPT
ip -n up route del 10.30.0.0/24
ok "a host-only network whose target answers"

# --- forwarding the way guests use it: a host firewall that only lets ICMP pass ---
# Like ufw: a foreign nf_tables table whose FORWARD base chain drops everything but ICMP.
# vnetcfg's accepts (in its own chains or table, either backend) cannot pass it.
nft -f - <<'NFT'
table inet foreignfw {
        chain guard {
                type filter hook forward priority 0; policy drop;
                meta l4proto icmp accept
        }
}
NFT
run_check 3
expect_failed "ICMP-only forwarding" "nat: target 192.0.2.2 tcp/443 answers" \
        "nat: target 192.0.2.2 udp/33434 not refused by the host" "rt: target 192.0.2.3 tcp/443 answers" \
        "rt: target 192.0.2.3 udp/33434 not refused by the host"
assert_eq "$(detail_of nat "target 192.0.2.2 tcp/443 answers")" "TCP not forwarded: no SYN-ACK or RST within 2000 ms" \
        "tcp detail"
assert_eq "$(detail_of nat "target 192.0.2.2 udp/33434 not refused by the host")" \
        "UDP dropped by the host: the datagram never left it, no answer within 2000 ms (2 datagrams)" "udp detail"
# The command says it too, naming the protocol; exit 3.
rc=0
out=$("$VNETCFG" --state-dir "$STATE" verify vt 2>&1) || rc=$?
assert_eq "$rc" 3 "vnetcfg verify exit code with ICMP-only forwarding"
echo "$out" | grep -q 'FAIL  nat .*target 192.0.2.2 tcp/443 answers.*TCP not forwarded' ||
        fail "vnetcfg verify does not name TCP: $out"
echo "$out" | grep -q 'pass  nat .*target 192.0.2.2 answers' || fail "the ICMP target check should pass: $out"
nft delete table inet foreignfw
ok "ICMP-only forwarding (a foreign nft FORWARD drop but ICMP): the TCP and UDP checks fail, ICMP passes"

# Refusals with ICMP errors from the host: a TCP REJECT (default: port unreachable, which is no
# RST) and a UDP REJECT with admin-prohibited, in the legacy tables.
iptables-legacy -I FORWARD 1 -s 10.10.0.0/24 -p tcp -j REJECT
iptables-legacy -I FORWARD 1 -s 10.10.0.0/24 -p udp -j REJECT --reject-with icmp-admin-prohibited
run_check 3
expect_failed "host rejects" "nat: target 192.0.2.2 tcp/443 answers" "nat: target 192.0.2.2 udp/33434 not refused by the host"
assert_eq "$(detail_of nat "target 192.0.2.2 tcp/443 answers")" \
        "TCP not forwarded: port unreachable (ICMP type 3 code 3) from 10.10.0.1" "tcp reject detail"
assert_eq "$(detail_of nat "target 192.0.2.2 udp/33434 not refused by the host")" \
        "UDP refused by the host: administratively prohibited (ICMP type 3 code 13) from 10.10.0.1; the datagram never left it" \
        "udp reject detail"
iptables-legacy -D FORWARD -s 10.10.0.0/24 -p tcp -j REJECT
iptables-legacy -D FORWARD -s 10.10.0.0/24 -p udp -j REJECT --reject-with icmp-admin-prohibited
ok "the host rejects TCP (ICMP port unreachable is no RST) and UDP (admin-prohibited): both fail with the ICMP named"

# UDP that leaves the host counts even when nobody answers; TCP needs an answer.
ip netns exec up iptables-legacy -I INPUT 1 -d 192.0.2.2 -p udp -j DROP
ip netns exec up iptables-legacy -I INPUT 1 -d 192.0.2.2 -p tcp -j DROP
run_check 3
expect_failed "silent target" "nat: target 192.0.2.2 tcp/443 answers"
assert_eq "$(detail_of nat "target 192.0.2.2 udp/33434 not refused by the host")" \
        "left the host (the target did not answer)" "udp left detail"
ip netns exec up iptables-legacy -D INPUT -d 192.0.2.2 -p udp -j DROP
ip netns exec up iptables-legacy -D INPUT -d 192.0.2.2 -p tcp -j DROP
ok "a target silent on TCP and UDP: TCP fails, the UDP datagram that left the host passes"

# DNS from the guests dropped on INPUT (ufw's INPUT policy before vnetcfg's opening).
iptables-legacy -I INPUT 1 -i vn-nat -p udp --dport 53 -j DROP
run_check 3
expect_failed "dns dropped" "nat: dns query to 10.10.0.1 answered"
assert_eq "$(detail_of nat "dns query to 10.10.0.1 answered")" "DNS not answered: no reply within 2000 ms (2 requests)" \
        "dns drop detail"
iptables-legacy -D INPUT -i vn-nat -p udp --dport 53 -j DROP
ok "DNS to the host dropped on INPUT: only the DNS check fails"

ip -n up addr add 10.99.0.1/32 dev eth0
ip route add 10.99.0.1/32 via 192.0.2.2
run_check 3
expect_failed "unreachable answers" "nat: unreachable 10.99.0.1 must not answer"
ip route del 10.99.0.1/32
ip -n up addr del 10.99.0.1/32 dev eth0
ok "an unreachable address that answers"

ip link set vn-rt mtu 1500
run_check 3
expect_failed "mtu" "rt: mtu 9000 with DF: probe -> host"
assert_eq "$(detail_of rt "mtu 9000 with DF: probe -> host")" "message too long: path MTU 1500" "mtu detail"
ip link set vn-rt mtu 9000
ok "bridge MTU below the profile's: the DF probe fails with the path MTU"

pid=$(cat "$STATE/dnsmasq/vt.pid")
kill -9 "$pid"
run_check 3
expect_failed "dhcp down" "nat: dhcp offer" "nat: dns query to 10.10.0.1 answered"
assert_eq "$(detail_of nat "dns query to 10.10.0.1 answered")" \
        "DNS not answered: port unreachable (ICMP type 3 code 3) from 10.10.0.1" "dns detail"
expect_rc 0 apply "$TMP/p.json" # restarts dnsmasq
ok "DHCP server killed: the offer and the DNS checks fail, nothing else"

ip link set vn-iso down
ip link del vn-ho
run_check 3
echo "$FAILED" | grep -qx 'ho: probe on bridge "vn-ho"' || fail "missing bridge not reported: $FAILED"
[ "$(detail_of ho 'probe on bridge "vn-ho"')" = 'bridge "vn-ho" does not exist' ] || fail "missing bridge detail"
expect_rc 0 apply "$TMP/p.json"
ip link set vn-iso up
ok "a missing bridge is a failed check naming it"

# --- a killed verify leaves no namespace: the probes' namespaces are held by its file
# descriptors only, so they end with it, and their veth pairs with them ---
"$CHECK" "$TMP/p.json" >/dev/null 2>&1 &
vpid=$!
for _ in $(seq 100); do ip -br link | grep -q '^vnp-' && break; sleep 0.02; done
sleep 0.2
probes=$(ip -br link | grep -c '^vnp-' || true)
[ "$probes" = 4 ] || fail "expected 4 probe links while verify runs, saw $probes: $(ip -br link)"
[ -z "$(pgrep -P $vpid)" ] || fail "verify has child processes: $(pgrep -a -P $vpid)"
# made together: one link group for every host end (deleted with one request)
groups=$(ip -d -o link show | grep ': vnp-' | grep -o ' group [^ ]*' | sort -u)
[ "$(echo "$groups" | wc -l)" = 1 ] && [ "$groups" != " group default" ] ||
        fail "the probes' host ends are not in one group of their own: $groups"
kill -9 $vpid
wait $vpid 2>/dev/null || true
gone=
for _ in $(seq 200); do
        if ! ip -br link | grep -q '^vnp-'; then gone=1; break; fi
        sleep 0.05
done
[ -n "$gone" ] || fail "probe links outlived the killed verify by 10 s: $(ip -br link | grep '^vnp-')"
out=$("$CHECK" cleanup) || fail "cleanup failed"
assert_eq "$out" "removed 0" "nothing stale after a killed verify"
run_check 0
[ -z "$(ip -br link | grep '^vnp-')" ] || fail "probe links after the next run: $(ip -br link)"
ok "SIGKILL mid-run: the probe namespaces end with the process, their links with them; nothing stale"

# A stale probe marked by alias (a vnetcfg killed between create and delete) is removed.
ip link add vnp-deadbeef type veth peer name vnp-peer
ip link set vnp-deadbeef alias "vetcfg-not-ours"
ip link set vnp-peer alias "vnetcfg-probe:vt/old"
ip link add other0 type veth peer name other1
ip link set other0 alias "vnetcfg-probe-lookalike"
out=$("$CHECK" cleanup)
assert_eq "$out" "removed 1" "stale cleanup"
ip link show other0 >/dev/null 2>&1 || fail "cleanup removed a link it does not own"
ip link del other0
ok "stale cleanup deletes vnetcfg-probe: links (and their pair) only"

# --- bridged: IPv6 link-local between host and probe, no LAN address used ---
ip link add lan0 type veth peer name lan1
ip link set lan0 up
ip link set lan1 up
ip addr add 192.168.77.5/24 dev lan0
cat >"$TMP/b.json" <<'JSON'
{"version": 1, "name": "vb", "networks": [{"name": "lan", "mode": "bridged", "uplink": "lan0", "bridge": "vn-lan"}]}
JSON
expect_rc 0 apply "$TMP/b.json"
defer "'$VNETCFG' --state-dir '$STATE' rollback --all vb"
rc=0
RES=$("$CHECK" "$TMP/b.json") || rc=$?
echo "$RES" | sed 's/^/    /'
[ "$rc" = 0 ] || fail "bridged verify failed"
ll=$(ip -6 -br addr show dev vn-lan | grep -o 'fe80::[0-9a-f:]*')
names=$(echo "$RES" | awk -F'\t' '$1 != "total" {print $3 "|" $4}')
[[ $names == "probe-to-host|probe -> host $ll"$'\n'"host-to-probe|host -> probe fe80::"*$'\n'"mtu|mtu 1500 with DF: probe -> host" ]] ||
        fail "bridged checks: $names"
ok "bridged: host <-> probe over IPv6 link-local, and the MTU probe"
expect_rc 0 rollback --all vb

expect_rc 0 rollback --all vt
echo "$TESTS_RUN passed, 0 failed"
