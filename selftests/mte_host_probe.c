// SPDX-License-Identifier: GPL-2.0-only
/*
 * mte_host_probe - a host kernel at EL1 must not reach MTE state when the
 * host runs without MTE (e.g. booted with arm64.nomte).
 *
 * With MTE disabled for the host, EL2 (nVHE, hVHE, protected nVHE/hVHE) must
 * make every EL1 access to GCR_EL1, RGSR_EL1, TFSR_EL1, TFSRE0_EL1 and
 * GMID_EL1 UNDEF exactly as a CPU without MTE2 would take it (see
 * check_entry()), leak no value, and make allocation tags unreachable (tag
 * stores ignored, tag loads read 0). With MTE enabled the same probes are
 * the control: registers are accessible and tags round-trip. On a CPU that
 * implements FEAT_MTE but not MTE2 the registers do not exist and the same
 * expectations hold natively; on a CPU without FEAT_MTE the test is a SKIP.
 *
 * The probes run in the host kernel through the mte_probe.ko helper
 * (debugfs), on every online CPU, on each CPU that was present but offline
 * when the test started (booted with maxcpus=, say), once it has come up for
 * the first time, long after KVM's init, again on each secondary CPU after
 * it went through an offline/online cycle, and again on each CPU right
 * after a KVM guest ran on it, with a VM held open throughout so that KVM
 * holds EL2.
 * Where KVM lets go of EL2 while no VM exists (non-protected nVHE before
 * kvm.enable_virt_at_load, or with it off), they first run in that idle
 * state, under the hyp stub: there the host is trusted and must have MTE
 * as init_el2 left it (an access that traps into the stub never returns).
 * The host kernel log must stay free of oopses/warnings.
 *
 * A host can also try to reach tags through a guest it runs, whose memory
 * is its own: the helper sets HCR_EL2.ATA in a vCPU of a VM without MTE,
 * and the guest stores and loads a tag. In protected mode with MTE off EL2
 * must not let that through; everywhere else (EL2 does not police the
 * host there) the tag must round-trip, which shows the attempt works.
 *
 * The module is looked for next to this executable, in the kvm selftest
 * install directory layout (../mte_probe/), or given with -m PATH or the
 * MTE_PROBE_KO environment variable.
 */
#ifndef _GNU_SOURCE
/* sched_{get,set}affinity(), CPU_SET(), sched_getcpu(); 6.1's CFLAGS lack it */
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/auxv.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"
#include "ucall_common.h"

#ifndef HWCAP2_MTE
#define HWCAP2_MTE		BIT(18)
#endif

#define MODNAME			"mte_probe"
#define DBG_DIR			"/sys/kernel/debug/" MODNAME
#define MAX_CPUS		512
#define MAX_ERRS_SHOWN		1	/* detailed reports per probe and phase */

/* Messages too long to share a line with their call. */
#define MSG_NO_FEAT_MTE_CPU \
	"%s: %s: CPU%d does not implement FEAT_MTE (ID_AA64PFR1_EL1.MTE == 0)\n"
#define MSG_NO_FEAT_MTE \
	"the CPU does not implement FEAT_MTE: no tag instruction or MTE register to probe\n"
#define MSG_IDLE_UNKNOWN \
	"cannot tell whether KVM holds EL2 while idle (no /sys/module/kvm/parameters)\n"
#define MSG_PSTATE_FIELDS \
	"PSTATE fields the probes set and check on entry: NZCV%s%s%s%s\n"
#define MSG_VM_EXISTS \
	"a VM exists already, so KVM holds EL2: cannot probe the idle state\n"
#define MSG_LATE_START \
	"%d CPU(s) offline at start: first bring-up now, after KVM's init\n"
#define MSG_LATE_REFUSED \
	"first online: cpu%d: EL2 refused its PSCI CPU_ON (EINVAL), it never started\n"
#define MSG_LATE_UNREACHABLE \
	"first online: %s: not probed, no such CPU runs the host (EL2 refused CPU_ON for all %d)\n"

enum expect { EXPECT_DENIED, EXPECT_ACCESS };
enum kind { K_MRS, K_MSR, K_TAG_WRITE, K_TAG_READ };

static const struct probe {
	const char *name;	/* module probe name */
	const char *what;	/* human readable */
	enum kind kind;
} probes[] = {
	{ "mrs_gcr_el1",	"MRS GCR_EL1",		K_MRS },
	{ "msr_gcr_el1",	"MSR GCR_EL1",		K_MSR },
	{ "mrs_rgsr_el1",	"MRS RGSR_EL1",		K_MRS },
	{ "msr_rgsr_el1",	"MSR RGSR_EL1",		K_MSR },
	{ "mrs_tfsr_el1",	"MRS TFSR_EL1",		K_MRS },
	{ "msr_tfsr_el1",	"MSR TFSR_EL1",		K_MSR },
	{ "mrs_tfsre0_el1",	"MRS TFSRE0_EL1",	K_MRS },
	{ "msr_tfsre0_el1",	"MSR TFSRE0_EL1",	K_MSR },
	{ "mrs_gmid_el1",	"MRS GMID_EL1",		K_MRS },
	{ "mrs_gcr_el1_el1t",	"MRS GCR_EL1 from EL1t", K_MRS },
	{ "stg",		"STG",			K_TAG_WRITE },
	{ "st2g",		"ST2G",			K_TAG_WRITE },
	{ "stzg",		"STZG",			K_TAG_WRITE },
	{ "stz2g",		"STZ2G",		K_TAG_WRITE },
	{ "stgp",		"STGP",			K_TAG_WRITE },
	{ "stgm",		"STGM",			K_TAG_WRITE },
	{ "stzgm",		"STZGM",		K_TAG_WRITE },
	{ "dc_gva",		"DC GVA",		K_TAG_WRITE },
	{ "dc_gzva",		"DC GZVA",		K_TAG_WRITE },
	{ "ldg",		"LDG",			K_TAG_READ },
	{ "ldgm",		"LDGM",			K_TAG_READ },
};

#define NR_PROBES	ARRAY_SIZE(probes)
#define NR_PHASES	3
#define GUEST_TAG	0xaULL
#define GUEST_LDG_PRESET	(0x5ULL << 56)
#define GUEST_SCTLR_TCF	(3ULL << 40)

struct result {
	unsigned long long exc, esr, ec, il, far, val, poison;
	unsigned long long insn, spsr, daif, spsel, vec;
	long long elr_off, tco, ids;
	long long tag, want_tag, aux_exc, hw_mte;
	unsigned long long pre, pre_want, entry, feat, sctlr, setup;
};

