#!/usr/bin/env bash
# Install dependencies, build, and run vnetcfg on profiles/lab.json inside a
# throwaway network namespace: validate, plan, apply, status, rollback.
# The machine's own network is never touched.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${VNC_DEMO_SANDBOX:-}" ]; then
        bash scripts/install-deps.sh
        cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DVNC_SANITIZE=OFF >/dev/null
        cmake --build build -j"$(nproc)" >/dev/null
        exec unshare -n -m --propagation private -- env VNC_DEMO_SANDBOX=1 bash "$0" "$@"
fi
ip link set lo up
state=$(mktemp -d /tmp/vnetcfg-demo.XXXXXX)
trap 'rm -rf "$state"' EXIT
run() {
        echo
        echo "\$ vnetcfg $*"
        ./build/vnetcfg --state-dir "$state" "$@"
}
run validate profiles/lab.json
run plan profiles/lab.json
run apply profiles/lab.json
run status lab
echo
echo "\$ ip -br link; ip -br addr  (inside the sandbox)"
ip -br link
ip -br addr
run apply profiles/lab.json
run rollback lab
echo
echo "\$ ip -br link  (after rollback: only lo, as before)"
ip -br link
