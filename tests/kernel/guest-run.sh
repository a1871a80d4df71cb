#!/bin/bash
# PID 1 of the kernel-matrix guest (see init): runs each test listed in
# /mnt/env.sh (written by run-kernel.sh) with the Debian kernel, one after the
# other, writes NAME.log and NAME.rc into /mnt (the runner's result directory),
# and powers the guest off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8
echo 1 >/proc/sys/kernel/sysrq
hostname kernel-matrix
ip link set lo up
# What this machine's kernel has built in and the Debian kernel has as modules
# that nothing loads on demand (libiptc does not ask for ip_tables).
modprobe -a ip_tables iptable_filter iptable_nat iptable_mangle br_netfilter tun veth ||
        echo "VNC-KERNEL modprobe failed"
# shellcheck source=/dev/null
. /mnt/env.sh
{
        echo "kernel $(uname -r)"
        echo "8021q: $(grep -s '/8021q\.ko' "/lib/modules/$(uname -r)/modules.dep" | cut -d: -f1)"
} >/mnt/guest.info
for t in $VNC_KERNEL_TESTS; do
        name=$(basename "$t" .sh)
        echo "VNC-KERNEL start $name"
        start=$(cut -d' ' -f1 /proc/uptime)
        rc=0
        timeout -k 10 "$VNC_KERNEL_TEST_TIMEOUT" bash "$t" >"/mnt/$name.log" 2>&1 || rc=$?
        end=$(cut -d' ' -f1 /proc/uptime)
        echo "$rc" >"/mnt/$name.rc"
        echo "VNC-KERNEL done $name rc=$rc $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.0f s", b - a }')"
done
echo done >/mnt/guest.done
sync
echo "VNC-KERNEL poweroff"
echo o >/proc/sysrq-trigger
sleep 30
