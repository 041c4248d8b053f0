// SPDX-License-Identifier: GPL-2.0-only
/*
 * mte_guest - what a KVM guest sees of MTE, depending on the host.
 *
 * Host without MTE (e.g. arm64.nomte): KVM_CAP_ARM_MTE is not offered and
 * cannot be enabled, the guest sees ID_AA64PFR1_EL1.MTE == 0, every access to
 * GCR_EL1, RGSR_EL1, TFSR_EL1, TFSRE0_EL1 and GMID_EL1 UNDEFs in the guest,
 * and allocation tags are unreachable (STG then LDG reads back 0) even after
 * the guest makes its memory Normal-Tagged and sets SCTLR_EL1.ATA.
 *
 * Host with MTE: a VM created with KVM_CAP_ARM_MTE sees MTE, can access the
 * registers and round-trips a tag; a VM created without it behaves like the
 * MTE-less case above.
 *
 * KVM cannot hide instructions: on a CPU with FEAT_MTE the guest's tag
 * instructions execute whatever its ID registers say, and with tag access
 * disabled they must read zero and ignore writes without trapping. Only
 * on a CPU without FEAT_MTE (found with SUBP, an MTE instruction that
 * touches no tag) may they UNDEF instead; there the test only fails if
 * LDG reads a tag back.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/auxv.h>

#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"
#include "ucall_common.h"

/*
 * The KVM selftest library differs between the kernels this test is built
 * in. 7.x moved the ESR definitions to <asm/esr.h>; 6.12 has its own names;
 * 6.1 names no EC 0. 6.1's library (before guest printf, 6.6) formats no
 * guest assert message and (before 6.2) leaves ucall_init() to the test;
 * 6.2 to 6.5 are not supported.
 */
#ifdef ESR_ELx_EC_UNKNOWN
#define KVM_SELFTEST_LIB_7X	1
#define GUEST_EC_UNKNOWN	ESR_ELx_EC_UNKNOWN
#elif defined(ESR_EC_UNKNOWN)
#define GUEST_EC_UNKNOWN	ESR_EC_UNKNOWN
#else
#define GUEST_EC_UNKNOWN	0x00
#endif
#ifndef GUEST_PRINTF
#define KVM_SELFTEST_LIB_61	1
/* The host reports the failed condition's text. */
#define GUEST_ASSERT_MSG(cond, ...)		GUEST_ASSERT(cond)
#else
#define GUEST_ASSERT_MSG(cond, fmt, args...)	__GUEST_ASSERT(cond, fmt, ##args)
#endif
#ifndef MT_NORMAL
#define MT_NORMAL		4	/* Normal memory in DEFAULT_MAIR_EL1 */
#endif
#define GUEST_EC_SYS64		0x18
#define GUEST_ESR_EC(esr)	(((esr) >> 26) & 0x3f)
#define GUEST_ESR_IL		BIT(25)

#ifndef HWCAP2_MTE
#define HWCAP2_MTE		BIT(18)
#endif

#define POISON			0x5a5aa5a5dead0bb1UL
#define LDG_PRESET		(0x5UL << 56)
#define GUEST_TAG		0xaUL
#define PFR1_MTE(v)		(((v) >> 8) & 0xf)
#define MMFR2_IDS(v)		(((v) >> 36) & 0xf)
#define SCTLR_TCF		(3UL << 40)

/* The register accesses the guest performs, in order. */
enum { A_MRS, A_MSR };
static const struct access {
	const char *reg;
	int dir;
} accesses[] = {
	{ "GCR_EL1",	A_MRS }, { "GCR_EL1",	 A_MSR },
	{ "RGSR_EL1",	A_MRS }, { "RGSR_EL1",	 A_MSR },
	{ "TFSR_EL1",	A_MRS }, { "TFSR_EL1",	 A_MSR },
	{ "TFSRE0_EL1", A_MRS }, { "TFSRE0_EL1", A_MSR },
	{ "GMID_EL1",	A_MRS },
};

