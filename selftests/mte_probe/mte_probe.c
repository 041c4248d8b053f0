// SPDX-License-Identifier: GPL-2.0-only
/*
 * mte_probe - play a malicious host kernel at EL1 and try to reach MTE state.
 *
 * Helper module for the mte_host_probe KVM selftest. Each probe runs one
 * instruction (an MTE system register access or an allocation tag
 * load/store) on a chosen CPU with all of DAIF masked and with VBAR_EL1
 * temporarily pointing at a private vector table. Any synchronous exception
 * taken by the probed instruction (e.g. an UNDEF injected by EL2) is recorded
 * (ESR, ELR, FAR) and the instruction is skipped (execution resumes after
 * the probed instruction, whatever ELR_EL1 says), so the host survives.
 *
 * The exception's entry is recorded too: vector offset, ESR/ELR/FAR/SPSR,
 * and PSTATE.DAIF, SP, TCO, NZCV, PAN, UAO, DIT and SSBS as the handler
 * finds them. Register probes run from one of three interrupted states
 * (NZCV, PAN, UAO, DIT, SSBS, and SCTLR_EL1.SPAN and DSSBS, which decide
 * PAN and SSBS on entry), so that each rule of the entry is seen both
 * ways; tag probes check that their set-up took effect (SCTLR_EL1.ATA,
 * the MAIR attribute, and the page's attribute as AT reports it).
 *
 * Interface (debugfs):
 *   mte_probe/info   context: kernel at EL2 (VHE), pKVM, hVHE, MTE in use,
 *                    this CPU's ID_AA64PFR1_EL1.MTE
 *   mte_probe/probe  write "<cpu> <probe>", then read back one result line
 *   mte_probe/list   the probe names, one per line
 *   mte_probe/grant_ata
 *                    write the number of one of the writer's KVM vCPU file
 *                    descriptors: set HCR_EL2.ATA and clear HCR_EL2.TID5 in
 *                    that vCPU's HCR_EL2, as a malicious host would before
 *                    running its guest (the vCPU must have run once, so
 *                    that KVM has computed its traps)
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitfield.h>
#include <linux/build_bug.h>
#include <linux/cpu.h>
#include <linux/cpufeature.h>
#include <linux/debugfs.h>
#include <linux/file.h>
#include <linux/gfp.h>
#include <linux/kernel.h>
#include <linux/kvm_host.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pgtable.h>
#include <linux/smp.h>
#include <linux/stringify.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include <asm/daifflags.h>
#include <asm/esr.h>
#include <asm/kvm_arm.h>
#include <asm/memory.h>
#include <asm/sysreg.h>
#include <asm/tlbflush.h>
#include <asm/virt.h>

/* Encodings spelled out so that any assembler accepts them. */
#define ENC_GCR_EL1	"S3_0_C1_C0_6"
#define ENC_RGSR_EL1	"S3_0_C1_C0_5"
#define ENC_TFSR_EL1	"S3_0_C5_C6_0"
#define ENC_TFSRE0_EL1	"S3_0_C5_C6_1"
#define ENC_GMID_EL1	"S3_1_C0_C0_4"

#define PROBE_POISON	0x5a5aa5a5dead0bb1ULL
#define LDG_PRESET	(0x5ULL << 56)	/* tag bits LDG must overwrite */
#define PROBE_TAG	0xaULL		/* tag stored via a source register */
#define ADDR_TAG	0xfULL		/* tag of a canonical kernel address */
#define MTE_GRANULE	16
#define SCTLR_TCF_BITS	GENMASK_ULL(41, 40)
#define PFR1_MTE	GENMASK_ULL(11, 8)
#define PFR1_SSBS	GENMASK_ULL(7, 4)
#define PFR1_NMI	GENMASK_ULL(39, 36)
#define PFR0_DIT	GENMASK_ULL(51, 48)
#define MMFR1_PAN	GENMASK_ULL(23, 20)
#define MMFR2_IDS	GENMASK_ULL(39, 36)
#define MMFR2_UAO	GENMASK_ULL(7, 4)
#define PAR_F		BIT_ULL(0)
#define PAR_ATTR	GENMASK_ULL(63, 56)

/* PSTATE fields a probe reads with MRS (FEAT_PAN, _UAO, _DIT, _SSBS2). */
#define ENC_PAN		"S3_0_C4_C2_3"
#define ENC_UAO		"S3_0_C4_C2_4"
#define ENC_DIT		"S3_3_C4_C2_5"
#define ENC_SSBS	"S3_3_C4_C2_6"
#define ENC_ALLINT	"S3_0_C4_C3_0"
#define PSR_ALLINT	BIT_ULL(13)
#define FEAT_PAN	BIT(0)
#define FEAT_UAO	BIT(1)
#define FEAT_DIT	BIT(2)
#define FEAT_SSBS	BIT(3)	/* PSTATE.SSBS can be set (FEAT_SSBS) */
#define FEAT_SSBS2	BIT(4)	/* ... and read (FEAT_SSBS2) */
#define FEAT_NMI	BIT(5)	/* PSTATE.ALLINT, read as found, never set */

