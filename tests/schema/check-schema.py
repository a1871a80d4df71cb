#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Check profiles/vnetcfg.schema.json against the example profiles and the invalid corpus.

usage: check-schema.py SCHEMA PROFILES_DIR INVALID_DIR

Every PROFILES_DIR/*.json (but the schema) must validate; every file listed in
INVALID_DIR/SCHEMA-REJECTS (structural errors: type, enum, range, pattern,
unknown or missing key) must be rejected. Exits non-zero on any failure.
"""
import glob
import json
import os
import sys

from schemalib import load_schema


def main():
    if len(sys.argv) != 4:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    schema_path, profiles_dir, invalid_dir = sys.argv[1:]
    schema, cls = load_schema("check-schema", schema_path)
    validator = cls(schema)
    failures = 0

    profiles = sorted(p for p in glob.glob(os.path.join(profiles_dir, "*.json"))
                      if os.path.realpath(p) != os.path.realpath(schema_path))
    for path in profiles:
        with open(path) as f:
            doc = json.load(f)
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
        if errors:
            failures += 1
            e = errors[0]
            print("FAIL %s: valid profile rejected at %s: %s"
                  % (path, "/".join(map(str, e.path)) or "(root)", e.message))

    listed = []
    with open(os.path.join(invalid_dir, "SCHEMA-REJECTS")) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                listed.append(line)
    for name in listed:
        path = os.path.join(invalid_dir, name)
        if not os.path.exists(path):
            failures += 1
            print("FAIL %s: listed in SCHEMA-REJECTS but missing" % path)
            continue
        with open(path) as f:
            try:
                doc = json.load(f)
            except ValueError:
                continue  # not even JSON: rejected
        if not any(True for _ in validator.iter_errors(doc)):
            failures += 1
            print("FAIL %s: invalid profile accepted by the schema" % path)

    print("check-schema: %d profiles, %d schema-detectable invalid files, %d failures"
          % (len(profiles), len(listed), failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
