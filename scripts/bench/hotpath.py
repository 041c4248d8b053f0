#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Compare the hot paths of two builds of the nVHE hypervisor object.

Usage: hotpath.py BASE_KVM_NVHE_O PATCHED_KVM_NVHE_O [--rst]

Reads arch/arm64/kvm/hyp/nvhe/kvm_nvhe.o of an unpatched and a patched
build (objdump from the aarch64 cross binutils) and reports, per function,
the static instruction count and whether the instruction sequence is
identical once addresses are ignored:

- guest entry/exit: __kvm_vcpu_run (with __activate_traps inlined),
  __deactivate_traps, handle___kvm_vcpu_run, __guest_enter, __guest_exit;
- host trap entry: handle_trap as a whole, and the number of instructions
  a host HVC executes from handle_trap's entry to the indirect call of the
  hypercall handler (a small evaluator follows the exception class
  compares along that path);
- the size of the .hyp.text section.

It exits 1 if the guest entry/exit functions changed or the hypercall path
grew by more than two instructions, so that it can gate a regression. One
exception is budgeted: handle___kvm_vcpu_run may grow by at most
PKVM_RUN_BUDGET instructions, for the protected-mode-only check in
flush_hyp_vcpu() that keeps a host without MTE from granting ATA to its
guests (patch 4). It runs only under pKVM; non-protected modes take the
branch around it.
"""

import re
import subprocess
import sys

OBJDUMP = "aarch64-linux-gnu-objdump"
SIZE = "aarch64-linux-gnu-size"
PREFIX = "__kvm_nvhe_"
GUEST_PATH = ["__kvm_vcpu_run", "__deactivate_traps", "handle___kvm_vcpu_run",
              "__guest_enter", "__guest_exit"]
EC_HVC64 = 0x16
HCALL_BUDGET = 2
PKVM_RUN = "handle___kvm_vcpu_run"
PKVM_RUN_BUDGET = 4

FUNC_RE = re.compile(r"^[0-9a-f]+ <(?P<name>[^>]+)>:$")
INSN_RE = re.compile(r"^\s+(?P<addr>[0-9a-f]+):\s+(?P<mn>\S+)\s*(?P<ops>[^/<]*)"
                     r"(?:<(?P<sym>[^>+]+)(?:\+0x[0-9a-f]+)?>)?")


def disassemble(obj):
    """Return {function: [(addr, mnemonic, operands, target symbol), ...]}."""
    out = subprocess.run([OBJDUMP, "-d", "--no-show-raw-insn", obj],
                         check=True, capture_output=True, text=True).stdout
    funcs, cur = {}, None
    for line in out.splitlines():
        m = FUNC_RE.match(line)
        if m:
            cur = m.group("name")
            cur = cur[len(PREFIX):] if cur.startswith(PREFIX) else cur
            funcs[cur] = []
            continue
        m = INSN_RE.match(line)
        if m and cur is not None:
            funcs[cur].append((int(m.group("addr"), 16), m.group("mn"),
                               m.group("ops").strip().rstrip(","),
                               m.group("sym")))
    return funcs


def shape(insns):
    """The instruction sequence with branch targets made position-free:
    a branch within the function becomes an offset, any other a symbol."""
    base = insns[0][0] if insns else 0
    end = insns[-1][0] if insns else 0
    out = []
    for _, mn, ops, sym in insns:
        def target(m):
            t = int(m.group(0), 16)
            return "+%x" % (t - base) if base <= t <= end else str(sym)
        if sym is not None:
            ops = re.sub(r"\b[0-9a-f]{3,}\b", target, ops)
        out.append((mn, ops))
    return out


def without_nops(insns):
    """The sequence without NOPs, branches within the function pointing at
    the ordinal of their target among the remaining instructions."""
    ordinal, k = {}, 0
    for addr, mn, _, _ in insns:
        ordinal[addr] = k
        if mn != "nop":
            k += 1
    out = []
    for _, mn, ops, sym in insns:
        if mn == "nop":
            continue
        if sym is not None:
            ops = re.sub(r"\b[0-9a-f]{3,}\b",
                         lambda m: "@%s" % ordinal.get(int(m.group(0), 16), sym), ops)
        out.append((mn, ops))
    return out


def compare(b, n):
    """Verdict for a function that must not grow: identical, identical but
    for alignment NOPs (with the count no larger), or CHANGED."""
    if shape(b) == shape(n):
        return "identical"
    if without_nops(b) == without_nops(n) and len(n) <= len(b):
        return "identical but for alignment nops (%+d)" % (len(n) - len(b))
    return "CHANGED (%+d)" % (len(n) - len(b))


def text_size(obj):
    out = subprocess.run([SIZE, "-A", obj], check=True, capture_output=True,
                         text=True).stdout
    for line in out.splitlines():
        f = line.split()
        if f and f[0] == ".hyp.text":
            return int(f[1])
    return 0


def reg_num(op):
    m = re.fullmatch(r"[xw](\d+)", op.strip())
    return int(m.group(1)) if m else None


def cond_holds(cond, a, b):
    return {"eq": a == b, "ne": a != b, "hi": a > b, "ls": a <= b,
            "hs": a >= b, "cs": a >= b, "lo": a < b, "cc": a < b,
            "gt": a > b, "le": a <= b, "ge": a >= b, "lt": a < b}.get(cond)


def hvc_path(insns):
    """Instructions a host HVC executes in handle_trap up to the hcall call.

    Only the exception class is modelled: registers derived from ESR_EL2
    by a shift of 26 hold EC_HVC64, compares against them decide branches,
    and every other conditional branch is assumed not taken (the path of a
    valid hypercall).
    """
    index = {insn[0]: i for i, insn in enumerate(insns)}
    esr, ec, flags = set(), {}, None
    i, count = 0, 0
    while 0 <= i < len(insns) and count < 1000:
        _, mn, ops, _ = insns[i]
        args = [a.strip() for a in ops.split(",")] if ops else []
        count += 1
        nxt = i + 1
        if mn == "mrs" and len(args) == 2 and args[1] == "esr_el2":
            esr.add(reg_num(args[0]))
        elif mn in ("lsr", "ubfx") and len(args) >= 3 and \
                reg_num(args[1]) in esr and args[2] == "#26":
            ec[reg_num(args[0])] = EC_HVC64
        elif mn == "mov" and len(args) == 2 and reg_num(args[1]) in ec:
            ec[reg_num(args[0])] = ec[reg_num(args[1])]
        elif mn == "cmp" and len(args) == 2 and reg_num(args[0]) in ec and \
                args[1].startswith("#"):
            flags = (ec[reg_num(args[0])], int(args[1][1:], 0))
        elif mn in ("cmp", "ccmp", "tst", "cmn", "subs", "adds", "ands"):
            flags = None
        elif mn.startswith("b.") and args:
            taken = cond_holds(mn[2:], *flags) if flags else False
            if taken:
                nxt = index.get(int(args[0], 16), -1)
        elif mn == "b" and args:
            nxt = index.get(int(args[0], 16), -1)
        elif mn in ("blr", "ret", "brk"):
            return count if mn == "blr" else None
        else:
            dst = reg_num(args[0]) if args else None
            ec.pop(dst, None)
        i = nxt
    return None


def main(argv):
    rst = "--rst" in argv
    paths = [a for a in argv if not a.startswith("--")]
    if len(paths) != 2:
        sys.stderr.write("usage: hotpath.py BASE_KVM_NVHE_O PATCHED_KVM_NVHE_O [--rst]\n")
        return 2
    base, new = (disassemble(p) for p in paths)
    rows, ok = [], True

    for fn in GUEST_PATH:
        if fn not in base and fn not in new:
            continue
        b, n = base.get(fn, []), new.get(fn, [])
        verdict = compare(b, n)
        if fn == PKVM_RUN and verdict.startswith("CHANGED"):
            grew = len(n) - len(b)
            verdict = "changed %+d, pKVM only (budget +%d)" % (grew, PKVM_RUN_BUDGET)
            ok &= grew <= PKVM_RUN_BUDGET
        else:
            ok &= not verdict.startswith("CHANGED")
        rows.append(("guest entry/exit", fn, len(b), len(n), verdict))

    b, n = base.get("handle_trap", []), new.get("handle_trap", [])
    rows.append(("host trap", "handle_trap (whole)", len(b), len(n),
                 "identical" if shape(b) == shape(n) else "changed"))
    pb, pn = hvc_path(b), hvc_path(n)
    if pb is None or pn is None:
        ok = False
        rows.append(("host hypercall", "HVC path to hcall call", pb, pn,
                     "NOT FOUND"))
    else:
        grew = pn - pb
        ok &= grew <= HCALL_BUDGET
        rows.append(("host hypercall", "HVC path to hcall call", pb, pn,
                     "%+d (budget +%d)" % (grew, HCALL_BUDGET)))
    for fn in sorted(set(new) - set(base)):
        rows.append(("new, cold", fn, 0, len(new[fn]), "off the hot paths"))
    sb, sn = text_size(paths[0]), text_size(paths[1])
    rows.append(("image", ".hyp.text bytes", sb, sn, "%+d" % (sn - sb)))
    ib = sum(len(v) for v in base.values())
    in_ = sum(len(v) for v in new.values())
    rows.append(("image", "instructions, all functions", ib, in_,
                 "%+d" % (in_ - ib)))

    head = ("path", "function", "base", "patched", "verdict")
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(5)]
    sep = "  ".join("=" * w for w in widths)
    fmt = "  ".join("{:<%d}" % w for w in widths)
    if rst:
        print(sep)
    print(fmt.format(*head))
    print(sep if rst else "  ".join("-" * w for w in widths))
    for r in rows:
        print(fmt.format(*[str(x) for x in r]))
    if rst:
        print(sep)
    print("hot-path verdict: %s" % ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
