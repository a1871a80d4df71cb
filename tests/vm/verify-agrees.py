#!/usr/bin/env python3
"""Does `vnetcfg --json verify` agree with what the QEMU guests saw?

verify-agrees.py EXIT_CODE NET:KIND=true|false... < verify's JSON

Each expectation says what the guests observed for one check kind of one
network (kinds as in core/verify.h: probe-to-host, host-to-probe, target,
target-blocked, unreachable, mtu, dhcp). It passes when:
  - verify printed one JSON object with a list of checks, each with
    "network", "kind" and "pass" (at the top level, or under "verify");
  - every expectation has at least one check of that network and kind, and
    every such check's "pass" equals the expectation;
  - verify's "ok" (when present) is the conjunction of all its checks and
    of the expectations;
  - the exit code is 0 when all pass, 3 otherwise (SPEC section 1).
"""
import json
import sys


def main():
    rc = int(sys.argv[1])
    want = {}
    for e in sys.argv[2:]:
        key, _, val = e.partition("=")
        net, _, kind = key.partition(":")
        if val not in ("true", "false") or not net or not kind:
            print("bad expectation %r" % e)
            return 2
        want[(net, kind)] = val == "true"
    doc = json.load(sys.stdin)
    body = doc.get("verify", doc) if isinstance(doc, dict) else None
    checks = body.get("checks") if isinstance(body, dict) else None
    if not isinstance(checks, list):
        print("no list of checks in verify's output")
        return 1
    bad = []
    for (net, kind), exp in sorted(want.items()):
        got = [c for c in checks if c.get("network") == net and c.get("kind") == kind]
        if not got:
            bad.append("%s %s: verify has no such check (the guests saw %s)" % (net, kind, exp))
        for c in got:
            if c.get("pass") is not exp:
                bad.append("%s %s %r: verify says pass=%s, the guests saw %s (%s)"
                           % (net, kind, c.get("name"), c.get("pass"), exp, c.get("detail")))
    all_pass = all(c.get("pass") is True for c in checks)
    if "ok" in body and body["ok"] is not all_pass:
        bad.append("verify's ok=%s but its checks say %s" % (body["ok"], all_pass))
    expect_ok = all_pass and all(want.values())
    if rc != (0 if expect_ok else 3):
        bad.append("exit %d, expected %d" % (rc, 0 if expect_ok else 3))
    for c in checks:
        print("verify %s %s %s: %s%s" % (c.get("network"), c.get("kind"), c.get("name"),
                                        "pass" if c.get("pass") else "FAIL",
                                        " (%s)" % c["detail"] if c.get("detail") else ""))
    for b in bad:
        print(b)
    return 1 if bad else 0


sys.exit(main())
