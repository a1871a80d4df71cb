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

apt-get -o DPkg::Lock::Timeout=600 update -qq
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
