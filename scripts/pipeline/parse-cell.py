#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""parse-cell.py: turn one cell's QEMU serial console into a verdict.

Reads the console log of a boot (see boot.sh and guest-init.sh), checks
that the kernel reached the requested KVM mode, that it logged no
panic/oops/BUG/WARNING, and that the KTAP stream printed by /init is
complete; then grades every top-level test against its expectation.

--hung names the console of an earlier boot of the same cell that timed
out (boot.sh BOOT_RETRIES): the cell then fails if that boot showed an oops
other than an RCU stall report, an unexpected result, or a failed sub-test
of the test it hung in, and with --strict-hang (runs of our series) if it
hung in one of our MTE tests or with mte_probe in a stack dump; the JSON's
"retried" list says where each such boot hung.

--failed names the verdict of an earlier boot of the same cell that failed
its grade (verify.sh FAIL_RETRIES, runs without our series): this boot is
graded on its own, and the JSON's "retried" list says why that one failed,
so that the summary names every cell that needed a second boot.

Writes the KTAP stream (--ktap) and a JSON result (--json) and prints a
one-line verdict plus the reasons of a failure. Exit status: 0 when the
cell met every expectation, 1 when it did not, 2 on usage errors.

Expectation files (--expect, may be repeated) hold lines
    MODE MTE TEST RESULT [FAILING]
