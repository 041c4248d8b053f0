// SPDX-License-Identifier: GPL-2.0-only
/*
 * mte_probe - play a malicious host kernel at EL1 and try to reach MTE state.
 *
 * Helper module for the mte_host_probe KVM selftest. Each probe runs one
 * instruction (an MTE system register access or an allocation tag
 * load/store) on a chosen CPU with all of DAIF masked and with VBAR_EL1
 * temporarily pointing at a private vector table. Any synchronous exception
 * taken by the probed instruction (e.g. an UNDEF injected by EL2) is recorded
 * (ESR, ELR, FAR) and the instruction is skipped, so the host survives.
 *
 * The exception's entry is recorded too: vector offset, ESR/ELR/FAR/SPSR,
 * and PSTATE.DAIF, SP and TCO as the handler finds them.
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
#define MMFR2_IDS	GENMASK_ULL(39, 36)

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
"1:\n"
"	ldr	x16, [x17, #" __stringify(REC_COUNT) "]\n"
"	add	x16, x16, #1\n"
"	str	x16, [x17, #" __stringify(REC_COUNT) "]\n"
"	mrs	x16, esr_el1\n"
"	str	x16, [x17, #" __stringify(REC_ESR) "]\n"
"	mrs	x16, far_el1\n"
"	str	x16, [x17, #" __stringify(REC_FAR) "]\n"
"	mrs	x16, elr_el1\n"
"	str	x16, [x17, #" __stringify(REC_ELR) "]\n"
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
		: "x15", "x16", "x17", "memory");			\
	})

/*
 * PSTATE.D is cleared around the probed instruction (no debug exception is
 * armed), so that the entry's setting of D can be told from D carried over.
 */
#define TRAP_INSN(insn, _rec, _a, _b, _c)				\
	TRAP_INSN_IN("msr daifclr, #8", insn, "msr daifset, #8",	\
		     _rec, _a, _b, _c)

/*
 * The same from EL1 with SP_EL0 selected (EL1t), the context whose
 * exceptions enter the "current EL with SP_EL0" vectors. Nothing in the
 * sequence touches the stack, and all of DAIF is masked.
 */
#define TRAP_INSN_EL1T(insn, _rec, _a, _b, _c)				\
	TRAP_INSN_IN("msr daifclr, #8\n\tmsr spsel, #0", insn,		\
		     "msr spsel, #1\n\tmsr daifset, #8", _rec, _a, _b, _c)

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
	u8 *page;		/* tagged mapping for tag probes */
};

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
	u64 mair = 0, sctlr = 0, tco = 0;
	unsigned long flags;

	flags = local_daif_save();
	ctx->hw_mte = FIELD_GET(PFR1_MTE, read_sysreg(id_aa64pfr1_el1));
	ctx->ids = FIELD_GET(MMFR2_IDS, read_sysreg(id_aa64mmfr2_el1));
	ctx->rec.read_tco = ctx->hw_mte >= 1;

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

	if (tags) {
		aux_clear_tags(ctx);
		write_sysreg(sctlr, sctlr_el1);
		write_sysreg(mair, mair_el1);
		isb();
		flush_local_tlb();
	}

	local_daif_restore(flags);
}

static DEFINE_MUTEX(probe_lock);
static char result[640];
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
		  "cpu=%d probe=%s exc=%llu esr=0x%llx ec=0x%llx il=%d elr_off=%lld far=0x%llx vec=0x%llx val=0x%llx poison=0x%llx tag=%d want_tag=%d aux_exc=%u hw_mte=%u ids=%u insn=0x%x spsr=0x%llx daif=0x%llx spsel=%llu tco=%lld\n",
		  cpu, def->name, rec->count, rec->esr, ec,
		  !!(rec->esr & ESR_ELx_IL),
		  rec->count ? (long long)(rec->elr - rec->pc) : 0LL,
		  rec->far, rec->vec, ctx->val, ctx->poison, ctx->tag,
		  ctx->want_tag, ctx->aux_exc, ctx->hw_mte, ctx->ids, insn,
		  rec->spsr, rec->daif, rec->spsel,
		  rec->read_tco && rec->count ? (long long)rec->tco : -1LL);
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