#define NR_ACCESSES	ARRAY_SIZE(accesses)

/* Written by the guest, read by the host after the run. */
struct guest_results {
	uint64_t pfr1;
	uint64_t mmfr2;			/* IDS: ID-space traps report EC 0x18 */
	uint64_t exc[NR_ACCESSES];	/* UNDEFs taken by the access */
	uint64_t esr[NR_ACCESSES];
	int64_t elr_off[NR_ACCESSES];	/* ELR minus the access' address */
	uint64_t val[NR_ACCESSES];	/* MRS destination / MSR source */
	uint64_t stg_exc, ldg_exc;
	uint64_t tag;			/* tag LDG read back */
	uint64_t subp_exc;		/* SUBP UNDEFs: no FEAT_MTE in the CPU */
};

static struct guest_results res;
/* Set by the UNDEF handler: accessed with READ_ONCE()/WRITE_ONCE(). */
static uint64_t undef_count, undef_esr, undef_elr;
static uint8_t tag_page[4096] __aligned(4096);

static void guest_undef_handler(struct ex_regs *regs)
{
	WRITE_ONCE(undef_count, READ_ONCE(undef_count) + 1);
	WRITE_ONCE(undef_esr, read_sysreg(esr_el1));
	WRITE_ONCE(undef_elr, regs->pc);
	regs->pc += 4;
}

static void record(int i, uint64_t pc, uint64_t val)
{
	uint64_t n = READ_ONCE(undef_count);

	res.exc[i] = n;
	res.esr[i] = n ? READ_ONCE(undef_esr) : 0;
	res.elr_off[i] = n ? (int64_t)(READ_ONCE(undef_elr) - pc) : 0;
	res.val[i] = val;
	GUEST_ASSERT_MSG(!n || accesses[i].dir != A_MRS ||
			 val == POISON,
			 "MRS %s UNDEFed but its destination changed to 0x%lx",
			 accesses[i].reg, val);
}

#define guest_mrs(i, enc)						\
	do {								\
		uint64_t __v = POISON, __pc;				\
									\
		WRITE_ONCE(undef_count, 0);				\
		asm volatile("adr %1, 1f\n1: mrs %0, " enc		\
			     : "+r" (__v), "=&r" (__pc) : : "memory");	\
		record(i, __pc, __v);					\
	} while (0)

/* Write back what was read (or 0 if the read UNDEFed). */
#define guest_msr(i, enc)						\
	do {								\
		int __i = (i);						\
		uint64_t __v = res.exc[__i - 1] ? 0 : res.val[__i - 1];	\
		uint64_t __pc;						\
									\
		WRITE_ONCE(undef_count, 0);				\
		asm volatile("adr %0, 1f\n1: msr " enc ", %1"		\
			     : "=&r" (__pc) : "r" (__v) : "memory");	\
		record(__i, __pc, __v);					\
	} while (0)

/*
 * Do what a guest kernel would to use tags: make its Normal memory
 * Normal-Tagged, allow EL1 tag access (no tag check faults), store a tag
 * with STG and read it back with LDG.
 */