/* Architectural encodings used by check_entry(). */
#define HOST_ESR_EC_SHIFT	26
#define HOST_ESR_EC_UNKNOWN	0x00ULL
#define HOST_ESR_EC_SYS64	0x18ULL
#define HOST_ESR_IL		BIT_ULL(25)
#define HOST_PSR_MODE_MASK	0x1fULL
#define HOST_PSR_MODE_EL1T	0x04ULL
#define HOST_PSR_MODE_EL1H	0x05ULL
#define HOST_PSR_DAIF		(0xfULL << 6)
#define HOST_PSR_AIF		(0x7ULL << 6)
#define HOST_PSR_TCO		BIT_ULL(25)
#define HOST_PSR_NZCV		(0xfULL << 28)
#define HOST_PSR_DIT		BIT_ULL(24)
#define HOST_PSR_UAO		BIT_ULL(23)
#define HOST_PSR_PAN		BIT_ULL(22)
#define HOST_PSR_SSBS		BIT_ULL(12)
#define HOST_SCTLR_SPAN		BIT_ULL(23)
#define HOST_SCTLR_DSSBS	BIT_ULL(44)
/* The module's "feat": which PSTATE fields it could set and read. */
#define FEAT_PAN		BIT(0)
#define FEAT_UAO		BIT(1)
#define FEAT_DIT		BIT(2)
#define FEAT_SSBS		BIT(3)
#define FEAT_SSBS2		BIT(4)
/* A CPU with FEAT_MTE is at least Armv8.4, where these are mandatory. */
#define FEAT_WITH_MTE		(FEAT_PAN | FEAT_UAO | FEAT_DIT)
#define VEC_CUR_SP0_SYNC	0x000ULL
#define VEC_CUR_SPX_SYNC	0x200ULL

/*
 * The KVM selftest library differs between the kernels this test is built
 * in. 7.x moved the ESR definitions to <asm/esr.h>; 6.12 has its own names;
 * 6.1 names no EC 0. 6.1's library (before guest printf, 6.6; the test
 * supports no 6.2 to 6.5 library) leaves ucall_init() to the test.
 */
#ifdef ESR_ELx_EC_UNKNOWN
#define GUEST_EC_UNKNOWN	ESR_ELx_EC_UNKNOWN
#elif defined(ESR_EC_UNKNOWN)
#define GUEST_EC_UNKNOWN	ESR_EC_UNKNOWN
#else
#define GUEST_EC_UNKNOWN	0x00
#endif
#ifndef GUEST_PRINTF
#define KVM_SELFTEST_LIB_61	1
#endif
#ifndef MT_NORMAL
#define MT_NORMAL		4	/* Normal memory in DEFAULT_MAIR_EL1 */
#endif

struct hostinfo {
	int el2, protected, hvhe, hyp, mte, hw_mte;
};

static enum expect expect;
static const char *mode = "?";
static int probe_fd = -1;
static int kmsg_fd = -1;
static bool verbose;
static bool feat_shown;

/* ---- module handling ---- */

static bool file_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static bool find_module(const char *opt, char *out, size_t len)
{
	static const char * const rel[] = {
		MODNAME ".ko",
		MODNAME "/" MODNAME ".ko",
		"../" MODNAME "/" MODNAME ".ko",
		"../" MODNAME ".ko",
	};
	char exe[PATH_MAX], *dir;
	ssize_t n;
	int i;

	if (!opt)
		opt = getenv("MTE_PROBE_KO");
	if (opt) {
		snprintf(out, len, "%s", opt);
		return file_exists(out);
	}

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return false;
	exe[n] = '\0';
	dir = dirname(exe);
	for (i = 0; i < ARRAY_SIZE(rel); i++) {
		snprintf(out, len, "%s/%s", dir, rel[i]);
		if (file_exists(out))
			return true;
	}
	return false;
}

/* Returns 1 if we loaded it, 0 if it was already there, -1 on failure. */
static int load_module(const char *path)
{
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ksft_print_msg("open %s: %s\n", path, strerror(errno));
		return -1;
	}
	ret = syscall(__NR_finit_module, fd, "", 0);
	close(fd);
	if (!ret)
		return 1;
	if (errno == EEXIST)
		return 0;
	ksft_print_msg("finit_module %s: %s\n", path, strerror(errno));
	return -1;
}

static void unload_module(void)
{
	if (syscall(__NR_delete_module, MODNAME, O_NONBLOCK))
		ksft_print_msg("delete_module " MODNAME ": %s\n",
			       strerror(errno));
}

static bool read_file(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return false;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return false;
	buf[n] = '\0';
	return true;
}

static long long get_field(const char *line, const char *key)
{
	char pat[32];
	const char *p;

	snprintf(pat, sizeof(pat), " %s=", key);
	p = strstr(line, pat);
	TEST_ASSERT(p, "no '%s' in module result '%s'", key, line);
	return strtoll(p + strlen(pat), NULL, 0);
}

static bool parse_info(struct hostinfo *hi)
{
	char line[256] = " ";

	if (!read_file(DBG_DIR "/info", line + 1, sizeof(line) - 1))
		return false;
	hi->el2 = get_field(line, "el2");
	hi->protected = get_field(line, "protected");
	hi->hvhe = get_field(line, "hvhe");
	/*
	 * KVM is present iff /dev/kvm; it may still leave EL2 to the hyp stub
	 * while no VM exists (see idle_releases_el2()).
	 */
	hi->hyp = file_exists("/dev/kvm");
	hi->mte = get_field(line, "mte");
	hi->hw_mte = get_field(line, "hw_mte");
	return true;
}

