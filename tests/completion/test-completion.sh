#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The bash completion (completion/vnetcfg): commands, options, profile names
# from the state dir, *.json files. No root, no kernel.
set -u
src=${VNC_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/state/profiles/lab" "$TMP/state/profiles/web" "$TMP/other/profiles/zed" "$TMP/work/sub"
touch "$TMP/work/lab.json" "$TMP/work/notes.txt" "$TMP/work/sub/x.json"
cd "$TMP/work" || exit 1
# shellcheck source=/dev/null
. "$src/completion/vnetcfg"
n=0
fail() { echo "FAIL: $*" >&2; exit 1; }

# complete LINE EXPECTED: the completions of LINE (cursor at its end), sorted, space-joined.
check() {
        local line=$1 want=$2 got
        read -r -a COMP_WORDS <<<"$line"
        [[ $line == *" " ]] && COMP_WORDS+=("")
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        COMP_LINE=$line COMP_POINT=${#line}
        _vnetcfg
        got=$(printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//')
        [[ $got == "$want" ]] || fail "\"$line\": got \"$got\", expected \"$want\""
        n=$((n + 1))
        echo "ok $n - \"$line\" -> $want"
}

export VNETCFG_STATE_DIR=$TMP/state
check "vnetcfg " "apply confirm doctor leases plan rollback status validate verify"
check "vnetcfg st" "status"
check "vnetcfg --ver" "--verbose --version"
check "vnetcfg --json le" "leases"
check "vnetcfg rollback " "lab web"
check "vnetcfg rollback --" "--all --help"
check "vnetcfg apply --" "--confirm-timeout --help --keep-on-verify-failure --no-verify"
check "vnetcfg apply " "lab.json sub/"
check "vnetcfg plan sub/" "sub/x.json"
check "vnetcfg verify " "lab lab.json sub/ web"
check "vnetcfg status w" "web"
check "vnetcfg --state-dir $TMP/other leases " "zed"
check "vnetcfg doctor --target " ""
check "vnetcfg leases lab " ""
unset VNETCFG_STATE_DIR
check "vnetcfg --state-dir=$TMP/state confirm " "lab web"
echo "PASS: $n completions"
