# shellcheck shell=bash
# A real libvirtd (and its virtlogd) for a test, in a sandbox of the test's
# own: network, mount and PID namespaces (unshare -n -m -p -f --mount-proc),
# so the daemon, its dnsmasq and QEMU end with the test at the latest.
# libvirt's directories (/run, /etc/libvirt, /var/lib/libvirt, /var/cache/libvirt,
# /var/log/libvirt) are tmpfs of the sandbox; /etc/passwd and /etc/group are
# bind-mounted copies that add the libvirt-qemu user the qemu driver wants.
# The machine's own files are never written.
#
#   . "$(dirname "$0")/libvirt-lib.sh"     # instead of lib.sh
#   lv_start; virsh_ net-list --all; lv_stop; lv_start   # a restart
if [ -z "${VNC_SANDBOXED:-}" ]; then
        exec unshare -n -m -p -f --mount-proc --propagation private -- env VNC_SANDBOXED=1 bash "$0" "$@"
fi
mount -t tmpfs tmpfs /run
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

for tool in libvirtd virtlogd virsh; do
        command -v "$tool" >/dev/null || fail "$tool is missing: scripts/install-deps.sh installs libvirt-daemon and libvirt-clients"
done
LV_URI=qemu:///system
virsh_() { virsh -q -c "$LV_URI" "$@"; }

# libvirt-daemon ships /etc/libvirt; the /var directories come from libvirt-daemon-system's
# scripts, which are not installed (they enable a service). A missing one is made in an
# overlay of its parent that ends with the sandbox, so the machine's /var stays as it was.
for d in /etc/libvirt /var/lib/libvirt /var/cache/libvirt /var/log/libvirt; do
        if [ ! -d "$d" ]; then
                parent=$(dirname "$d") up="$TMP/overlay$(dirname "$d")"
                mkdir -p "$up/upper" "$up/work"
                mount -t overlay overlay -o "lowerdir=$parent,upperdir=$up/upper,workdir=$up/work" "$parent" ||
                        fail "cannot overlay $parent to make $d in the sandbox"
                mkdir "$d"
        fi
        mount -t tmpfs tmpfs "$d"
done
mkdir -p /run/libvirt "$TMP/etc"
cp /etc/passwd /etc/group "$TMP/etc/"
grep -q '^libvirt-qemu:' /etc/passwd || echo 'libvirt-qemu:x:64055:64055:libvirt qemu:/nonexistent:/usr/sbin/nologin' >>"$TMP/etc/passwd"
grep -q '^libvirt-qemu:' /etc/group || echo 'libvirt-qemu:x:64055:' >>"$TMP/etc/group"
grep -q '^kvm:' /etc/group || echo 'kvm:x:64056:' >>"$TMP/etc/group"
mount --bind "$TMP/etc/passwd" /etc/passwd
mount --bind "$TMP/etc/group" /etc/group
# QEMU runs as root inside the sandbox; no security driver (there is no AppArmor policy to load here).
printf 'user = "root"\ngroup = "root"\nsecurity_driver = "none"\n' >/etc/libvirt/qemu.conf
printf 'unix_sock_group = "root"\n' >/etc/libvirt/libvirtd.conf

LV_PIDFILE="$TMP/libvirtd.pid"
LOGD_PIDFILE="$TMP/virtlogd.pid"

# Wait (up to $1 seconds) for a command to succeed.
wait_for() {
        local secs=$1 i
        shift
        for ((i = 0; i < secs * 10; i++)); do
                "$@" >/dev/null 2>&1 && return 0
                sleep 0.1
        done
        return 1
}

lv_start() {
        if [ ! -s "$LOGD_PIDFILE" ] || ! kill -0 "$(cat "$LOGD_PIDFILE")" 2>/dev/null; then
                virtlogd -d -p "$LOGD_PIDFILE" || fail "virtlogd did not start"
        fi
        libvirtd -d -p "$LV_PIDFILE" || fail "libvirtd did not start"
        wait_for 60 virsh -c "$LV_URI" net-list --all || fail "libvirtd does not answer at $LV_URI"
}

_stop_pidfile() { # pidfile
        local pid i
        [ -s "$1" ] || return 0
        pid=$(cat "$1")
        kill "$pid" 2>/dev/null || return 0
        for ((i = 0; i < 300; i++)); do
                kill -0 "$pid" 2>/dev/null || return 0
                sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null
}

lv_stop() {
        _stop_pidfile "$LV_PIDFILE"
        rm -f "$LV_PIDFILE"
}

_lv_cleanup() {
        lv_stop
        _stop_pidfile "$LOGD_PIDFILE"
}
defer _lv_cleanup

# What libvirt has, one line per network: name, state, autostart, persistent.
lv_list() { virsh_ net-list --all | sed -E 's/ +/ /g; s/^ //' | sort; }
