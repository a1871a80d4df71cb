# shellcheck shell=bash
# Shared by the QEMU guest scenarios (tests/vm/test-*.sh). Sourcing it builds
# (or reuses) the guest image outside the sandbox, then sources
# tests/netns/lib.sh, which re-executes the test in its own network and mount
# namespaces: vnetcfg, its taps, QEMU and every "upstream" namespace live in
# there, never in the root namespace.
#
#   vm_start NAME TAP MAC "vnc.addr=... vnc.ping=..." [netdev options]
#   vm_wait NAME...                 every result printed (VNC-DONE), or FAIL with the serial log
#   vm_expect NAME "ping 10.10.0.1 ok"   that exact result line (see tests/vm/init for the job format)
#   vm_verify PROFILE_NAME NET:KIND=true|false...   vnetcfg verify against what the guests saw
#
# Guests run under TCG (nested KVM hung on these machines), 256 MiB, one vCPU,
# serial console to $TMP/NAME.serial. A missing qemu, /dev/net/tun or image
# is a failure, never a skip.
set -u

VM_CACHE=${VNC_VM_CACHE:-${TMPDIR:-/var/tmp}/vnetcfg-vm-cache}
if [ -z "${VNC_SANDBOXED:-}" ]; then
        command -v qemu-system-x86_64 >/dev/null ||
                { echo "FAIL: qemu-system-x86_64 is missing (scripts/install-deps.sh installs qemu-system-x86)" >&2; exit 1; }
        [ -c /dev/net/tun ] || { echo "FAIL: /dev/net/tun is missing: QEMU cannot open taps" >&2; exit 1; }
        bash "$(dirname "${BASH_SOURCE[0]}")/build-image.sh" "$VM_CACHE" ||
                { echo "FAIL: could not build the guest image" >&2; exit 1; }
fi
# shellcheck source=../netns/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../netns/lib.sh"

VM_KERNEL=$VM_CACHE/vmlinuz
VM_INITRD=$VM_CACHE/initrd.img
VM_TIMEOUT=${VNC_VM_TIMEOUT:-120} # seconds from start to VNC-DONE, per guest
declare -A VM_PID=() VM_T0=()

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

vm_start() { # name tap mac job [extra netdev options, e.g. ",vnet_hdr=on"]
        local name=$1 tap=$2 mac=$3 job=$4 extra=${5:-}
        [ -e "/sys/class/net/$tap" ] || fail "guest $name: tap $tap does not exist"
        : >"$TMP/$name.serial"
        VM_T0[$name]=$(now)
        qemu-system-x86_64 -name "$name" -accel tcg -m 256 -smp 1 \
                -nodefaults -no-user-config -display none -no-reboot \
                -serial "file:$TMP/$name.serial" \
                -kernel "$VM_KERNEL" -initrd "$VM_INITRD" \
                -append "console=ttyS0 panic=-1 quiet no_timer_check vnc.name=$name $job" \
                -netdev "tap,id=n0,ifname=$tap,script=no,downscript=no$extra" \
                -device "virtio-net-pci,netdev=n0,mac=$mac" \
                >"$TMP/$name.qemu" 2>&1 </dev/null &
        VM_PID[$name]=$!
        defer "vm_kill $name"
}

vm_kill() {
        local pid=${VM_PID[$1]:-}
        [ -n "$pid" ] || return 0
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        unset "VM_PID[$1]"
        return 0
}

vm_log() { # name: the serial log (and QEMU's own output), for a failure message
        echo "---- guest $1: serial console ----"
        tr -d '\r' <"$TMP/$1.serial"
        if [ -s "$TMP/$1.qemu" ]; then
                echo "---- guest $1: qemu ----"
                cat "$TMP/$1.qemu"
        fi
        echo "---- end of guest $1 ----"
}

vm_fail() { # name message
        local name=$1
        shift
        fail "$*
$(vm_log "$name")"
}

vm_wait() { # names...: each printed VNC-DONE
        local name
        for name in "$@"; do
                while ! tr -d '\r' <"$TMP/$name.serial" | grep -q '^VNC-DONE'; do
                        if ! kill -0 "${VM_PID[$name]}" 2>/dev/null; then
                                vm_fail "$name" "guest $name: QEMU exited before the guest finished its job"
                        fi
                        if [ "$(elapsed "${VM_T0[$name]}" | cut -d. -f1)" -ge "$VM_TIMEOUT" ]; then
                                vm_fail "$name" "guest $name: no VNC-DONE within $VM_TIMEOUT s"
                        fi
                        sleep 0.2
                done
                echo "# guest $name: $(tr -d '\r' <"$TMP/$name.serial" | grep -m1 '^VNC-DONE') (guest uptime), seen $(elapsed "${VM_T0[$name]}") s after QEMU started"
        done
}

