#!/bin/bash
# verify.sh: the whole job, in kunit.py style stages: prepare the tree
# (prepare-tree.sh), build kernel + KVM selftests (build-kernel.sh,
# build-selftests.sh), pack the initramfs (mkinitramfs.sh), boot every
# MODES x MTE cell (boot.sh) and grade each console (parse-cell.py), then
# write out/results/summary.txt (summarize.py). Exit 0 only when every cell
# met its expectations. The last line printed is "N passed, N failed, N skipped".
# Env: KSRC KVER SERIES MODES MTE KCONFIG JOBS EXPECT BOOT_TIMEOUT RERUN QEMU
# BOOT_JOBS (parallel QEMU boots, default JOBS), BOOT_RETRIES (see boot.sh;
# default 1 for SERIES=none, 0 for our series; parse-cell.py grades the
# hung consoles too), FAIL_RETRIES (a cell that failed its grade is booted
# once more: default 1 for SERIES=none, 0 for our series; the first
# verdict is kept and named in the summary), LABEL (name of the run's
# results/logs directory instead of <version>-<series>), PATCHES, SMOKE,
# VARIANT (see prepare-tree.sh and mkinitramfs.sh), LAVA_DEVICE_TYPE and
# LAVA_URL (--lava).
# Arguments: --shell CELL (make shell: build as for the run, then boot that
# one cell with a shell instead), --lava (make lava: build, then write and
# check LAVA jobs instead of booting), --lava-run CELL (make lava-run: also
# run that cell's job with a local lava-run and compare).
set -eu
. "$(dirname "$0")/../lib.sh"

SCRIPTS=$ROOT/scripts
# boot.sh's own switches are passed per call, never inherited.
unset PRINT_CMDLINE PROBE_ONLY
export KVER=${KVER:-6.12} SERIES=${SERIES:-patches}
export JOBS=${JOBS:-$(nproc)}
FAMILY=$(kernel_family)
MODES=${MODES:-$(family_modes "$FAMILY")}
# Hibernation (MODE-hib) and kexec (MODE-kexec) cells need a kernel that
# can hibernate and kexec: their own build (KCONFIG=hibernate), the
# default for a run of them only.
TWO_KERNEL_MODES=0
NR_MODES=0
for m in $MODES; do
	NR_MODES=$((NR_MODES + 1))
	case $m in *-hib | *-kexec) TWO_KERNEL_MODES=$((TWO_KERNEL_MODES + 1)) ;; esac
done
if [ "$TWO_KERNEL_MODES" -gt 0 ] && [ "$TWO_KERNEL_MODES" = "$NR_MODES" ]; then
	KCONFIG=${KCONFIG:-hibernate}
fi
export KCONFIG=${KCONFIG:-default}
MTE=${MTE:-off on forced}
EXPECT=${EXPECT:-}
# Our fixes to upstream run against 7.3's own design choices (its pKVM
# offers guests no MTE): configs/expect/mainline-7.3.txt names them.
[ "$SERIES" != mainline ] || EXPECT=${EXPECT:-mainline-7.3}
# Hibernation cells of our series: an arm64 hibernation bug loses the
# tags of an MTE image resumed by a nomte kernel (configs/expect/hibernate.txt).
[ "$SERIES" != patches ] || [ "$KCONFIG" != hibernate ] || EXPECT=${EXPECT:-hibernate}
RERUN=${RERUN:-0}
BOOT_JOBS=${BOOT_JOBS:-$JOBS}
# A hung boot is booted again only where no series of ours is in the kernel
# (bare bases, the 7.3 oracle): there a hang says nothing about the series.
# So is a cell that failed its grade there (FAIL_RETRIES): its first
# verdict and console are kept, and the second boot is graded with the
# first verdict named in it, so that a retry is never silent.
if [ "$SERIES" = none ]; then
	export BOOT_RETRIES=${BOOT_RETRIES:-1}
	FAIL_RETRIES=${FAIL_RETRIES:-1}
else
	export BOOT_RETRIES=${BOOT_RETRIES:-0}
	FAIL_RETRIES=${FAIL_RETRIES:-0}
