#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""mkseries.py GITDIR REV OUTDIR: write the selftest series for one base.

selftests/ is the source of truth; this turns it into a git am-able
series (git format-patch files and a quilt "series" file in OUTDIR) for
the kernel tree at REV of the git repository GITDIR (the harness's
pristine base, out/base/<src>). The same input always gives the same
bytes: fixed author, dates and commit ids (--zero-commit), no signature.

Per base it finds:
  - the KVM selftest layout: kvm/aarch64 + kvm/Makefile (6.1, 6.12) or
    kvm/arm64 + kvm/Makefile.kvm (7.x);
  - whether lib.mk builds test modules (TEST_GEN_MODS_DIR, 6.12 and
    later): if not, mte_probe.ko is shipped as source only;
  - existing tests that cannot build in the tree (Debian 6.1.192's stable
    backports): then a first patch leaves them out of the kvm target.

Patches: [leave out unbuildable tests], the mte_probe module, mte_host_probe,
mte_guest (KVM selftests), mte_userspace (arm64 MTE selftests, which build
every .c of arm64/mte/ without a Makefile change). Nothing in GITDIR
changes: objects go to a scratch object directory.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", ".."))
SRC = os.path.join(ROOT, "selftests")
IDENT = "pkvm-mte-guard <pkvm-mte-guard@example.org>"
DATE = "1795910400 +0000"  # 2026-11-29 00:00 UTC, fixed for reproducibility
KVM = "tools/testing/selftests/kvm"
MTE_DIR = "tools/testing/selftests/arm64/mte"


def die(msg):
    print("error: mkseries.py: " + msg, file=sys.stderr)
    sys.exit(1)


class Repo:
    def __init__(self, gitdir, scratch):
        self.gitdir = gitdir
        name, email = IDENT[:-1].split(" <")
        self.env = dict(os.environ,
                        GIT_INDEX_FILE=os.path.join(scratch, "index"),
                        GIT_OBJECT_DIRECTORY=os.path.join(scratch, "objects"),
                        GIT_ALTERNATE_OBJECT_DIRECTORIES=os.path.join(gitdir, "objects"),
                        GIT_AUTHOR_NAME=name, GIT_AUTHOR_EMAIL=email,
                        GIT_COMMITTER_NAME=name, GIT_COMMITTER_EMAIL=email,
                        GIT_AUTHOR_DATE=DATE, GIT_COMMITTER_DATE=DATE,
                        LC_ALL="C")
        os.makedirs(os.path.join(scratch, "objects"))

    def git(self, *args, data=None):
        r = subprocess.run(["git", "--git-dir", self.gitdir, *args], env=self.env,
                           input=data, capture_output=True)
        if r.returncode:
            die("git %s: %s" % (args[0], r.stderr.decode(errors="replace").strip()))
        return r.stdout

    def show(self, rev, path):
        r = subprocess.run(["git", "--git-dir", self.gitdir, "cat-file", "blob",
                            "%s:%s" % (rev, path)], env=self.env, capture_output=True)
        return r.stdout.decode() if r.returncode == 0 else None

    def ls(self, rev, path):
        out = self.git("ls-tree", "--name-only", "%s:%s" % (rev, path))
        return out.decode().split()


def read(rel):
    with open(os.path.join(SRC, rel)) as f:
        return f.read()


def insert_after_last(text, pattern, block, what):
    """Insert block after the last line matching pattern."""
    lines = text.split("\n")
    idx = [i for i, ln in enumerate(lines) if re.match(pattern, ln)]
    if not idx:
        die("no line like %r in %s" % (pattern, what))
    lines[idx[-1] + 1:idx[-1] + 1] = block
    return "\n".join(lines)


def insert_before_first(text, pattern, block, what):
    lines = text.split("\n")
    idx = [i for i, ln in enumerate(lines) if re.match(pattern, ln)]
    if not idx:
        die("no line like %r in %s" % (pattern, what))
    lines[idx[0]:idx[0]] = block
    return "\n".join(lines)


