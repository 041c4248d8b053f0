#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""summarize.py: combine the per-cell JSON results into the run summary.

Input: the JSON files written by parse-cell.py for the cells of one run.
Output: a table (one row per cell, then one row per test with its result in
every cell) and the failure reasons, printed and written to --out. The last
line is "N passed, N failed, N skipped": one boot check per cell (mode
reached, no oops, complete KTAP stream) plus every top-level test of every
cell; an expected failure (control runs) counts as passed, a test that
never ran counts as failed. Exit status: 0 when every cell passed.
"""

import argparse
import json
import sys

MARK = {"pass": "PASS", "skip": "SKIP", "xfail": "XFAIL", "unexpected": None}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--disk", help="one line on the space the run holds under out/")
    ap.add_argument("cells", nargs="+")
    args = ap.parse_args()
    cells = []
    for path in args.cells:
        with open(path, encoding="utf-8") as f:
            cells.append(json.load(f))

    lines = [f"Run: {args.run}", ""]
    lines.append(f"{'cell':<22} {'KVM mode reached':<18} {'verdict':<8} "
                 f"{'pass':>5} {'fail':>5} {'skip':>5}")
    total = {"passed": 0, "failed": 0, "skipped": 0}
    for c in cells:
        n = c["counts"]
        for k in total:
            total[k] += n[k]
        lines.append(f"{c['cell']:<22} {(c['reached'] or '?'):<18} "
                     f"{'PASS' if c['ok'] else 'FAIL':<8} {n['passed']:>5} "
                     f"{n['failed']:>5} {n['skipped']:>5}")

    names = []
    for c in cells:
        for t in c["tests"]:
            if t["name"] not in names:
                names.append(t["name"])
    width = max([len(c["cell"]) for c in cells] + [5])
    lines += ["", f"{'test':<22} " + " ".join(f"{c['cell']:<{width}}" for c in cells)
              + "  max s"]
    for name in names:
        row = []
        for c in cells:
            t = next((t for t in c["tests"] if t["name"] == name), None)
            if t is None:
                row.append("-")
            else:
                row.append(MARK[t["outcome"]] or f"BAD:{t['status'].upper()}")
        secs = [t.get("seconds", 0.0) for c in cells for t in c["tests"]
                if t["name"] == name]
        lines.append(f"{name:<22} " + " ".join(f"{r:<{width}}" for r in row)
                     + f"  {max(secs, default=0.0):5.1f}")

    bad = [c for c in cells if not c["ok"]]
    if bad:
        lines += ["", "Failures:"]
        for c in bad:
            for p in c["problems"]:
                lines.append(f"  {c['cell']}: {p}")
    retried = [(c["cell"], r) for c in cells for r in c.get("retried", [])]
    if retried:
        lines += ["", "Booted again (after a hang: boot.sh BOOT_RETRIES; "
                  "after a failed grade: verify.sh FAIL_RETRIES):"]
        lines += [f"  {cell}: {r}" for cell, r in retried]
    if args.disk:
        lines += ["", args.disk]
    again = len({cell for cell, _ in retried})
    lines += ["", f"{len(cells) - len(bad)}/{len(cells)} cells passed "
              + (f"({again} booted again; " if again else "(")
              + "counts: one boot check per cell + each top-level test)"]
    lines.append(f"{total['passed']} passed, {total['failed']} failed, "
                 f"{total['skipped']} skipped")
    text = "\n".join(lines) + "\n"
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(text)
    sys.stdout.write(text)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