/* Run one probe on one CPU; returns 0 or -errno (e.g. -ENXIO: offline). */
static int run_probe(int cpu, const struct probe *p, struct result *r,
		     char *line, size_t len)
{
	char cmd[64];
	ssize_t n;

	n = snprintf(cmd, sizeof(cmd), "%d %s", cpu, p->name);
	if (pwrite(probe_fd, cmd, n, 0) != n)
		return -errno;
	line[0] = ' ';
	n = pread(probe_fd, line + 1, len - 2, 0);
	if (n <= 0)
		return n ? -errno : -ENODATA;
	line[n + 1] = '\0';
	line[strcspn(line, "\n")] = '\0';

	r->exc = get_field(line, "exc");
	r->esr = get_field(line, "esr");
	r->ec = get_field(line, "ec");
	r->il = get_field(line, "il");
	r->elr_off = get_field(line, "elr_off");
	r->far = get_field(line, "far");
	r->val = get_field(line, "val");
	r->poison = get_field(line, "poison");
	r->tag = get_field(line, "tag");
	r->want_tag = get_field(line, "want_tag");
	r->aux_exc = get_field(line, "aux_exc");
	r->hw_mte = get_field(line, "hw_mte");
	r->ids = get_field(line, "ids");
	r->insn = get_field(line, "insn");
	r->spsr = get_field(line, "spsr");
	r->daif = get_field(line, "daif");
	r->spsel = get_field(line, "spsel");
	r->tco = get_field(line, "tco");
	r->vec = get_field(line, "vec");
	r->pre = get_field(line, "pre");
	r->pre_want = get_field(line, "pre_want");
	r->entry = get_field(line, "entry");
	r->feat = get_field(line, "feat");
	r->sctlr = get_field(line, "sctlr");
	r->setup = get_field(line, "setup");
	return 0;
}

/* ---- expectations ---- */

/* ISS of a trapped MRS/MSR, from the A64 instruction's own fields. */
static unsigned long long sysreg_iss(unsigned long long insn)
{
	unsigned long long op0 = (insn >> 19) & 3, op1 = (insn >> 16) & 7;
	unsigned long long crn = (insn >> 12) & 0xf, crm = (insn >> 8) & 0xf;
	unsigned long long op2 = (insn >> 5) & 7, rt = insn & 0x1f;
	unsigned long long read = (insn >> 21) & 1;

	return op0 << 20 | op2 << 17 | op1 << 14 | crn << 10 | rt << 5 |
	       crm << 1 | read;
}

/*
 * PSTATE on entry to EL1 for an exception taken from EL1 whose PSTATE was
 * @pre with SCTLR_EL1 @sctlr, per the Arm ARM (AArch64.TakeException()),
 * in the fields the module reads (NZCV, DIT, PAN, UAO, SSBS; DAIF, SP and
 * TCO are checked on their own): NZCV and DIT kept, PAN kept and set if
 * SCTLR_EL1.SPAN is 0, UAO cleared, SSBS set to SCTLR_EL1.DSSBS.
 */
static unsigned long long entry_pstate(unsigned long long pre,
				       unsigned long long sctlr,
				       unsigned long long feat)
{
	unsigned long long v = pre & HOST_PSR_NZCV;

	if (feat & FEAT_DIT)
		v |= pre & HOST_PSR_DIT;
	if ((feat & FEAT_PAN) &&
	    ((pre & HOST_PSR_PAN) || !(sctlr & HOST_SCTLR_SPAN)))
		v |= HOST_PSR_PAN;
	if ((feat & FEAT_SSBS2) && (sctlr & HOST_SCTLR_DSSBS))
		v |= HOST_PSR_SSBS;
	return v;
}

/*
 * The exception an access to a register the CPU lacks must produce, per
 * the Arm ARM (AArch64.TakeException()): exactly one, on the instruction
 * (ELR_EL1), through the synchronous vector of the interrupted context
 * (+0x200 from EL1h, +0x000 from EL1t), with ESR_EL1 = EC 0x00 and IL, or,
 * for GMID_EL1 (in the feature ID space) on a CPU with FEAT_IDST, EC 0x18
 * with the access's own syndrome; SPSR_EL1 equal to the interrupted PSTATE
 * (EL1h or EL1t; A, I and F masked, D and TCO clear, and NZCV, PAN, UAO,
 * DIT and SSBS as the module set them, which must have taken); and PSTATE
 * on entry with DAIF masked, SP_ELx selected, the fields of
 * entry_pstate() and, on a CPU with FEAT_MTE, TCO set. TCO is checked
 * where the CPU has MTE2, which is where EL2 injects these UNDEFs; a CPU
 * with FEAT_MTE alone raises them itself, and QEMU, for one, sets TCO on
 * entry only with MTE2. Returns false and describes every difference.
 */
static bool check_entry(const struct probe *p, const struct result *r,
			char *buf, size_t len)
{
	bool el1t = strstr(p->name, "_el1t");
	unsigned long long want_esr = HOST_ESR_EC_UNKNOWN << HOST_ESR_EC_SHIFT | HOST_ESR_IL;
	unsigned long long want_vec = el1t ? VEC_CUR_SP0_SYNC : VEC_CUR_SPX_SYNC;
	unsigned long long want_mode = el1t ? HOST_PSR_MODE_EL1T : HOST_PSR_MODE_EL1H;
	unsigned long long want_spsr = want_mode | HOST_PSR_AIF | r->pre;
	unsigned long long want_entry = entry_pstate(r->pre, r->sctlr, r->feat);
	size_t off = 0;

	buf[0] = '\0';
	if (!strcmp(p->name, "mrs_gmid_el1") && r->ids)
		want_esr = HOST_ESR_EC_SYS64 << HOST_ESR_EC_SHIFT | HOST_ESR_IL |
			   sysreg_iss(r->insn);
#define DIFF(cond, ...)							\
	do {								\
		if ((cond) && off < len)				\
			off += snprintf(buf + off, len - off, __VA_ARGS__); \
	} while (0)
	DIFF(r->pre != r->pre_want,
	     " set-up: interrupted PSTATE fields 0x%llx, asked for 0x%llx;",
	     r->pre, r->pre_want);
	DIFF(r->setup, " set-up: SCTLR_EL1.SPAN/DSSBS did not take (0x%llx);",
	     r->sctlr);
	DIFF(r->hw_mte && (r->feat & FEAT_WITH_MTE) != FEAT_WITH_MTE,
	     " a CPU with FEAT_MTE reports no FEAT_PAN, FEAT_UAO or FEAT_DIT (0x%llx);",
	     r->feat);
	DIFF(r->exc != 1, " %llu exception(s), want 1;", r->exc);
	if (r->exc == 1) {
		DIFF(r->esr != want_esr, " ESR_EL1=0x%llx, want 0x%llx;",
		     r->esr, want_esr);
		DIFF(r->elr_off, " ELR_EL1=insn%+lld, want insn;", r->elr_off);
		DIFF(r->vec != want_vec, " vector +0x%llx, want +0x%llx;",
		     r->vec, want_vec);
		DIFF(r->spsr != want_spsr,
		     " SPSR_EL1=0x%llx, want 0x%llx (the interrupted PSTATE; differs in 0x%llx);",
		     r->spsr, want_spsr, r->spsr ^ want_spsr);
		DIFF(r->daif != HOST_PSR_DAIF, " PSTATE.DAIF on entry=0x%llx, want 0xf;",
		     r->daif >> 6);
		DIFF(r->spsel != 1, " PSTATE.SP on entry=%llu, want 1;",
		     r->spsel);
		DIFF(r->hw_mte >= 2 && r->tco != (long long)HOST_PSR_TCO,
		     " PSTATE.TCO on entry=%lld, want 1 (FEAT_MTE);",
		     r->tco < 0 ? -1 : r->tco >> 25);
		DIFF(r->entry != want_entry,
		     " PSTATE NZCV/DIT/PAN/UAO/SSBS on entry=0x%llx, want 0x%llx (SCTLR_EL1 0x%llx; differs in 0x%llx);",
		     r->entry, want_entry, r->sctlr, r->entry ^ want_entry);
	}
#undef DIFF
	return !off;
}

