# SPDX-License-Identifier: MIT
"""What check-schema.py and check-output.py share: jsonschema from Debian's package, and a schema
loaded and checked against its own meta-schema."""
import json
import os
import sys


def jsonschema_module(prog):
    """python3-jsonschema; re-executes the caller under Debian's interpreter when another one runs it."""
    try:
        import jsonschema
        return jsonschema
    except ImportError:
        # The Debian package (python3-jsonschema) lives with the system interpreter.
        if os.path.exists("/usr/bin/python3") and os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3"):
            os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
        print(f"{prog}: python3-jsonschema is not installed", file=sys.stderr)
        sys.exit(1)


def load_schema(prog, path):
    """(schema, validator class) for the schema at path, itself valid against its meta-schema."""
    with open(path) as f:
        schema = json.load(f)
    cls = jsonschema_module(prog).validators.validator_for(schema)
    cls.check_schema(schema)
    return schema, cls
