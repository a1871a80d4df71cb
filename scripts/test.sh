#!/usr/bin/env bash
# Install dependencies, build with AddressSanitizer + UBSan, run every test
# (unit, golden, netns integration). Root is needed for the netns tests, which
# run in network namespaces of their own and never touch the host's.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build-test -DVNC_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-test -j"$(nproc)"
cd build-test
ctest --output-on-failure -j2 --timeout 900
