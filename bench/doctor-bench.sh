#!/usr/bin/env bash
# Benchmark (not a test): `vnetcfg doctor` of 100 applied NAT networks, without
# and with DHCP, in throwaway network namespaces. Each network has a port with
# carrier (a veth whose other end is up), so doctor's ARP probes run as they do
# for a network with guests. Printed in one run: the times, each as a ratio to
# the 0.5 s target, doctor of 1 network and the ratio 100 : 1 (what each more
# network costs), and one read of both rule sets (iptables-legacy-save plus
# `nft -j list ruleset`) for scale: doctor reads them once per run. Wall time
# on a shared machine includes waiting for a CPU, so the CPU time (user+sys)
# of each doctor run is printed too, and the load average before and after.
# The ARP probes wait 300 ms of the wall time, overlapped with the firewall
# checks. (Each port's veth peer sits in the same namespace and answers ARP
# for the host address: every network reports ip-conflict, as it should.)
# Given an older vnetcfg (e.g. one that read the rule sets once per flow), it
# is timed on the same hosts and the ratio printed.
#
#   bash bench/doctor-bench.sh [path/to/vnetcfg] [networks] [rounds] [older/vnetcfg]
#
# Build vnetcfg without sanitizers for this (cmake -DCMAKE_BUILD_TYPE=RelWithDebInfo).
set -euo pipefail
VNETCFG=$(readlink -f "${1:-build/vnetcfg}")
NETS=${2:-100}
ROUNDS=${3:-3}
OLD=${4:+$(readlink -f "$4")}

if [ -z "${VNC_BENCH_SANDBOX:-}" ]; then
        work=$(mktemp -d /tmp/vnc-dbench.XXXXXX)
        trap 'rm -rf "$work"' EXIT
        python3 - "$NETS" "$work" <<'PY'
import json, sys
nets, work = int(sys.argv[1]), sys.argv[2]
for n, dhcp in ((nets, False), (nets, True), (1, False)):
    prof = {"version": 1, "name": "dbench", "libvirt": {"define": False}, "networks": []}
    for i in range(n):
        a, b = 100 + i // 250, i % 250
        net = {"name": f"n{i}", "mode": "nat", "ipv4": {"address": f"10.{a}.{b}.1/24"},
               "nat": {"uplink": "up0"}}
        if dhcp:
            net["dhcp"] = {"start": f"10.{a}.{b}.100", "end": f"10.{a}.{b}.199"}
        prof["networks"].append(net)
    json.dump(prof, open(f"{work}/{n}{'-dhcp' if dhcp else ''}.json", "w"), indent=1)
PY
        results="$work/results"
        : >"$results"
        load0=$(cut -d' ' -f1-3 /proc/loadavg)
        for ((r = 1; r <= ROUNDS; r++)); do
                for what in "$NETS" "$NETS-dhcp" 1; do
                        unshare -n -m --propagation private -- env VNC_BENCH_SANDBOX=1 VNC_BENCH_WHAT="$what" \
                                VNC_BENCH_WORK="$work" VNC_BENCH_OLD="$OLD" bash "$0" "$VNETCFG" >>"$results"
                        sleep 1 # let the deleted namespace's links go before the next round
                done
        done
        python3 - "$results" "$NETS" "$load0" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PY'
import sys, statistics
print(f"load average (1 5 15 min) before {sys.argv[3]}, after {sys.argv[4]}: wall times include waiting for a CPU")
rows = {}
for line in open(sys.argv[1]):
    k, v = line.split()
    rows.setdefault(k, []).append(float(v))
med = {k: statistics.median(v) for k, v in rows.items()}
n = sys.argv[2]
t = 0.5
print(f"vnetcfg doctor bench: {n} NAT networks, each with a port up; median of {len(rows['read'])} rounds")
print(f"  one read of both rule sets        {med['read']:7.3f} s")
print(f"  doctor, 1 network                 {med['one']:7.3f} s   cpu {med['one-cpu']:.3f} s")
print(f"  doctor, {n} networks              {med['plain']:7.3f} s   ratio to target {med['plain'] / t:.2f}  (target <= 0.5 s)  cpu {med['plain-cpu']:.3f} s")
print(f"  doctor, {n} networks with DHCP    {med['dhcp']:7.3f} s   ratio to target {med['dhcp'] / t:.2f}  (target <= 0.5 s)  cpu {med['dhcp-cpu']:.3f} s")
print(f"  {n} networks : 1 network          {med['plain'] / med['one']:7.2f}")
print(f"  with DHCP : without               {med['dhcp'] / med['plain']:7.2f}")
if 'old' in med:
    print(f"  older vnetcfg, {n} networks       {med['old']:7.3f} s   this one : older {med['plain'] / med['old']:.2f}  cpu {med['old-cpu']:.3f} s")
    print(f"  older vnetcfg, with DHCP          {med['old-dhcp']:7.3f} s   this one : older {med['dhcp'] / med['old-dhcp']:.2f}  cpu {med['old-dhcp-cpu']:.3f} s")
PY
        exit 0
fi

# Inside one sandbox.
ip link set lo up
# /sys shows the namespace that mounted it: mount our own, as vnetcfg in the root namespace sees its own.
mount -t sysfs sysfs /sys
now() { date +%s.%N; }
work=$VNC_BENCH_WORK
state=$(mktemp -d /tmp/vnc-dbench-state.XXXXXX)
chmod 700 "$state"
ip link add up0 type veth peer name up1
ip addr add 192.0.2.1/24 dev up0
ip link set up0 up
ip link set up1 up
ip route add default via 192.0.2.254 dev up0 onlink
"$VNETCFG" -q --state-dir "$state" apply --no-verify "$work/$VNC_BENCH_WHAT.json"
n=$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['networks']))" "$work/$VNC_BENCH_WHAT.json")
for ((i = 0; i < n; i++)); do
        ip link add "p$i" type veth peer name "q$i"
        ip link set "p$i" master "vn-n$i" up
        ip link set "q$i" up
done
# doctor's wall and CPU time: "WALL CPU"
timed() {
        /usr/bin/time -o "$state.time" -f "%e %U %S" "$@" >/dev/null 2>&1 || true
        python3 -c "import sys; e, u, s = map(float, open(sys.argv[1]).read().split()[-3:]); print(e, u + s)" "$state.time"
}
read -r wall cpu < <(timed "$VNETCFG" -q --state-dir "$state" doctor dbench)
case $VNC_BENCH_WHAT in
*-dhcp) key=dhcp ;;
1) key=one ;;
*) key=plain ;;
esac
echo "$key $wall"
echo "$key-cpu $cpu"
if [ -n "${VNC_BENCH_OLD:-}" ] && [ "$key" != one ]; then
        read -r wall cpu < <(timed "$VNC_BENCH_OLD" -q --state-dir "$state" doctor dbench)
        okey=old${key#plain}
        [ "$okey" = old ] || okey=old-$key
        echo "$okey $wall"
        echo "$okey-cpu $cpu"
fi
case $key in
plain)
        t2=$(now)
        iptables-legacy-save >/dev/null
        nft -j list ruleset >/dev/null
        t3=$(now)
        echo "read $(python3 -c "print($t3 - $t2)")"
        ;;
esac
"$VNETCFG" -q --state-dir "$state" rollback dbench
rm -rf "$state" "$state.time"
