#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Debian package: a release build (no sanitizers) packed by CPack, its
# Depends (dpkg-shlibdeps' runtime libraries and dnsmasq-base), lintian without
# errors, then installed with apt into a pristine Debian 12 root (debootstrap
# minbase, made once and cached outside the source tree, see debian-root.sh):
# vnetcfg --version and a validate run there, and the package is purged
# without a trace. The root is never changed: an overlay on it takes the
# writes, in a mount namespace of this test. apt's downloads are cached next
# to the root, so runs after the first need no network.
# Usage: test-deb.sh PKG_BUILD_DIR   (env: VNC_SOURCE_DIR, VNC_PKG_CACHE=/var/cache/vnetcfg-test)
set -euo pipefail
pkgbuild=${1:?usage: test-deb.sh PKG_BUILD_DIR}
src=${VNC_SOURCE_DIR:?}
cache=${VNC_PKG_CACHE:-/var/cache/vnetcfg-test}
n=0
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { n=$((n + 1)); echo "ok $n - $*"; }

if [ -z "${VNC_PKG_SANDBOXED:-}" ]; then
        # Build and pack outside the mount namespace; then re-enter this script inside one.
        cmake -S "$src" -B "$pkgbuild" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVNC_TESTS=OFF -DVNC_SANITIZE=OFF \
                -DCMAKE_INSTALL_PREFIX=/usr >"$pkgbuild.log" 2>&1 || { cat "$pkgbuild.log"; fail "configure"; }
        nice -n 10 cmake --build "$pkgbuild" -j2 >>"$pkgbuild.log" 2>&1 || { tail -30 "$pkgbuild.log"; fail "build"; }
        rm -f "$pkgbuild"/vnetcfg_*.deb
        (cd "$pkgbuild" && cpack -G DEB) >>"$pkgbuild.log" 2>&1 || { tail -30 "$pkgbuild.log"; fail "cpack"; }
        exec unshare -m --propagation private env VNC_PKG_SANDBOXED=1 bash "$0" "$@"
fi

deb=$(ls "$pkgbuild"/vnetcfg_*.deb)
version=$(sed -n 's/^project(vnetcfg VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
[ "$(dpkg-deb -f "$deb" Package) $(dpkg-deb -f "$deb" Version)" = "vnetcfg $version" ] || fail "package name or version"
depends=$(dpkg-deb -f "$deb" Depends)
echo "    Depends: $depends"
for d in libc6 libjansson4 libnl-3-200 libnl-route-3-200 libip4tc2 libnftables1 dnsmasq-base; do
        echo ", $depends," | grep -Eq ", $d( \([^)]*\))?," || fail "Depends does not name $d: $depends"
done
ok "$(basename "$deb"): Depends names the runtime libraries and dnsmasq-base"

rc=0
lintian --fail-on error --tag-display-limit 0 "$deb" >"$pkgbuild/lintian.txt" 2>&1 || rc=$?
{ grep -v 'running with root privileges' "$pkgbuild/lintian.txt" || true; } | sed 's/^/    /'
[ "$rc" = 0 ] && ! grep -q '^E: ' "$pkgbuild/lintian.txt" || fail "lintian reports errors (exit $rc)"
ok "lintian: no errors"

base=$(bash "$(dirname "$0")/debian-root.sh" "$cache")
W=$(mktemp -d /tmp/vnc-deb.XXXXXX)
R=$W/root
cleanup() {
        umount -R "$R" 2>/dev/null || true
        rm -rf "$W"
}
trap cleanup EXIT
mkdir -p "$W/up" "$W/work" "$R" "$cache/archives/partial"
mount -t overlay overlay -o "lowerdir=$base,upperdir=$W/up,workdir=$W/work" "$R"
mount -t proc proc "$R/proc"
mount --bind /dev "$R/dev"
mount --bind "$cache/archives" "$R/var/cache/apt/archives"
cp /etc/resolv.conf "$R/etc/resolv.conf"
in_root() { chroot "$R" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 "$@"; }

[ -z "$(in_root dpkg-query -W -f '${Package}\n' 2>/dev/null | grep -x -e vnetcfg -e dnsmasq-base -e libnftables1)" ] ||
        fail "the cached root is not pristine"
cp "$deb" "$R/tmp/"
in_root apt-get install -y -q --no-install-recommends "/tmp/$(basename "$deb")" >"$W/apt.log" 2>&1 ||
        { tail -30 "$W/apt.log"; fail "apt-get install of the .deb"; }
ok "apt-get installs the .deb and its dependencies into a pristine Debian 12 root"

assert_eq() { [ "$1" = "$2" ] || fail "$3: got \"$1\", expected \"$2\""; }
assert_eq "$(in_root vnetcfg --version)" "vnetcfg $version" "vnetcfg --version in the root"
mkdir -p "$R/etc/vnetcfg"
cp "$src/profiles/nat.json" "$R/etc/vnetcfg/"
out=$(in_root vnetcfg validate /etc/vnetcfg/nat.json) || fail "validate in the root: $out"
[[ $out == *"is valid"* ]] || fail "validate said: $out"
rc=0
in_root vnetcfg validate /nonexistent.json >/dev/null 2>&1 || rc=$?
assert_eq "$rc" 2 "validate of a missing file"
for f in /usr/sbin/vnetcfg /usr/share/man/man8/vnetcfg.8.gz /usr/share/man/man5/vnetcfg.json.5.gz \
        /usr/share/bash-completion/completions/vnetcfg /lib/systemd/system/vnetcfg@.service \
        /usr/share/vnetcfg/vnetcfg.schema.json /usr/share/vnetcfg/vnetcfg-output.schema.json; do
        in_root dpkg -S "$f" >/dev/null 2>&1 || fail "$f is not in the package"
done
ok "vnetcfg --version and validate run in the root; every file is in place"

in_root dpkg -L vnetcfg | sort >"$W/files"
rm -rf "$R/etc/vnetcfg"
in_root apt-get purge -y -q vnetcfg >"$W/purge.log" 2>&1 || { cat "$W/purge.log"; fail "apt-get purge vnetcfg"; }
[ -z "$(in_root dpkg-query -W -f '${db:Status-Abbrev}' vnetcfg 2>/dev/null | grep -v '^un')" ] ||
        fail "vnetcfg is still known to dpkg: $(in_root dpkg -l vnetcfg)"
while read -r f; do
        [ -d "$R$f" ] && continue # shared directories (/usr/share/man/man8, ...) stay
        [ ! -e "$R$f" ] || fail "$f is left after the purge"
done <"$W/files"
[ -z "$(in_root dpkg --audit)" ] || fail "dpkg --audit: $(in_root dpkg --audit)"
ok "apt-get purge removes the package cleanly (no file left, dpkg --audit clean)"
echo "PASS: $n checks"