/* The register probe's interrupted state took as the module asked. */
static bool setup_ok(const struct result *r)
{
	return r->pre == r->pre_want && !r->setup &&
	       (!r->hw_mte || (r->feat & FEAT_WITH_MTE) == FEAT_WITH_MTE);
}

static void describe_exc(const struct result *r, char *buf, size_t len)
{
	if (!r->exc)
		snprintf(buf, len, "no exception");
	else
		snprintf(buf, len,
			 "%llu exception(s), ESR=0x%llx (EC=0x%llx IL=%llu) ELR=insn%+lld",
			 r->exc, r->esr, r->ec, r->il, r->elr_off);
}

/*
 * What kind of failure a probe result is, so that the sub-test's name can
 * say it: FAIL_PLAIN, the access went through where it had to be denied
 * (a leak), or a control that did not see access; FAIL_ENTRY, the access
 * was denied (one exception on the instruction, nothing leaked) but the
 * exception's entry differs from the architecture's (see check_entry());
 * FAIL_OTHER, neither: the probe's set-up did not take, or it saw
 * exceptions a denial does not raise.
 */
enum fail_kind { FAIL_PLAIN, FAIL_ENTRY, FAIL_OTHER };

/*
 * Check one probe result against the expectation. Returns true if it
 * conforms; *why describes a failure and *kind says which kind it is.
 */
static bool check_result(const struct probe *p, int cpu, const struct result *r,
			 char *why, size_t len, enum fail_kind *kind)
{
	char exc[160], diff[768];

	describe_exc(r, exc, sizeof(exc));
	*kind = FAIL_PLAIN;

	switch (p->kind) {
	case K_MRS:
		if (expect == EXPECT_DENIED) {
			bool entry = check_entry(p, r, diff, sizeof(diff));

			if (entry && r->val == r->poison)
				return true;
			if (r->val == r->poison)
				*kind = r->exc == 1 && !r->elr_off && setup_ok(r) ?
					FAIL_ENTRY : FAIL_OTHER;
			snprintf(why, len,
				 "cpu%d %s in %s with MTE off: expected the UNDEF of a CPU without MTE2, destination untouched; saw %s, destination=0x%llx%s;%s",
				 cpu, p->what, mode, exc, r->val,
				 r->val == r->poison ? " (untouched)" :
				 " (register value leaked)", diff);
			return false;
		}
		if (!r->exc && r->val != r->poison &&
		    (strcmp(p->name, "mrs_gmid_el1") ||
		     ((r->val & 0xf) >= 2 && (r->val & 0xf) <= 6)))
			return true;
		snprintf(why, len,
			 "cpu%d %s in %s with MTE on (control): expected a plausible value and no exception, saw %s, value=0x%llx",
			 cpu, p->what, mode, exc, r->val);
		return false;

	case K_MSR:
		if (expect == EXPECT_DENIED) {
			if (check_entry(p, r, diff, sizeof(diff)))
				return true;
			if (r->exc)
				*kind = r->exc == 1 && !r->elr_off && setup_ok(r) ?
					FAIL_ENTRY : FAIL_OTHER;
			snprintf(why, len,
				 "cpu%d %s in %s with MTE off: expected the UNDEF of a CPU without MTE2; saw %s (write of 0x%llx %s);%s",
				 cpu, p->what, mode, exc, r->val,
				 r->exc ? "trapped" : "went through", diff);
			return false;
		}
		if (!r->exc && !r->aux_exc)
			return true;
		snprintf(why, len,
			 "cpu%d %s in %s with MTE on (control): expected the write-back of 0x%llx to succeed, saw %s, %lld exception(s) on the read",
			 cpu, p->what, mode, r->val, exc, r->aux_exc);
		return false;

	case K_TAG_WRITE:
	case K_TAG_READ:
		/*
		 * With tag access set up wrongly (SCTLR_EL1.ATA, the MAIR
		 * attribute, the page's attribute as AT finds it), tags read
		 * 0 whatever EL2 does: that would look like enforcement.
		 */
		if (r->setup) {
			snprintf(why, len,
				 "cpu%d %s in %s: the tag set-up did not take effect (module setup=0x%llx: 1 SCTLR_EL1.ATA, 2 MAIR, 4 AT fault, 8 PAR attribute)",
				 cpu, p->what, mode, r->setup);
			*kind = FAIL_OTHER;
			return false;
		}
		if (expect == EXPECT_DENIED) {
			/*
			 * Tag instructions do not trap when tag access is
			 * disabled (HCR_EL2.ATA clear, or no MTE2): loads
			 * read 0 and stores are ignored. An exception here,
			 * in the probe or its set-up, is a failure.
			 */
			if (r->exc || r->tag < 0 || r->aux_exc) {
				snprintf(why, len,
					 "cpu%d %s in %s with MTE off: expected no exception and tag 0, saw %s and %lld set-up/check exception(s); tag read back %lld",
					 cpu, p->what, mode, exc, r->aux_exc,
					 r->tag);
				*kind = FAIL_OTHER;
				return false;
			}
			if (r->tag == 0)
				return true;
			snprintf(why, len,
				 "cpu%d %s in %s with MTE off: expected tags unreachable (tag read back 0), stored tag 0x%llx and read back 0x%llx",
				 cpu, p->what, mode, r->want_tag, r->tag);
			return false;
		}
		if (!r->exc && !r->aux_exc && r->tag == r->want_tag)
			return true;
		snprintf(why, len,
			 "cpu%d %s in %s with MTE on (control): expected tag 0x%llx to round-trip, read back %lld, %s, %lld set-up/check exception(s)",
			 cpu, p->what, mode, r->want_tag, r->tag, exc,
			 r->aux_exc);
		return false;
	}
	return false;
}

/*
 * Run every probe on every CPU in cpus[] and report one TAP result per
 * probe for this phase.
 */