/* Layout shared with the vector table below: keep the offsets in sync. */
struct trap_rec {
	u64 esr;	/* 0 */
	u64 elr;	/* 8 */
	u64 far;	/* 16 */
	u64 vec;	/* 24: vector offset the exception came through */
	u64 count;	/* 32: exceptions taken */
	u64 pc;		/* 40: address of the probed instruction */
	u64 spsr;	/* 48: SPSR_EL1 on entry */
	u64 daif;	/* 56: PSTATE.DAIF on entry */
	u64 spsel;	/* 64: PSTATE.SP on entry */
	u64 tco;	/* 72: PSTATE.TCO on entry, if read_tco */
	u64 read_tco;	/* 80: input: the CPU has TCO (FEAT_MTE) */
	u64 pre_nzcv;	/* 88: input: NZCV set just before the probe */
	u64 feat;	/* 96: input: FEAT_* of the PSTATE fields to read */
	u64 nzcv;	/* 104: PSTATE.NZCV on entry */
	u64 pan;	/* 112: PSTATE.PAN on entry, if FEAT_PAN */
	u64 uao;	/* 120: PSTATE.UAO on entry, if FEAT_UAO */
	u64 dit;	/* 128: PSTATE.DIT on entry, if FEAT_DIT */
	u64 ssbs;	/* 136: PSTATE.SSBS on entry, if FEAT_SSBS2 */
	u64 nzcv_seen;	/* 144: NZCV read back right before the probe */
};

#define REC_ESR		0
#define REC_ELR		8
#define REC_FAR		16
#define REC_VEC		24
#define REC_COUNT	32
#define REC_PC		40
#define REC_SPSR	48
#define REC_DAIF	56
#define REC_SPSEL	64
#define REC_TCO		72
#define REC_READ_TCO	80
#define REC_PRE_NZCV	88
#define REC_FEAT	96
#define REC_NZCV	104
#define REC_PAN		112
#define REC_UAO		120
#define REC_DIT		128
#define REC_SSBS	136
#define REC_NZCV_SEEN	144

#define REC_AT(field, off)	static_assert(offsetof(struct trap_rec, field) == (off))
REC_AT(esr, REC_ESR);
REC_AT(elr, REC_ELR);
REC_AT(far, REC_FAR);
REC_AT(vec, REC_VEC);
REC_AT(count, REC_COUNT);
REC_AT(pc, REC_PC);
REC_AT(spsr, REC_SPSR);
REC_AT(daif, REC_DAIF);
REC_AT(spsel, REC_SPSEL);
REC_AT(tco, REC_TCO);
REC_AT(read_tco, REC_READ_TCO);
REC_AT(pre_nzcv, REC_PRE_NZCV);
REC_AT(feat, REC_FEAT);
REC_AT(nzcv, REC_NZCV);
REC_AT(pan, REC_PAN);
REC_AT(uao, REC_UAO);
REC_AT(dit, REC_DIT);
REC_AT(ssbs, REC_SSBS);
REC_AT(nzcv_seen, REC_NZCV_SEEN);
#define ENC_TCO		"S3_3_C4_C2_7"

/*
 * 16 entries, each recording which entry fired and branching to a common
 * handler, which also records the PSTATE the exception entry produced
 * before anything can change it. The handler relies on the probe sequence
 * (TRAP_INSN) holding the trap_rec pointer in x17 and owning x16 as
 * scratch: nothing else can run under this table because DAIF is fully
 * masked while it is installed. It uses no stack, so it also serves
 * probes run with SP_EL0 selected.
 */
asm("	.pushsection .text, \"ax\"\n"
"	.balign 2048\n"
"mte_probe_vectors:\n"
"	.set	mte_probe_off, 0\n"
"	.rept	16\n"
"	.balign	128\n"
"	mov	x16, #mte_probe_off\n"
"	b	mte_probe_trap\n"
"	.set	mte_probe_off, mte_probe_off + 0x80\n"
"	.endr\n"
"mte_probe_trap:\n"
"	str	x16, [x17, #" __stringify(REC_VEC) "]\n"
"	mrs	x16, nzcv\n"
"	str	x16, [x17, #" __stringify(REC_NZCV) "]\n"
"	mrs	x16, daif\n"
"	str	x16, [x17, #" __stringify(REC_DAIF) "]\n"
"	mrs	x16, spsel\n"
"	str	x16, [x17, #" __stringify(REC_SPSEL) "]\n"
"	mrs	x16, spsr_el1\n"
"	str	x16, [x17, #" __stringify(REC_SPSR) "]\n"
"	ldr	x16, [x17, #" __stringify(REC_READ_TCO) "]\n"
"	cbz	x16, 1f\n"
"	mrs	x16, " ENC_TCO "\n"
"	str	x16, [x17, #" __stringify(REC_TCO) "]\n"
"1:	ldr	x16, [x17, #" __stringify(REC_FEAT) "]\n"
"	tbz	x16, #0, 2f\n"
"	mrs	x16, " ENC_PAN "\n"
"	str	x16, [x17, #" __stringify(REC_PAN) "]\n"
"2:	ldr	x16, [x17, #" __stringify(REC_FEAT) "]\n"
"	tbz	x16, #1, 3f\n"
"	mrs	x16, " ENC_UAO "\n"
"	str	x16, [x17, #" __stringify(REC_UAO) "]\n"
"3:	ldr	x16, [x17, #" __stringify(REC_FEAT) "]\n"
"	tbz	x16, #2, 4f\n"
"	mrs	x16, " ENC_DIT "\n"
"	str	x16, [x17, #" __stringify(REC_DIT) "]\n"
"4:	ldr	x16, [x17, #" __stringify(REC_FEAT) "]\n"
"	tbz	x16, #4, 5f\n"
"	mrs	x16, " ENC_SSBS "\n"
"	str	x16, [x17, #" __stringify(REC_SSBS) "]\n"
"5:\n"
"	ldr	x16, [x17, #" __stringify(REC_COUNT) "]\n"
"	add	x16, x16, #1\n"
"	str	x16, [x17, #" __stringify(REC_COUNT) "]\n"
"	mrs	x16, esr_el1\n"
"	str	x16, [x17, #" __stringify(REC_ESR) "]\n"
"	mrs	x16, far_el1\n"
"	str	x16, [x17, #" __stringify(REC_FAR) "]\n"
"	mrs	x16, elr_el1\n"
"	str	x16, [x17, #" __stringify(REC_ELR) "]\n"
"	ldr	x16, [x17, #" __stringify(REC_PC) "]\n"
"	add	x16, x16, #4\n"
"	msr	elr_el1, x16\n"
"	eret\n"
"	.popsection\n");

