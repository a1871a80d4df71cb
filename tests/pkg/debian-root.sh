#!/usr/bin/env bash
# A pristine Debian 12 (bookworm) minbase root for the package test, made once
# with debootstrap and reused: CACHE/bookworm-minbase (apt lists included, so
# apt-get can install a local .deb and its dependencies without an update).
# The tree is never changed after it is made: the test mounts an overlay on it.
# Usage: debian-root.sh CACHE   (prints the root's path)
set -euo pipefail
cache=${1:?usage: debian-root.sh CACHE}
root=$cache/bookworm-minbase
mirror=${VNC_DEBIAN_MIRROR:-http://deb.debian.org/debian}
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9            # one builder at a time; the others wait and reuse its tree
if [[ ! -e $root/.complete ]]; then
        rm -rf "$root.new"
        echo "debian-root: debootstrap --variant=minbase bookworm into $root (once)" >&2
        debootstrap --variant=minbase bookworm "$root.new" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
                { tail -20 "$cache/debootstrap.log" >&2; exit 1; }
        # Services are never started inside the root.
        printf '#!/bin/sh\nexit 101\n' >"$root.new/usr/sbin/policy-rc.d"
        chmod 755 "$root.new/usr/sbin/policy-rc.d"
        cp /etc/resolv.conf "$root.new/etc/resolv.conf"
        chroot "$root.new" apt-get -qq update >>"$cache/debootstrap.log" 2>&1 ||
                { tail -20 "$cache/debootstrap.log" >&2; exit 1; }
        touch "$root.new/.complete"
        mv "$root.new" "$root"
fi
echo "$root"