static void probe_phase(const char *phase, const int *cpus, int nr,
			const char *skip_why)
{
	char line[1280], why[1280], bad[128];
	struct result r = {};
	int i, c, ret;

	for (i = 0; i < NR_PROBES; i++) {
		const struct probe *p = &probes[i];
		int fails = 0, ran = 0, hw_missing = -1, off = 0;
		bool plain = false, other = false;

		bad[0] = '\0';
		if (!nr) {
			ksft_test_result_skip("%s: %s: %s\n", phase, p->what,
					      skip_why);
			continue;
		}

		for (c = 0; c < nr; c++) {
			enum fail_kind kind;

			ret = run_probe(cpus[c], p, &r, line, sizeof(line));
			if (ret) {
				ksft_print_msg("%s: cpu%d %s: probe failed: %s\n",
					       phase, cpus[c], p->what,
					       strerror(-ret));
				if (off < sizeof(bad) - 8)
					off += snprintf(bad + off, sizeof(bad) - off,
							" %d", cpus[c]);
				fails++;
				other = true;
				continue;
			}
			if (verbose)
				ksft_print_msg("%s: %s\n", phase, line + 1);
			if (!feat_shown && r.hw_mte) {
				feat_shown = true;
				ksft_print_msg(MSG_PSTATE_FIELDS,
					       r.feat & FEAT_PAN ? " PAN" : "",
					       r.feat & FEAT_UAO ? " UAO" : "",
					       r.feat & FEAT_DIT ? " DIT" : "",
					       r.feat & FEAT_SSBS2 ? " SSBS" :
					       r.feat & FEAT_SSBS ? " SSBS (SPSR only)" : "");
			}
			/*
			 * Without FEAT_MTE there is nothing to probe. With
			 * FEAT_MTE but no MTE2 the expectations of a host
			 * without MTE hold natively.
			 */
			if (!r.hw_mte) {
				hw_missing = cpus[c];
				continue;
			}
			ran++;
			if (check_result(p, cpus[c], &r, why, sizeof(why), &kind))
				continue;
			plain |= kind == FAIL_PLAIN;
			other |= kind == FAIL_OTHER;
			if (fails++ < MAX_ERRS_SHOWN)
				ksft_print_msg("%s: %s [%s]\n", phase, why,
					       line + 1);
			if (off < sizeof(bad) - 8)
				off += snprintf(bad + off, sizeof(bad) - off,
						" %d", cpus[c]);
		}

		/*
		 * The result names the kind of failure, so that an expectation
		 * can accept a wrong exception entry without accepting a leak,
		 * and a probe that could not run or saw neither a leak nor a
		 * denial is not taken for a leak. Any plain failure wins.
		 */
		if (fails)
			ksft_test_result_fail("%s: %s: failed on %d of %d CPU(s) (cpu%s)%s\n",
					      phase, p->what, fails, nr, bad,
					      plain ? "" : other ? " [probe error]" :
					      " [exception entry only]");
		else if (!ran)
			ksft_test_result_skip(MSG_NO_FEAT_MTE_CPU,
					      phase, p->what, hw_missing);
		else
			ksft_test_result_pass("%s: %s %s on %d CPU(s)\n",
					      phase, p->what,
					      expect == EXPECT_DENIED ?
					      "denied" : "accessible (control)",
					      ran);
	}
}

/* ---- CPU sets, hotplug, guests ---- */

/*
 * The CPUs whose "online" file reads want ('1' or '0'). A CPU without the
 * file is not hotpluggable: it counts as online if it exists. Offline
 * CPUs were never brought up (maxcpus=) or were taken down before the
 * test; their first bring-up here comes after KVM's init.
 */
static int cpus_in_state(int *cpus, char want)
{
	int cpu, nr = 0;
	long max = sysconf(_SC_NPROCESSORS_CONF);
	char path[64], buf[8];

	for (cpu = 0; cpu < max && cpu < MAX_CPUS; cpu++) {
		snprintf(path, sizeof(path),
			 "/sys/devices/system/cpu/cpu%d/online", cpu);
		if (read_file(path, buf, sizeof(buf))) {
			if (buf[0] == want)
				cpus[nr++] = cpu;
			continue;
		}
		snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d",
			 cpu);
		if (want == '1' && file_exists(path))
			cpus[nr++] = cpu;
	}
	return nr;
}

static int online_cpus(int *cpus)
{
	return cpus_in_state(cpus, '1');
}

static int offline_cpus(int *cpus)
{
	return cpus_in_state(cpus, '0');
}

static int set_online(int cpu, int on)
{
	char path[64];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/online",
		 cpu);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	if (write(fd, on ? "1" : "0", 1) != 1)
		ret = -errno;
	close(fd);
	return ret;
}

static int hotplug_cpus(const int *cpus, int nr, int *out, char *why,
			size_t len)
{
	int i, ret, n = 0;

	snprintf(why, len, "no hotpluggable secondary CPU");
	for (i = 0; i < nr; i++) {
		char path[64];

		snprintf(path, sizeof(path),
			 "/sys/devices/system/cpu/cpu%d/online", cpus[i]);
		if (!cpus[i] || !file_exists(path))
			continue;
		/* A CPU left out would leave its bring-up path unchecked. */
		ret = set_online(cpus[i], 0);
		TEST_ASSERT(!ret, "cpu%d could not go offline: %s",
			    cpus[i], strerror(-ret));
		ret = set_online(cpus[i], 1);
		TEST_ASSERT(!ret, "cpu%d did not come back online: %s",
			    cpus[i], strerror(-ret));
		ksft_print_msg("hotplug: cpu%d offline -> online\n", cpus[i]);
		out[n++] = cpus[i];
	}
	return n;
}

/*
 * maxcpus= as the kernel takes it from its command line (the last one
 * before a " -- ", which ends the kernel's arguments), or -1 if none.
 */
static int boot_maxcpus(void)
{
	char buf[4096], *p, *end;
	int val = -1;

	if (!read_file("/proc/cmdline", buf, sizeof(buf)))
		return -1;
	end = strstr(buf, " -- ");
	if (end)
		*end = '\0';
	for (p = strstr(buf, "maxcpus="); p; p = strstr(p + 1, "maxcpus="))
		if (p == buf || p[-1] == ' ')
			val = strtol(p + strlen("maxcpus="), NULL, 0);
	return val;
}

/*
 * Whether the kernel logged, on /dev/kmsg from fd's position on, that the
 * firmware call to start cpu failed ("psci: failed to boot CPU<n> (<err>)",
 * cpu_psci_cpu_boot()): then the CPU never started.
 */
