#!/usr/bin/env bash
# Benchmark (not a test): apply 100 NAT networks x 10 taps in throwaway network
# namespaces, once with each firewall backend, and print each time as a ratio
# to its floor measured in the same run: an `ip -batch` file creating the same
# links (bridges up, taps enslaved and up, aliases) and addresses, plus ONE
# `nft -f` (nftables) or ONE `iptables-legacy-restore` (iptables) loading the
# very ruleset vnetcfg made (captured from a first apply). Also the no-op
# re-apply, verify, and the rollback with its own floor: the bridges' addresses
# deleted, then the taps and then the bridges each moved into one link group and
# deleted with one `ip link delete group` (one batched unregister each), plus an
# `nft flush ruleset` (or an `iptables-legacy-restore` of the empty tables).
# Bridges dominate both: the kernel waits for an RCU grace period per bridge
# (rcu_barrier() in br_multicast_dev_del()) even within one batched
# unregister, about 16 ms each here.
#
#   bash bench/apply-bench.sh [path/to/vnetcfg] [networks] [taps-per-network] [rounds]
#
# Targets (issue 12): apply ratio <= 1.2 with either backend, no-op re-apply
# <= 0.1 s. Apply and the no-op are measured with --no-verify (the work the
# floor does); verify is timed apart.
set -euo pipefail
VNETCFG=$(readlink -f "${1:-build/vnetcfg}")
NETS=${2:-100}
TAPS=${3:-10}
ROUNDS=${4:-3}
BACKENDS=(nftables iptables)

if [ -z "${VNC_BENCH_SANDBOX:-}" ]; then
        work=$(mktemp -d /tmp/vnc-bench.XXXXXX)
        trap 'rm -rf "$work"' EXIT
        python3 - "$NETS" "$TAPS" "$work" <<'PY'
import json, sys
nets, taps, work = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
batch, unbatch = [], []
prof = {"version": 1, "name": "bench", "networks": []}
for i in range(nets):
    name = f"n{i}"
    br = f"vn-{name}"
    addr = f"10.{100 + i // 250}.{i % 250}.1/24"
    t = [{"name": f"{name}-t{j}"} for j in range(taps)]
    prof["networks"].append({"name": name, "mode": "nat", "ipv4": {"address": addr}, "taps": t})
    alias = f"vnetcfg:bench/{name}"
    batch.append(f"link add name {br} type bridge")
    batch.append(f"link set dev {br} up alias {alias}")
    for x in t:
        batch.append(f"tuntap add dev {x['name']} mode tap")
        batch.append(f"link set dev {x['name']} master {br} up alias {alias}")
    batch.append(f"addr add {addr} dev {br}")
    unbatch += [f"addr del {addr} dev {br}", f"link set dev {br} group 8"]
    unbatch += [f"link set dev {x['name']} group 7" for x in t]
for fw in ("nftables", "iptables"):
    prof["firewall"] = {"backend": fw}
    json.dump(prof, open(f"{work}/bench-{fw}.json", "w"), indent=1)
open(f"{work}/baseline.batch", "w").write("\n".join(batch) + "\n")
# Addresses first (a bridge that still has its IPv4 address costs some 7 ms more to unregister),
# then the taps, then the bridges: the fastest order found.
open(f"{work}/rollback.batch", "w").write("\n".join(unbatch + ["link delete group 7", "link delete group 8"]) + "\n")
PY
        # Until the kernel has ended the last sandbox: deleting a namespace with 1100 links holds the
        # rtnl lock for seconds (2 s here), and a run started meanwhile waits for it. A veth made in a
        # throwaway namespace answers in milliseconds once it is over.
        settle() {
                sleep 1
                for ((k = 0; k < 60; k++)); do
                        local t0=$EPOCHREALTIME
                        unshare -n ip link add name vb0 type veth peer name vb1
                        python3 -c "import sys; sys.exit(0 if $EPOCHREALTIME - $t0 < 0.05 else 1)" && return
                        sleep 0.5
                done
        }
        # The floors' firewall input: exactly what vnetcfg writes, captured once per backend.
        for fw in "${BACKENDS[@]}"; do
                unshare -n -m --propagation private -- env VNC_BENCH_SANDBOX=1 VNC_BENCH_WHAT=capture \
                        VNC_BENCH_FW=$fw VNC_BENCH_WORK="$work" bash "$0" "$VNETCFG"
                settle
        done
        results="$work/results"
        : >"$results"
        load0=$(cut -d' ' -f1-3 /proc/loadavg)
        for ((r = 1; r <= ROUNDS; r++)); do
                for fw in "${BACKENDS[@]}"; do
                        for what in floor vnetcfg; do
                                unshare -n -m --propagation private -- env VNC_BENCH_SANDBOX=1 VNC_BENCH_WHAT=$what \
                                        VNC_BENCH_FW=$fw VNC_BENCH_WORK="$work" bash "$0" "$VNETCFG" >>"$results"
                                settle
                        done
                done
        done
        python3 - "$results" "$NETS" "$TAPS" "$work" "$load0" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PY'
import sys, statistics
print(f"load average (1 5 15 min) before {sys.argv[5]}, after {sys.argv[6]}: wall times include waiting for a CPU")
rows = {}
for line in open(sys.argv[1]):
    k, v = line.split()
    rows.setdefault(k, []).append(float(v))
