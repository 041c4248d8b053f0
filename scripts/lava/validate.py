#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""validate.py: check LAVA job definitions against lava-common's job schema.

lava_common.schemas.validate from Debian's lava-common, in strict mode
(unknown keys refused). A LAVA server's own check on submission is other
code and may be looser; what only a dispatcher checks (the device type's
template, the files behind the URLs) is not covered here:
scripts/lava/run-local.sh runs a job for that.
Input: job files. Output: one line per job ("ok FILE" or "invalid FILE:
why"). Exit status: 0 when every job is valid, 1 otherwise, 2 when
lava-common is missing.
"""

import sys

import yaml

try:
    from lava_common.schemas import validate
    from voluptuous import Invalid
except ImportError as exc:
    print("error: lava-common is not installed (%s); run 'make deps'" % exc, file=sys.stderr)
    sys.exit(2)


def main():
    bad = 0
    for path in sys.argv[1:]:
        with open(path, encoding="utf-8") as f:
            job = yaml.safe_load(f)
        try:
            validate(job, strict=True)
        except Invalid as exc:
            bad += 1
            print("invalid %s: %s" % (path, exc))
            continue
        print("ok %s" % path)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