static void guest_tags(void)
{
	uint64_t mair = read_sysreg(mair_el1);
	uint64_t sctlr = read_sysreg(sctlr_el1);
	uint64_t shift = MT_NORMAL * 8, src = GUEST_TAG << 56;
	uint64_t v = LDG_PRESET;

	write_sysreg((mair & ~(0xffUL << shift)) |
		     (MAIR_ATTR_NORMAL_TAGGED << shift), mair_el1);
	write_sysreg((sctlr | SCTLR_ELx_ATA) & ~SCTLR_TCF, sctlr_el1);
	isb();
	asm volatile("tlbi vmalle1" : : : "memory");
	dsb(nsh);
	isb();

	WRITE_ONCE(undef_count, 0);
	asm volatile(".arch armv8.5-a\n.arch_extension memtag\n"
		     "subp %0, %0, %0" : "+r" (v) : : "memory");
	res.subp_exc = READ_ONCE(undef_count);
	v = LDG_PRESET;

	WRITE_ONCE(undef_count, 0);
	asm volatile(".arch armv8.5-a\n.arch_extension memtag\n"
		     "stg %0, [%1]" : : "r" (src), "r" (tag_page) : "memory");
	res.stg_exc = READ_ONCE(undef_count);

	WRITE_ONCE(undef_count, 0);
	asm volatile(".arch armv8.5-a\n.arch_extension memtag\n"
		     "ldg %0, [%1]" : "+r" (v) : "r" (tag_page) : "memory");
	res.ldg_exc = READ_ONCE(undef_count);
	res.tag = (v >> 56) & 0xf;
	GUEST_ASSERT_MSG(res.ldg_exc || !(v & ~(0xfUL << 56)),
			 "LDG changed bits outside the tag: 0x%lx", v);

	write_sysreg(sctlr, sctlr_el1);
	write_sysreg(mair, mair_el1);
	isb();
	asm volatile("tlbi vmalle1" : : : "memory");
	dsb(nsh);
	isb();
}

static void guest_code(void)
{
	res.pfr1 = read_sysreg(id_aa64pfr1_el1);
	res.mmfr2 = read_sysreg(id_aa64mmfr2_el1);

	guest_mrs(0, "S3_0_C1_C0_6");	/* GCR_EL1 */
	guest_msr(1, "S3_0_C1_C0_6");
	guest_mrs(2, "S3_0_C1_C0_5");	/* RGSR_EL1 */
	guest_msr(3, "S3_0_C1_C0_5");
	guest_mrs(4, "S3_0_C5_C6_0");	/* TFSR_EL1 */
	guest_msr(5, "S3_0_C5_C6_0");
	guest_mrs(6, "S3_0_C5_C6_1");	/* TFSRE0_EL1 */
	guest_msr(7, "S3_0_C5_C6_1");
	guest_mrs(8, "S3_1_C0_C0_4");	/* GMID_EL1 */

	guest_tags();
	GUEST_DONE();
}

static void run_guest(struct kvm_vcpu *vcpu)
{
	struct ucall uc;

	for (;;) {
		vcpu_run(vcpu);
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT(uc);
			break;
#ifndef KVM_SELFTEST_LIB_61
		case UCALL_PRINTF:
			ksft_print_msg("guest: %s", uc.buffer);
			break;
#endif
		case UCALL_DONE:
			return;
		default:
			TEST_FAIL("unexpected ucall %lu", uc.cmd);
		}
	}
}

/* Create a 1-vcpu VM, enabling KVM_CAP_ARM_MTE before any vcpu exists. */
static struct kvm_vm *create_vm(bool mte, struct kvm_vcpu **vcpu, int *err)
{
	struct kvm_vm *vm = vm_create(1);

	*err = 0;
	if (mte && __vm_enable_cap(vm, KVM_CAP_ARM_MTE, 0))
		*err = errno;

	*vcpu = vm_vcpu_add(vm, 0, guest_code);
#ifdef KVM_SELFTEST_LIB_7X
	kvm_arch_vm_finalize_vcpus(vm);
#endif
	vm_init_descriptor_tables(vm);
	vcpu_init_descriptor_tables(*vcpu);
	vm_install_sync_handler(vm, VECTOR_SYNC_CURRENT, GUEST_EC_UNKNOWN,
				guest_undef_handler);
	/* With FEAT_IDST, GMID_EL1 (ID space) reports EC 0x18, not UNDEF. */
	vm_install_sync_handler(vm, VECTOR_SYNC_CURRENT, GUEST_EC_SYS64,
				guest_undef_handler);
#ifdef KVM_SELFTEST_LIB_61
	ucall_init(vm, NULL);
#endif
	return vm;
}

/* Messages too long to share a line with their call. */
#define MSG_EXPECTED_UNDEF \
	"%s: %s %s: expected UNDEF (EC=0x0%s IL=1 ELR=insn), saw %lu exception(s) ESR=0x%lx ELR=insn%+ld value=0x%lx\n"