/*
 * Run one instruction under the private vector table, with @pre just
 * before it and @post just after it. Operands: %[a] is read-write
 * (destination of loads), %[b] and %[c] are inputs (source value and
 * address). x15 holds the kernel's VBAR across the probe; the table's
 * address is taken in the asm, as mte_probe_vectors is an asm symbol.
 */
#define TRAP_INSN_IN(pre, insn, post, _rec, _a, _b, _c)		\
	({								\
		asm volatile(						\
		"	.arch	armv8.5-a\n"				\
		"	.arch_extension memtag\n"			\
		"	mov	x17, %[r]\n"				\
		"	mrs	x15, vbar_el1\n"			\
		"	adrp	x16, mte_probe_vectors\n"		\
		"	add	x16, x16, :lo12:mte_probe_vectors\n"	\
		"	msr	vbar_el1, x16\n"			\
		"	isb\n"						\
		"	adr	x16, 1f\n"				\
		"	str	x16, [x17, #" __stringify(REC_PC) "]\n"	\
		"	" pre "\n"					\
		"1:	" insn "\n"					\
		"	" post "\n"					\
		"	msr	vbar_el1, x15\n"			\
		"	isb\n"						\
		: [a] "+r" (_a)						\
		: [b] "r" (_b), [c] "r" (_c), [r] "r" (_rec)		\
		: "x15", "x16", "x17", "cc", "memory");		\
	})

/*
 * PSTATE.D is cleared around the probed instruction (no debug exception is
 * armed), so that the entry's setting of D can be told from D carried over,
 * and NZCV is set to the record's pre_nzcv right before it (nothing in
 * between changes the flags).
 */
#define SET_NZCV "ldr x16, [x17, #" __stringify(REC_PRE_NZCV) "]\n\tmsr nzcv, x16\n\t" \
	"mrs x16, nzcv\n\tstr x16, [x17, #" __stringify(REC_NZCV_SEEN) "]"
#define TRAP_INSN(insn, _rec, _a, _b, _c)				\
	TRAP_INSN_IN("msr daifclr, #8\n\t" SET_NZCV, insn,		\
		     "msr daifset, #8", _rec, _a, _b, _c)

/*
 * The same from EL1 with SP_EL0 selected (EL1t), the context whose
 * exceptions enter the "current EL with SP_EL0" vectors. Nothing in the
 * sequence touches the stack, and all of DAIF is masked.
 */
#define TRAP_INSN_EL1T(insn, _rec, _a, _b, _c)				\
	TRAP_INSN_IN("msr daifclr, #8\n\tmsr spsel, #0\n\t" SET_NZCV,	\
		     insn, "msr spsel, #1\n\tmsr daifset, #8",		\
		     _rec, _a, _b, _c)

enum probe_kind { PK_MRS, PK_MSR, PK_TAG_WRITE, PK_TAG_READ };

struct probe_ctx {
	struct trap_rec rec;	/* the probed instruction */
	u64 val;		/* MRS result / MSR value / LDG(M) register */
	u64 poison;
	int tag;		/* tag read back after the probe, -1 if n/a */
	int want_tag;		/* tag the probe tried to store, -1 if n/a */
	unsigned int aux_exc;	/* exceptions in set-up/check instructions */
	unsigned int hw_mte;	/* raw ID_AA64PFR1_EL1.MTE on this CPU */
	unsigned int ids;	/* raw ID_AA64MMFR2_EL1.IDS on this CPU */
	u64 pre;		/* interrupted PSTATE fields (SPSR layout) */
	u64 pre_want;		/* what the set-up asked for them */
	u64 sctlr;		/* SCTLR_EL1 while the probe ran */
	unsigned int setup;	/* tag set-up failures, SETUP_* */
	u8 *page;		/* tagged mapping for tag probes */
};

#define SETUP_SCTLR_ATA	BIT(0)	/* SCTLR_EL1.ATA did not read back set */
#define SETUP_MAIR	BIT(1)	/* the MAIR attribute did not read back */
#define SETUP_AT	BIT(2)	/* AT S1E1R faulted on the page */
#define SETUP_PAR_ATTR	BIT(3)	/* ... or reported another attribute */
#define SETUP_SCTLR	BIT(4)	/* SCTLR_EL1.SPAN/DSSBS did not read back */

struct probe_def {
	const char *name;
	enum probe_kind kind;
	void (*fn)(struct probe_ctx *ctx);
};

