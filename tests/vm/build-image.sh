#!/usr/bin/env bash
# Builds the test guest's boot image from Debian packages alone, once, into a
# cache directory:
#
#   CACHE/vmlinuz      the kernel of linux-image-6.1.0-N-amd64 (newest N apt knows)
#   CACHE/initrd.img   busybox (busybox-static) + tests/vm/init + virtio_net and
#                      every module it needs, in load order (from modules.dep)
#   CACHE/image.key    what the image was built from; a rebuild happens when it changes
#
#   build-image.sh CACHE_DIR
#
# The kernel matrix (tests/kernel) builds its own image with the same script:
#   VNC_VM_MODULES="..."   modules loaded by /init instead of virtio_pci virtio_net
#   VNC_VM_INIT=FILE       the /init to use instead of tests/vm/init
#   VNC_VM_KEEP_MODULES=1  also keep the whole module tree (with modules.dep) in
#                          CACHE/kroot/lib/modules/<version>, for a guest that loads more
#
# The kernel package is fetched with `apt-get download` and unpacked with
# `dpkg -x` into a scratch directory (never installed, /boot untouched), and
# `depmod -b` makes the modules.dep the package does not ship. Parallel callers
# share one build through a lock on CACHE/.lock. Needs the network (apt), so it
# runs outside the tests' network sandboxes.
set -euo pipefail

cache=${1:?usage: build-image.sh CACHE_DIR}
here=$(cd "$(dirname "$0")" && pwd)
# The guest loads these (and what they depend on).
read -r -a modules <<<"${VNC_VM_MODULES:-virtio_pci virtio_net}"
init=${VNC_VM_INIT:-$here/init}
keep_modules=${VNC_VM_KEEP_MODULES:-0}

die() {
        echo "build-image: $*" >&2
        exit 1
}

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9

# The newest Debian 6.1 kernel flavour "amd64" apt knows (not cloud, not rt).
pkg=${VNC_VM_KERNEL_PKG:-$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' |
        awk '{print $1}' | sort -V | tail -n 1)}
[ -n "$pkg" ] || die "apt knows no linux-image-6.1.0-*-amd64 package (run apt-get update; scripts/install-deps.sh does)"
ver=$(apt-cache policy "$pkg" | awk '/Candidate:/ {print $2}')
[ -n "$ver" ] && [ "$ver" != "(none)" ] || die "$pkg has no installation candidate"
busybox_ver=$(dpkg-query -W -f '${Version}' busybox-static 2>/dev/null) ||
        die "busybox-static is not installed (scripts/install-deps.sh installs it)"
for tool in cpio depmod dpkg-deb gzip; do
        command -v "$tool" >/dev/null || die "$tool is missing (scripts/install-deps.sh installs it)"
done

key=$( {
        echo "kernel $pkg $ver"
        echo "busybox-static $busybox_ver"
        echo "modules ${modules[*]}"
        [ "$keep_modules" = 1 ] && echo "keep modules"
        sha256sum "$init" "$here/build-image.sh" | awk '{print $1}'
} | sha256sum | awk '{print $1}')
if [ -f "$cache/image.key" ] && [ "$(cat "$cache/image.key")" = "$key" ] &&
        [ -s "$cache/vmlinuz" ] && [ -s "$cache/initrd.img" ]; then
        exit 0
fi

t0=$(date +%s.%N)
scratch=$(mktemp -d "$cache/build.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
rm -f "$cache/image.key"

# apt's sandbox user cannot write to a root-only directory; let it.
chmod 755 "$scratch"
(cd "$scratch" && apt-get download -q -o APT::Sandbox::User=root "$pkg=$ver" >/dev/null) || die "apt-get download $pkg=$ver failed"
deb=$(ls "$scratch"/*.deb)
dpkg -x "$deb" "$scratch/k"
kver=${pkg#linux-image-}
moddir="$scratch/k/lib/modules/$kver"
[ -f "$scratch/k/boot/vmlinuz-$kver" ] || die "$deb has no boot/vmlinuz-$kver"
depmod -b "$scratch/k" "$kver"

# Modules in load order: modules.dep lists a module's whole dependency
# closure, deepest last, so each list reversed is a valid order.
root="$scratch/root"
mkdir -p "$root"/{bin,dev,proc,sys,tmp,lib/modules}
order=()
declare -A seen=()
for m in "${modules[@]}"; do
        line=$(grep -E "/$m\\.ko(\\.[a-z]+)?:" "$moddir/modules.dep") || die "module $m not in $pkg"
        path=${line%%:*}
        read -r -a deps <<<"${line#*:}"
        for ((i = ${#deps[@]} - 1; i >= -1; i--)); do
                if ((i >= 0)); then p=${deps[$i]}; else p=$path; fi
                [ -n "${seen[$p]:-}" ] && continue
                seen[$p]=1
                order+=("$p")
        done
done
for p in "${order[@]}"; do
        case "$p" in
        *.ko) cp "$moddir/$p" "$root/lib/modules/" ;;
        *.ko.xz) xz -dc "$moddir/$p" >"$root/lib/modules/$(basename "${p%.xz}")" ;;
        *.ko.zst) zstd -qdc "$moddir/$p" >"$root/lib/modules/$(basename "${p%.zst}")" ;;
        *) die "unexpected module file $p" ;;
        esac
        p=${p%.xz}
        basename "${p%.zst}" >>"$root/lib/modules/load.list"
done

cp /bin/busybox "$root/bin/busybox"
cp "$init" "$root/init"
chmod 755 "$root/init" "$root/bin/busybox"
# Reproducible archive: fixed order and timestamps.
find "$root" -exec touch -h -d @0 {} +
(cd "$root" && find . | LC_ALL=C sort | cpio --quiet -o -H newc --reproducible -R 0:0 | gzip -n -9) >"$scratch/initrd.img"
cp "$scratch/k/boot/vmlinuz-$kver" "$scratch/vmlinuz"
mv -f "$scratch/vmlinuz" "$cache/vmlinuz"
mv -f "$scratch/initrd.img" "$cache/initrd.img"
if [ "$keep_modules" = 1 ]; then
        rm -rf "$cache/kroot"
        mkdir -p "$cache/kroot/lib/modules"
        mv "$moddir" "$cache/kroot/lib/modules/$kver"
fi
echo "$kver: ${order[*]}" >"$cache/image.modules"
echo "$key" >"$cache/image.key"
awk -v t0="$t0" -v t1="$(date +%s.%N)" -v what="$pkg $ver + busybox $busybox_ver ($(tr '\n' ' ' <"$root/lib/modules/load.list"))" \
        'BEGIN { printf "build-image: %s in %.1f s\n", what, t1 - t0 }'