#define MSG_GMID_TID5 \
	"%s: GMID_EL1 only traps with HCR_EL2.TID5, which KVM must set for guests without MTE\n"
#define MSG_EXPECTED_ACCESS \
	"%s: %s %s: expected access, saw %lu exception(s) ESR=0x%lx value=0x%lx\n"
#define MSG_CAP_NOT_OFFERED \
	"host with MTE: KVM_CAP_ARM_MTE not offered in this KVM mode\n"

/* Run the guest in a VM with/without MTE and report on what it saw. */
static void test_vm(bool mte, const char *vmname)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	uint64_t pfr1;
	int err, i;

	vm = create_vm(mte, &vcpu, &err);
	TEST_ASSERT(!err, "enabling KVM_CAP_ARM_MTE: %s", strerror(err));
	__vcpu_get_reg(vcpu, KVM_ARM64_SYS_REG(SYS_ID_AA64PFR1_EL1), &pfr1);
	run_guest(vcpu);
	sync_global_from_guest(vm, res);
	kvm_vm_free(vm);

	if (mte)
		ksft_test_result(PFR1_MTE(res.pfr1) >= 2,
				 "%s: guest ID_AA64PFR1_EL1.MTE=%lu (expected >= 2), userspace view %lu\n",
				 vmname, PFR1_MTE(res.pfr1), PFR1_MTE(pfr1));
	else
		ksft_test_result(PFR1_MTE(res.pfr1) == 0 &&
				 PFR1_MTE(pfr1) == 0,
				 "%s: guest ID_AA64PFR1_EL1.MTE=%lu, userspace view %lu (expected 0)\n",
				 vmname, PFR1_MTE(res.pfr1), PFR1_MTE(pfr1));

	/* One result per register, covering its MRS and (if any) MSR. */
	for (i = 0; i < NR_ACCESSES; i++) {
		const char *reg = accesses[i].reg;
		bool ok = true;
		int j;

		for (j = i; j < NR_ACCESSES && accesses[j].reg == reg; j++) {
			const char *op = accesses[j].dir == A_MRS ?
					 "MRS" : "MSR";

			/*
			 * GMID_EL1 is in the ID space: with FEAT_IDST
			 * advertised its trap may report EC 0x18 instead.
			 */
			bool ids = !strcmp(reg, "GMID_EL1") &&
				   MMFR2_IDS(res.mmfr2);
			uint64_t ec = GUEST_ESR_EC(res.esr[j]);

			if (!mte && !(res.exc[j] == 1 &&
				      (ec == GUEST_EC_UNKNOWN ||
				       (ids && ec == GUEST_EC_SYS64)) &&
				      (res.esr[j] & GUEST_ESR_IL) &&
				      res.elr_off[j] == 0)) {
				ksft_print_msg(MSG_EXPECTED_UNDEF,
					       vmname, op, reg,
					       ids ? " or, IDST, 0x18" : "",
					       res.exc[j],
					       res.esr[j], res.elr_off[j],
					       res.val[j]);
				if (!res.exc[j] && !strcmp(reg, "GMID_EL1"))
					ksft_print_msg(MSG_GMID_TID5, vmname);
				ok = false;
			}
			if (mte && (res.exc[j] ||
				    (accesses[j].dir == A_MRS &&
				     res.val[j] == POISON))) {
				ksft_print_msg(MSG_EXPECTED_ACCESS,
					       vmname, op, reg, res.exc[j],
					       res.esr[j], res.val[j]);
				ok = false;
			}
		}
		ksft_test_result(ok, "%s: %s %s in the guest\n", vmname, reg,
				 mte ? "accessible" : "UNDEFs");
		i = j - 1;
	}

	if (mte)
		ksft_test_result(!res.stg_exc && !res.ldg_exc &&
				 res.tag == GUEST_TAG,
				 "%s: STG of tag 0x%lx reads back 0x%lx with LDG (exceptions: STG %lu, LDG %lu)\n",
				 vmname, GUEST_TAG, res.tag, res.stg_exc,
				 res.ldg_exc);
	else if (res.subp_exc)
		/*
		 * No FEAT_MTE: STG and LDG are unallocated and should UNDEF,
		 * but all that matters here is that no tag comes back.
		 */
		ksft_test_result(res.ldg_exc || res.tag == 0,
				 "%s: CPU without FEAT_MTE (SUBP UNDEFs): no tag comes back: LDG %s (exceptions: STG %lu, LDG %lu)\n",
				 vmname, res.ldg_exc ? "UNDEFs" :
				 res.tag ? "reads a tag" : "reads 0",
				 res.stg_exc, res.ldg_exc);
	else
		ksft_test_result(!res.stg_exc && !res.ldg_exc && res.tag == 0,
				 "%s: STG of tag 0x%lx is not stored: LDG reads 0x%lx (expected 0; exceptions: STG %lu, LDG %lu)\n",
				 vmname, GUEST_TAG, res.tag, res.stg_exc,
				 res.ldg_exc);
}

