#!/usr/bin/env python3
"""mkmutants.py TREE REV OUTDIR: write the proof matrix's mutants.

Each mutant is one deliberate break of the 6.12 series, written as a
git-am patch against REV of the git tree TREE (the commit of the series'
last patch, e.g. in out/trees/deb-6.12-patches after make apply), with the
Mutant-Modes, Mutant-MTE and Mutant-Expect lines proof.sh's mutation row
reads. A break whose line is not found exactly once stops the script.
"""
import difflib
import subprocess
import sys

TREE, REV, OUT = sys.argv[1:4]


def blob(path):
    return subprocess.run(["git", "-C", TREE, "show", REV + ":" + path],
                          capture_output=True, text=True, check=True).stdout


# name, file, line, its broken form, subject, modes, MTE states
muts = [
 ('daif-not-all','arch/arm64/kvm/hyp/nvhe/hyp-main.c',
  '\tnew |= PSR_D_BIT | PSR_A_BIT | PSR_I_BIT | PSR_F_BIT;\n',
  '\tnew |= PSR_A_BIT | PSR_I_BIT | PSR_F_BIT;\n',
  'Leave PSTATE.D clear on entry to the injected UNDEF', 'protected nvhe', 'off'),
 ('esr-trap-ec','arch/arm64/kvm/hyp/nvhe/hyp-main.c',
  '\tinject_host_sync(undef);\n','\tinject_host_sync(esr);\n',
  "Inject the trap's own syndrome (EC 0x18) instead of EC 0x00", 'protected nvhe', 'off'),
 ('ata-on-guest-exit','arch/arm64/kvm/hyp/nvhe/switch.c',
  '\twrite_sysreg(this_cpu_ptr(&kvm_init_params)->hcr_el2, hcr_el2);\n',
  '\twrite_sysreg(this_cpu_ptr(&kvm_init_params)->hcr_el2 | HCR_ATA, hcr_el2);\n',
  'Give the host HCR_EL2.ATA back when a guest exits', 'protected nvhe', 'off'),
 ('stub-no-ata','arch/arm64/kvm/hyp/nvhe/hyp-init.S',
  '\torr\tx5, x5, #HCR_ATA\n','\tbic\tx5, x5, #HCR_ATA\n',
  'Do not give the hyp stub ATA back when KVM resets to it', 'nvhe-lazy', 'on off'),
 ('no-tid5','arch/arm64/kvm/arm.c',
  '\t\tparams->hcr_el2 |= HCR_TID5;\n','\t\tparams->hcr_el2 |= 0;\n',
  'Do not set HCR_EL2.TID5 for a host without MTE', 'protected nvhe', 'off'),
 ('pan-ignores-span','arch/arm64/kvm/hyp/nvhe/hyp-main.c',
  '\tif (!(sctlr & SCTLR_EL1_SPAN))\n','\tif (!(sctlr & SCTLR_EL1_SPAN) && 0)\n',
  'Keep PSTATE.PAN on entry, ignoring SCTLR_EL1.SPAN', 'protected nvhe', 'off'),
 ('ssbs-kept','arch/arm64/kvm/hyp/nvhe/hyp-main.c',
  '\tif (sctlr & SCTLR_ELx_DSSBS)\n','\tif (old & PSR_SSBS_BIT)\n',
  'Keep PSTATE.SSBS on entry instead of taking SCTLR_EL1.DSSBS', 'protected nvhe', 'off'),
 ('nzcv-lost','arch/arm64/kvm/hyp/nvhe/hyp-main.c',
  '\tnew |= old & (PSR_N_BIT | PSR_Z_BIT | PSR_C_BIT | PSR_V_BIT);\n','\tnew |= 0;\n',
  'Clear NZCV on entry instead of keeping them', 'protected nvhe', 'off'),
 ('tco-clear','arch/arm64/kvm/hyp/nvhe/hyp-main.c',
  '\t\tnew |= PSR_TCO_BIT;\n','\t\tnew |= 0;\n',
  'Leave PSTATE.TCO clear on entry on a CPU with FEAT_MTE', 'protected nvhe', 'off'),
 ('uao-kept','arch/arm64/kvm/hyp/nvhe/hyp-main.c',
  '\tnew |= old & PSR_DIT_BIT;\n','\tnew |= old & (PSR_DIT_BIT | PSR_UAO_BIT);\n',
  'Keep PSTATE.UAO on entry instead of clearing it', 'protected nvhe', 'off'),
 ('dit-lost','arch/arm64/kvm/hyp/nvhe/hyp-main.c',
  '\tnew |= old & PSR_DIT_BIT;\n','\tnew |= 0;\n',
  'Clear PSTATE.DIT on entry instead of keeping it', 'protected nvhe', 'off'),
 ('elr-next','arch/arm64/kvm/hyp/nvhe/hyp-main.c',
  '\twrite_sysreg_el1(read_sysreg_el2(SYS_ELR), SYS_ELR);\n','\twrite_sysreg_el1(read_sysreg_el2(SYS_ELR) + 4, SYS_ELR);\n',
  'Point ELR_EL1 past the trapped instruction', 'protected nvhe', 'off'),
 ('gmid-ec0','arch/arm64/kvm/hyp/nvhe/hyp-main.c',
  '\t\tif (FIELD_GET(ID_AA64MMFR2_EL1_IDS_MASK, mmfr2))\n','\t\tif (FIELD_GET(ID_AA64MMFR2_EL1_IDS_MASK, mmfr2) && 0)\n',
  'Report GMID_EL1 with EC 0x00 on a CPU with FEAT_IDST', 'protected nvhe', 'off'),
 ('el1t-spx-vector','arch/arm64/kvm/hyp/nvhe/hyp-main.c',
  '\tif ((spsr & PSR_MODE_MASK) == PSR_MODE_EL1t)\n','\tif ((spsr & PSR_MODE_MASK) == PSR_MODE_EL1t && 0)\n',
  'Send an UNDEF taken from EL1t to the SP_ELx vector', 'protected nvhe', 'off'),
]
for i,(name,path,old,new,subj,cells,mte) in enumerate(muts,1):
    expect = 'timeout' if name == 'stub-no-ata' else 'mte_host_probe'

    a=blob(path)
    if a.count(old) != 1:
        sys.exit(f"error: mutant {name}: its line is in {path} {a.count(old)} times, not once")
    b=a.replace(old,new)
    d=''.join(difflib.unified_diff(a.splitlines(True),b.splitlines(True),'a/'+path,'b/'+path))
    why = ("""
In these cells KVM resets to the hyp stub while no VM exists; without
ATA the stub traps the host's first MTE register access (its context
switch with MTE on, the host probe's phase under the stub with MTE off),
which the stub cannot handle: the guest hangs.
""" if name == 'stub-no-ata' else "")
    body=f"""From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001
From: pkvm-mte-guard <pkvm-mte-guard@example.org>
Date: Sun, 29 Nov 2026 00:00:00 +0000
Subject: [MUTANT] {subj}

A deliberate break of the series, for the proof matrix's mutation row
(scripts/proof/proof.sh): applied after the series, in every cell of the
modes and MTE states below, a failing test (or "timeout": the boot hung)
must match Mutant-Expect. Never to be applied anywhere else.
{why}
Mutant-Modes: {cells}
Mutant-MTE: {mte}
Mutant-Expect: {expect}
---
diff --git a/{path} b/{path}
{d}"""
    with open(f"{OUT}/{name}.patch", "w", encoding="utf-8") as f:
        f.write(body)
    print(name)
