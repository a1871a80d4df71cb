#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cmake --install of this build tree into a scratch DESTDIR: every file a user
# needs is where the system looks for it, and systemd-analyze verify accepts
# the installed vnetcfg@.service (with --root, so it checks the installed
# binary; systemd need not be PID 1, as in CI).
# Usage: test-install.sh BUILD_DIR   (env: VNC_PREFIX, VNC_UNITDIR, VNC_SOURCE_DIR)
set -euo pipefail
build=${1:?usage: test-install.sh BUILD_DIR}
prefix=${VNC_PREFIX:?} unitdir=${VNC_UNITDIR:?}
D=$(mktemp -d /tmp/vnc-install.XXXXXX)
trap 'rm -rf "$D"' EXIT
n=0
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { n=$((n + 1)); echo "ok $n - $*"; }

DESTDIR=$D cmake --install "$build" >"$D.log" 2>&1 || { cat "$D.log"; rm -f "$D.log"; fail "cmake --install"; }
rm -f "$D.log"
for f in "$prefix/sbin/vnetcfg" "$prefix/share/man/man8/vnetcfg.8.gz" "$prefix/share/man/man5/vnetcfg.json.5.gz" \
        "$prefix/share/bash-completion/completions/vnetcfg" "$unitdir/vnetcfg@.service" \
        "$prefix/share/vnetcfg/vnetcfg.schema.json" "$prefix/share/vnetcfg/vnetcfg-output.schema.json" \
        "$prefix/share/doc/vnetcfg/copyright"; do
        [ -s "$D$f" ] || fail "$f is not installed"
done
ok "installed: binary, vnetcfg(8), vnetcfg.json(5), completion, unit, schemas, copyright"

"$D$prefix/sbin/vnetcfg" --version | grep -qx "vnetcfg [0-9.]*" || fail "the installed binary does not run"
zcat "$D$prefix/share/man/man5/vnetcfg.json.5.gz" | man --warnings -l - 2>&1 >/dev/null | (! grep .) ||
        fail "vnetcfg.json(5) has groff warnings"
zcat "$D$prefix/share/man/man8/vnetcfg.8.gz" | man --warnings -l - 2>&1 >/dev/null | (! grep .) ||
        fail "vnetcfg(8) has groff warnings"
for c in $("$D$prefix/sbin/vnetcfg" --help | awk '/^Commands:/ {on = 1; next} /^$/ {on = 0} on && /^  [a-z]/ {print $1}'); do
        zcat "$D$prefix/share/man/man8/vnetcfg.8.gz" | grep -q "^\.BI $c\b" || fail "vnetcfg(8) does not document $c"
        grep -qw "$c" "$D$prefix/share/bash-completion/completions/vnetcfg" || fail "the completion does not know $c"
done
ok "the man page and the completion know every command of --help"

exec_start=$(sed -n 's/^ExecStart=//p' "$D$unitdir/vnetcfg@.service")
[ "${exec_start%% *}" = "$prefix/sbin/vnetcfg" ] || fail "ExecStart runs ${exec_start%% *}, not the installed $prefix/sbin/vnetcfg"
# systemd-analyze --root resolves the unit's dependencies (network-online.target, ...) inside the root.
mkdir -p "$D/usr/lib/systemd"
cp -a /usr/lib/systemd/system "$D/usr/lib/systemd/"
out=$(systemd-analyze verify --man=no --root="$D" vnetcfg@lab.service 2>&1) || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify warns: $out"
# and it does fail on a broken unit (a missing binary), so the check above means something
sed 's#^ExecStart=[^ ]*#ExecStart=/nonexistent/vnetcfg#' "$D$unitdir/vnetcfg@.service" >"$D$unitdir/vnetcfg-broken@.service"
systemd-analyze verify --man=no --root="$D" vnetcfg-broken@lab.service >/dev/null 2>&1 && fail "systemd-analyze verify accepted a unit whose binary is missing"
ok "systemd-analyze verify accepts the installed vnetcfg@lab.service (and rejects a broken one)"
echo "PASS: $n checks"