fi
case $FAIL_RETRIES in 0 | 1) ;; *) die "FAIL_RETRIES must be 0 or 1, not '$FAIL_RETRIES'" ;; esac
# Never for our series: a failure there is a finding, whoever sets it.
[ "$SERIES" = none ] || [ "$FAIL_RETRIES" = 0 ] || die "FAIL_RETRIES=1 is for runs without our series (SERIES=none) only"

# What to do once the run is built: boot and grade the matrix (default),
# or --shell CELL (make shell), --lava (make lava), --lava-run CELL (make
# lava-run). Arguments, not the environment: a variable left set in a
# shell or passed to make could otherwise turn a graded run into one that
# grades nothing.
ACTION=verify
ACTION_CELL=
case $# in
0) ;;
1)
	[ "$1" = --lava ] || die "usage: verify.sh [--shell CELL | --lava | --lava-run CELL]"
	ACTION=lava
	;;
2)
	case $1 in
	--shell) ACTION=shell ;;
	--lava-run) ACTION=lava-run ;;
	*) die "usage: verify.sh [--shell CELL | --lava | --lava-run CELL]" ;;
	esac
	ACTION_CELL=$2
	;;
*) die "usage: verify.sh [--shell CELL | --lava | --lava-run CELL]" ;;
esac
QEMU=${QEMU:-qemu-system-aarch64}
export QEMU

check_args() {
	local m all
	all="$(family_modes "$FAMILY") $(family_extra_modes "$FAMILY")"
	all=${all% }
	case $KVER in 6.12 | 6.1 | 7.3) ;; *) die "KVER must be 6.12, 6.1 or 7.3, not '$KVER'" ;; esac
	for m in $MODES; do
		case " $all " in
		*" $m "*) ;;
		*) die "MODES: no mode '$m' in Linux $FAMILY (it has: $all)" ;;
		esac
	done
	for m in $MTE; do
		case $m in on | off | forced) ;; *) die "MTE: want 'on', 'off' and/or 'forced', not '$m'" ;; esac
	done
	[ -n "$MODES" ] || die "MODES is empty"
	[ -n "$MTE" ] || die "MTE is empty"
	case $KCONFIG in default | nomte | hibernate) ;; *) die "KCONFIG must be default, nomte or hibernate, not '$KCONFIG'" ;; esac
	if [ "$TWO_KERNEL_MODES" -gt 0 ] && [ "$KCONFIG" != hibernate ]; then
		die "hibernation and kexec modes (*-hib, *-kexec) need KCONFIG=hibernate: run them on their own (MODES=\"nvhe-hib hvhe-hib\")"
	fi
	case " $MTE " in
	*" forced "*) [ "$TWO_KERNEL_MODES" = 0 ] || die "hibernation and kexec modes take MTE=\"off on\", not forced" ;;
	esac
	# Refused before anything is built: a hibernation cell boots twice, a
	# kexec cell needs its disk.
	case $ACTION in
	lava | lava-run) [ "$TWO_KERNEL_MODES" = 0 ] || die "hibernation and kexec cells boot two kernels: no LAVA job for them" ;;
	shell) case $ACTION_CELL in *-hib-mte* | *-kexec-mte*) die "a hibernation or kexec cell has no shell: it boots two kernels" ;; esac ;;
	esac
	case $SERIES in patches | mainline | none) ;; *) die "SERIES must be patches, mainline or none, not '$SERIES'" ;; esac
	check_mainline_base
	case $BOOT_RETRIES in '' | *[!0-9]*) die "BOOT_RETRIES must be a number, not '$BOOT_RETRIES'" ;; esac
	case $BOOT_JOBS in '' | 0 | *[!0-9]*) die "BOOT_JOBS must be a number from 1, not '$BOOT_JOBS'" ;; esac
	case ${TEST_TIMEOUT:-1} in '' | *[!0-9]*) die "TEST_TIMEOUT must be a number of seconds, not '$TEST_TIMEOUT'" ;; esac
	if [ -n "$ACTION_CELL" ]; then
		case ${ACTION_CELL##*-mte} in on | off | forced) ;; *) ACTION_CELL=bad ;; esac
		case " $all " in
		*" ${ACTION_CELL%-mte*} "*) ;;
		*) die "CELL: want <mode>-mte<on|off|forced>, mode one of: $all" ;;
		esac
	fi
}

