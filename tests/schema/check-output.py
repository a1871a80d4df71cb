#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Check one `vnetcfg --json` document against its command's definition.

usage: check-output.py SCHEMA DEF FILE

SCHEMA is schemas/vnetcfg-output.schema.json; DEF names one of its $defs
(the command: "apply", "status", ...); the document must also match the
schema as a whole. FILE must hold exactly one JSON
document and nothing else. Exits 1 with every violation listed.
"""
import json
import sys

from schemalib import load_schema


def main():
    if len(sys.argv) != 4:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    schema_path, name, path = sys.argv[1:]
    schema, cls = load_schema("check-output", schema_path)
    if name not in schema.get("$defs", {}):
        print(f"check-output: {schema_path} has no $defs/{name}", file=sys.stderr)
        return 2
    with open(path) as f:
        text = f.read()
    try:
        doc = json.loads(text)  # one document, nothing else: json.loads rejects trailing text
    except json.JSONDecodeError as e:
        print(f"check-output: {path}: not one JSON document: {e}\n{text}", file=sys.stderr)
        return 1
    sub = dict(schema)
    sub.pop("anyOf", None)
    sub["$ref"] = "#/$defs/" + name
    errors = sorted(cls(sub).iter_errors(doc), key=lambda e: list(e.absolute_path))
    # The whole schema (any command's document) accepts it too.
    errors += list(cls(schema).iter_errors(doc))[:1] if not errors else []
    for e in errors:
        where = "/".join(str(p) for p in e.absolute_path) or "(document)"
        print(f"check-output: {path}: {name}: {where}: {e.message}", file=sys.stderr)
    if errors:
        print(json.dumps(doc, indent=2), file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