static bool kmsg_boot_failed(int fd, int cpu)
{
	char rec[8192], want[48];
	bool found = false;
	ssize_t n;

	snprintf(want, sizeof(want), "psci: failed to boot CPU%d (", cpu);
	for (;;) {
		n = read(fd, rec, sizeof(rec) - 1);
		/* Records overwritten, or one too long: the reader moved on. */
		if (n < 0 && (errno == EPIPE || errno == EINVAL))
			continue;
		if (n <= 0)
			break;
		rec[n] = '\0';
		found = found || strstr(rec, want);
	}
	return found;
}

/*
 * Bring each of cpus[] online for the first time and put the ones that
 * came up in up[]; returns their number. Every one must come up, but in
 * protected mode: there EL2 only boots CPUs that were online when pKVM
 * was initialised (its PSCI relay answers CPU_ON for the others with
 * INVALID_PARAMS, which reaches us as EINVAL), so such a CPU never runs
 * the host at all. *refused counts those. Each must be beyond maxcpus=
 * (never up before, so unknown to pKVM), and the kernel must have logged
 * that its PSCI CPU_ON failed, so that the CPU never started; EINVAL
 * alone could come from a later step of the bring-up.
 */
static int bring_up(const int *cpus, int nr, bool protected, int *up,
		    int *refused)
{
	int i, ret, n = 0, maxcpus = boot_maxcpus();
	int fd = -1;

	*refused = 0;
	for (i = 0; i < nr; i++) {
		/* Only pKVM refuses: the log since the write is its evidence. */
		if (protected) {
			fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
			TEST_ASSERT(fd >= 0, "/dev/kmsg: %s", strerror(errno));
			TEST_ASSERT(lseek(fd, 0, SEEK_END) >= 0,
				    "/dev/kmsg: %s", strerror(errno));
		}
		ret = set_online(cpus[i], 1);
		if (ret == -EINVAL && protected) {
			TEST_ASSERT(kmsg_boot_failed(fd, cpus[i]),
				    "cpu%d: EINVAL, but no failed PSCI CPU_ON logged for it",
				    cpus[i]);
			TEST_ASSERT(maxcpus >= 0 && cpus[i] >= maxcpus,
				    "cpu%d refused by EL2, but it is within maxcpus=%d",
				    cpus[i], maxcpus);
			ksft_print_msg(MSG_LATE_REFUSED, cpus[i]);
			(*refused)++;
			close(fd);
			fd = -1;
			continue;
		}
		if (fd >= 0)
			close(fd);
		fd = -1;
		TEST_ASSERT(!ret, "cpu%d did not come online: %s", cpus[i],
			    strerror(-ret));
		ksft_print_msg("first online: cpu%d\n", cpus[i]);
		up[n++] = cpus[i];
	}
	return n;
}

static void guest_code(void)
{
	GUEST_DONE();
}

/* Run a trivial guest to completion with the vcpu thread pinned on cpu. */
static bool run_guest_on(int cpu)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	cpu_set_t set, old;
	bool ok;

	TEST_ASSERT(!sched_getaffinity(0, sizeof(old), &old),
		    "sched_getaffinity: %s", strerror(errno));
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	TEST_ASSERT(!sched_setaffinity(0, sizeof(set), &set),
		    "pinning to cpu%d: %s", cpu, strerror(errno));

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
#ifdef KVM_SELFTEST_LIB_61
	ucall_init(vm, NULL);
#endif
	vcpu_run(vcpu);
	ok = get_ucall(vcpu, &uc) == UCALL_DONE && sched_getcpu() == cpu;
	if (!ok)
		ksft_print_msg("guest on cpu%d: exit reason %u, ucall %lu, ran on cpu%d\n",
			       cpu, vcpu->run->exit_reason,
			       (unsigned long)uc.cmd, sched_getcpu());
	kvm_vm_free(vm);

	TEST_ASSERT(!sched_setaffinity(0, sizeof(old), &old),
		    "unpinning: %s", strerror(errno));
	return ok;
}

/* ---- a guest given tag access by its host ---- */

static struct {
	uint64_t tag, exc;
} ata_res;
/* Counted by the guest's exception handler, with READ_ONCE()/WRITE_ONCE(). */
static uint64_t ata_exc;
static uint8_t ata_page[4096] __aligned(4096);

static void ata_guest_exception(struct ex_regs *regs)
{
	WRITE_ONCE(ata_exc, READ_ONCE(ata_exc) + 1);
	regs->pc += 4;
}

/* What a guest kernel does to use tags, once its host has granted ATA. */
static void ata_guest_code(void)
{
	uint64_t mair = read_sysreg(mair_el1), sctlr = read_sysreg(sctlr_el1);
	uint64_t shift = MT_NORMAL * 8, src = GUEST_TAG << 56;
	uint64_t v = GUEST_LDG_PRESET;

	GUEST_SYNC(0);		/* the host grants ATA now */
	write_sysreg((mair & ~(0xffUL << shift)) |
		     (MAIR_ATTR_NORMAL_TAGGED << shift), mair_el1);
	write_sysreg((sctlr | SCTLR_ELx_ATA) & ~GUEST_SCTLR_TCF, sctlr_el1);
	isb();
	asm volatile("tlbi vmalle1" : : : "memory");
	dsb(nsh);
	isb();
	asm volatile(".arch armv8.5-a\n.arch_extension memtag\n"
		     "stg %0, [%1]" : : "r" (src), "r" (ata_page) : "memory");
	asm volatile(".arch armv8.5-a\n.arch_extension memtag\n"
		     "ldg %0, [%1]" : "+r" (v) : "r" (ata_page) : "memory");
	ata_res.tag = (v >> 56) & 0xf;
	ata_res.exc = READ_ONCE(ata_exc);
	write_sysreg(sctlr, sctlr_el1);
	write_sysreg(mair, mair_el1);
	isb();
	GUEST_DONE();
}

/*
 * Run a VM without MTE whose vCPU the host gave HCR_EL2.ATA; the guest
 * stores a tag and reads it back. Returns the tag read, -1 on error.
 */
