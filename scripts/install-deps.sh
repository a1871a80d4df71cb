#!/usr/bin/env bash
# Installs what vnetcfg needs to build and test on Debian 12 (run as root).
# Packages that ship a service (firewalld, docker.io, libvirt) are installed
# with service starts refused (policy-rc.d): the tests start them inside their
# own sandboxes only, never on this machine.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

# Build and unit tests.
pkgs=(build-essential cmake pkg-config
      libjansson-dev libnl-3-dev libnl-route-3-dev libcmocka-dev
      libip4tc-dev iptables libnftables-dev nftables
      clang libclang-rt-14-dev)
# Integration tests in network namespaces.
pkgs+=(iproute2 util-linux procps python3 python3-jsonschema dnsmasq-base busybox-static)
# Real guests (tests/vm).
pkgs+=(qemu-system-x86 cpio kmod)
# Packaging, the boot unit and man pages (debian: tests/pkg, systemd-analyze verify, man --warnings).
pkgs+=(systemd man-db dpkg-dev debootstrap lintian)
# libvirt networks (backends/libvirt.c; tests/netns/test-libvirt.sh, tests/vm/test-vm-libvirt.sh start libvirtd
# in their own sandboxes). None of these ships a service unit (libvirt-daemon-system, which does, stays out).
pkgs+=(libvirt-dev libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients)

# Real host firewalls beside vnetcfg (hostfw: tests/netns/test-hostfw-*.sh; firewalld over sd-bus).
pkgs+=(ufw firewalld docker.io dbus libsystemd-dev)

# Services the packages above ship. None may start, and none may stay enabled that was not
# enabled before: the tests start them inside their own sandboxes only.
services=(ufw firewalld docker containerd dbus libvirtd virtlogd virtlockd)
unit_enabled() { # unit: enabled for boot, asked of systemctl, which also answers when systemd is not PID 1
        command -v systemctl >/dev/null && [ "$(systemctl is-enabled "$1" 2>/dev/null)" = enabled ]
}
# SysV start links of those services (what boots them where systemd is not the init).
rc_links() {
        local l
        for l in /etc/rc[0-6S].d/S*; do
                [ -L "$l" ] || continue
                case " ${services[*]} " in *" ${l##*/S[0-9][0-9]} "*) echo "$l" ;; esac
        done
}
declare -A was_enabled=()
for s in "${services[@]}"; do
        for u in "$s.service" "$s.socket"; do
                unit_enabled "$u" && was_enabled[$u]=1
        done
done
rc_before=$(rc_links | sort)

# Refuse every service start while installing (invoke-rc.d asks /usr/sbin/policy-rc.d; 101 = refused).
policy=/usr/sbin/policy-rc.d
[ -e "$policy" ] && mv "$policy" "$policy.vnetcfg-saved"
restore_policy() {
        rm -f "$policy"
        [ -e "$policy.vnetcfg-saved" ] && mv "$policy.vnetcfg-saved" "$policy"
        return 0
}
trap restore_policy EXIT
printf '#!/bin/sh\n# vnetcfg install-deps: no service starts while installing test dependencies\nexit 101\n' >"$policy"
chmod 755 "$policy"

apt-get -o DPkg::Lock::Timeout=600 update -qq
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null

restore_policy
trap - EXIT
# What the install enabled for boot, and was not before, is disabled again.
for s in "${services[@]}"; do
        for u in "$s.service" "$s.socket"; do
                if unit_enabled "$u" && [ -z "${was_enabled[$u]:-}" ]; then
                        systemctl disable -q "$u" 2>/dev/null || true
                        echo "install-deps: disabled $u (enabled by its package)"
                fi
        done
done
# SysV start links the install added.
comm -13 <(echo "$rc_before") <(rc_links | sort) | while read -r l; do
        [ -n "$l" ] && rm -f "$l" && echo "install-deps: removed $l"
done
