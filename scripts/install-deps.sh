#!/usr/bin/env bash
# Installs what vnetcfg needs to build and test on Debian 12 (run as root).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
        build-essential cmake pkg-config \
        libjansson-dev libnl-3-dev libnl-route-3-dev libcmocka-dev \
        libip4tc-dev iptables libnftables-dev nftables \
        iproute2 util-linux procps python3 python3-jsonschema dnsmasq-base busybox-static \
        qemu-system-x86 cpio kmod \
        clang libclang-rt-14-dev >/dev/null
