#!/usr/bin/env bash
# A guest started by libvirt, attached to vnetcfg's network by name only.
# Topology, all inside this test's sandbox (tests/netns/libvirt-lib.sh: its own
# network, mount and PID namespaces, libvirtd and virtlogd of its own):
#
#   vn-labnet 10.78.0.1/24 host-only, DHCP 10.78.0.100-150 (vnetcfg's dnsmasq)
#      ^ libvirt network "labnet" (forward mode bridge), defined by vnetcfg
#      |- vnetN (tap libvirt makes) -- domain g1: TCG, direct kernel boot of the
#         tests/vm image, <interface type='network'><source network='labnet'/>,
#         serial console to a file; it asks DHCP for an address and pings the host
#
# Then: the host pings the leased address, and after the domain is gone
# rollback leaves libvirt's network list and the host exactly as before.
set -u
VM_CACHE=${VNC_VM_CACHE:-${TMPDIR:-/var/tmp}/vnetcfg-vm-cache}
if [ -z "${VNC_SANDBOXED:-}" ]; then
        command -v qemu-system-x86_64 >/dev/null ||
                { echo "FAIL: qemu-system-x86_64 is missing (scripts/install-deps.sh installs qemu-system-x86)" >&2; exit 1; }
        bash "$(dirname "$0")/build-image.sh" "$VM_CACHE" || { echo "FAIL: could not build the guest image" >&2; exit 1; }
fi
# shellcheck source=../netns/libvirt-lib.sh
. "$(dirname "$0")/../netns/libvirt-lib.sh"

VM_TIMEOUT=${VNC_VM_TIMEOUT:-300} # seconds from domain start to VNC-DONE (TCG on a busy machine)
[ -s "$VM_CACHE/vmlinuz" ] && [ -s "$VM_CACHE/initrd.img" ] || fail "no guest image in $VM_CACHE"
# Plain TCG guests here: no cgroups, no per-domain mount namespace, and the
# image files are used as they are (no chown, no ownership xattrs on them).
cat >>/etc/libvirt/qemu.conf <<'CONF'
cgroup_controllers = [ ]
namespaces = [ ]
dynamic_ownership = 0
remember_owner = 0
CONF

cat >"$TMP/p.json" <<JSON
{"version": 1, "name": "vmlv", "libvirt": {"uri": "$LV_URI", "define": true},
 "networks": [{"name": "labnet", "mode": "host-only", "ipv4": {"address": "10.78.0.1/24"},
               "dhcp": {"start": "10.78.0.100", "end": "10.78.0.150"}}]}
JSON

lv_start
lv_list >"$TMP/list.before"
snap before
expect_rc 0 apply "$TMP/p.json"
lv_list | grep -qx "labnet active yes yes" || fail "labnet after apply: $(lv_list)"
ok "apply: vn-labnet with DHCP, libvirt network labnet active"

cat >"$TMP/g1.xml" <<XML
<domain type='qemu'>
  <name>g1</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$VM_CACHE/vmlinuz</kernel>
    <initrd>$VM_CACHE/initrd.img</initrd>
    <cmdline>console=ttyS0 panic=-1 quiet no_timer_check vnc.name=g1 vnc.dhcp=1 vnc.ping=10.78.0.1 vnc.wait=120 vnc.stay=1</cmdline>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>$(command -v qemu-system-x86_64)</emulator>
    <interface type='network'>
      <source network='labnet'/>
      <mac address='52:54:00:00:78:10'/>
      <model type='virtio'/>
    </interface>
    <serial type='file'>
      <source path='$TMP/g1.serial'/>
      <target port='0'/>
    </serial>
  </devices>
</domain>
XML
: >"$TMP/g1.serial"
virsh_ define "$TMP/g1.xml" >/dev/null || fail "virsh define g1"
t0=$(date +%s)
virsh_ start g1 >"$TMP/start.out" 2>&1 || fail "virsh start g1: $(cat "$TMP/start.out")
$(tail -n 30 /var/log/libvirt/qemu/g1.log 2>/dev/null)"
defer "virsh -q -c $LV_URI destroy g1; virsh -q -c $LV_URI undefine g1"

guest_log() {
        echo "---- g1 serial console ----"
        tr -d '\r' <"$TMP/g1.serial"
        echo "---- libvirt's log of g1 ----"
        tail -n 30 /var/log/libvirt/qemu/g1.log 2>/dev/null
}
# The tap libvirt made for g1, and where it is.
tap=$(virsh_ domiflist g1 | awk '$3 == "labnet" {print $1}')
[ -n "$tap" ] || fail "g1 has no interface on network labnet: $(virsh_ domiflist g1)"
assert_eq "$(link_field "$tap" master)" vn-labnet "master of g1's tap $tap"
ok "g1 started by libvirt; its tap $tap is a port of vn-labnet"

until tr -d '\r' <"$TMP/g1.serial" | grep -q '^VNC-DONE'; do
        virsh_ domstate g1 | grep -q running || fail "g1 stopped before it finished:
$(guest_log)"
        [ $(($(date +%s) - t0)) -lt "$VM_TIMEOUT" ] || fail "g1: no VNC-DONE within $VM_TIMEOUT s
$(guest_log)"
        sleep 0.5
done
echo "# g1 done $(($(date +%s) - t0)) s after virsh start"
results=$(tr -d '\r' <"$TMP/g1.serial" | sed -n 's/^VNC-RESULT //p')
lease=$(echo "$results" | awk '$1 == "dhcp" && $3 == "ok" {print $2}')
[ -n "$lease" ] || fail "g1 got no DHCP lease:
$(guest_log)"
case "$lease" in 10.78.0.1[0-4][0-9] | 10.78.0.150) ;; *) fail "g1's lease $lease is outside 10.78.0.100-150" ;; esac
expect_rc 0 --json leases vmlv
echo "$OUT" | grep -qi '"52:54:00:00:78:10"' && echo "$OUT" | grep -q "\"$lease\"" ||
        fail "vnetcfg leases does not show g1 (52:54:00:00:78:10, $lease): $OUT"
ok "g1 got $lease from vnetcfg's dnsmasq"

echo "$results" | grep -qx "ping 10.78.0.1 ok" || fail "g1 could not ping the host:
$(guest_log)"
ok=0
for i in 1 2 3; do busybox ping -c 1 -W 2 "$lease" >/dev/null 2>&1 && { ok=1; break; }; done
[ "$ok" = 1 ] || fail "the host cannot ping g1 at $lease"
ok "g1 pings the host, and the host pings g1"

virsh_ destroy g1 >/dev/null || fail "virsh destroy g1"
virsh_ undefine g1 >/dev/null || fail "virsh undefine g1"
expect_rc 0 rollback --all vmlv
lv_list >"$TMP/list.after"
diff -u "$TMP/list.before" "$TMP/list.after" || fail "virsh net-list --all differs after rollback"
snap after
same_snap before after
ok "rollback: libvirt's networks and the host as before"
echo "$TESTS_RUN passed, 0 failed"