#define DEFINE_SYSREG_READ(name, enc)					\
static u64 read_##name(struct trap_rec *rec, u64 poison)		\
{									\
	u64 v = poison, z = 0;						\
									\
	TRAP_INSN("mrs %[a], " enc, rec, v, z, z);			\
	return v;							\
}									\
static void probe_mrs_##name(struct probe_ctx *ctx)			\
{									\
	ctx->val = read_##name(&ctx->rec, ctx->poison);			\
}

#define DEFINE_SYSREG_WRITE(name, enc)					\
static void probe_msr_##name(struct probe_ctx *ctx)			\
{									\
	struct trap_rec aux = {};					\
	u64 v, z = 0;							\
									\
	/* Write back what is there; 0 if it cannot even be read. */	\
	v = read_##name(&aux, ctx->poison);				\
	if (aux.count) {						\
		ctx->aux_exc += aux.count;				\
		v = 0;							\
	}								\
	ctx->val = v;							\
	TRAP_INSN("msr " enc ", %[b]", &ctx->rec, z, v, z);		\
}

DEFINE_SYSREG_READ(gcr, ENC_GCR_EL1)
DEFINE_SYSREG_READ(rgsr, ENC_RGSR_EL1)
DEFINE_SYSREG_READ(tfsr, ENC_TFSR_EL1)
DEFINE_SYSREG_READ(tfsre0, ENC_TFSRE0_EL1)
DEFINE_SYSREG_READ(gmid, ENC_GMID_EL1)

static void probe_mrs_gcr_el1t(struct probe_ctx *ctx)
{
	u64 v = ctx->poison, z = 0;

	TRAP_INSN_EL1T("mrs %[a], " ENC_GCR_EL1, &ctx->rec, v, z, z);
	ctx->val = v;
}

DEFINE_SYSREG_WRITE(gcr, ENC_GCR_EL1)
DEFINE_SYSREG_WRITE(rgsr, ENC_RGSR_EL1)
DEFINE_SYSREG_WRITE(tfsr, ENC_TFSR_EL1)
DEFINE_SYSREG_WRITE(tfsre0, ENC_TFSRE0_EL1)

/* Helpers for the tag probes: exceptions here count as auxiliary. */
static void aux_stg(struct probe_ctx *ctx, u8 *addr, u64 tag)
{
	struct trap_rec aux = {};
	u64 z = 0, src = tag << 56;

	TRAP_INSN("stg %[b], [%[c]]", &aux, z, src, addr);
	ctx->aux_exc += aux.count;
}

static void aux_clear_tags(struct probe_ctx *ctx)
{
	unsigned int off;

	for (off = 0; off < PAGE_SIZE; off += MTE_GRANULE)
		aux_stg(ctx, ctx->page + off, 0);
}

static int aux_ldg(struct probe_ctx *ctx, u8 *addr)
{
	struct trap_rec aux = {};
	u64 v = LDG_PRESET, z = 0;

	TRAP_INSN("ldg %[a], [%[c]]", &aux, v, z, addr);
	ctx->aux_exc += aux.count;
	return aux.count ? -1 : (int)((v >> 56) & 0xf);
}

/*
 * Clear the page's tags. Where tags are reachable, check that the first
 * granule really reads back 0 so that a later read of the probe's tag can
 * only come from the probe; a failed reset counts as a set-up exception.
 */
static void aux_reset_tags(struct probe_ctx *ctx)
{
	aux_clear_tags(ctx);
	if (aux_ldg(ctx, ctx->page) > 0)
		ctx->aux_exc++;
}

/* Tag write probes: clear the tags, store one with the probe, read back. */
#define DEFINE_TAG_WRITE(name, insn, srcval, tagval)			\
static void probe_##name(struct probe_ctx *ctx)				\
{									\
	u64 z = 0, src = (srcval);					\
									\
	aux_reset_tags(ctx);						\
	ctx->want_tag = (tagval);					\
	TRAP_INSN(insn, &ctx->rec, z, src, ctx->page);			\
	ctx->tag = aux_ldg(ctx, ctx->page);				\
}

#define TAG_IN_XT	(PROBE_TAG << 56)
#define TAG_ALL		(PROBE_TAG * 0x1111111111111111ULL)

DEFINE_TAG_WRITE(stg, "stg %[b], [%[c]]", TAG_IN_XT, PROBE_TAG)
DEFINE_TAG_WRITE(st2g, "st2g %[b], [%[c]]", TAG_IN_XT, PROBE_TAG)
DEFINE_TAG_WRITE(stzg, "stzg %[b], [%[c]]", TAG_IN_XT, PROBE_TAG)
DEFINE_TAG_WRITE(stz2g, "stz2g %[b], [%[c]]", TAG_IN_XT, PROBE_TAG)
/* STGP and DC G(Z)VA take the tag from the address: 0xf for the kernel. */
DEFINE_TAG_WRITE(stgp, "stgp %[b], %[b], [%[c]]", 0, ADDR_TAG)
DEFINE_TAG_WRITE(stgm, "stgm %[b], [%[c]]", TAG_ALL, PROBE_TAG)
DEFINE_TAG_WRITE(stzgm, "stzgm %[b], [%[c]]", TAG_ALL, PROBE_TAG)
DEFINE_TAG_WRITE(dc_gva, "dc gva, %[c]", 0, ADDR_TAG)
DEFINE_TAG_WRITE(dc_gzva, "dc gzva, %[c]", 0, ADDR_TAG)