# expect_files: the expectation files named by EXPECT (names or paths).
expect_files() {
	local e
	for e in $EXPECT; do
		if [ -f "$e" ]; then
			echo "$e"
		elif [ -f "$ROOT/configs/expect/$e.txt" ]; then
			echo "$ROOT/configs/expect/$e.txt"
		else
			die "EXPECT: no file '$e' nor configs/expect/$e.txt"
		fi
	done
}

# run_key: what decides every cell's outcome (kernel, initramfs, which
# holds /init and the tests, boot.sh, QEMU), hashed once per run.
run_key() {
	{
		sha1sum "$IMAGE" "$INITRD" "$SCRIPTS/pipeline/boot.sh" "$SCRIPTS/pipeline/guest-init.sh"
		"$QEMU" --version | head -1
	} | sha1sum | cut -c1-16
}

# cell_specs: SPEC[cell], each cell's command line (and machine, if not the
# default), from one call of boot.sh for the whole matrix.
declare -A SPEC
cell_specs() {
	local specs line mode mte
	specs=$(PRINT_CMDLINE=all bash "$SCRIPTS/pipeline/boot.sh" - - "$MODES" "$MTE" -) ||
		die "boot.sh could not give the cells' command lines"
	while IFS= read -r line; do
		SPEC[${line%% *}]+="${line#* }"$'\n'
	done <<<"$specs"
	# A cell without a command line would keep its old console.
	for mode in $MODES; do
		for mte in $MTE; do
			[ -n "${SPEC[$mode-mte$mte]:-}" ] || die "no command line for cell $mode-mte$mte"
		done
	done
}

# cell_key CELL: RUN_KEY and the cell's command line; equal keys reuse the
# console.
cell_key() {
	[ -n "${SPEC[$1]:-}" ] || die "no command line for cell $1"
	{
		echo "$RUN_KEY ${BOOT_TIMEOUT:-180} ${BOOT_RETRIES:-0} $FAIL_RETRIES"
		printf '%s' "${SPEC[$1]}"
	} | sha1sum | cut -c1-16
}

# boot_cell MODE MTE [again]: boot one cell unless an identical boot is
# cached; "again": the boot after a failed grade (retry_failed), which
# keeps the first boot's failed1 files.
boot_cell() {
	local mode=$1 mte=$2 cell=$1-mte$2 key console t0
	console=$LOGS/$cell.console
	key=$(cell_key "$cell") || {
		# Nothing of an earlier boot may be graded as this one.
		rm -f "$LOGS/$cell.key" "$console" "$LOGS/$cell.boot"
		return 1
	}
	if [ "$RERUN" != 1 ] && [ -f "$console" ] && [ "$(cat "$LOGS/$cell.key" 2>/dev/null)" = "$key" ]; then
		stage "boot: $cell (cached console, RERUN=1 to boot again)"
		return 0
	fi
	stage "boot: $cell${3:+ (again: its first boot failed its grade)}"
	rm -f "$LOGS/$cell.key" "$console" "$LOGS/$cell".hung[0-9]*.console
	[ "${3:-}" = again ] || rm -f "$LOGS/$cell".failed1.*
	t0=$(date +%s)
	if bash "$SCRIPTS/pipeline/boot.sh" "$IMAGE" "$INITRD" "$mode" "$mte" "$console"; then
		echo "$key" >"$LOGS/$cell.key"
		echo ok >"$LOGS/$cell.boot"
	else
		case $? in
		2) echo "timed out after ${BOOT_TIMEOUT:-180}s" >"$LOGS/$cell.boot" ;;
		*) echo "QEMU failed (see $console)" >"$LOGS/$cell.boot" ;;
		esac
	fi
	echo $(($(date +%s) - t0)) >"$LOGS/$cell.seconds"
	stage "boot: $cell finished in $(cat "$LOGS/$cell.seconds")s"
}

