#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""results-rst.py OUT_RESULTS [--stamp=BASE=HASH...]: regenerate Documentation/results.rst.

Reads what verify.sh, proof.sh and bench.sh left under out/results (one
directory of per-cell JSON per run, proof/<base>/rows/*.tsv and
proof/<base>/*.tsv for each base (6.12, 6.1),
bench/*.txt) and prints the reStructuredText page on stdout. Every figure
and table comes from those files, and a table with no data behind it says
so; only the short explanations around them (where upstream differs, why
a hot-path count grows) are fixed text, kept next to the code they describe.
"""

import datetime
import glob
import json
import os
import platform
import re
import subprocess
import sys

OURS = ["mte_host_probe", "mte_guest", "mte_userspace"]
MARK = {"pass": "PASS", "skip": "SKIP", "xfail": "XFAIL (expected)",
        "unexpected": "FAIL"}
RUN_TITLES = [
    (r"6\.12\.\d+-patches", "Patched 6.12 (``make verify``)"),
    (r"6\.12\.\d+-none", "Negative control: unpatched 6.12 (``SERIES=none``)"),
    (r"7\.3\.\d+-none", "Upstream oracle: 7.3 with its own fix (``KVER=7.3 SERIES=none``)"),
    (r"7\.3\.\d+-mainline",
     "Our fixes to upstream: 7.3 with patches/mainline (``KVER=7.3 SERIES=mainline``)"),
    (r"6\.12\.\d+-patches-nomte",
     "Patched 6.12 built with ``CONFIG_ARM64_MTE=n`` (``KCONFIG=nomte``)"),
    (r"6\.1\.\d+-patches", "Patched 6.1 (``make verify KVER=6.1``)"),
    (r"6\.1\.\d+-none", "Negative control: unpatched 6.1 (``KVER=6.1 SERIES=none``)"),
    (r"6\.1\.\d+-patches-nomte",
     "Patched 6.1 built with ``CONFIG_ARM64_MTE=n`` (``KVER=6.1 KCONFIG=nomte``)"),
]
# The bases with a series and a proof matrix, and what differs between them.
BASES = {
    "6.12": {"modes": "five modes", "loo": "protected hVHE and nVHE with kvm.enable_virt_at_load=0"},
    "6.1": {"modes": "three modes (6.1 has no hVHE)", "loo": "protected nVHE and nVHE"},
}


def table(head, rows):
    """A reST simple table."""
    cols = list(zip(*([head] + rows))) if rows else [[h] for h in head]
    widths = [max(len(str(x)) for x in col) for col in cols]
    sep = "  ".join("=" * w for w in widths)
    fmt = "  ".join("{:<%d}" % w for w in widths)
    out = [sep, fmt.format(*head).rstrip(), sep]
    out += [fmt.format(*[str(x) for x in r]).rstrip() for r in rows]
    out.append(sep)
    return "\n".join(out)


def title(text, ch):
    return f"{text}\n{ch * len(text)}\n"


def cmd(args):
    try:
        return subprocess.run(args, capture_output=True, text=True,
                              check=False).stdout.strip()
    except OSError:
        return "?"


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    qemu = cmd(["qemu-system-aarch64", "--version"]).split("\n")[0]
    return (f"{os.cpu_count()} CPUs ({model}), {platform.system()} "
            f"{platform.release()}, {qemu}")


def load_run(d):
    cells = []
    for path in sorted(glob.glob(os.path.join(d, "*.json"))):
        with open(path, encoding="utf-8") as f:
            cells.append(json.load(f))
    return cells


def seconds(results, run, cell):
    path = os.path.join(os.path.dirname(results), "logs", run, cell + ".seconds")
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().strip()
    except OSError:
        return "-"


def run_section(results, run, heading):
    cells = load_run(os.path.join(results, run))
    if not cells:
        return ""
    out = [title(heading, "-"), f"Run directory: ``out/results/{run}``.\n"]
    rows = []
    for c in cells:
        n = c["counts"]
        verdict = ("PASS" if c["ok"] else "FAIL") + (" (booted again)" if c.get("retried") else "")
        rows.append([c["cell"], c["reached"] or "?", verdict,
                     n["passed"], n["failed"], n["skipped"],
                     seconds(results, run, c["cell"])])
    out.append(table(["cell", "KVM mode reached", "verdict", "passed", "failed",
                      "skipped", "boot s"], rows))
    rows = []
    for c in cells:
        by = {t["name"]: t for t in c["tests"]}
        rows.append([c["cell"]] + [MARK.get(by[t]["outcome"], "?") if t in by
                                   else "not run" for t in OURS])
    out.append("\nOur tests, per cell:\n")
    out.append(table(["cell"] + OURS, rows))
    problems = [f"- ``{c['cell']}``: {p}" for c in cells for p in c["problems"]]
    problems += [f"- ``{c['cell']}``: booted again: {r}"
                 for c in cells for r in c.get("retried", [])]
    if problems:
        out.append("\nReasons given by the grader:\n")
        out += problems[:40]
    return "\n".join(out) + "\n"


def tsv(path):
    try:
        with open(path, encoding="utf-8") as f:
            return [line.rstrip("\n").split("\t") for line in f if line.strip()]
    except OSError:
        return []


def untestable(root, base):
    reasons = {}
    path = os.path.join(root, "configs", f"untestable-{base}.txt")
    if not os.path.exists(path):
        path = os.path.join(root, "configs", "untestable.txt")
    for row in tsv(path):
        if row and not row[0].startswith("#") and len(row) > 1:
            reasons[row[0]] = row[1]
    return reasons


def proof_section(results, root, base, stamp):
    proof = os.path.join(results, "proof", base)
    out = [title(f"Proof matrix: {base}", "-")]
    rows = [r for path in sorted(glob.glob(os.path.join(proof, "rows", "*.tsv")))
            for r in tsv(path)]
    if not rows:
        return "\n".join(out) + f"\nNot run yet (``make proof KVER={base}``).\n"
    stale = [r[0] for r in rows if len(r) < 5 or r[4] != stamp]
    out.append(table(["control", "result", "seconds"],
                     [[r[0], r[1] + (" (stale)" if r[0] in stale else ""), r[2]]
                      for r in rows]))
    if stale:
        out.append("\n(stale): recorded before the last change to the series, "
                   "the selftests or the configs; run ``make proof "
                   f"KVER={base}`` again.\n")
    out.append("\nWhat each control saw:\n")
    out += [f"- {r[0]}: {r[3].strip()}" for r in rows if len(r) > 3 and r[3].strip()]
    bis = tsv(os.path.join(proof, "bisect.tsv"))
    if bis:
        out.append("\nBisect safety: every prefix of the series, booted in every "
                   f"cell of the matrix ({BASES[base]['modes']}, MTE off, on and "
                   "forced; our tests only), plus a ``W=1`` build of the objects "
                   "the series touches.\n")
        out.append(table(["patches applied", "result", "crashed cells", "seconds"], bis))
    loo = tsv(os.path.join(proof, "loo.tsv"))
    if loo:
        why = untestable(root, base)
        out.append("\nEvery patch is load-bearing: the series without patch *i* "
                   f"({BASES[base]['loo']}, MTE off and on; our tests only); the "
                   "tests that fail.\n")
        out.append(table(["without", "patch", "caught by (cell:test)"],
                         [[r[0], r[1][5:].replace(".patch", ""),
                           r[2] if r[2] != "none" else "none (see below)"]
                          for r in loo]))
        out += [f"\nPatch {r[0]} is caught by no test: "
                f"{why.get(r[0], 'UNEXPLAINED: this breaks the control.')}"
                for r in loo if r[2] == "none"]
    mut = tsv(os.path.join(proof, "mutation.tsv"))
    if mut:
        out.append("\nMutants: the whole series plus one deliberate break "
                   "(``configs/mutations/``), booted in the cells the mutant "
                   "names (our tests only); the tests that fail.\n")
        out.append(table(["mutant", "the break", "caught by (cell:test)"], mut))
    reg = os.path.join(proof, "regression.txt")
    if os.path.exists(reg):
        with open(reg, encoding="utf-8") as f:
            lines = f.read().strip().splitlines()
        out.append(f"\nSmoke-set regression guard (unpatched vs patched {base}):\n")
        out.append("::\n\n" + "\n".join("  " + x for x in lines[-30:]))
    if base != "6.12":
        return "\n".join(out) + "\n"
    out.append("\nWhere upstream 7.3 and the series differ in behaviour (details in "
               ":doc:`design`):\n")
    out += [
        "- The host's injected UNDEF: 7.3 leaves ``PSTATE.TCO`` clear, enters the "
        "``SP_ELx`` vector (+0x200) for an access from EL1t and reports ``GMID_EL1`` "
        "with EC 0x00 under FEAT_IDST; the series sets ``TCO``, enters +0x000 and "
        "reports EC 0x18 with the access's syndrome, as a CPU without MTE2 would. "
        "``mte_host_probe`` checks all three, so its register probes fail on 7.3 "
        "in the non-VHE cells with MTE off, as ``configs/expect/oracle-7.3.txt`` "
        "names.",
        "- A guest's trapped ``GMID_EL1`` read: 7.3 reports EC 0x18 to guests that "
        "see FEAT_IDST; 6.12 with the series injects EC 0x00, as 6.12 does for "
        "its other ID-space UNDEFs. ``mte_guest`` accepts 0x18 only when the "
        "guest's ``ID_AA64MMFR2_EL1.IDS`` says so.",
        "- After KVM teardown in the non-protected modes, 7.3 leaves the hyp stub "
        "with the trap-armed ``HCR_EL2``; the series gives it ``ATA`` back and "
        "clears ``TID5``. The ``nvhe-lazy`` cells (``kvm.enable_virt_at_load=0``, "
        "proof rows 5 and 7) show it: there the host runs under the stub between "
        "VMs, and an MTE register access that traps into the stub hangs the CPU. "
        "The hibernation cells (``nvhe-hib``, ``hvhe-hib``, run by hand, see "
        ":doc:`testing`) show it as it happens: an image kernel using MTE, "
        "resumed by a restore kernel booted with ``arm64.nomte``, hangs on 7.3.",
    ]
    return "\n".join(out) + "\n"


def bench_section(results):
    out = [title("Hot paths and harness speed", "-")]
    found = False
    for name, heading in (("hotpath.txt", "Hot-path instruction counts (``make bench``)"),
                          ("timings.txt", "Harness timings (``make bench``)")):
        path = os.path.join(results, "bench", name)
        if os.path.exists(path):
            found = True
            with open(path, encoding="utf-8") as f:
                body = f.read().rstrip()
            out.append(f"{heading}:\n\n::\n\n" +
                       "\n".join("  " + x for x in body.splitlines()) + "\n")
    if found:
        out.append("Where a count grows: ``handle_trap()`` gains the ``EC_SYS64`` case, a "
                   "call to the out-of-line ``handle_host_mte_sysreg()`` and GCC's "
                   "re-laid-out switch; of that, a host HVC executes one more exception-"
                   "class compare. ``handle___kvm_vcpu_run`` gains the check in "
                   "``flush_hyp_vcpu()`` that keeps a protected-mode host without MTE "
                   "from granting ``ATA`` to its guests; it sits on the pKVM-only branch, "
                   "so non-protected guest entry does not run it. The other guest entry "
                   "and exit functions are unchanged; a difference made only of "
                   "alignment ``nop`` instructions, with no more instructions than "
                   "before, counts as unchanged.\n")
    else:
        out.append("Not run yet (``make bench``).\n")
    return "\n".join(out)


def main(argv):
    stamps = dict(a[len("--stamp="):].split("=", 1) for a in argv
                  if a.startswith("--stamp="))
    argv = [a for a in argv if not a.startswith("--stamp=")]
    if len(argv) != 1:
        sys.stderr.write(__doc__.split("\n")[0] + "\n")
        return 2
    results = argv[0]
    root = os.path.dirname(os.path.dirname(os.path.abspath(results)))
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts = [".. SPDX-License-Identifier: GPL-2.0\n",
             "=" * 16 + "\nMeasured results\n" + "=" * 16 + "\n",
             f"Generated by ``scripts/proof/results-rst.py`` on {now}, on {machine()}.\n"
             "Every cell is a QEMU TCG boot of ``virt,virtualization=on,mte=on`` (``mte=off`` in the forced cells) "
             "with ``-cpu max -smp 4``; see :doc:`testing` for the matrix.\n"]
    runs = sorted(d for d in (os.listdir(results) if os.path.isdir(results) else [])
                  if os.path.isdir(os.path.join(results, d)) and d not in ("proof", "bench"))
    for pattern, heading in RUN_TITLES:
        for run in runs:
            if re.fullmatch(pattern, run):
                parts.append(run_section(results, run, heading))
    for base in BASES:
        parts.append(proof_section(results, root, base, stamps.get(base)))
    parts.append(bench_section(results))
    print("\n".join(p for p in parts if p))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