/* Tag read probes: store a tag with STG, then read it with the probe. */
static void probe_ldg(struct probe_ctx *ctx)
{
	u64 v = LDG_PRESET, z = 0;

	aux_reset_tags(ctx);
	aux_stg(ctx, ctx->page, PROBE_TAG);
	ctx->want_tag = PROBE_TAG;
	TRAP_INSN("ldg %[a], [%[c]]", &ctx->rec, v, z, ctx->page);
	ctx->val = v;
	ctx->tag = ctx->rec.count ? -1 : (int)((v >> 56) & 0xf);
}

/*
 * LDGM loads the tags of a GMID_EL1.BS sized block; GMID_EL1 itself may
 * UNDEF, so only rely on the first granule of a page-aligned block, whose
 * tag always lands in bits [3:0].
 */
static void probe_ldgm(struct probe_ctx *ctx)
{
	u64 v = ctx->poison, z = 0;

	aux_reset_tags(ctx);
	aux_stg(ctx, ctx->page, PROBE_TAG);
	ctx->want_tag = PROBE_TAG;
	TRAP_INSN("ldgm %[a], [%[c]]", &ctx->rec, v, z, ctx->page);
	ctx->val = v;
	ctx->tag = ctx->rec.count ? -1 : (int)(v & 0xf);
}

static const struct probe_def probes[] = {
	{ "mrs_gcr_el1",	PK_MRS,		probe_mrs_gcr },
	{ "msr_gcr_el1",	PK_MSR,		probe_msr_gcr },
	{ "mrs_rgsr_el1",	PK_MRS,		probe_mrs_rgsr },
	{ "msr_rgsr_el1",	PK_MSR,		probe_msr_rgsr },
	{ "mrs_tfsr_el1",	PK_MRS,		probe_mrs_tfsr },
	{ "msr_tfsr_el1",	PK_MSR,		probe_msr_tfsr },
	{ "mrs_tfsre0_el1",	PK_MRS,		probe_mrs_tfsre0 },
	{ "msr_tfsre0_el1",	PK_MSR,		probe_msr_tfsre0 },
	{ "mrs_gmid_el1",	PK_MRS,		probe_mrs_gmid },
	{ "mrs_gcr_el1_el1t",	PK_MRS,		probe_mrs_gcr_el1t },
	{ "stg",		PK_TAG_WRITE,	probe_stg },
	{ "st2g",		PK_TAG_WRITE,	probe_st2g },
	{ "stzg",		PK_TAG_WRITE,	probe_stzg },
	{ "stz2g",		PK_TAG_WRITE,	probe_stz2g },
	{ "stgp",		PK_TAG_WRITE,	probe_stgp },
	{ "stgm",		PK_TAG_WRITE,	probe_stgm },
	{ "stzgm",		PK_TAG_WRITE,	probe_stzgm },
	{ "dc_gva",		PK_TAG_WRITE,	probe_dc_gva },
	{ "dc_gzva",		PK_TAG_WRITE,	probe_dc_gzva },
	{ "ldg",		PK_TAG_READ,	probe_ldg },
	{ "ldgm",		PK_TAG_READ,	probe_ldgm },
};

struct probe_req {
	const struct probe_def *def;
	struct probe_ctx ctx;
};

/* Set PSTATE.TCO to @val (0 or PSR_TCO_BIT); returns the old value. */
static u64 probe_tco_swap(u64 val)
{
	u64 old;

	asm volatile("	.arch	armv8.5-a\n"
		     "	.arch_extension memtag\n"
		     "	mrs	%0, " ENC_TCO "\n"
		     "	msr	" ENC_TCO ", %1\n"
		     : "=&r" (old) : "r" (val));
	return old;
}

/*
 * The interrupted states of the register probes. Each rule of the entry
 * is seen both ways across them: PAN set because SCTLR_EL1.SPAN is 0 (A),
 * kept clear (B) and kept set (C) with SPAN 1; SSBS taken from DSSBS, not
 * kept (A, B); UAO cleared (A, C); DIT kept either way; NZCV kept.
 */
static const struct pstate_setup {
	u64 nzcv;
	bool pan, span, uao, dit, ssbs, dssbs;
} pstate_setups[] = {
	{ PSR_N_BIT | PSR_C_BIT, false, false, true, true, false, true },
	{ PSR_Z_BIT | PSR_V_BIT, false, true, false, false, true, false },
	{ PSR_N_BIT | PSR_Z_BIT | PSR_C_BIT | PSR_V_BIT,
	  true, true, true, true, true, true },
};

/* The FEAT_* of this CPU's PSTATE fields that the probes set and read. */
static u64 pstate_feats(void)
{
	u64 pfr0 = read_sysreg(id_aa64pfr0_el1);
	u64 pfr1 = read_sysreg(id_aa64pfr1_el1);
	u64 feat = 0;

	if (FIELD_GET(MMFR1_PAN, read_sysreg(id_aa64mmfr1_el1)))
		feat |= FEAT_PAN;
	if (FIELD_GET(MMFR2_UAO, read_sysreg(id_aa64mmfr2_el1)))
		feat |= FEAT_UAO;
	if (FIELD_GET(PFR0_DIT, pfr0))
		feat |= FEAT_DIT;
	if (FIELD_GET(PFR1_SSBS, pfr1) >= 1)
		feat |= FEAT_SSBS;
	if (FIELD_GET(PFR1_SSBS, pfr1) >= 2)
		feat |= FEAT_SSBS2;
	if (FIELD_GET(PFR1_NMI, pfr1))
		feat |= FEAT_NMI;
	return feat;
}

