#!/usr/bin/env bash
# Benchmark (not a test): `vnetcfg verify` of many NAT networks (x taps), with
# and without DHCP, in a throwaway network namespace, printed as times and as
# ratios measured in the same run:
#   - against the floor SPEC section 5 compares with: one probe namespace with a
#     veth port made and deleted per network, one after the other (`ip -batch`);
#   - against verify of a tenth of the networks (how the cost grows).
#
#   bash bench/verify-bench.sh [path/to/vnetcfg] [networks] [taps-per-network] [rounds]
#
# Target (issue 12): verify of 100 networks <= 0.5 s, with and without DHCP.
set -euo pipefail
VNETCFG=$(readlink -f "${1:-build/vnetcfg}")
NETS=${2:-100}
TAPS=${3:-10}
ROUNDS=${4:-3}

if [ -z "${VNC_BENCH_SANDBOX:-}" ]; then
        work=$(mktemp -d /tmp/vnc-vbench.XXXXXX)
        trap 'rm -rf "$work"' EXIT
        load0=$(cut -d' ' -f1-3 /proc/loadavg)
        unshare -n -m --propagation private -- env VNC_BENCH_SANDBOX=1 VNC_BENCH_WORK="$work" \
                bash "$0" "$VNETCFG" "$NETS" "$TAPS" "$ROUNDS" >"$work/results"
        python3 - "$work/results" "$NETS" "$TAPS" "$load0" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PY'
import sys, statistics
print(f"load average (1 5 15 min) before {sys.argv[4]}, after {sys.argv[5]}: wall times include waiting for a CPU")
rows = {}
for line in open(sys.argv[1]):
    k, v = line.split()
    rows.setdefault(k, []).append(float(v))
med = {k: statistics.median(v) for k, v in rows.items()}
n, t = int(sys.argv[2]), int(sys.argv[3])
small = max(1, n // 10)
print(f"vnetcfg verify bench: {n} NAT networks x {t} taps, median of {len(rows['verify'])} rounds")
print(f"  floor: a probe namespace + veth made and deleted per network (ip -batch)  {med['floor']:7.3f} s")
for key, what in (("verify", "without DHCP"), ("verify_dhcp", "with DHCP")):
    v, s = med[key], med[key + "_small"]
    print(f"  verify {n:4d} networks {what:12s} {v:7.3f} s   ratio to the floor {v / med['floor']:.2f}"
          f"   to {small} networks {v / s:.1f}x   (target <= 0.5 s)")
    print(f"  verify {small:4d} networks {what:12s} {s:7.3f} s   CPU {med[key + '_small_cpu']:5.3f} s")
    print(f"  verify {n:4d} networks {what:12s} CPU {med[key + '_cpu']:5.3f} s (user+sys; the machine's load inflates wall times)")
PY
        exit 0
fi

# Inside the sandbox.
ip link set lo up
# /sys shows the namespace that mounted it: mount our own, as vnetcfg in the root namespace sees its own.
mount -t sysfs sysfs /sys
mkdir -p /run/netns && mount -t tmpfs tmpfs /run/netns
work=$VNC_BENCH_WORK
elapsed() { python3 -c "print($2 - $1)"; }
cpu() { awk '{print $1 + $2}' "$work/cpu"; }

profile() { # networks dhcp(0|1) name -> file
        python3 - "$1" "$TAPS" "$2" "$3" "$work/$3.json" <<'PY'
import json, sys
nets, taps, dhcp, name, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4], sys.argv[5]
prof = {"version": 1, "name": name, "networks": []}
for i in range(nets):
    n = {"name": f"n{i}", "mode": "nat", "ipv4": {"address": f"10.{100 + i // 250}.{i % 250}.1/24"},
         "taps": [{"name": f"n{i}-t{j}"} for j in range(taps)]}
    if dhcp:
        b = f"10.{100 + i // 250}.{i % 250}"
        n["dhcp"] = {"start": f"{b}.100", "end": f"{b}.199"}
    prof["networks"].append(n)
json.dump(prof, open(out, "w"), indent=1)
PY
}

state=$(mktemp -d /tmp/vnc-vbench-state.XXXXXX)
trap 'rm -rf "$state"' EXIT
V() { "$VNETCFG" -q --state-dir "$state" "$@"; }
small=$((NETS / 10 > 0 ? NETS / 10 : 1))

for dhcp in 0 1; do
        suffix=$([ $dhcp = 1 ] && echo _dhcp || true)
        profile "$NETS" $dhcp big
        profile "$small" $dhcp small
        V apply --no-verify "$work/big.json"
        # the small profile checks the first tenth of the same bridges (verify reads only the profile)
        sed 's/"name": "big"/"name": "small"/' "$work/small.json" >"$work/small2.json"
        sleep 1
        for ((r = 1; r <= ROUNDS; r++)); do
                # $EPOCHREALTIME, not date: no process started inside the timed span but vnetcfg's own
                t0=$EPOCHREALTIME
                /usr/bin/time -f "%U %S" -o "$work/cpu" "$VNETCFG" -q --state-dir "$state" verify "$work/big.json" \
                        >"$work/out" || { echo "verify failed:" >&2; grep -v "^  pass" "$work/out" >&2; exit 1; }
                t1b=$EPOCHREALTIME
                echo "verify${suffix}_cpu $(cpu)"
                sleep 6 # the kernel ends the probe namespaces in the background (under the rtnl lock)
                t1=$EPOCHREALTIME
                /usr/bin/time -f "%U %S" -o "$work/cpu" "$VNETCFG" -q --state-dir "$state" verify "$work/small2.json" \
                        >"$work/out" || { echo "verify (small) failed:" >&2; grep -v "^  pass" "$work/out" >&2; exit 1; }
                t2=$EPOCHREALTIME
                echo "verify${suffix}_small_cpu $(cpu)"
                echo "verify$suffix $(elapsed "$t0" "$t1b")"
                echo "verify${suffix}_small $(elapsed "$t1" "$t2")"
                sleep 6
        done
        if [ $dhcp = 0 ]; then
                # The floor: per network, a namespace and a veth port on its bridge, made and deleted in turn.
                for ((i = 0; i < NETS; i++)); do
                        echo "netns add f$i"
                        echo "link add fp$i type veth peer name eth0 netns f$i"
                        echo "link set fp$i master vn-n$i up"
                        echo "link del fp$i"
                        echo "netns del f$i"
                done >"$work/floor.batch"
                for ((r = 1; r <= ROUNDS; r++)); do
                        t0=$EPOCHREALTIME
                        ip -batch "$work/floor.batch"
                        t1=$EPOCHREALTIME
                        echo "floor $(elapsed "$t0" "$t1")"
                        sleep 1
                done
        fi
        V rollback --all big
        sleep 2
done
