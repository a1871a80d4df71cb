#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The netlink, tap and sysctl backends against the real kernel, in a private
# network + mount namespace (never the machine's own).
#
#   vnc-tap0 --+
#   vnc-tap1 --+-- vnc-br0 (mtu 9000, 10.77.0.1/24)   route 10.78.0.0/24 via 10.77.0.254
#   vnc-tap2 --+
#
# backend-check builds that through the backends, asserts every field read
# back, undoes it through the inverse actions, and checks ownership and sysctl
# claims. This script checks that the namespace is exactly as before.

set -euo pipefail

if [[ "${VNC_BACKENDS_SANDBOXED:-}" != 1 ]]; then
        exec unshare -n -m --propagation private -- env VNC_BACKENDS_SANDBOXED=1 bash "$0" "$@"
fi

fail() {
        echo "test-backends: FAIL: $*" >&2
        exit 1
}

if [[ -n "${BACKEND_CHECK:-}" ]]; then
        bc=$BACKEND_CHECK
elif [[ -n "${VNETCFG:-}" ]]; then
        bc="$(dirname "$VNETCFG")/tests/backend-check"
else
        fail "set VNETCFG (path of the vnetcfg binary) or BACKEND_CHECK"
fi
[[ -x "$bc" ]] || fail "backend-check not found at $bc"

tmp=$(mktemp -d)
cleanup() {
        rm -rf "$tmp"
}
trap cleanup EXIT

ip link set lo up

snapshot() {
        ip -d -br link
        ip -br addr
        ip route show table all
        ip -6 route show table all
        cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv4/conf/lo/rp_filter
}

snapshot > "$tmp/before"
mkdir -m 0700 "$tmp/state"
if ! "$bc" check "$tmp/state"; then
        fail "backend-check reported failures (see above)"
fi
snapshot > "$tmp/after"
if ! diff -u "$tmp/before" "$tmp/after" >&2; then
        fail "the namespace is not back to its starting state (diff above)"
fi

# Every claim was released: the claims file holds no key any more.
[[ -f "$tmp/state/sysctl.claims" ]] || fail "no sysctl.claims written"
[[ "$(stat -c %a "$tmp/state/sysctl.claims")" == 600 ]] || fail "sysctl.claims is not mode 0600"
[[ ! -s "$tmp/state/sysctl.claims" ]] || fail "sysctl.claims still holds: $(cat "$tmp/state/sysctl.claims")"
[[ ! -e "$tmp/state/sysctl.claims.tmp" ]] || fail "temporary claims file left behind"

# Nothing named vnc-* is left.
if ip -br link | grep -q '^vnc-'; then
        fail "links left behind: $(ip -br link | grep '^vnc-')"
fi

echo "test-backends: ok"