#define READ_PSTATE(enc)						\
	({								\
		u64 __v;						\
		asm volatile("mrs %0, " enc : "=r" (__v));		\
		__v;							\
	})

static void set_dit(bool on)
{
#ifdef set_pstate_dit
	if (on)
		set_pstate_dit(1);
	else
		set_pstate_dit(0);
#else
	asm volatile("msr " ENC_DIT ", %0" : : "r" (on ? PSR_DIT_BIT : 0ULL));
#endif
}

/* PAN, UAO, DIT and SSBS as readable here, in the SPSR layout. */
static u64 read_pstate_fields(u64 feat)
{
	u64 v = 0;

	if (feat & FEAT_PAN)
		v |= READ_PSTATE(ENC_PAN);
	if (feat & FEAT_UAO)
		v |= READ_PSTATE(ENC_UAO);
	if (feat & FEAT_DIT)
		v |= READ_PSTATE(ENC_DIT);
	if (feat & FEAT_SSBS2)
		v |= READ_PSTATE(ENC_SSBS);
	if (feat & FEAT_NMI)
		v |= READ_PSTATE(ENC_ALLINT);
	return v;
}

/* The PSTATE fields (SPSR layout) this CPU lets the probes set. */
static u64 settable_fields(u64 feat)
{
	return (feat & FEAT_PAN ? PSR_PAN_BIT : 0) |
	       (feat & FEAT_UAO ? PSR_UAO_BIT : 0) |
	       (feat & FEAT_DIT ? PSR_DIT_BIT : 0) |
	       (feat & FEAT_SSBS ? PSR_SSBS_BIT : 0);
}

/* Set PAN, UAO, DIT and SSBS as in @v (SPSR layout), where they exist. */
static void write_pstate_fields(u64 feat, u64 v)
{
	if (feat & FEAT_PAN) {
		if (v & PSR_PAN_BIT)
			set_pstate_pan(1);
		else
			set_pstate_pan(0);
	}
	if (feat & FEAT_UAO) {
		if (v & PSR_UAO_BIT)
			set_pstate_uao(1);
		else
			set_pstate_uao(0);
	}
	if (feat & FEAT_DIT)
		set_dit(v & PSR_DIT_BIT);
	if (feat & FEAT_SSBS) {
		if (v & PSR_SSBS_BIT)
			set_pstate_ssbs(1);
		else
			set_pstate_ssbs(0);
	}
}

/*
 * Put this CPU in the interrupted state @ps for a register probe: SCTLR_EL1
 * SPAN and DSSBS, and PSTATE PAN, UAO, DIT and SSBS where the CPU has them
 * (NZCV is set by the probe sequence itself). Records what was asked for
 * and what reads back, so that a set-up that did not take is seen.
 */
static void pstate_setup(struct probe_ctx *ctx, const struct pstate_setup *ps)
{
	u64 feat = ctx->rec.feat, want = ps->nzcv, bits = 0, sctlr, v;

	/* SPAN is RES1 without FEAT_PAN, DSSBS RES0 without FEAT_SSBS. */
	if (feat & FEAT_PAN)
		bits |= SCTLR_EL1_SPAN;
	if (feat & FEAT_SSBS)
		bits |= SCTLR_ELx_DSSBS;
	sctlr = ctx->sctlr & ~bits;
	if (ps->span)
		sctlr |= SCTLR_EL1_SPAN & bits;
	if (ps->dssbs)
		sctlr |= SCTLR_ELx_DSSBS & bits;
	write_sysreg(sctlr, sctlr_el1);
	isb();
	ctx->sctlr = read_sysreg(sctlr_el1);
	if ((ctx->sctlr ^ sctlr) & bits)
		ctx->setup |= SETUP_SCTLR;

	v = (ps->pan ? PSR_PAN_BIT : 0) | (ps->uao ? PSR_UAO_BIT : 0) |
	    (ps->dit ? PSR_DIT_BIT : 0) | (ps->ssbs ? PSR_SSBS_BIT : 0);
	write_pstate_fields(feat, v);
	want |= v & settable_fields(feat);
	ctx->rec.pre_nzcv = ps->nzcv;
	/*
	 * NZCV is read back by the probe sequence (see run_probe()); SSBS is
	 * taken as set where it cannot be read; ALLINT (FEAT_NMI) as found.
	 */
	ctx->pre = read_pstate_fields(feat);
	if ((feat & FEAT_SSBS) && !(feat & FEAT_SSBS2))
		ctx->pre |= want & PSR_SSBS_BIT;
	ctx->pre_want = want | (ctx->pre & PSR_ALLINT);
}

/* Back to the kernel's state: @old PSTATE fields, SSBS from @sctlr. */
static void pstate_restore(u64 feat, u64 old, u64 sctlr)
{
	write_sysreg(sctlr, sctlr_el1);
	isb();
	/* SSBS that cannot be read is what an entry to the kernel gives. */
	if (!(feat & FEAT_SSBS2))
		old = (old & ~PSR_SSBS_BIT) |
		      (sctlr & SCTLR_ELx_DSSBS ? PSR_SSBS_BIT : 0);
	write_pstate_fields(feat, old);
}

/*
 * With tag access at EL1 set up, check that it took: SCTLR_EL1.ATA and the
 * MAIR attribute read back, and AT S1E1R finds the page Normal-Tagged.
 * Only where the CPU has MTE2; these are RES0 or reserved without it.
 */