med = {k: statistics.median(v) for k, v in rows.items()}
n, t, work = sys.argv[2], sys.argv[3], sys.argv[4]
nrules = {fw: sum(1 for l in open(f"{work}/rules.{fw}") if "vnetcfg:bench/" in l) for fw in ("nftables", "iptables")}
print(f"vnetcfg apply bench: {n} NAT networks x {t} taps ({int(n) * (int(t) + 1)} links), median of {len(rows['floor-nftables'])} rounds")
for fw, tool, target in (("nftables", "nft -f", 1.2), ("iptables", "iptables-legacy-restore", 1.2)):
    f, a = med[f"floor-{fw}"], med[f"apply-{fw}"]
    print(f"  {fw} ({nrules[fw]} rules)")
    print(f"    floor: ip -batch + one {tool:24s} {f:8.3f} s")
    cpu = lambda k: f"cpu {med[f'{k}-{fw}-cpu']:.3f} s"
    print(f"    vnetcfg apply                           {a:8.3f} s   ratio {a / f:.2f}  (target <= {target})  {cpu('apply')}")
    print(f"    vnetcfg no-op apply                     {med[f'noop-{fw}']:8.3f} s   (target <= 0.1 s)  {cpu('noop')}")
    fr, ar = med[f"rollback-floor-{fw}"], med[f"rollback-{fw}"]
    undo = "nft flush ruleset" if fw == "nftables" else "iptables-restore"
    print(f"    rollback floor: {'ip -batch + ' + undo:31s} {fr:8.3f} s")
    print(f"    vnetcfg rollback                        {ar:8.3f} s   ratio {ar / fr:.2f}  {cpu('rollback')}")
    print(f"    vnetcfg verify                          {med[f'verify-{fw}']:8.3f} s   {cpu('verify')}")
PY
        exit 0
fi

# Inside one sandbox.
ip link set lo up
# /sys shows the namespace that mounted it: mount our own, as vnetcfg in the root namespace sees its own.
mount -t sysfs sysfs /sys
# timed STEP CMD...: CMD under /usr/bin/time; cpu_of STEP: its user+sys CPU seconds
timed() { local step=$1; shift; /usr/bin/time -o "$state.$step" -f "%U %S" "$@"; }
cpu_of() { tail -n 1 "$state.$1" | awk '{print $1 + $2}'; }
work=$VNC_BENCH_WORK
fw=$VNC_BENCH_FW
state=$(mktemp -d /tmp/vnc-bench-state.XXXXXX)
case "$VNC_BENCH_WHAT" in
capture)
        "$VNETCFG" -q --state-dir "$state" apply --no-verify "$work/bench-$fw.json"
        if [ "$fw" = nftables ]; then
                nft list ruleset >"$work/rules.$fw"
        else
                iptables-legacy-save | grep -v '^#' >"$work/rules.$fw"
        fi
        "$VNETCFG" -q --state-dir "$state" rollback bench
        ;;
floor)
        # The tables as they are empty, for the iptables rollback floor.
        [ "$fw" = iptables ] && { iptables-legacy-save -t filter; iptables-legacy-save -t nat; } >"$state/empty.rules"
        t0=$EPOCHREALTIME
        ip -batch "$work/baseline.batch"
        sysctl -qw net.ipv4.ip_forward=1
        if [ "$fw" = nftables ]; then
                nft -f "$work/rules.$fw"
        else
                iptables-legacy-restore <"$work/rules.$fw"
        fi
        t1=$EPOCHREALTIME
        echo "floor-$fw $(python3 -c "print($t1 - $t0)")"
        t2=$EPOCHREALTIME
        ip -batch "$work/rollback.batch"
        sysctl -qw net.ipv4.ip_forward=0
        if [ "$fw" = nftables ]; then
                nft flush ruleset
        else
                iptables-legacy-restore <"$state/empty.rules"
        fi
        t3=$EPOCHREALTIME
        [ "$(ip -o link | wc -l)" = 1 ] || { echo "rollback floor left links behind" >&2; exit 1; }
        echo "rollback-floor-$fw $(python3 -c "print($t3 - $t2)")"
        ;;
vnetcfg)
        t0=$EPOCHREALTIME
        timed apply "$VNETCFG" -q --state-dir "$state" apply --no-verify "$work/bench-$fw.json"
        t1=$EPOCHREALTIME
        timed noop "$VNETCFG" -q --state-dir "$state" apply --no-verify "$work/bench-$fw.json"
        t2=$EPOCHREALTIME
        timed verify "$VNETCFG" -q --state-dir "$state" verify bench >/dev/null || true
        tv=$EPOCHREALTIME
        timed rollback "$VNETCFG" -q --state-dir "$state" rollback bench
        t3=$EPOCHREALTIME
        [ "$(ip -o link | wc -l)" = 1 ] || { echo "rollback left links behind" >&2; exit 1; }
        if [ "$fw" = nftables ]; then
                [ -z "$(nft list ruleset)" ] || { echo "rollback left nftables rules behind" >&2; exit 1; }
        fi
        echo "apply-$fw $(python3 -c "print($t1 - $t0)")"
        echo "noop-$fw $(python3 -c "print($t2 - $t1)")"
        echo "rollback-$fw $(python3 -c "print($t3 - $tv)")"
        echo "verify-$fw $(python3 -c "print($tv - $t2)")"
        echo "apply-$fw-cpu $(cpu_of apply)"
        echo "noop-$fw-cpu $(cpu_of noop)"
        echo "verify-$fw-cpu $(cpu_of verify)"
        echo "rollback-$fw-cpu $(cpu_of rollback)"
        ;;
esac
rm -rf "$state" "$state".*