with shell-style wildcards in the first three fields and RESULT one of
pass, fail, skip, any, or several joined by "|"; the last matching line
wins. FAILING, a regular expression, names the sub-tests that may fail:
an expected failure then also needs at least one failing sub-test, and
every failing sub-test must match it (so a known upstream bug does not
hide a new one in the same test). Without a matching line a test must pass, except that a SKIP is
accepted for smoke tests in any cell and for the MTE tests in the vhe
cells (the host is the hypervisor) and the forced cells (a CPU without
MTE) only: a non-VHE MTE test that skips on an MTE CPU checked nothing.
"""

import argparse
import fnmatch
import json
import os
import re
import sys

MODE_LINE = re.compile(r"kvm \[\d+\]: (.+?) mode initialized successfully")
EXPECTED_MODE = {
    # 6.1 prints plain "Hyp mode initialized successfully" for nVHE.
    "nvhe": re.compile(r"Hyp( nVHE)?"),
    "hvhe": re.compile(r"Hyp hVHE"),
    "protected": re.compile(r"Protected hVHE"),
    "protected-nvhe": re.compile(r"Protected nVHE"),
    "vhe": re.compile(r"VHE(\+NV2)?"),
    # kvm.enable_virt_at_load=0: the same modes, EL2 held only with a VM.
    "nvhe-lazy": re.compile(r"Hyp( nVHE)?"),
    "hvhe-lazy": re.compile(r"Hyp hVHE"),
}
# MODE-late (maxcpus=2): the same modes, two CPUs left for later.
EXPECTED_MODE.update({m + "-late": EXPECTED_MODE[m]
                      for m in ("nvhe", "hvhe", "protected", "protected-nvhe")})
# MODE-hib: the same modes, hibernated and resumed by a restore kernel in
# the other MTE state (boot.sh); the console holds both boots, the restore
# kernel's behind HIB_MARK. Before the mark the image kernel's boot says
# the cell's mode and MTE state; after it the restore kernel must say the
# same mode, the other MTE state and that it loaded the image, and
# mte_userspace must have run its "across" tests around the hibernation.
EXPECTED_MODE.update({m + "-hib": EXPECTED_MODE[m] for m in ("nvhe", "hvhe")})
HIB_MARK = "# harness: hibernation: the restore kernel boots"
HIB_LOADED = re.compile(r"PM: Image loading done")
HIB_ACROSS = "across '"
HIB_DATA = re.compile(r"^across: (\d+) of \1 granules kept their data \(\1 set before\)$")
HIB_TAGS = re.compile(r"^across: \d+ of (\d+) granules kept their tag \(\1 set before\)$")
# The tests that must run in the resumed image kernel.
HIB_AFTER = ("mte_host_probe", "mte_guest")
# The resumed image kernel's count of pages whose tags it restored: with
# MTE on it must cover mte_userspace's ACROSS_PAGES tagged pages (else
# they came back some other way, e.g. swapped out and in).
HIB_RESTORED = re.compile(r"hibernate: Restored (\d+) MTE pages")
ACROSS_PAGES = 16
# MODE-kexec: the same modes; one boot of two kernels (boot.sh): the first,
# in the other MTE state, runs no test and kexecs into the second (the
# cell's MTE state), which runs the tests. Its /kexec prints KEXEC_MARK
# just before the kexec: the console after it is graded as the cell's
# (mode, MTE state, tests), the part before must show the first kernel in
# the same KVM mode with the other MTE state, and the second kernel's
# command line must be the one boot.sh wrote on the disk.
EXPECTED_MODE.update({m + "-kexec": EXPECTED_MODE[m] for m in ("nvhe", "hvhe")})
KEXEC_MARK = "# harness: kexec: the second kernel boots"
KEXEC_SECOND = re.compile(r"Kernel command line: .*\bharness\.kexec=second\b")
# The first kernel's KVM teardown on its way into the second.
KEXEC_TEARDOWN = re.compile(r"kvm: exiting hardware virtualization")
# What /kexec and /init say when the first kernel could not boot the second.
KEXEC_ERROR = re.compile(r"^(kexec: .*|# harness: kexec: the first kernel could not boot the second)$")
# arm64.nomte as the kernel applies it: each kernel of a kexec cell booted
# with it must say so (MTE off is more than a missing "detected" line).
NOMTE_FORCED = re.compile(r"CPU features: SYS_ID_AA64PFR1_EL1\[11:8\]: forced to 0")
KTIME = re.compile(r"\[\s*\d+\.\d+\]")
# Diagnostic lines kept per failed sub-test, and how much of the first one
# a failure's reason quotes.
DIAG_KEPT = 3
DIAG_QUOTED = 300
# A forced cell (MTE=forced) boots a CPU without MTE (QEMU mte=off) with
# id_aa64pfr1.mte=2; the cpufeature code must have judged that unsafe.
OVERRIDE_IGNORED = re.compile(r"ID_AA64PFR1_EL1\[11:8\]: ignoring override")
# The kernel's own word on whether it uses MTE: a cell must boot in the MTE
# state it claims, or its tests would grade the wrong expectation.
MTE_DETECTED = re.compile(r"CPU features: detected: Memory Tagging Extension")
# mte_host_probe's phase under the hyp stub, which a lazy cell must run.
IDLE_PHASE = "idle (hyp stub"
# Its phase for CPUs first brought up during the test, which a late cell
# must run.
LATE_PHASE = "first online: "
# What smp_init() reports once the boot CPUs are up, and how many a late
# cell boots (boot.sh's maxcpus=2).
SMP_UP = re.compile(r"smp: Brought up \d+ nodes?, (\d+) CPUs?$")
LATE_BOOT_CPUS = 2
# Only pKVM refuses to boot a CPU it does not know: elsewhere the first-
# online phase must have probed, and there the kernel must have logged
# the failed PSCI CPU_ON of each CPU beyond maxcpus= (boot.sh: -smp 4).
NOT_PROBED = "not probed, no such CPU runs the host"
PSCI_BOOT_FAILED = re.compile(r"psci: failed to boot CPU(\d+) \(")
SMP_CPUS = 4
# Per mode suffix: the phase the host probe must have run, and what it
# means when it did not.
MODE_PHASE = {
    "lazy": (IDLE_PHASE, "ran no idle phase under the hyp stub: KVM held EL2 with no VM"),
    "late": (LATE_PHASE, "ran no first-online phase: no CPU was left offline by maxcpus="),
}
# mte_guest's branch for a CPU without FEAT_MTE: only a forced cell is one.
NO_FEAT_MTE = "CPU without FEAT_MTE"
SUBPLAN = re.compile(r"^1\.\.(\d+)")
OOPS = re.compile(
    r"Kernel panic|[Hh][Yy][Pp] panic|Internal error:|Oops|BUG:|WARNING:"
    r"|Unable to handle kernel|Call trace:|rcu_sched detected stall"
)
# A frame of a kernel stack dump ("[    4.73] func+0x10/0x40"), of which the
# first dump's are kept so that a report names the path, not only the site.
FRAME = re.compile(r"^\[\s*\d+\.\d+\]\s+([\w.]+\+0x[0-9a-f]+/0x[0-9a-f]+)")
TRACE_FRAMES = 12
RESULT = re.compile(r"^(not ok|ok) (\d+)(?: -)?\s*([^#]*?)\s*(?:#\s*(.*))?$")
PLAN = re.compile(r"^1\.\.(\d+)")
DONE_MARK = "# harness: done"
TOOK = re.compile(r"^# harness: (\S+) took ([0-9.]+)s$")
TOTALS = "# Totals:"
MTE_TESTS = {"mte_host_probe", "mte_guest", "mte_userspace"}


def load_expectations(paths):
    rules = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                line = line.split("#", 1)[0].split(None, 4)
                if not line:
                    continue
                if len(line) < 4:
                    raise ValueError(f"{path}:{n}: want 'MODE MTE TEST RESULT [FAILING]'")
                allowed = set(line[3].split("|"))
                if not allowed <= {"pass", "fail", "skip", "any"}:
                    raise ValueError(f"{path}:{n}: bad result '{line[3]}'")
                failing = re.compile(line[4].strip()) if len(line) == 5 else None
                rules.append((line[0], line[1], line[2], allowed, failing))
    return rules


def expectation(rules, mode, mte, test):
    """(acceptable results, regex of the sub-tests that may fail or None)."""
    allowed, failing = None, None
    for m, t, name, res, fail_re in rules:
        if (fnmatch.fnmatchcase(mode, m) and fnmatch.fnmatchcase(mte, t)
                and fnmatch.fnmatchcase(test, name)):
            allowed, failing = res, fail_re
    if allowed is None:
        if test in MTE_TESTS and mode != "vhe" and mte != "forced":
            allowed = {"pass"}
        else:
            allowed = {"pass", "skip"}
    if "any" in allowed:
        allowed = {"pass", "fail", "skip"}
    return allowed, failing


def test_name(desc):
    """'selftests: kvm: get-reg-list' -> 'get-reg-list'."""
    return desc.rsplit(":", 1)[-1].strip() or desc


# A kernel message as printk puts it on the console (a test's own output
# does not carry this exact stamp).
KMSG_STAMP = re.compile(r"\[\s*\d+\.\d{6}\] ")
HARNESS_PLAN = re.compile(r"^# harness: plan (\d+)$")
# The lines put back together: every line of the KTAP stream (the
# runner's results and collection headers, seen cut by its own
# "kselftest: Running tests in arm64" to /dev/kmsg; a test's "# selftests:"
# header, its "# " output and its sub-test results, seen cut by "Detected
# PIPT I-cache on CPU3" in the host probe's hotplug phase, which took
# "[exception entry only]" off a name) and the "# harness: " lines.
STREAM_LINE = re.compile(r"^(not |ok|#|TAP version \d|1\.\.\d)")
# The rest of a cut result line that starts as a line of its own would:
# its directive.
CUT_DIRECTIVE = re.compile(r"^#\s*(SKIP|TODO|XFAIL|XPASS|exit=)")
KTAP_START = re.compile(r"^(not ok |ok |# |## |1\.\.|TAP version )")


def deinterleave(lines):
    """Undo printk cutting into a line the guest was writing.

    printk writes to the serial console directly, between the bytes a
    process writes to its tty, so a kernel message can land in the middle of
    a KTAP line: "ok 1 selftests: arm64: x[    2.66] kselftest: ...", and
    the rest of the KTAP line (" # SKIP", or nothing) follows the kernel
    message's newline. Give the kernel message its own line and put the
    KTAP line back together, so that no directive is lost.
    """
    out, pending = [], None
    for line in lines:
        if pending is not None:
            if KMSG_STAMP.match(line):
                out.append(line)
                continue
            # The rest never came (the guest died, or boot.sh killed
            # QEMU): the next line is a line of its own.
            if (KTAP_START.match(line) and not CUT_DIRECTIVE.match(line)) or \
                    line.startswith("qemu-system-"):
                out.append(pending)
            else:
                line = pending + line
            pending = None
        m = KMSG_STAMP.search(line)
        if m and m.start() > 0 and STREAM_LINE.match(line):
            out.append(line[m.start():])
            pending = line[:m.start()]
            continue
        out.append(line)
    if pending is not None:
        out.append(pending)
    return out


def parse_console(text):
    """Split the console into mode line, oops lines and the KTAP stream."""
    res = {"mode": None, "oops": [], "ktap": [], "plan": None,
           "tests": [], "totals": False, "done": False, "started": False,
           "override_ignored": False, "mte_detected": False,
           "harness_plan": None, "trace": [], "smp_up": None,
           "psci_failed": set(), "restore": None, "first": None,
           "kexec_cmdline": False, "kexec_teardown": False, "kexec_error": None,
           "nomte_forced": False}
    cur = None
    in_trace = False
    # Where the kernel's word on its mode and MTE goes: the image kernel's
    # (res), then a hibernation cell's restore kernel's until it loaded
    # the image, then nowhere (the resumed image kernel said it at boot).
    facts = res
    started = []  # the tests the runner started so far
    for line in deinterleave(raw.rstrip("\r") for raw in text.splitlines()):
        if line == KEXEC_MARK and res["first"] is None and not res["started"]:
            # What the kernel said so far was the first kernel's: the
            # facts of the cell are the second's, said after the mark.
            res["first"] = {"mode": res["mode"], "mte_detected": res["mte_detected"],
                            "nomte_forced": res["nomte_forced"]}
            res.update(mode=None, mte_detected=False, smp_up=None, psci_failed=set(),
                       override_ignored=False, nomte_forced=False)
            continue
        if res["first"] is not None and KEXEC_SECOND.search(line):
            res["kexec_cmdline"] = True
        if (res["first"] is not None and not res["kexec_cmdline"]
                and KEXEC_TEARDOWN.search(line)):
            res["kexec_teardown"] = True
        if (not res["kexec_cmdline"] and res["kexec_error"] is None
                and KEXEC_ERROR.match(line)):
            res["kexec_error"] = line
        if NOMTE_FORCED.search(line):
            res["nomte_forced"] = True
        if line == HIB_MARK and res["restore"] is None:
            facts = res["restore"] = {"mode": None, "mte_detected": False, "loaded": False,
                                      "at_load": None, "restored": None}
            continue
        if facts is res["restore"] and HIB_LOADED.search(line):
            facts["loaded"] = True
            facts["at_load"] = len(started)
            facts = {"mode": None, "mte_detected": False}
        m = HIB_RESTORED.search(line)
        if m and res["restore"] is not None:
            res["restore"]["restored"] = int(m.group(1))
        m = HARNESS_PLAN.match(line)
        if m and res["harness_plan"] is None:
            res["harness_plan"] = int(m.group(1))
        m = MODE_LINE.search(line)
        if m and facts["mode"] is None:
            facts["mode"] = m.group(1).strip()
        if OVERRIDE_IGNORED.search(line):
            res["override_ignored"] = True
        m = SMP_UP.search(line)
        if m and res["smp_up"] is None:
            res["smp_up"] = int(m.group(1))
        m = PSCI_BOOT_FAILED.search(line)
        if m:
            res["psci_failed"].add(int(m.group(1)))
        if MTE_DETECTED.search(line):
            facts["mte_detected"] = True
        if KTIME.search(line) and OOPS.search(line):
            res["oops"].append(line.strip())
            in_trace = "Call trace:" in line and not res["trace"]
            continue
        m = FRAME.match(line)
        if in_trace and m and len(res["trace"]) < TRACE_FRAMES:
            res["trace"].append(m.group(1))
            continue
        in_trace = in_trace and bool(m)
        if KTIME.match(line):
            continue  # kernel log line, not KTAP
        if line == "TAP version 13" and not res["started"]:
            res["started"] = True
        if not res["started"] or res["done"]:
            continue
        res["ktap"].append(line)
        if line.startswith("# "):
            sub = line[2:]
            if sub.startswith("selftests: "):
                cur = {"subtests": [], "plan": None, "diag": []}
                started.append(test_name(sub))
            if sub.startswith("# ") and cur is not None:
                # The test's own diagnostics since its last result: they
                # say why a sub-test failed (kept for failed ones only).
                cur["diag"] = (cur["diag"] + [sub[2:]])[-DIAG_KEPT:]
            m = SUBPLAN.match(sub)
            if m and cur is not None and cur["plan"] is None:
                cur["plan"] = int(m.group(1))
            m = RESULT.match(sub)
            if m and cur is not None:
                cur["subtests"].append({
                    "ok": m.group(1) == "ok", "name": m.group(3),
                    "directive": (m.group(4) or "").strip()})
                if m.group(1) != "ok" and cur["diag"]:
                    cur["subtests"][-1]["diag"] = cur["diag"]
                cur["diag"] = []
            if line.startswith(TOTALS):
                res["totals"] = True
            if line == DONE_MARK:
                res["done"] = True
            m = TOOK.match(line)
            if m and res["tests"] and res["tests"][-1]["name"] == m.group(1):
                res["tests"][-1]["seconds"] = float(m.group(2))
            continue
        # kselftest's runner prints a plan per collection (kvm, arm64):
        # the run's plan is their sum.
        m = PLAN.match(line)
        if m:
            res["plan"] = (res["plan"] or 0) + int(m.group(1))
            continue
        m = RESULT.match(line)
        if m:
            directive = (m.group(4) or "").strip()
            # "ok ... # SKIP" is a skip; any other directive on an "ok"
            # (7.x's runner: "# XFAIL", "# XPASS" for exit 2 and 3) is not
            # a pass of ours.
            if m.group(1) == "ok" and not directive:
                status = "pass"
            elif m.group(1) == "ok" and directive.upper().startswith("SKIP"):
                status = "skip"
            else:
                status = "fail"
            subs = cur["subtests"] if cur else []
            res["tests"].append({
                "name": test_name(m.group(3)), "status": status,
                "directive": directive, "subtests": subs,
                "subplan": cur["plan"] if cur else None})
            cur = None
    res["inflight"] = cur  # a test that started and printed no result
    if res["restore"] is not None and res["restore"]["at_load"] is not None:
        # The tests whose header came after the restore kernel loaded the
        # image: those ran in the resumed kernel.
        res["restore"]["after"] = set(started[res["restore"]["at_load"]:])
    return res


def diag_of(sub):
    """The diagnostic line that says why sub failed: the first that starts
    as its name does (mte_host_probe: "PHASE: cpuN ..."), else the last."""
    head = sub["name"].split(":")[0] + ":"
    return next((d for d in sub["diag"] if d.startswith(head)), sub["diag"][-1])


def failed_note(path, cell):
    """The "retried" note of an earlier boot that failed its grade: the
    console it graded and the reasons its verdict gave (parse-cell.py's
    own lines "  CELL: why"), in one line."""
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    why = [ln[len(cell) + 4:] for ln in lines[1:] if ln.startswith(f"  {cell}: ")
           and not ln.startswith(f"  {cell}: | ")]
    name = os.path.basename(path).replace(".verdict", ".console")
    if lines and lines[0].startswith(f"{cell}: PASS "):
        # Graded again since (verify.sh, other expectations or grader).
        return f"{name}: failed the grading it had then; passes this one"
    return f"{name}: failed its grade: " + ("; ".join(why[:4]) or (lines[0] if lines else "no verdict"))


def noted(t, why):
    """The test t with why added to its directive (why it fails the cell)."""
    return dict(t, directive=(t["directive"] + " " if t["directive"] else "") + why)


def hib_problems(res, want, want_mte):
    """What a hibernation cell's two boots lack (res: the parsed console;
    want: the KVM mode both kernels must reach; want_mte: the cell's MTE
    state, which the image kernel must have and the restore kernel not)."""
    restore = res["restore"]
    problems = []
    if restore is None:
        return problems + ["hibernation cell: no restore boot (the image kernel did not "
                           "power off by itself)"]
    if restore["mode"] is None or not want.fullmatch(restore["mode"]):
        problems.append("hibernation cell: the restore kernel reached KVM mode '%s', "
                        "expected '%s'" % (restore["mode"], want.pattern))
    if restore["mte_detected"] == want_mte:
        problems.append("hibernation cell: the restore kernel %s MTE, as the image "
                        "kernel does: the two must differ"
                        % ("uses" if want_mte else "does not use"))
    if not restore["loaded"]:
        problems.append("hibernation cell: the restore kernel did not load the image")
    elif want_mte and (restore["restored"] or 0) < ACROSS_PAGES:
        problems.append("hibernation cell: the resumed kernel restored the tags of %s "
                        "pages, fewer than mte_userspace's %d"
                        % (restore["restored"], ACROSS_PAGES))
    return problems


def kexec_problems(res, want, want_mte):
    """What a kexec cell's two kernels lack (res: the parsed console; want:
    the KVM mode both kernels must reach; want_mte: the cell's MTE state,
    which the second kernel must have (grade() checks it) and the first
    not)."""
    first = res["first"]
    if first is None:
        return ["kexec cell: no second kernel (the first did not print '%s')%s"
                % (KEXEC_MARK, ": " + res["kexec_error"] if res["kexec_error"] else "")]
    problems = []
    if res["kexec_error"]:
        problems.append("kexec cell: the first kernel could not boot the second: "
                        + res["kexec_error"])
    if not res["kexec_teardown"]:
        problems.append("kexec cell: the first kernel did not log its KVM teardown "
                        "('kvm: exiting hardware virtualization') before the second booted")
    for who, facts, nomte in (("first", first, want_mte), ("second", res, not want_mte)):
        if nomte and not facts["nomte_forced"]:
            problems.append("kexec cell: the %s kernel, booted with arm64.nomte, did not "
                            "log 'SYS_ID_AA64PFR1_EL1[11:8]: forced to 0'" % who)
    if first["mode"] is None or not want.fullmatch(first["mode"]):
        problems.append("kexec cell: the first kernel reached KVM mode '%s', expected '%s'"
                        % (first["mode"], want.pattern))
    if first["mte_detected"] == want_mte:
        problems.append("kexec cell: the first kernel %s MTE, as the second does: the two "
                        "must differ" % ("uses" if want_mte else "does not use"))
    if not res["kexec_cmdline"]:
        problems.append("kexec cell: no 'Kernel command line:' with harness.kexec=second "
                        "after the mark: not the second kernel boot.sh wrote")
    return problems


def grade(res, mode, mte, rules, boot="ok", want_mte=None, required=()):
    """Return (cell_ok, boot_ok, problems, tests) with per-test outcome.

    boot is what boot.sh reported: "ok", or why QEMU did not power off by
    itself (a timeout fails the cell even if the stream looks complete).
    want_mte: whether the kernel must have detected MTE (None: not checked).
    required: tests that must be in the run (a test that was not built or
    installed is otherwise simply absent).
    """
    problems = [] if boot == "ok" else [f"boot {boot}"]
    want = EXPECTED_MODE[mode]
    if res["mode"] is None:
        problems.append("no 'kvm [..]: <X> mode initialized successfully' line")
    elif not want.fullmatch(res["mode"]):
        problems.append(f"wrong KVM mode: reached '{res['mode']}', "
                        f"expected '{want.pattern}'")
    if mode.endswith("-late") and res["smp_up"] != LATE_BOOT_CPUS:
        problems.append("late cell: the kernel did not report bringing up %d CPUs at boot "
                        "(maxcpus=%d not in effect?), it reported %s"
                        % (LATE_BOOT_CPUS, LATE_BOOT_CPUS, res["smp_up"]))
    if mode.endswith("-hib"):
        problems += hib_problems(res, want, mte == "on")
    if mode.endswith("-kexec"):
        problems += kexec_problems(res, want, mte == "on")
    if mte == "forced" and not res["override_ignored"]:
        problems.append("forced cell: no 'ID_AA64PFR1_EL1[11:8]: ignoring "
                        "override' line, so the cell did not test an unsafe "
                        "MTE override")
    # The kernel the cell grades: a hibernation cell's image kernel, a
    # kexec cell's second; their kernel (KCONFIG=hibernate) has MTE, so
    # their MTE state is checked whether or not --want-mte was given.
    who = ("hibernation cell: the image kernel" if mode.endswith("-hib") else
           "kexec cell: the second kernel" if mode.endswith("-kexec") else "kernel")
    if want_mte is None and who != "kernel":
        want_mte = mte == "on"
    if want_mte is not None and res["mode"] is not None and res["mte_detected"] != want_mte:
        problems.append("%s %s MTE, but the cell is MTE %s"
                        % (who, "uses" if res["mte_detected"] else "does not use", mte))
    if res["oops"]:
        problems.append("kernel oops/panic/warning: " + " | ".join(res["oops"][:5]))
        if res["trace"]:
            problems.append("first call trace: " + " < ".join(res["trace"]))
    if not res["started"]:
        problems.append("crashed: no KTAP stream" if res["oops"]
                        else "incomplete: no KTAP stream")
    else:
        got = len(res["tests"])
        plan = res["plan"]
        if plan is None:
            problems.append("incomplete: no KTAP plan line")
        elif got < plan:
            problems.append(f"{'crashed' if res['oops'] else 'incomplete'}: "
                            f"plan 1..{plan} but {got} results")
        elif got > plan:
            problems.append(f"bad KTAP: plan 1..{plan} but {got} results")
        if not res["totals"] or not res["done"]:
            problems.append("incomplete: no '# Totals' / '# harness: done' marker")
        # The guest's own count of /tests.txt: a collection the runner
        # never started has no plan line to miss.
        hp = res["harness_plan"]
        if hp is not None and got != hp:
            problems.append(f"incomplete: {hp} tests to run but {got} results")
    if res["started"]:
        ran = {t["name"] for t in res["tests"]}
        missing = sorted(set(required) - ran)
        if missing:
            problems.append("not in the run: " + ", ".join(missing))
    boot_ok = not problems
    tests = []
    for t in res["tests"]:
        allowed, failing = expectation(rules, mode, mte, t["name"])
        met = t["status"] in allowed
        bad = [s["name"] for s in t["subtests"] if not s["ok"]]
        if met and t["status"] == "fail" and failing is not None:
            # A known failure must be the whole story: the test ran to its
            # end (every planned sub-test, exit 1) and failed only there.
            stray = [b for b in bad if not failing.search(b)]
            whole = (t["subplan"] is not None and len(t["subtests"]) == t["subplan"]
                     and re.search(r"\bexit=1\b", t["directive"]))
            if stray or not bad or not whole:
                met = False
                diag = next((diag_of(s) for s in t["subtests"]
                             if not s["ok"] and s["name"] in stray and s.get("diag")), None)
                why = ("unexpected failing sub-tests: " + "; ".join(stray[:4])
                       + (" (its diagnostic: %s)" % diag[:DIAG_QUOTED] if diag else "") if stray
                       else "no failing sub-test matches " + failing.pattern if not bad
                       else "did not run to its end (%d of %s sub-tests, %s)"
                       % (len(t["subtests"]), t["subplan"], t["directive"]))
                t = noted(t, why)
        if mte != "forced" and any(NO_FEAT_MTE in s["name"] for s in t["subtests"]):
            met = False
            t = noted(t, "took the no-FEAT_MTE branch on an MTE cell")
        # A lazy cell is there for the host under the hyp stub, a late one
        # for CPUs first brought up after KVM's init: the host probe must
        # have run that phase, or the cell is a plain one.
        need = MODE_PHASE.get(mode.rsplit("-", 1)[-1])
        if (need and mte != "forced" and t["name"] == "mte_host_probe"
                and t["status"] != "skip"
                and not any(s["name"].startswith(need[0]) for s in t["subtests"])):
            met = False
            t = noted(t, need[1])
        not_probed = mode.endswith("-late") and any(
            s["name"].startswith(LATE_PHASE) and NOT_PROBED in s["name"]
            for s in t["subtests"])
        late_cpus = set(range(LATE_BOOT_CPUS, SMP_CPUS))
        if not_probed and not mode.startswith("protected"):
            met = False
            t = noted(t, "first-online probes not run outside protected mode")
        elif not_probed and not late_cpus <= res["psci_failed"]:
            met = False
            t = noted(t, "first-online probes not run, but the kernel logged no failed "
                      "PSCI CPU_ON for CPU(s) %s"
                      % " ".join(str(c) for c in sorted(late_cpus - res["psci_failed"])))
        if mode.endswith("-hib") and t["name"] == "mte_userspace" and t["status"] != "skip":
            if not any(s["ok"] and s["name"].startswith(HIB_ACROSS) for s in t["subtests"]):
                met = False
                t = noted(t, "ran no passing 'across' test: the cell did not hibernate in it")
            elif mte == "on" and not (
                    any(s["ok"] and HIB_DATA.match(s["name"]) for s in t["subtests"])
                    and any(HIB_TAGS.match(s["name"]) for s in t["subtests"])):
                met = False
                t = noted(t, "did not check that its data and tags survived the hibernation")
        if (mode.endswith("-hib") and t["name"] in HIB_AFTER and res["restore"]
                and t["name"] not in res["restore"].get("after", ())):
            met = False
            t = noted(t, "did not start after the restore kernel loaded the image: "
                      "not a test of the resumed kernel")
        if met and t["status"] == "fail":
            outcome = "xfail"  # expected failure (control runs)
        elif met:
            outcome = t["status"]
        else:
            outcome = "unexpected"
            why = {"skip": "skipped" + (" in a non-VHE cell" if t["name"] in MTE_TESTS
                                        and mode != "vhe" else ""),
                   "pass": "passed but was expected to " + "/".join(sorted(allowed)),
                   "fail": "failed"}[t["status"]]
            if t["status"] == "pass" and "pass" in allowed:
                why = "passed, but not as this cell needs"
            detail = t["directive"]
            if bad and (failing is None or t["status"] != "fail"):
                detail += (" " if detail else "") + "subtests: " + "; ".join(bad[:4])
                diag = next((diag_of(s) for s in t["subtests"] if not s["ok"] and s.get("diag")),
                            None)
                if diag:
                    detail += " (first diagnostic: %s)" % diag[:DIAG_QUOTED]
            problems.append(f"{t['name']}: {why}" + (f" ({detail})" if detail else ""))
        t = dict(t, outcome=outcome, expected=sorted(allowed))
        tests.append(t)
    return boot_ok and all(t["outcome"] != "unexpected" for t in tests), boot_ok, problems, tests


# What a boot that hung and was booted again (boot.sh BOOT_RETRIES) may show
# without failing the cell: an RCU stall report and the stack dumps after it.
STALL = re.compile(r"rcu_\w+ (self-)?detected stall|rcu: INFO:")
# A hang that involves our tests' module or processes.
OURS = re.compile(r"\[mte_probe\]|Comm: mte_")


def judge_hung(path, mode, mte, rules, strict):
    """(problems, note) for a console kept from a boot that timed out.

    The cell may pass on its next boot only if this one failed by hanging
    alone: any oops but an RCU stall report, a test that ended against its
    expectation, or a failed sub-test of the test that was running is a
    finding however the next boot went. strict (runs of our series): a
    hang inside one of our MTE tests, or with their module or process in
    a stack dump, is a finding too, since the series can cause exactly
    that.
    """
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    res = parse_console(text)
    _, _, _, tests = grade(res, mode, mte, rules)
    name = path.rsplit("/", 1)[-1]
    oops, in_stall = [], False
    for o in res["oops"]:
        if STALL.search(o):
            in_stall = True
        elif not (in_stall and "Call trace:" in o):
            in_stall = False
            oops.append(o)
    problems = []
    if oops:
        problems.append("the boot that hung (%s) also showed: %s" % (name, " | ".join(oops[:5])))
    bad = ["%s (%s)" % (t["name"], t["directive"] or t["status"]) for t in tests
           if t["outcome"] == "unexpected"]
    if bad:
        problems.append("the boot that hung (%s) had unexpected results: %s" % (name, "; ".join(bad[:4])))
    last = next((line[2:] for line in reversed(res["ktap"]) if line.startswith("# selftests: ")), None)
    running = None
    if last and res["inflight"] is not None:
        running = test_name(last)
        subs = [s["name"] for s in res["inflight"]["subtests"] if not s["ok"]]
        allowed, failing = expectation(rules, mode, mte, running)
        if "fail" in allowed:
            # Failures the expectation names (control runs) are no finding.
            subs = [n for n in subs if failing is not None and not failing.search(n)]
        if subs:
            problems.append("the boot that hung (%s) was in %s, which had failed: %s"
                            % (name, running, "; ".join(subs[:4])))
        if strict and running in MTE_TESTS:
            problems.append("the boot that hung (%s) hung in %s, where the series can "
                            "cause a hang" % (name, running))
    if strict and mode.endswith("-kexec") and res["first"] is not None and res["mode"] is None:
        problems.append("the boot that hung (%s) hung between the two kernels of the "
                        "kexec, where the series can cause a hang" % name)
    if strict and mode.endswith("-hib") and res["restore"] is not None:
        problems.append("the boot that hung (%s) hung once the restore kernel had "
                        "booted, where the series can cause a hang" % name)
    if strict and OURS.search(text):
        problems.append("the boot that hung (%s) has mte_probe or an mte_ test in a "
                        "stack dump" % name)
    stall = STALL.search(text)
    where = ("in '%s'" % running if running else "after '%s'" % test_name(last) if last and not res["done"]
             else "after the tests" if res["done"]
             else "in the kexec" if res["first"] is not None and res["mode"] is None
             else "before the tests")
    note = "%s: hung %s%s, %d test results before it" % (
        name, where, " (%s)" % text[stall.start():text.find("\n", stall.start())].strip()
        if stall else "", len(res["tests"]))
    return problems, note, probe_subtests(res)


def probe_subtests(res):
    """mte_host_probe's sub-tests in a parsed console, finished or running
    (the negative control checks them in boots that hung too)."""
    subs = [s for t in res["tests"] if t["name"] == "mte_host_probe" for s in t["subtests"]]
    last = next((line[2:] for line in reversed(res["ktap"]) if line.startswith("# selftests: ")),
                None)
    if res["inflight"] is not None and last and test_name(last) == "mte_host_probe":
        subs += res["inflight"]["subtests"]
    return [{"name": s["name"], "ok": s["ok"]} for s in subs]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("console")
    ap.add_argument("--mode", required=True, choices=sorted(EXPECTED_MODE))
    ap.add_argument("--mte", required=True, choices=["on", "off", "forced"])
    ap.add_argument("--expect", action="append", default=[])
    ap.add_argument("--ktap")
    ap.add_argument("--json")
    ap.add_argument("--boot", default="ok",
                    help="boot.sh outcome: ok, or why QEMU did not power off")
    ap.add_argument("--want-mte", choices=["yes", "no"],
                    help="the kernel must (not) report MTE in use")
    ap.add_argument("--require", action="append", default=[],
                    help="a test that must be in the run (repeatable)")
    ap.add_argument("--hung", action="append", default=[],
                    help="the console of an earlier boot of the cell that timed out")
    ap.add_argument("--failed",
                    help="the verdict of an earlier boot of the cell that failed its grade")
    ap.add_argument("--strict-hang", action="store_true",
                    help="a run of our series: a hang in an MTE test is a finding")
    args = ap.parse_args()
    try:
        rules = load_expectations(args.expect)
        with open(args.console, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    res = parse_console(text)
    want = None if args.want_mte is None else args.want_mte == "yes"
    ok, boot_ok, problems, tests = grade(res, args.mode, args.mte, rules, args.boot, want,
                                         args.require)
    cell = f"{args.mode}-mte{args.mte}"
    retried, hung_probes = [], []
    for path in args.hung:
        try:
            more, note, subs = judge_hung(path, args.mode, args.mte, rules, args.strict_hang)
        except OSError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        retried.append(note)
        hung_probes.append(subs)
        if more:
            problems += more
            ok = boot_ok = False
    if args.failed:
        try:
            retried.append(failed_note(args.failed, cell))
        except OSError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    if args.ktap:
        with open(args.ktap, "w", encoding="utf-8") as f:
            f.write("\n".join(res["ktap"]) + ("\n" if res["ktap"] else ""))
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    counts["passed" if boot_ok else "failed"] += 1  # the boot check itself
    for t in tests:
        key = {"pass": "passed", "xfail": "passed", "skip": "skipped"}.get(t["outcome"], "failed")
        counts[key] += 1
    if res["plan"] is not None and len(tests) < res["plan"]:
        counts["failed"] += res["plan"] - len(tests)  # never ran
    result = {"cell": cell, "mode": args.mode, "mte": args.mte,
              "reached": res["mode"], "ok": ok, "boot_ok": boot_ok,
              "problems": problems, "tests": tests, "counts": counts,
              "oops": res["oops"], "retried": retried, "hung_probes": hung_probes}
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=1)
    print(f"{cell}: {'PASS' if ok else 'FAIL'} (mode: {res['mode'] or '?'}; "
          f"{counts['passed']} passed, {counts['failed']} failed, "
          f"{counts['skipped']} skipped)")
    for p in problems:
        print(f"  {cell}: {p}")
    for r in retried:
        print(f"  {cell}: booted again: {r}")
    for o in res["oops"][:20]:
        print(f"  {cell}: | {o}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