static unsigned int tag_setup_check(struct probe_ctx *ctx, unsigned int shift)
{
	unsigned int bad = 0;
	u64 par;

	if (ctx->hw_mte < 2)
		return 0;
	if (!(read_sysreg(sctlr_el1) & SCTLR_ELx_ATA))
		bad |= SETUP_SCTLR_ATA;
	if (((read_sysreg(mair_el1) >> shift) & 0xff) != MAIR_ATTR_NORMAL_TAGGED)
		bad |= SETUP_MAIR;
	asm volatile("at s1e1r, %0" : : "r" (ctx->page));
	isb();
	par = read_sysreg_par();
	if (par & PAR_F)
		bad |= SETUP_AT;
	else if (FIELD_GET(PAR_ATTR, par) != MAIR_ATTR_NORMAL_TAGGED)
		bad |= SETUP_PAR_ATTR;
	return bad;
}

static inline void flush_local_tlb(void)
{
	dsb(nshst);
	__tlbi(vmalle1);
	dsb(nsh);
	isb();
}

/* Runs on the target CPU, from the IPI (or directly if it is this CPU). */
static void run_probe(void *data)
{
	struct probe_req *req = data;
	struct probe_ctx *ctx = &req->ctx;
	bool tags = req->def->kind == PK_TAG_WRITE ||
		    req->def->kind == PK_TAG_READ;
	unsigned int shift = MT_NORMAL_TAGGED * 8;
	u64 mair = 0, sctlr = 0, tco = 0, old = 0;
	unsigned long flags;

	flags = local_daif_save();
	ctx->hw_mte = FIELD_GET(PFR1_MTE, read_sysreg(id_aa64pfr1_el1));
	ctx->ids = FIELD_GET(MMFR2_IDS, read_sysreg(id_aa64mmfr2_el1));
	ctx->rec.read_tco = ctx->hw_mte >= 1;
	ctx->rec.feat = pstate_feats();
	ctx->sctlr = read_sysreg(sctlr_el1);

	if (tags) {
		/*
		 * What a malicious host would do: make the MT_NORMAL_TAGGED
		 * attribute Normal-Tagged, allow tag access at EL1 and turn
		 * tag check faults off so that nothing else is disturbed.
		 */
		mair = read_sysreg(mair_el1);
		sctlr = read_sysreg(sctlr_el1);
		write_sysreg((mair & ~(0xffULL << shift)) |
			     ((u64)MAIR_ATTR_NORMAL_TAGGED << shift), mair_el1);
		write_sysreg((sctlr | SCTLR_ELx_ATA) & ~SCTLR_TCF_BITS,
			     sctlr_el1);
		isb();
		flush_local_tlb();
		ctx->setup = tag_setup_check(ctx, shift);
	} else {
		sctlr = ctx->sctlr;
		old = read_pstate_fields(ctx->rec.feat);
		pstate_setup(ctx, &pstate_setups[(req->def - probes) %
						 ARRAY_SIZE(pstate_setups)]);
	}

	/*
	 * Run with PSTATE.TCO clear, so that the entry's setting of TCO can
	 * be told from TCO carried over (a kernel without MTE leaves it set).
	 */
	if (ctx->hw_mte)
		tco = probe_tco_swap(0);
	req->def->fn(ctx);
	if (ctx->hw_mte)
		probe_tco_swap(tco);
	if (!tags)
		ctx->pre |= ctx->rec.nzcv_seen;

	if (tags) {
		aux_clear_tags(ctx);
		write_sysreg(sctlr, sctlr_el1);
		write_sysreg(mair, mair_el1);
		isb();
		flush_local_tlb();
	} else {
		pstate_restore(ctx->rec.feat, old, sctlr);
	}

	local_daif_restore(flags);
}

static DEFINE_MUTEX(probe_lock);
static char result[1024];
static struct dentry *dbg_dir;

static const struct probe_def *find_probe(const char *name)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(probes); i++)
		if (!strcmp(probes[i].name, name))
			return &probes[i];
	return NULL;
}

static int do_probe(int cpu, const struct probe_def *def)
{
	struct probe_req req = { .def = def };
	struct probe_ctx *ctx = &req.ctx;
	struct page *page = NULL;
	struct trap_rec *rec = &ctx->rec;
	u64 ec;
	u32 insn;
	int ret;

	ctx->poison = PROBE_POISON;
	ctx->val = PROBE_POISON;
	ctx->tag = -1;
	ctx->want_tag = -1;

	if (def->kind == PK_TAG_WRITE || def->kind == PK_TAG_READ) {
		page = alloc_page(GFP_KERNEL | __GFP_ZERO);
		if (!page)
			return -ENOMEM;
		ctx->page = vmap(&page, 1, VM_MAP,
				 pgprot_tagged(PAGE_KERNEL));
		if (!ctx->page) {
			__free_page(page);
			return -ENOMEM;
		}
	}

	ret = smp_call_function_single(cpu, run_probe, &req, 1);

	if (page) {
		vunmap(ctx->page);
		__free_page(page);
	}
	if (ret)
		return ret;

	ec = ESR_ELx_EC(rec->esr);
	/* The probed instruction, for the syndrome it should produce. */
	insn = le32_to_cpup((__le32 *)rec->pc);
	scnprintf(result, sizeof(result),
		  "cpu=%d probe=%s exc=%llu esr=0x%llx ec=0x%llx il=%d elr_off=%lld far=0x%llx vec=0x%llx val=0x%llx poison=0x%llx tag=%d want_tag=%d aux_exc=%u hw_mte=%u ids=%u insn=0x%x spsr=0x%llx daif=0x%llx spsel=%llu tco=%lld pre=0x%llx pre_want=0x%llx entry=0x%llx feat=0x%llx sctlr=0x%llx setup=0x%x\n",
		  cpu, def->name, rec->count, rec->esr, ec,
		  !!(rec->esr & ESR_ELx_IL),
		  rec->count ? (long long)(rec->elr - rec->pc) : 0LL,
		  rec->far, rec->vec, ctx->val, ctx->poison, ctx->tag,
		  ctx->want_tag, ctx->aux_exc, ctx->hw_mte, ctx->ids, insn,
		  rec->spsr, rec->daif, rec->spsel,
		  rec->read_tco && rec->count ? (long long)rec->tco : -1LL,
		  ctx->pre, ctx->pre_want,
		  rec->nzcv | rec->pan | rec->uao | rec->dit | rec->ssbs,
		  rec->feat, ctx->sctlr, ctx->setup);
	return 0;
}

