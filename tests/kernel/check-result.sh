#!/usr/bin/env bash
# One kernel-matrix test's result, as run by run-kernel.sh in the guest:
# prints its log and exits with its exit status (1 when it did not run).
#   check-result.sh RESULTS NAME
results=${1:?usage: check-result.sh RESULTS NAME}
name=${2:?usage: check-result.sh RESULTS NAME}
if [ ! -f "$results/$name.rc" ]; then
        echo "FAIL: $name did not run in the kernel-matrix guest (see $results/serial.log)" >&2
        exit 1
fi
[ -f "$results/guest.info" ] && cat "$results/guest.info"
cat "$results/$name.log"
rc=$(cat "$results/$name.rc")
[ "$rc" = 0 ] || echo "FAIL: $name exited $rc in the kernel-matrix guest" >&2
exit "$rc"
