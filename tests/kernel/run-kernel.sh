#!/usr/bin/env bash
# The kernel matrix: run tests that need kernel features this machine's kernel
# lacks (802.1Q VLAN sub-interfaces, bridge vlan_filtering) under a stock
# Debian 6.1 kernel, in one QEMU guest (TCG) that boots this machine's own root
# filesystem read-only over virtio-9p, so the freshly built vnetcfg and the
# test scripts are the ones in this tree.
#
#   run-kernel.sh CACHE RESULTS TEST.sh...
#
# CACHE: the guest image (tests/vm/build-image.sh with this directory's init and
# the 9p and overlay modules; the kernel's whole module tree is kept in
# CACHE/kroot so the guest loads 8021q, bridge, netfilter... on demand).
# RESULTS: made empty, shared writable with the guest as 9p tag "out"; the guest
# writes TEST.log and TEST.rc per test there (check-result.sh reads them).
# The guest has no network device: nothing here touches the machine's network.
set -euo pipefail

cache=${1:?usage: run-kernel.sh CACHE RESULTS TEST.sh...}
results=${2:?usage: run-kernel.sh CACHE RESULTS TEST.sh...}
shift 2
here=$(cd "$(dirname "$0")" && pwd)
: "${VNETCFG:?VNETCFG must point at the vnetcfg binary}"
: "${VNC_SOURCE_DIR:?VNC_SOURCE_DIR must point at the source tree}"
: "${VNC_TAP_PUMP:?VNC_TAP_PUMP must point at the tap-pump binary}"
timeout_s=${VNC_KERNEL_TIMEOUT:-2400} # the whole guest run (TCG on a loaded machine is slow)
test_timeout=${VNC_KERNEL_TEST_TIMEOUT:-900}

command -v qemu-system-x86_64 >/dev/null ||
        { echo "FAIL: qemu-system-x86_64 is missing (scripts/install-deps.sh installs qemu-system-x86)" >&2; exit 1; }
VNC_VM_MODULES="virtio_pci 9pnet_virtio 9p overlay" VNC_VM_INIT="$here/init" VNC_VM_KEEP_MODULES=1 \
        bash "$VNC_SOURCE_DIR/tests/vm/build-image.sh" "$cache" ||
        { echo "FAIL: could not build the kernel-matrix guest image" >&2; exit 1; }
kver=$(ls "$cache/kroot/lib/modules")

rm -rf "$results"
mkdir -p "$results"
tests=()
for t in "$@"; do tests+=("$(cd "$(dirname "$t")" && pwd)/$(basename "$t")"); done
{
        printf 'export VNETCFG=%q VNC_SOURCE_DIR=%q VNC_TAP_PUMP=%q\n' "$VNETCFG" "$VNC_SOURCE_DIR" "$VNC_TAP_PUMP"
        printf 'export VNC_KERNEL_TESTS=%q VNC_KERNEL_TEST_TIMEOUT=%q\n' "${tests[*]}" "$test_timeout"
} >"$results/env.sh"

echo "kernel matrix: Linux $kver (Debian), ${#tests[@]} test(s), this machine's root over 9p"
t0=$(date +%s)
rc=0
timeout -k 10 "$timeout_s" qemu-system-x86_64 -name kernel-matrix -accel tcg -m 1536 -smp 2 \
        -nodefaults -no-user-config -display none -no-reboot \
        -serial "file:$results/serial.log" \
        -kernel "$cache/vmlinuz" -initrd "$cache/initrd.img" \
        -append "console=ttyS0 panic=-1 quiet no_timer_check vnc.run=$here/guest-run.sh vnc.kroot=$cache/kroot" \
        -fsdev "local,id=root,path=/,security_model=none,readonly=on,multidevs=remap" \
        -device "virtio-9p-pci,fsdev=root,mount_tag=hostroot" \
        -fsdev "local,id=out,path=$results,security_model=none" \
        -device "virtio-9p-pci,fsdev=out,mount_tag=out" \
        </dev/null >"$results/qemu.log" 2>&1 || rc=$?
echo "kernel matrix: guest ran $(($(date +%s) - t0)) s (qemu exit $rc)"
grep -a 'VNC-KERNEL' "$results/serial.log" || true
if [ ! -f "$results/guest.done" ]; then
        echo "FAIL: the guest did not finish its tests; serial console:" >&2
        tail -n 40 "$results/serial.log" >&2
        cat "$results/qemu.log" >&2
        exit 1
fi
failed=0
for t in "${tests[@]}"; do
        name=$(basename "$t" .sh)
        r=$(cat "$results/$name.rc" 2>/dev/null || echo missing)
        echo "  $name: exit $r"
        [ "$r" = 0 ] || failed=$((failed + 1))
done
# The guest ran; each test's own result is reported by its kernel/<test> entry.
echo "kernel matrix: $failed of ${#tests[@]} failed"