static int run_ata_guest(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	char fd[16];
	int gfd, n;

	vm = vm_create_with_one_vcpu(&vcpu, ata_guest_code);
	vm_init_descriptor_tables(vm);
	vcpu_init_descriptor_tables(vcpu);
	vm_install_sync_handler(vm, VECTOR_SYNC_CURRENT, GUEST_EC_UNKNOWN,
				ata_guest_exception);
#ifdef KVM_SELFTEST_LIB_61
	ucall_init(vm, NULL);
#endif
	vcpu_run(vcpu);
	TEST_ASSERT(get_ucall(vcpu, &uc) == UCALL_SYNC,
		    "ATA guest: no sync before its tag access (ucall %lu)",
		    (unsigned long)uc.cmd);
	gfd = open(DBG_DIR "/grant_ata", O_WRONLY | O_CLOEXEC);
	TEST_ASSERT(gfd >= 0, "open " DBG_DIR "/grant_ata: %s",
		    strerror(errno));
	n = snprintf(fd, sizeof(fd), "%d", vcpu->fd);
	TEST_ASSERT(write(gfd, fd, n) == n, "grant_ata: %s", strerror(errno));
	close(gfd);
	vcpu_run(vcpu);
	TEST_ASSERT(get_ucall(vcpu, &uc) == UCALL_DONE,
		    "ATA guest: did not finish (ucall %lu)",
		    (unsigned long)uc.cmd);
	sync_global_from_guest(vm, ata_res);
	kvm_vm_free(vm);
	if (ata_res.exc)
		ksft_print_msg("ATA guest: %lu exception(s) in its tag access\n",
			       (unsigned long)ata_res.exc);
	return ata_res.exc ? -1 : (int)ata_res.tag;
}

/* ---- host log ---- */

/*
 * A VM kept alive for the whole test. KVM may let go of EL2 while no VM
 * exists: 6.1 in non-protected nVHE always does (it resets to the hyp
 * stub at the end of its init and when the last VM goes away), as does
 * 6.12 with kvm.enable_virt_at_load=0. The host then runs under the stub,
 * where nothing is enforced by design. The probes are about the host KVM
 * runs, so KVM must hold EL2 throughout, also on a CPU that comes back
 * online. Returns the VM's fd, or -1 with errno set.
 */
static int hold_vm(void)
{
	int kvm, vm, err;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return -1;
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	err = errno;
	close(kvm);
	errno = err;
	return vm;
}

/*
 * Whether KVM gives EL2 back to the hyp stub while no VM exists: never in
 * protected mode or VHE; in nVHE/hVHE when kvm.enable_virt_at_load is off,
 * and always on kernels without that parameter (before 6.12), whose KVM
 * has /sys/module/kvm/parameters but not the file. Returns -1 when this
 * cannot be told.
 */
static int idle_releases_el2(const struct hostinfo *hi)
{
	char buf[8];

	if (hi->el2 || hi->protected || !hi->hyp)
		return 0;
	if (read_file("/sys/module/kvm/parameters/enable_virt_at_load", buf,
		      sizeof(buf)))
		return buf[0] != 'Y';
	return file_exists("/sys/module/kvm/parameters") ? 1 : -1;
}

/* Whether a VM exists: KVM's debugfs has a "<pid>-<fd>" directory per VM. */
static bool vm_exists(void)
{
	struct dirent *d;
	bool found = false;
	DIR *dir;

	dir = opendir("/sys/kernel/debug/kvm");
	if (!dir)
		return false;
	while ((d = readdir(dir)))
		found |= d->d_name[0] >= '1' && d->d_name[0] <= '9' &&
			 strchr(d->d_name, '-');
	closedir(dir);
	return found;
}

static void kmsg_start(void)
{
	kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (kmsg_fd >= 0)
		lseek(kmsg_fd, 0, SEEK_END);
}