# failed_argkey ARG...: what a grading depends on besides the consoles
# and the boot's outcome: the grader, the expectation files' contents and
# the other arguments.
failed_argkey() {
	{
		printf '%s\n' "$@" | awk '$0 == "--boot" { skip = 1; next } skip { skip = 0; next }
			$0 == "--hung" { skip = 1; next } { print }'
		sha1sum "$SCRIPTS/pipeline/parse-cell.py" "${EXPECTS[@]}" 2>/dev/null | cut -d' ' -f1
	} | sha1sum | cut -c1-16
}

# cell_args MODE MTE WHICH: parse-cell.py's arguments for a boot of the
# cell, in ARGS. WHICH: "" for the boot graded now, "failed1." for the
# first boot of a cell booted again after a failed grade (retry_failed):
# that boot's outcome and hung consoles.
cell_args() {
	local mode=$1 mte=$2 cell=$1-mte$2 f
	ARGS=()
	for f in "${EXPECTS[@]}"; do ARGS+=(--expect "$f"); done
	ARGS+=(--boot "$(cat "$LOGS/$cell.${3}boot" 2>/dev/null || echo ok)")
	for f in "$LOGS/$cell.${3}"hung[0-9]*.console; do
		[ ! -f "$f" ] || ARGS+=(--hung "$f")
	done
	[ "$SERIES" = none ] || ARGS+=(--strict-hang)
	# Our tests must all be in the run, whatever the smoke set.
	ARGS+=(--require mte_host_probe --require mte_guest --require mte_userspace)
	# The kernel must use MTE exactly in the MTE-on cells of an MTE kernel.
	if [ "$mte" = on ] && [ "$KCONFIG" != nomte ]; then
		ARGS+=(--want-mte yes)
	else
		ARGS+=(--want-mte no)
	fi
	ARGS+=(--mode "$mode" --mte "$mte")
}

# grade_cell MODE MTE: grade one cell's console.
grade_cell() {
	local mode=$1 mte=$2 cell=$1-mte$2 rc=0 f key argkey args=()
	cell_args "$mode" "$mte" ""
	args=("${ARGS[@]}")
	# A first boot's verdict (retry_failed) holds for the grading it was
	# given: with other expectations, another grader or other arguments
	# the first boot is graded again (its retry stays on record).
	argkey=$(failed_argkey "${args[@]}")
	echo "$argkey" >"$RESULTS/$cell.argkey"
	if [ -f "$LOGS/$cell.failed1.verdict" ] && [ -f "$LOGS/$cell.failed1.console" ] &&
		[ "$(cat "$LOGS/$cell.failed1.argkey" 2>/dev/null)" != "$argkey" ]; then
		cell_args "$mode" "$mte" failed1.
		python3 "$SCRIPTS/pipeline/parse-cell.py" "$LOGS/$cell.failed1.console" "${ARGS[@]}" \
			>"$LOGS/$cell.failed1.verdict" || rc=$?
		[ "$rc" -le 1 ] || die "parse-cell.py failed on $LOGS/$cell.failed1.console"
		rc=0
		echo "$argkey" >"$LOGS/$cell.failed1.argkey"
	fi
	[ ! -f "$LOGS/$cell.failed1.verdict" ] || args+=(--failed "$LOGS/$cell.failed1.verdict")
	# The same console(s), grader and arguments grade the same: reuse.
	key=$( {
		printf '%s\n' "${args[@]}"
		sha1sum "$LOGS/$cell.console" "$LOGS/$cell".hung[0-9]*.console "$LOGS/$cell".failed1.verdict \
			"$SCRIPTS/pipeline/parse-cell.py" \
			"${EXPECTS[@]}" 2>/dev/null
	} | sha1sum | cut -c1-16)
	if [ -f "$RESULTS/$cell.json" ] && [ -f "$RESULTS/$cell.verdict" ] &&
		[ "$(cat "$RESULTS/$cell.gradekey" 2>/dev/null)" = "$key" ]; then
		cat "$RESULTS/$cell.verdict"
		CELLS+=("$RESULTS/$cell.json")
		return 0
	fi
	rm -f "$RESULTS/$cell.gradekey"
	python3 "$SCRIPTS/pipeline/parse-cell.py" "$LOGS/$cell.console" \
		--ktap "$RESULTS/$cell.ktap" --json "$RESULTS/$cell.json" "${args[@]}" >"$RESULTS/$cell.verdict" || rc=$?
	cat "$RESULTS/$cell.verdict"
	[ "$rc" -le 1 ] || die "parse-cell.py failed on $LOGS/$cell.console"
	echo "$key" >"$RESULTS/$cell.gradekey"
	CELLS+=("$RESULTS/$cell.json")
}

