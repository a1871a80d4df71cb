#!/usr/bin/env bash
# vnetcfg beside a real dockerd (SPEC section 4, "Living with the host's firewall").
# dockerd runs in this test's sandbox (tmpfs /var/lib/docker and /var/lib/containerd,
# an empty private /etc/docker); it turns forwarding on and sets the FORWARD policy
# of iptables-nft's filter table to DROP, with its DOCKER-USER chain first. No
# containers are needed. Topology: see hostfw-lib.sh.
. "$(dirname "$0")/hostfw-lib.sh"

command -v dockerd >/dev/null || fail "dockerd is not installed (scripts/install-deps.sh installs docker.io)"
hf_topology
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mkdir -p /var/lib/docker /var/lib/containerd "$HF_W/etc-docker"
mount -t tmpfs tmpfs /var/lib/docker
mount -t tmpfs tmpfs /var/lib/containerd
[ -d /etc/docker ] || fail "/etc/docker is missing (docker.io installs it)"
mount --bind "$HF_W/etc-docker" /etc/docker

start_dockerd() {
        dockerd --iptables=true --storage-driver=vfs >>"$HF_W/dockerd.log" 2>&1 &
        DOCKERD=$!
        hf_wait "docker info" 90 "dockerd"
}
start_dockerd
assert_eq "$(iptables -S FORWARD | head -1)" "-P FORWARD DROP" "Docker's FORWARD policy"
iptables -S DOCKER-USER >/dev/null 2>&1 || fail "no DOCKER-USER chain"
ok "dockerd running in the sandbox (FORWARD policy DROP, DOCKER-USER)"

HF_NAME=docker
hf_check_openings() {
        hf_expect_egress "$1"
        grep -q -- '-A FORWARD -d 10.77.0.0/24 -o vn-hf -m comment --comment "vnetcfg:hf/n #' "$1" ||
                fail "no opening for replies and port forwards in FORWARD: $(cat "$1")"
        # Docker drops nothing on INPUT: nothing is opened there.
        ! grep -q -- '-A INPUT' "$1" || fail "INPUT opened though Docker does not drop there: $(cat "$1")"
        hf_expect_contained "$1"
        iptables -S FORWARD | sed -n 2p | grep -q 'vnetcfg:' || fail "openings are not at the top of FORWARD"
}
hf_reload() {
        kill "$DOCKERD"
        wait "$DOCKERD" 2>/dev/null
        start_dockerd
}
hf_flow
kill "$DOCKERD"
wait "$DOCKERD" 2>/dev/null