def unbuildable(repo, rev, arch):
    """Existing tests that cannot build in this tree, with the reason."""
    found = []
    tests = [t[:-2] for t in repo.ls(rev, KVM) if t.endswith(".c")]
    tests += ["%s/%s" % (arch, t[:-2]) for t in repo.ls(rev, "%s/%s" % (KVM, arch))
              if t.endswith(".c")]
    have_bitfield = repo.show(rev, "tools/include/linux/bitfield.h") is not None
    util = repo.show(rev, KVM + "/include/test_util.h") or ""
    have_eq = "define TEST_ASSERT_EQ" in util
    for t in sorted(tests):
        src = repo.show(rev, "%s/%s.c" % (KVM, t)) or ""
        if not have_bitfield and "<linux/bitfield.h>" in src:
            found.append((t, "includes <linux/bitfield.h>, not in tools/include"))
        elif not have_eq and "TEST_ASSERT_EQ(" in src:
            found.append((t, "uses TEST_ASSERT_EQ(), not in this test_util.h"))
    return found


def msg_unbuildable(broken):
    lines = "\n".join("  %s.c: %s" % (t, why) for t, why in broken)
    return """KVM: selftests: Leave out tests that cannot build in this tree

Stable backports brought tests into this tree that depend on helpers its
KVM selftests do not have:

%s

Each of them stops "make TARGETS=kvm" before any test is built, so no
arm64 KVM selftest can be built from this tree at all, including the MTE
tests that follow.

Remove them from the list of programs to build, after the per-arch lists
are merged, so that every architecture leaves out the same tests. The
tests' sources stay in the tree and every other test is built as before.
""" % lines


def msg_module(mods, arch):
    if mods:
        build = """It is built through kselftest's TEST_GEN_MODS_DIR, and only where it can
be: for ARCH=arm64, against KDIR (by default the running kernel's build
directory) when that is a configured arm64 kernel with CONFIG_MODULES=y.
Anywhere else nothing is built and %s/mte_host_probe, which uses it,
skips. Other architectures and the existing tests build as before.
""" % arch
    else:
        build = """This tree's lib.mk cannot build test modules (it has no
TEST_GEN_MODS_DIR), so the module is not hooked into the kvm Makefile;
build it against the kernel's build directory KDIR with

  make -C $KDIR M=$PWD/tools/testing/selftests/kvm/mte_probe modules

and install mte_probe.ko into kselftest_install/kvm/mte_probe/. Without
it %s/mte_host_probe skips. No existing build rule changes.
""" % arch
    return """KVM: arm64: selftests: Add a module that probes MTE from host EL1

Whether a host kernel that runs without MTE (arm64.nomte, or
CONFIG_ARM64_MTE=n) can still reach MTE state under nVHE or pKVM is a
question about what host EL1 can execute, which a userspace test cannot
ask directly.

Add mte_probe.ko, a test helper: through debugfs it runs one MTE register
access (GCR_EL1, RGSR_EL1, TFSR_EL1, TFSRE0_EL1, GMID_EL1) or allocation
tag instruction at a time on a chosen CPU, with its own vector table in
place, records any exception the instruction takes (ESR, ELR, FAR, SPSR and
the PSTATE the handler sees) and steps over it, so that the host survives
the probe. Register probes run from one of three interrupted states
(NZCV, PAN, UAO, DIT and SSBS, with SCTLR_EL1.SPAN and DSSBS), so that the
rules of exception entry are seen both ways; tag probes report whether
their set-up took (SCTLR_EL1.ATA, the MAIR attribute, the page's
attribute as AT S1E1R reports it). It can also grant HCR_EL2.ATA to one
vCPU of the caller's VM, as a malicious host would before running its
guest.

%s""" % build


