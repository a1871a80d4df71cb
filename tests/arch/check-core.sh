#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The architecture check (issue 12): the core reaches the host only through
# struct vnc_host_ops (core/host.h).
#   1. No symbol the core's objects need is defined by the backends: a direct
#      call from core/ into backends/ (or a use of a backend's ops object) fails.
#   2. The core needs nothing from libnl, libiptc, libnftables, libvirt or sd-bus.
#   3. No file in core/ includes a header that lives in backends/.
# Usage: check-core.sh LIBCORE LIBBACKENDS SOURCE_DIR
set -euo pipefail

core=$1 backends=$2 src=$3
fail=0

undef=$(nm -u "$core" | awk '{print $2}' | sort -u)
defined_in_backends=$(nm -g --defined-only "$backends" | awk 'NF == 3 {print $3}' | sort -u)
[[ -n $undef && -n $defined_in_backends ]] || { echo "nm read nothing from $core or $backends"; exit 1; }

leaks=$(comm -12 <(echo "$undef") <(echo "$defined_in_backends"))
if [[ -n $leaks ]]; then
        echo "core/ uses backend symbols directly (go through struct vnc_host_ops):"
        for s in $leaks; do
                echo "  $s, in: $(nm -A -u "$core" | awk -v s="$s" '$NF == s {split($1, a, ":"); print a[2]}' | sort -u | tr '\n' ' ')"
        done
        fail=1
fi

libs=$(echo "$undef" | grep -E '^(nl_|rtnl_|nla_|nlmsg_|iptc_|xtc_|nft_|vir|sd_bus_|sd_)' || true)
if [[ -n $libs ]]; then
        echo "core/ calls a backend library directly:"
        echo "$libs" | sed 's/^/  /'
        fail=1
fi

for h in "$src"/backends/*.h; do
        name=$(basename "$h")
        if grep -ln "^#include \"$name\"" "$src"/core/*.[ch] >/dev/null; then
                echo "core/ includes the backend header $name: $(grep -l "^#include \"$name\"" "$src"/core/*.[ch] | xargs -n1 basename | tr '\n' ' ')"
                fail=1
        fi
done

if (( fail == 0 )); then
        echo "core: $(echo "$undef" | wc -l) undefined symbols, none from the backends ($(echo "$defined_in_backends" | wc -l) symbols)"
fi
exit $fail