# build_state: what tells that the build stages changed something (their
# products' and stamps' sizes and times).
build_state() {
	stat -c '%n %s %y' "$IMAGE" "$INITRD" "$BUILD/.harness-built" "$BUILD/kselftest/.harness-built" 2>/dev/null || true
}

# boot_all: boot the cells, BOOT_JOBS at a time (QEMU TCG mostly keeps one
# host core busy per guest). The disk count ($DU) runs beside them and is
# neither counted nor waited for here.
boot_all() {
	local mode mte cells=()
	for mode in $MODES; do
		for mte in $MTE; do
			cells+=("$mode $mte")
		done
	done
	boot_cells "${cells[@]}"
}

# boot_cells "MODE MTE [again]"...: boot_cell each, BOOT_JOBS at a time.
boot_cells() {
	local cell pids=() p
	for cell in "$@"; do
		while [ "$(jobs -rp | grep -cvx "${DU:-0}")" -ge "$BOOT_JOBS" ]; do
			wait -n || true
		done
		# shellcheck disable=SC2086 # "MODE MTE [again]": its words
		boot_cell $cell &
		pids+=("$!")
	done
	for p in "${pids[@]}"; do
		wait "$p" || true
	done
}

# retry_failed: FAIL_RETRIES=1: boot once more, BOOT_JOBS at a time, each
# cell that failed its grade and was not booted again already; its first
# console and verdict become CELL.failed1.*, the new boot is graded with
# that verdict (parse-cell.py --failed), which the summary then names.
retry_failed() {
	local mode mte cell f again=()
	[ "$FAIL_RETRIES" = 1 ] || return 0
	for mode in $MODES; do
		for mte in $MTE; do
			cell=$mode-mte$mte
			[ ! -f "$LOGS/$cell.failed1.verdict" ] || continue
			[ -f "$RESULTS/$cell.verdict" ] || continue
			head -n1 "$RESULTS/$cell.verdict" | grep -q ": PASS " && continue
			[ -f "$LOGS/$cell.console" ] || continue
			# The key first: an interrupted move leaves no cached boot.
			rm -f "$LOGS/$cell.key" "$RESULTS/$cell.gradekey" "$RESULTS/$cell.json"
			mv -f "$LOGS/$cell.boot" "$LOGS/$cell.failed1.boot" 2>/dev/null || echo ok >"$LOGS/$cell.failed1.boot"
			for f in "$LOGS/$cell".hung[0-9]*.console; do
				[ ! -f "$f" ] || mv "$f" "$LOGS/$cell.failed1.${f#"$LOGS/$cell."}"
			done
			cp "$RESULTS/$cell.argkey" "$LOGS/$cell.failed1.argkey"
			mv "$LOGS/$cell.console" "$LOGS/$cell.failed1.console"
			mv "$RESULTS/$cell.verdict" "$LOGS/$cell.failed1.verdict"
			again+=("$mode $mte")
		done
	done
	[ "${#again[@]}" -gt 0 ] || return 0
	boot_cells "${again[@]/%/ again}"
	CELLS=()
	for mode in $MODES; do
		for mte in $MTE; do
			grade_cell "$mode" "$mte" >/dev/null
		done
	done
	for cell in "${again[@]}"; do
		cat "$RESULTS/${cell% *}-mte${cell#* }.verdict"
	done
}