MSG_HOST = """KVM: arm64: selftests: Check that a host without MTE cannot reach MTE

On a host that runs without MTE, EL2 has to make MTE unreachable from host
EL1 in nVHE, hVHE and protected mode: every access to GCR_EL1, RGSR_EL1,
TFSR_EL1, TFSRE0_EL1 and GMID_EL1 must take an UNDEF as on a CPU without
MTE2, no value may leak, and allocation tags must read as zero and ignore
stores.

Add mte_host_probe, which loads mte_probe.ko and runs every probe on every
online CPU, on each CPU left offline at boot (maxcpus=) once it first comes
up (pKVM refuses to boot such a CPU: the test then checks that it stays
offline), again after each secondary CPU went offline and online, and
again after a guest ran on that CPU, with a VM held open so that KVM
keeps EL2. Each exception is checked field by field against what the
architecture prescribes for an UNDEF taken to EL1: vector, ESR_EL1,
ELR_EL1, SPSR_EL1 equal to the interrupted PSTATE, and PSTATE on entry.
A tag probe whose set-up did not take fails, as tags would read zero
then whatever EL2 does. With MTE on, the same probes are the control:
the registers answer and tags round-trip. It also
sets HCR_EL2.ATA in a vCPU of a VM without MTE and checks that, in
protected mode with MTE off, its guest still cannot store a tag.

A host that runs at EL2 (VHE) or has no KVM is outside what EL2 enforces:
the test skips there, as it does without root, debugfs or the module.
"""

MSG_GUEST = """KVM: arm64: selftests: Check MTE as KVM guests see it

A guest must only get MTE when its VM was created with KVM_CAP_ARM_MTE,
and the capability must only exist when the host has MTE.

Add mte_guest. On a host without MTE it checks that KVM_CAP_ARM_MTE is
neither offered nor can be enabled, and that a guest sees
ID_AA64PFR1_EL1.MTE == 0, takes an UNDEF on every access to GCR_EL1,
RGSR_EL1, TFSR_EL1, TFSRE0_EL1 and GMID_EL1, and cannot store a tag even
after it maps its memory Normal-Tagged and sets SCTLR_EL1.ATA. On a host
with MTE, a VM with the capability is the control (it sees MTE, reaches
the registers and round-trips a tag) and a VM without it must behave as
on a host without MTE.

Tag instructions cannot be hidden from a guest: on a CPU with FEAT_MTE
they execute, and with tag access off they read zero and ignore stores.
On a CPU without FEAT_MTE they may take an UNDEF instead; the test only
fails there if a tag round-trips.
"""

MSG_USER = """kselftest/arm64: Check PROT_MTE when the kernel has no MTE

The arm64 MTE selftests skip when HWCAP2_MTE is absent, so nothing checks
what userspace gets from a kernel that runs without MTE (arm64.nomte) on a
CPU that has it.

Add mte_userspace. Without HWCAP2_MTE it checks that mprotect(PROT_MTE)
and the MTE bits of PR_SET_TAGGED_ADDR_CTRL fail with EINVAL and that
mmap(PROT_MTE) gives no tagged mapping (it is refused, or the bit is
ignored: no "mt" in the VMA's flags). With HWCAP2_MTE the same calls are
the control: they succeed, a tag set with IRG/STG reads back with LDG, an
access with the matching tag works and one with another tag raises
SIGSEGV/SEGV_MTESERR.

With MTE_USERSPACE_ACROSS=CMD in its environment, the test first tags and
fills 16 pages of PROT_MTE memory, runs CMD and checks that the pages kept
their data and their tags: a test harness can hibernate the machine in
CMD and check what the resumed kernel kept. Without it nothing changes.

The arm64/mte Makefile builds every .c file of its directory, so no
Makefile changes. The existing MTE tests are unchanged.
"""


