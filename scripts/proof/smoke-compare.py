#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""smoke-compare.py BASE_RESULTS PATCHED_RESULTS: the regression guard.

Both arguments are result directories of verify.sh (one JSON per cell).
Every smoke test (any test that is not one of ours) that passed on the
base in a cell must also pass with the series in that cell. Prints one line
per comparison that changed and a closing summary; exits 1 on a
regression, or when the two runs share no cell.
"""

import glob
import json
import os
import sys

OURS = {"mte_host_probe", "mte_guest", "mte_userspace"}


def load(d):
    cells = {}
    for path in glob.glob(os.path.join(d, "*.json")):
        with open(path, encoding="utf-8") as f:
            c = json.load(f)
        cells[c["cell"]] = {t["name"]: t["status"] for t in c["tests"]
                            if t["name"] not in OURS}
    return cells


def main(argv):
    if len(argv) != 2:
        sys.stderr.write(__doc__.split("\n")[0] + "\n")
        return 2
    base, new = load(argv[0]), load(argv[1])
    shared = sorted(set(base) & set(new))
    compared = regressions = 0
    for cell in shared:
        for name, status in sorted(base[cell].items()):
            got = new[cell].get(name, "missing")
            compared += 1
            if status == "pass" and got != "pass":
                regressions += 1
                print(f"REGRESSION {cell} {name}: base pass, series {got}")
            elif status != got:
                print(f"changed {cell} {name}: base {status}, series {got}")
    print(f"{compared} smoke results compared over {len(shared)} cells, "
          f"{regressions} regressions")
    return 1 if regressions or not shared else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
