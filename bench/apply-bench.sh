#!/usr/bin/env bash
# Benchmark (not a test): apply 100 networks x 10 taps in throwaway network
# namespaces and print the time as a ratio to an `ip -batch` file creating the
# same links (bridges up, taps enslaved and up, aliases) and addresses,
# measured in the same run. Also the no-op re-apply and the rollback.
#
#   bash bench/apply-bench.sh [path/to/vnetcfg] [networks] [taps-per-network] [rounds]
#
# Targets: apply ratio <= 1.5, no-op re-apply <= 0.1 s. Apply and the no-op are
# measured with --no-verify (the work ip -batch does); verify is timed apart.
set -euo pipefail
VNETCFG=$(readlink -f "${1:-build/vnetcfg}")
NETS=${2:-100}
TAPS=${3:-10}
ROUNDS=${4:-3}

if [ -z "${VNC_BENCH_SANDBOX:-}" ]; then
        work=$(mktemp -d /tmp/vnc-bench.XXXXXX)
        trap 'rm -rf "$work"' EXIT
        python3 - "$NETS" "$TAPS" "$work" <<'PY'
import json, sys
nets, taps, work = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
prof = {"version": 1, "name": "bench", "networks": []}
batch = []
for i in range(nets):
    name = f"n{i}"
    br = f"vn-{name}"
    addr = f"10.{100 + i // 250}.{i % 250}.1/24"
    t = [{"name": f"{name}-t{j}"} for j in range(taps)]
    prof["networks"].append({"name": name, "mode": "host-only", "ipv4": {"address": addr}, "taps": t})
    alias = f"vnetcfg:bench/{name}"
    batch.append(f"link add name {br} type bridge")
    batch.append(f"link set dev {br} up alias {alias}")
    for x in t:
        batch.append(f"tuntap add dev {x['name']} mode tap")
        batch.append(f"link set dev {x['name']} master {br} up alias {alias}")
    batch.append(f"addr add {addr} dev {br}")
json.dump(prof, open(f"{work}/bench.json", "w"), indent=1)
open(f"{work}/baseline.batch", "w").write("\n".join(batch) + "\n")
PY
        results="$work/results"
        : >"$results"
        for ((r = 1; r <= ROUNDS; r++)); do
                for what in baseline vnetcfg; do
                        unshare -n -m --propagation private -- env VNC_BENCH_SANDBOX=1 VNC_BENCH_WHAT=$what \
                                VNC_BENCH_WORK="$work" bash "$0" "$VNETCFG" >>"$results"
                        # Deleting a namespace full of links keeps rtnl busy for a while: let it settle.
                        sleep 2
                done
        done
        python3 - "$results" "$NETS" "$TAPS" <<'PY'
import sys, statistics
rows = {}
for line in open(sys.argv[1]):
    k, v = line.split()
    rows.setdefault(k, []).append(float(v))
med = {k: statistics.median(v) for k, v in rows.items()}
n, t = sys.argv[2], sys.argv[3]
print(f"vnetcfg bench: {n} networks x {t} taps ({int(n) * (int(t) + 1)} links), median of {len(rows['baseline'])} rounds")
print(f"  ip -batch baseline   {med['baseline']:8.3f} s")
print(f"  vnetcfg apply        {med['apply']:8.3f} s   ratio {med['apply'] / med['baseline']:.2f}  (target <= 1.5)")
print(f"  vnetcfg no-op apply  {med['noop']:8.3f} s   (target <= 0.1 s)")
print(f"  vnetcfg rollback     {med['rollback']:8.3f} s")
print(f"  vnetcfg verify       {med['verify']:8.3f} s   ({n} networks: a probe each, run in parallel)")
PY
        exit 0
fi

# Inside one sandbox.
ip link set lo up
now() { date +%s.%N; }
work=$VNC_BENCH_WORK
state=$(mktemp -d /tmp/vnc-bench-state.XXXXXX)
if [ "$VNC_BENCH_WHAT" = baseline ]; then
        t0=$(now)
        ip -batch "$work/baseline.batch"
        t1=$(now)
        echo "baseline $(python3 -c "print($t1 - $t0)")"
else
        # The configuration work alone (what ip -batch does); verify is timed on its own.
        t0=$(now)
        "$VNETCFG" -q --state-dir "$state" apply --no-verify "$work/bench.json"
        t1=$(now)
        "$VNETCFG" -q --state-dir "$state" apply --no-verify "$work/bench.json"
        t2=$(now)
        "$VNETCFG" -q --state-dir "$state" verify bench >/dev/null || true
        tv=$(now)
        t2b=$(now)
        "$VNETCFG" -q --state-dir "$state" rollback bench
        t3=$(now)
        [ "$(ip -o link | wc -l)" = 1 ] || { echo "rollback left links behind" >&2; exit 1; }
        echo "apply $(python3 -c "print($t1 - $t0)")"
        echo "noop $(python3 -c "print($t2 - $t1)")"
        echo "rollback $(python3 -c "print($t3 - $t2b)")"
        echo "verify $(python3 -c "print($tv - $t2)")"
fi
rm -rf "$state"