def build(gitdir, rev, outdir):
    scratch = tempfile.mkdtemp(prefix="mkseries.")
    try:
        repo = Repo(gitdir, scratch)
        base = repo.git("rev-parse", "--verify", rev + "^{commit}").decode().strip()
        if repo.show(base, KVM + "/Makefile.kvm") is not None:
            arch, mk = "arm64", KVM + "/Makefile.kvm"
            fold = r"^TEST_PROGS \+= \$\(TEST_PROGS_\$\(ARCH\)\)"
            merged = r"^TEST_GEN_PROGS \+= \$\(TEST_GEN_PROGS_\$\(ARCH\)\)"
        else:
            arch, mk = "aarch64", KVM + "/Makefile"
            fold = r"^TEST_PROGS \+= \$\(TEST_PROGS_\$\(ARCH_DIR\)\)"
            merged = r"^TEST_GEN_PROGS \+= \$\(TEST_GEN_PROGS_\$\((ARCH_DIR|UNAME_M)\)\)"
        makefile = repo.show(base, mk)
        if makefile is None:
            die("%s has no %s: not a kernel tree with KVM selftests" % (rev, mk))
        mods = "TEST_GEN_MODS_DIR" in (repo.show(base, "tools/testing/selftests/lib.mk") or "")
        if repo.show(base, MTE_DIR + "/Makefile") is None:
            die("%s has no %s/Makefile" % (rev, MTE_DIR))
        var = "TEST_GEN_PROGS_" + arch
        progs = r"^%s \+= %s/" % (var, arch)

        patches = []
        broken = unbuildable(repo, base, arch)
        if broken:
            names = " ".join(t for t, _ in broken)
            makefile = insert_after_last(makefile, merged, [
                "",
                "# Stable backports this tree's KVM selftest library cannot build.",
                "TEST_GEN_PROGS := $(filter-out %s,$(TEST_GEN_PROGS))" % names,
                "",
            ], mk)
            patches.append((msg_unbuildable(broken), {mk: makefile}))

        files = {KVM + "/mte_probe/Makefile": read("mte_probe/Makefile"),
                 KVM + "/mte_probe/mte_probe.c": read("mte_probe/mte_probe.c")}
        if mods:
            makefile = insert_before_first(makefile, fold, [
                "# mte_probe.ko, the host EL1 helper of %s/mte_host_probe, is built only" % arch,
                "# for arm64 and only against a configured arm64 kernel with modules",
                "# (KDIR, by default the running kernel's); without it the test skips.",
                "ifeq ($(ARCH),arm64)",
                "MTE_PROBE_KDIR := $(or $(KDIR),/lib/modules/$(shell uname -r)/build)",
                "ifneq ($(shell grep -qs '^CONFIG_ARM64=y' $(MTE_PROBE_KDIR)/.config && \\",
                "\t\tgrep -qs '^CONFIG_MODULES=y' $(MTE_PROBE_KDIR)/.config && echo y),)",
                "TEST_GEN_MODS_DIR := mte_probe",
                "endif",
                "endif",
                "",
            ], mk)
            files[mk] = makefile
        patches.append((msg_module(mods, arch), files))

        for name, msg in (("mte_host_probe", MSG_HOST), ("mte_guest", MSG_GUEST)):
            makefile = insert_after_last(makefile, progs, ["%s += %s/%s" % (var, arch, name)], mk)
            patches.append((msg, {"%s/%s/%s.c" % (KVM, arch, name): read(name + ".c"),
                                  mk: makefile}))
        patches.append((MSG_USER, {MTE_DIR + "/mte_userspace.c": read("mte_userspace.c")}))

        repo.git("read-tree", base)
        head = base
        for msg, changes in patches:
            for path, text in sorted(changes.items()):
                blob = repo.git("hash-object", "-w", "--stdin", "--path", path,
                                data=text.encode()).decode().strip()
                repo.git("update-index", "--add", "--cacheinfo", "100644,%s,%s" % (blob, path))
            tree = repo.git("write-tree").decode().strip()
            body = msg.rstrip("\n") + "\n\nSigned-off-by: " + IDENT + "\n"
            head = repo.git("commit-tree", tree, "-p", head, "-F", "-",
                            data=body.encode()).decode().strip()

        os.makedirs(outdir, exist_ok=True)
        for f in os.listdir(outdir):
            if f.endswith(".patch") or f == "series":
                os.unlink(os.path.join(outdir, f))
        out = repo.git("-c", "core.abbrev=12", "format-patch", "--zero-commit",
                       "--no-signature", "--no-numbered" if len(patches) == 1 else "--numbered",
                       "-o", outdir, "%s..%s" % (base, head)).decode().split()
        with open(os.path.join(outdir, "series"), "w") as f:
            for p in out:
                f.write(os.path.basename(p) + "\n")
        return len(out)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def main():
    if len(sys.argv) != 4:
        die("usage: mkseries.py GITDIR REV OUTDIR")
    gitdir, rev, outdir = sys.argv[1:]
    if not os.path.isdir(os.path.join(gitdir, "objects")):
        die("%s is not a git directory" % gitdir)
    n = build(os.path.realpath(gitdir), rev, outdir)
    print("%s: %d patches" % (outdir, n))


if __name__ == "__main__":
    main()