static void kmsg_check(void)
{
	/* "BUG:"/"WARNING:" as the kernel prints them, not e.g. "DEBUG". */
	static const char * const bad[] = {
		"Oops", "BUG:", "kernel BUG", "WARNING:", "Internal error",
		"Kernel panic",
		"hyp panic", "HYP panic",
	};
	char rec[2048];
	int i, hits = 0;
	ssize_t n;

	if (kmsg_fd < 0) {
		ksft_test_result_skip("host kernel log clean: /dev/kmsg unavailable\n");
		return;
	}
	for (;;) {
		n = read(kmsg_fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten records: keep going */
		if (n <= 0)
			break;
		rec[n] = '\0';
		for (i = 0; i < ARRAY_SIZE(bad); i++) {
			if (strstr(rec, bad[i])) {
				ksft_print_msg("host log: %s", strchr(rec, ';') ?
					       strchr(rec, ';') + 1 : rec);
				hits++;
				break;
			}
		}
	}
	close(kmsg_fd);
	ksft_test_result(!hits, "host kernel log clean (%d bad line(s))\n",
			 hits);
}

static void print_usage(const char *name)
{
	printf("usage: %s [-v] [-m PATH_TO_mte_probe.ko]\n", name);
	printf("  -v: print every raw probe result\n");
	printf("  also: MTE_PROBE_KO=PATH\n");
}

int main(int argc, char *argv[])
{
	int cpus[MAX_CPUS], hp[MAX_CPUS], gcpus[MAX_CPUS], late[MAX_CPUS];
	int nr, nr_hp, nr_g = 0, nr_late, i, opt, loaded, held_vm, idle;
	int phases;
	char path[PATH_MAX], why[128];
	const char *modopt = NULL;
	struct hostinfo hi;
	bool hwcap_mte;

	while ((opt = getopt(argc, argv, "hm:v")) != -1) {
		switch (opt) {
		case 'v':
			verbose = true;
			break;
		case 'm':
			modopt = optarg;
			break;
		default:
			print_usage(argv[0]);
			exit(opt == 'h' ? KSFT_PASS : KSFT_FAIL);
		}
	}

	ksft_print_header();

	if (!file_exists(DBG_DIR "/probe")) {
		if (!find_module(modopt, path, sizeof(path)))
			ksft_exit_skip(MODNAME ".ko not found (use -m PATH or MTE_PROBE_KO)\n");
		if (!file_exists("/sys/kernel/debug/"))
			ksft_exit_skip("no debugfs\n");
		mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
		loaded = load_module(path);
		if (loaded < 0)
			ksft_exit_fail_msg("cannot load %s\n", path);
		ksft_print_msg("module: %s (%s)\n", path,
			       loaded ? "loaded" : "already loaded");
	} else {
		loaded = 0;
	}

	probe_fd = open(DBG_DIR "/probe", O_RDWR | O_CLOEXEC);
	if (probe_fd < 0 || !parse_info(&hi))
		ksft_exit_fail_msg("cannot use " DBG_DIR ": %s (is debugfs mounted?)\n",
				   strerror(errno));

	hwcap_mte = getauxval(AT_HWCAP2) & HWCAP2_MTE;
	if (hi.el2)
		mode = "VHE";
	else if (hi.protected)
		mode = hi.hvhe ? "protected hVHE" : "protected nVHE";
	else if (hi.hyp)
		mode = hi.hvhe ? "hVHE" : "nVHE";
	else
		mode = "EL1 without KVM";
	ksft_print_msg("host: %s, HWCAP2_MTE=%d, system_supports_mte=%d, ID_AA64PFR1_EL1.MTE=%d\n",
		       mode, hwcap_mte, hi.mte, hi.hw_mte);
	if (hwcap_mte != !!hi.mte)
		ksft_exit_fail_msg("HWCAP2_MTE=%d but system_supports_mte()=%d\n",
				   hwcap_mte, hi.mte);
	if (!hi.hw_mte)
		ksft_exit_skip(MSG_NO_FEAT_MTE);

	idle = idle_releases_el2(&hi);
	if (idle < 0)
		ksft_exit_fail_msg(MSG_IDLE_UNKNOWN);
	/* A phase of its own for CPUs that have not been up yet. */
	nr_late = offline_cpus(late);
	phases = NR_PHASES + idle + !!nr_late;
	ksft_set_plan(NR_PROBES * phases + 3);
	kmsg_start();

	expect = hwcap_mte ? EXPECT_ACCESS : EXPECT_DENIED;
	if (!hwcap_mte && (hi.el2 || !hi.hyp)) {
		const char *reason = hi.el2 ?
			"host runs at EL2 (VHE): outside EL2 enforcement" :
			"no KVM/EL2 on this host (no /dev/kvm): nothing to enforce";

		/*
		 * Nothing here is enforced, so the whole test is a SKIP, never
		 * a PASS: ksft_exit_skip() reports the last planned result.
		 */
		for (i = 0; i < NR_PROBES * phases + 2; i++)
			ksft_test_result_skip("%s\n", reason);
		close(probe_fd);
		if (loaded > 0)
			unload_module();
		ksft_exit_skip("%s\n", reason);
	}

	if (idle) {
		/*
		 * No VM yet: KVM has left EL2 to the hyp stub, whose HCR_EL2
		 * gives the (trusted) host MTE. The control that the reset to
		 * the stub restores it: a trap into the stub would hang here.
		 */
		enum expect held = expect;

		if (vm_exists())
			ksft_exit_fail_msg(MSG_VM_EXISTS);
		/* Without MTE2 the registers UNDEF natively, stub or not. */
		expect = hi.hw_mte >= 2 ? EXPECT_ACCESS : EXPECT_DENIED;
		nr = online_cpus(cpus);
		probe_phase("idle (hyp stub, no VM)", cpus, nr, "no online CPU?");
		expect = held;
	}

	held_vm = hold_vm();
	if (held_vm < 0)
		ksft_exit_fail_msg("cannot create a VM to keep KVM at EL2: %s\n",
				   strerror(errno));

	nr = online_cpus(cpus);
	ksft_print_msg("%d online CPU(s), one VM held open\n", nr);
	probe_phase("boot", cpus, nr, "no online CPU?");

	if (nr_late) {
		int up[MAX_CPUS], nr_up, refused;

		ksft_print_msg(MSG_LATE_START, nr_late);
		nr_up = bring_up(late, nr_late, hi.protected, up, &refused);
		if (!nr_up && refused == nr_late) {
			/* Nothing to probe: no such CPU can run the host. */
			for (i = 0; i < NR_PROBES; i++)
				ksft_test_result_pass(MSG_LATE_UNREACHABLE,
						      probes[i].what, refused);
		} else {
			probe_phase("first online", up, nr_up,
				    "no CPU came online");
		}
	}

	nr_hp = hotplug_cpus(cpus, nr, hp, why, sizeof(why));
	probe_phase("hotplug", hp, nr_hp, why);

	if (access("/dev/kvm", R_OK | W_OK)) {
		snprintf(why, sizeof(why), "/dev/kvm: %s", strerror(errno));
		ksft_test_result_skip("trivial guest on each CPU: %s\n", why);
	} else {
		nr = online_cpus(cpus);
		for (i = 0; i < nr; i++) {
			if (run_guest_on(cpus[i]))
				gcpus[nr_g++] = cpus[i];
		}
		snprintf(why, sizeof(why), "no guest ran to completion");
		ksft_test_result(nr_g == nr,
				 "trivial guest ran to completion on %d of %d CPU(s)\n",
				 nr_g, nr);
	}
	probe_phase("after guest", gcpus, nr_g, why);

	if (access("/dev/kvm", R_OK | W_OK)) {
		ksft_test_result_skip("guest given ATA by the host: /dev/kvm: %s\n",
				      strerror(errno));
	} else {
		/*
		 * EL2 polices a protected-mode host without MTE; outside
		 * protected mode the grant works (the control), except on a
		 * CPU without MTE2, which has no tags to reach. A protected-mode
		 * host with MTE is not policed by this series either, and its
		 * grant must work where KVM offers guests MTE; a pKVM that
		 * offers none decides its guests' tag access at EL2 (upstream's
		 * does): there the guest must only run cleanly.
		 */
		bool policed = hi.protected && expect == EXPECT_DENIED;
		bool either = hi.protected && expect == EXPECT_ACCESS &&
			      !kvm_check_cap(KVM_CAP_ARM_MTE);
		int want = policed || hi.hw_mte < 2 ? 0 : GUEST_TAG;
		int tag = run_ata_guest();

		if (either)
			ksft_test_result(tag == 0 || tag == GUEST_TAG,
					 "guest given ATA by the host ran cleanly (tag read back %d; EL2 decides in protected mode)\n",
					 tag);
		else
			ksft_test_result(tag == want,
					 "guest given ATA by the host: tag 0x%llx %s (read back %d, want %d)\n",
					 GUEST_TAG, want ? "round-trips (control)" :
					 "is not stored", tag, want);
	}

	kmsg_check();
	close(held_vm);
	close(probe_fd);
	if (loaded > 0)
		unload_module();
	/*
	 * A check that was skipped (no CPU to hotplug, no guest) leaves a
	 * path unproven: the test as a whole is then a SKIP, not a PASS.
	 */
	if (!ksft_get_fail_cnt() && ksft_get_xskip_cnt()) {
		ksft_print_msg("%d check(s) skipped: not every path was proven\n",
			       ksft_get_xskip_cnt());
		ksft_print_cnts();
		exit(KSFT_SKIP);
	}
	ksft_finished();
}
