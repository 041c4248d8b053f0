#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""reach-report.py RESULTS_DIR [--check]: what the host reached, in words.

For a run of verify.sh (one JSON per cell), reads mte_host_probe's subtests
in the non-VHE cells booted with arm64.nomte and prints one sentence: which
MTE registers and tag instructions host EL1 could use although MTE was
disabled. Used for the negative control, where that list must not be
empty; prints "host EL1 reached no MTE state" otherwise. A probe failed
only "[exception entry only]" (the access was denied, the UNDEF entered
the wrong way: the 7.3 oracle) is not a reach, nor is one that could
not run ("[probe error]").

--check (the negative control): exit 1 unless, in every such cell, every
probe of the boot phase failed (each register and each tag instruction
was reachable, so each probe is shown able to see the bad case), no boot
probe passed in a boot of the cell that hung and was booted again, and,
in the protected cells, the guest given ATA by its host stored its tag.
"""

import glob
import json
import os
import re
import sys

PROBE = re.compile(r"^boot: (MRS |MSR )?([A-Za-z0-9_ ]+?): failed")
ENTRY_ONLY = "[exception entry only]"
PROBE_ERROR = "[probe error]"


def main(argv):
    check = "--check" in argv
    argv = [a for a in argv if a != "--check"]
    if len(argv) != 1:
        sys.stderr.write(__doc__.split("\n")[0] + "\n")
        return 2
    regs, tags, cells, held = [], [], [], []
    for path in sorted(glob.glob(os.path.join(argv[0], "*.json"))):
        with open(path, encoding="utf-8") as f:
            c = json.load(f)
        if c["mode"] == "vhe" or c["mte"] != "off":
            continue
        hit = False
        probes = [s for t in c["tests"] if t["name"] == "mte_host_probe"
                  for s in t["subtests"] if s["name"].startswith("boot: ")]
        ata = [s for t in c["tests"] if t["name"] == "mte_host_probe"
               for s in t["subtests"] if s["name"].startswith("guest given ATA")]
        if not probes or any(s["ok"] or s["name"].endswith((ENTRY_ONLY, PROBE_ERROR)) for s in probes):
            held.append("%s: not every boot probe reached MTE state" % c["cell"])
        # A boot that hung and was booted again (boot.sh BOOT_RETRIES)
        # must not have seen a boot probe miss the hole either.
        for n, subs in enumerate(c.get("hung_probes", []), 1):
            if any(s["name"].startswith("boot: ") and
                   (s["ok"] or s["name"].endswith((ENTRY_ONLY, PROBE_ERROR))) for s in subs):
                held.append("%s: in the boot that hung (%d), a boot probe did not reach "
                            "MTE state" % (c["cell"], n))
        if c["mode"].startswith("protected") and (not ata or ata[0]["ok"]):
            held.append("%s: the guest given ATA did not store its tag" % c["cell"])
        for t in c["tests"]:
            if t["name"] != "mte_host_probe":
                continue
            for s in t["subtests"]:
                m = PROBE.match(s["name"])
                if s["ok"] or not m or s["name"].endswith((ENTRY_ONLY, PROBE_ERROR)):
                    continue
                hit = True
                name = (m.group(1) or "") + m.group(2)
                bucket = regs if m.group(1) else tags
                if name not in bucket:
                    bucket.append(name)
        if hit:
            cells.append(c["cell"])
    if not cells:
        print("host EL1 reached no MTE state with arm64.nomte")
        return 1 if check else 0
    what = []
    if regs:
        what.append("the MTE registers (" + ", ".join(regs) + ")")
    if tags:
        what.append("the allocation tags (" + ", ".join(tags) + ")")
    print("with arm64.nomte, host EL1 still reached " + " and ".join(what)
          + " in " + ", ".join(cells))
    if check and held:
        print("negative control incomplete: " + "; ".join(held))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