# lava_jobs: make lava: the run's kernel and initramfs and one LAVA job per
# cell in out/lava/RUN/, each validated with lava-common's job schema.
# LAVA_DEVICE_TYPE (default qemu) and LAVA_URL (where the lab fetches the
# two files; default file:// of that directory) select the lab;
# --lava-run CELL runs that cell's job here with lava-run (run-local.sh).
lava_jobs() {
	local dir=$OUT/lava/$RUN mode mte n
	stage "lava: jobs for ${LAVA_DEVICE_TYPE:-qemu} in $dir"
	rm -rf "$dir" && mkdir -p "$dir/jobs"
	cp "$IMAGE" "$INITRD" "$dir/"
	for mode in $MODES; do
		for mte in $MTE; do
			echo "$mode:$mte:$(PRINT_CMDLINE=1 bash "$SCRIPTS/pipeline/boot.sh" - - "$mode" "$mte" - | head -1)"
		done
	done | /usr/bin/python3 "$SCRIPTS/lava/jobs.py" --run "$RUN" --kernel "$dir/Image" \
		--initrd "$dir/initramfs.cpio" --url "${LAVA_URL:-file://$dir}" \
		--device-type "${LAVA_DEVICE_TYPE:-qemu}" --outdir "$dir/jobs" >/dev/null ||
		die "writing the LAVA jobs failed"
	/usr/bin/python3 "$SCRIPTS/lava/validate.py" "$dir"/jobs/*.yaml >"$dir/validate.txt" ||
		die "a LAVA job does not pass lava-common's schema: $(grep -v '^ok' "$dir/validate.txt" | head -1)"
	n=$(grep -c '^ok' "$dir/validate.txt")
	stage "lava: $n jobs written and valid (lava-common's schema): $dir/jobs"
	[ "$ACTION" != lava-run ] || bash "$SCRIPTS/lava/run-local.sh" "$dir" "$ACTION_CELL"
}

# lock_source: one run per source at a time (trees and build dirs are
# shared state); prepare-tree.sh learns through HARNESS_LOCKED that we hold it.
lock_source() {
	NAME=$(bash "$SCRIPTS/pipeline/prepare-tree.sh" --name)
	mkdir -p "$OUT/base"
	exec 9>"$OUT/base/.lock-${NAME%-*}"
	if ! flock -n 9; then
		stage "prepare: waiting for another run on ${NAME%-*}"
		flock 9
	fi
	export HARNESS_LOCKED=${NAME%-*}
}

# sync_selftest_series: selftests/ is where the tests are edited; a run
# of a Debian base tests what patches/selftests/<family> holds, so bring
# that up to date first when selftests/ (or its generator) changed since
# the last check (make test checks that the committed series is in sync).
# sync_stamp FAMILY: the generator's inputs and output for FAMILY.
sync_stamp() {
	(cd "$ROOT" && find selftests scripts/selftests/mkseries.py "patches/selftests/$1" \
		-type f -print0 | sort -z | xargs -0 sha1sum) | sha1sum | cut -c1-16
}

sync_selftest_series() {
	local fam dir stamp base scratch
	[ -z "${KSRC:-}" ] && [ -z "${STPATCHES:-}" ] || return 0
	fam=$(kernel_family)
	dir=$ROOT/patches/selftests/$fam
	[ -f "$dir/series" ] || return 0
	stamp=$(sync_stamp "$fam")
	[ "$(cat "$OUT/.selftest-sync-$fam" 2>/dev/null)" = "$stamp" ] && return 0
	base=$(family_base "$fam")
	scratch=$(mktemp -d "$OUT/selftest-series.XXXXXX")
	python3 "$ROOT/scripts/selftests/mkseries.py" "$base" pristine "$scratch" >/dev/null
	if ! diff -r -q "$scratch" "$dir" >/dev/null 2>&1; then
		rm -f "$dir"/*.patch "$dir/series"
		cp "$scratch"/* "$dir/"
		stage "selftest series: patches/selftests/$fam written again from selftests/ (commit it)"
		stamp=$(sync_stamp "$fam")
	fi
	rm -rf "$scratch"
	echo "$stamp" >"$OUT/.selftest-sync-$fam"
}

main() {
	local mode mte EXPECT_LIST
	check_args
	EXPECT_LIST=$(expect_files)
	mapfile -t EXPECTS <<<"$EXPECT_LIST"
	[ -n "$EXPECT_LIST" ] || EXPECTS=()
	need_tool aarch64-linux-gnu-gcc make git rsync python3 cpio flex bison bc flock
	PROBE_ONLY=1 bash "$SCRIPTS/pipeline/boot.sh" - - nvhe on -
	lock_source
	sync_selftest_series

	stage "prepare: ${KSRC:-linux-source-$KVER} SERIES=$SERIES"
	# The free-space check (in prepare-tree.sh, before anything is
	# written) also counts this run's build and logs.
	BUILD=$OUT/build/$NAME${VARIANT:+.$VARIANT}-$KCONFIG
	if [ -f "$BUILD/arch/arm64/boot/Image" ]; then
		export HARNESS_EXTRA_KB=65536
	else
		export HARNESS_EXTRA_KB=524288
	fi
	TREE=$(bash "$SCRIPTS/pipeline/prepare-tree.sh")
	KV=$(kernel_version "$TREE")
	RUN=$KV-$SERIES
	if [ "$KCONFIG" != default ]; then
		RUN=$RUN-$KCONFIG
	fi
	RUN=${LABEL:-$RUN}
	BUILD=$OUT/build/$(basename "$TREE")-$KCONFIG
	RESULTS=$OUT/results/$RUN
	LOGS=$OUT/logs/$RUN
	mkdir -p "$RESULTS" "$LOGS"
	# Two sources can have the same run name (a KSRC 6.12.y and Debian's
	# 6.12.y): one run at a time in a logs directory.
	exec 7>"$LOGS/.lock"
	flock 7

	IMAGE=$BUILD/arch/arm64/boot/Image
	INITRD=$BUILD/initramfs.cpio
	# out/ is counted for the Disk line beside the build (one du walk of
	# seconds), and counted again below if the build changed anything.
	built=$(build_state)
	if [ "$ACTION" = verify ]; then
		# Without the locks (fds 7 and 9), and gone with the run.
		disk_usage "$OUT/base/${NAME%-*}" "$TREE" "$BUILD" "$LOGS" "$RESULTS" >"$LOGS/disk.txt" 7>&- 9>&- &
		DU=$!
		trap 'kill "$DU" 2>/dev/null || true' EXIT
	fi
	bash "$SCRIPTS/pipeline/build-kernel.sh" "$TREE" "$BUILD"
	bash "$SCRIPTS/pipeline/build-selftests.sh" "$TREE" "$BUILD"
	bash "$SCRIPTS/pipeline/mkinitramfs.sh" "$BUILD" "$INITRD"
	case $ACTION in
	lava | lava-run)
		lava_jobs
		return
		;;
	shell)
		stage "shell: $ACTION_CELL ($(PRINT_CMDLINE=1 bash "$SCRIPTS/pipeline/boot.sh" - - \
			"${ACTION_CELL%-mte*}" "${ACTION_CELL##*-mte}" - | head -1))"
		# The source's lock is not held through an untimed session.
		exec 9>&-
		bash "$SCRIPTS/pipeline/boot.sh" --shell "$IMAGE" "$INITRD" \
			"${ACTION_CELL%-mte*}" "${ACTION_CELL##*-mte}" -
		return
		;;
	esac

	if [ "$(build_state)" != "$built" ]; then
		wait "$DU" || true
		disk_usage "$OUT/base/${NAME%-*}" "$TREE" "$BUILD" "$LOGS" "$RESULTS" >"$LOGS/disk.txt" 7>&- 9>&- &
		DU=$!
	fi
	RUN_KEY=$(run_key)
	cell_specs
	boot_all
	CELLS=()
	for mode in $MODES; do
		for mte in $MTE; do
			grade_cell "$mode" "$mte"
		done
	done
	retry_failed
	stage "summary: $RUN"
	# A bare base is a control: say in plain words what the host reached.
	[ "$SERIES" = none ] && echo "Host MTE reach: $(python3 "$SCRIPTS/proof/reach-report.py" "$RESULTS")"
	wait "$DU" || true
	python3 "$SCRIPTS/pipeline/summarize.py" --run "$RUN" --out "$OUT/results/summary.txt" \
		--disk "$(cat "$LOGS/disk.txt")" "${CELLS[@]}"
}

# Everything above is only definitions and main and exit share one line:
# bash has read all it will ever read before main runs, so editing this
# script during a run cannot derail the run.
main "$@"; exit