vm_results() { tr -d '\r' <"$TMP/$1.serial" | sed -n 's/^VNC-RESULT //p'; }

vm_expect() { # name "what arg ok|fail [detail]": that exact line
        vm_results "$1" | grep -qxF "$2" || vm_fail "$1" "guest $1: expected result \"$2\", got:
$(vm_results "$1")"
}

vm_no_failures() { # names...: no result line says fail
        local name
        for name in "$@"; do
                ! vm_results "$name" | grep -q '^[^ ]* [^ ]* fail' ||
                        vm_fail "$name" "guest $name reported failures"
        done
}

vm_result() { # name what arg -> "ok [detail]" or "fail [detail]"
        vm_results "$1" | awk -v w="$2" -v a="$3" '$1 == w && $2 == a { $1 = ""; $2 = ""; sub(/^  /, ""); print; exit }'
}

vm_saw() { # name "what arg" -> true|false: the guest's verdict on that check
        if vm_results "$1" | grep -qxF "$2 ok" || vm_results "$1" | grep -q "^$2 ok "; then
                echo true
        else
                echo false
        fi
}

# A TCP listener that answers each connection with the peer's address (ns "" = the host).
listen() { # ns port
        local pre=()
        [ -n "$1" ] && pre=(ip netns exec "$1")
        "${pre[@]}" python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(8)
while True:
    c, a = s.accept(); c.sendall(("%s\n" % a[0]).encode()); c.close()' "$2" &
        defer "kill $!"
}
connect() { # ns addr port -> what the listener said (the source it saw), or nothing
        local pre=()
        [ -n "$1" ] && pre=(ip netns exec "$1")
        "${pre[@]}" python3 -c '
import socket, sys
try:
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3); print(s.recv(100).decode().strip())
except OSError:
    pass' "$2" "$3"
}
# Positive checks from the host side retry (a TCG guest on a busy machine can
# be slow to answer its first ARP); negative checks use connect/pings once.
connect_ok() { # ns addr port -> what the listener said, retried up to 3 times
        local said="" i
        for i in 1 2 3; do
                said=$(connect "$@")
                [ -n "$said" ] && break
        done
        echo "$said"
}
pings_ok() { # ns addr
        local i
        for i in 1 2 3; do pings "$@" && return 0; done
        return 1
}
pings() { # ns addr (ns "" = the host)
        local pre=()
        [ -n "$1" ] && pre=(ip netns exec "$1")
        "${pre[@]}" busybox ping -c 1 -W 2 "$2" >/dev/null 2>&1
}
# ICMP echo of SIZE payload bytes with Don't-Fragment set (IP_PMTUDISC_DO).
ping_df() { # addr size
        python3 "$VNC_SOURCE_DIR/tests/vm/dfping.py" "$1" "$2"
}

# vnetcfg verify with the guests up. Each expectation NET:KIND=BOOL says what
# the guests saw for that check kind on that network (tests/vm/init results);
# verify's checks of that kind must agree, its "ok" must be the conjunction of
# all expectations, and its exit code 0 or 3 accordingly.
# Until verify lands it exits 1 saying "not available": that is recorded, loudly.
vm_verify() { # profile-name expectations...
        local name=$1 rc=0 t0
        shift
        t0=$(now)
        OUT=$("$VNETCFG" --state-dir "$STATE" --json verify "$name" 2>"$TMP/verify.err") || rc=$?
        echo "# verify: exit $rc after $(elapsed "$t0") s"
        ERR=$(cat "$TMP/verify.err")
        if [ "$rc" = 1 ] && echo "$ERR" | grep -q 'verify is not available'; then
                ok "verify: NOT CHECKED, vnetcfg verify is not available yet (exit 1: $ERR); guests saw: $*"
                return 0
        fi
        python3 "$VNC_SOURCE_DIR/tests/vm/verify-agrees.py" "$rc" "$@" <<<"$OUT" >"$TMP/verify.diag" 2>&1 ||
                fail "vnetcfg verify disagrees with the guests:
$(cat "$TMP/verify.diag")
exit: $rc
stdout: $OUT
stderr: $ERR"
        sed 's/^/# /' "$TMP/verify.diag"
        ok "verify agrees with the guests ($*)"
}