#define NR_REG_RESULTS	5	/* distinct registers in accesses[] */
#define NR_VM_RESULTS	(1 + NR_REG_RESULTS + 1)

int main(int argc, char *argv[])
{
	bool host_mte = getauxval(AT_HWCAP2) & HWCAP2_MTE;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	int cap, err, i;

	ksft_print_header();
	ksft_set_plan(2 + 2 * NR_VM_RESULTS);

	cap = kvm_check_cap(KVM_CAP_ARM_MTE);
	ksft_print_msg("host HWCAP2_MTE %s, KVM_CAP_ARM_MTE=%d\n",
		       host_mte ? "present" : "absent", cap);

	/* Capability advertisement and enablement. */
	vm = create_vm(true, &vcpu, &err);
	kvm_vm_free(vm);
	if (!host_mte) {
		ksft_test_result(cap == 0,
				 "host without MTE: KVM_CAP_ARM_MTE=%d (expected 0)\n",
				 cap);
		ksft_test_result(err != 0,
				 "host without MTE: enabling KVM_CAP_ARM_MTE fails (%s)\n",
				 err ? strerror(err) : "it succeeded");
	} else if (!cap) {
		/* 6.12 offers it in every mode; 7.x's pKVM does not. */
		ksft_test_result_skip(MSG_CAP_NOT_OFFERED);
		ksft_test_result(err != 0,
				 "KVM_CAP_ARM_MTE not offered: enabling it fails (%s)\n",
				 err ? strerror(err) : "it succeeded");
	} else {
		ksft_test_result_pass("host with MTE: KVM_CAP_ARM_MTE=%d\n",
				      cap);
		ksft_test_result(err == 0,
				 "host with MTE: enabling KVM_CAP_ARM_MTE before creating vcpus: %s\n",
				 err ? strerror(err) : "ok");
	}

	test_vm(false, "VM without KVM_CAP_ARM_MTE");

	if (host_mte && cap && !err) {
		test_vm(true, "VM with KVM_CAP_ARM_MTE");
	} else {
		const char *why = !host_mte ? "host has no MTE" :
				  !cap ? "KVM_CAP_ARM_MTE not offered" :
				  "KVM_CAP_ARM_MTE could not be enabled";

		for (i = 0; i < NR_VM_RESULTS; i++)
			ksft_test_result_skip("VM with KVM_CAP_ARM_MTE: %s\n",
					      why);
	}

	/*
	 * On a host with MTE, a skipped VM-with-MTE check leaves the guest
	 * side unproven: the test is then a SKIP, not a PASS.
	 */
	if (host_mte && !ksft_get_fail_cnt() && ksft_get_xskip_cnt()) {
		ksft_print_cnts();
		exit(KSFT_SKIP);
	}
	ksft_finished();
}