static ssize_t probe_write(struct file *file, const char __user *ubuf,
			   size_t count, loff_t *ppos)
{
	const struct probe_def *def;
	char buf[64], name[32];
	int cpu, ret;

	if (count >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	buf[count] = '\0';

	if (sscanf(buf, "%d %31s", &cpu, name) != 2)
		return -EINVAL;
	def = find_probe(name);
	if (!def || cpu < 0 || cpu >= nr_cpu_ids)
		return -EINVAL;

	mutex_lock(&probe_lock);
	result[0] = '\0';
	ret = do_probe(cpu, def);
	mutex_unlock(&probe_lock);

	return ret ? ret : count;
}

static ssize_t probe_read(struct file *file, char __user *ubuf,
			  size_t count, loff_t *ppos)
{
	ssize_t ret;

	mutex_lock(&probe_lock);
	ret = simple_read_from_buffer(ubuf, count, ppos, result,
				      strlen(result));
	mutex_unlock(&probe_lock);
	return ret;
}

static const struct file_operations probe_fops = {
	.owner	= THIS_MODULE,
	.read	= probe_read,
	.write	= probe_write,
	.llseek	= default_llseek,
};

/* hVHE came with 6.6 (its cpucap, generated as a macro, with it). */
static bool probe_has_hvhe(void)
{
#ifdef ARM64_KVM_HVHE
	return has_hvhe();
#else
	return false;
#endif
}

static ssize_t info_read(struct file *file, char __user *ubuf,
			 size_t count, loff_t *ppos)
{
	char buf[128];
	int len;

	len = scnprintf(buf, sizeof(buf),
			"el2=%d protected=%d hvhe=%d mte=%d hw_mte=%llu\n",
			is_kernel_in_hyp_mode(), is_protected_kvm_enabled(),
			probe_has_hvhe(), system_supports_mte(),
			FIELD_GET(PFR1_MTE, read_sysreg(id_aa64pfr1_el1)));
	return simple_read_from_buffer(ubuf, count, ppos, buf, len);
}

static const struct file_operations info_fops = {
	.owner	= THIS_MODULE,
	.read	= info_read,
	.llseek	= default_llseek,
};

static ssize_t grant_ata_write(struct file *file, const char __user *ubuf,
			       size_t count, loff_t *ppos)
{
	struct kvm_vcpu *vcpu;
	struct file *vf;
	int fd, ret;

	ret = kstrtoint_from_user(ubuf, count, 0, &fd);
	if (ret)
		return ret;
	vf = fget(fd);
	if (!vf)
		return -EBADF;
	/* KVM names its vCPU files "kvm-vcpu:<id>" (anon_inode_getfd()). */
	if (!strstarts(file_dentry(vf)->d_name.name, "kvm-vcpu:")) {
		fput(vf);
		return -EINVAL;
	}
	vcpu = vf->private_data;
	vcpu->arch.hcr_el2 |= HCR_ATA;
	vcpu->arch.hcr_el2 &= ~HCR_TID5;
	pr_info("vCPU %d of pid %d: HCR_EL2 0x%llx (ATA granted by the host)\n",
		vcpu->vcpu_id, task_tgid_nr(current), vcpu->arch.hcr_el2);
	fput(vf);
	return count;
}

static const struct file_operations grant_ata_fops = {
	.owner	= THIS_MODULE,
	.write	= grant_ata_write,
	.llseek	= default_llseek,
};

static int list_show(struct seq_file *m, void *v)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(probes); i++)
		seq_printf(m, "%s\n", probes[i].name);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(list);

static int __init mte_probe_init(void)
{
	dbg_dir = debugfs_create_dir("mte_probe", NULL);
	if (IS_ERR(dbg_dir))
		return PTR_ERR(dbg_dir);
	debugfs_create_file("info", 0400, dbg_dir, NULL, &info_fops);
	debugfs_create_file("probe", 0600, dbg_dir, NULL, &probe_fops);
	debugfs_create_file("list", 0400, dbg_dir, NULL, &list_fops);
	debugfs_create_file("grant_ata", 0200, dbg_dir, NULL, &grant_ata_fops);
	return 0;
}

static void __exit mte_probe_exit(void)
{
	debugfs_remove_recursive(dbg_dir);
}

module_init(mte_probe_init);
module_exit(mte_probe_exit);
MODULE_DESCRIPTION("Probe MTE registers and tags from host EL1 (KVM selftest helper)");
MODULE_LICENSE("GPL");
