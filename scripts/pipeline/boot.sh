#!/bin/bash
# boot.sh [--shell] IMAGE INITRD MODE MTE CONSOLE: boot one matrix cell under QEMU
# (TCG, virt with EL2 and MTE) and capture its serial console in CONSOLE.
# MODE: nvhe|hvhe|protected|protected-nvhe|vhe, nvhe-lazy|hvhe-lazy
# (kvm.enable_virt_at_load=0) or nvhe-late|hvhe-late|protected-late|
# protected-nvhe-late (maxcpus=2), nvhe-hib|hvhe-hib (hibernation) or
# nvhe-kexec|hvhe-kexec (kexec, see below), the last four kinds not in the
# default matrix; MTE: on, off (adds
# arm64.nomte) or forced (a CPU without MTE, QEMU's mte=off, booted with
# id_aa64pfr1.mte=2: an override claiming more MTE than the CPU has, which
# the kernel must ignore without touching MTE2 state).
# A hibernation cell boots twice on one disk (NAME.swap beside CONSOLE,
# deleted after): the image kernel (MODE's KVM mode, MTE as asked) runs the
# tests and hibernates in their middle, then the restore kernel (the same
# Image, the other MTE state, resume=/dev/vda) resumes it, and the image
# kernel finishes the run. CONSOLE holds both boots, the second behind the
# line HIB_MARK. MTE: on or off only.
# A kexec cell is one QEMU boot of two kernels: the first (MODE's KVM mode,
# the other MTE state) runs no test and kexecs into the second (the same
# Image and initramfs, MODE's KVM mode, MTE as asked), which runs the tests.
# The second kernel and its command line are on a disk (NAME.kexec beside
# CONSOLE, deleted after; layout in guest-kexec.c); the first kernel prints
# the line KEXEC_MARK just before it boots it. MTE: on or off only.
# --shell (make shell): the guest's shell on this terminal instead of the
# test run, no timeout, CONSOLE unused.
# Env: QEMU (binary, default qemu-system-aarch64), PRINT_CMDLINE (1: print
# the cell's command line, and its machine if not the default, and exit;
# all: the same for every cell of the lists MODE x MTE, named; a
# hibernation cell adds its restore kernel's line, "restore: ...", a kexec
# cell its first kernel's, "kexec from: ..."),
# BOOT_TIMEOUT (s, default 180), TEST_TIMEOUT (per test in the guest, s;
# default: the kselftest settings files' timeouts, 120 s for kvm),
# BOOT_RETRIES (a boot that timed out is booted again this many times,
# default 0; verify.sh passes 1 for runs without our series; the Nth hung
# console is kept as NAME.hungN.console, for a CONSOLE of NAME.console).
# Exit: 0 when QEMU powered off by itself, 2 when every boot timed out (QEMU
# killed), 1 on other errors; on 1 and 2 the console tail is printed.
set -eu
. "$(dirname "$0")/../lib.sh"

SHELL_MODE=0
if [ "${1:-}" = --shell ]; then
	SHELL_MODE=1
	shift
fi
[ $# = 5 ] || die "usage: boot.sh [--shell] IMAGE INITRD MODE MTE CONSOLE"
IMAGE=$1
INITRD=$2
MODE=$3
MTE=$4
CONSOLE=$5
QEMU=${QEMU:-qemu-system-aarch64}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-180}
TEST_TIMEOUT=${TEST_TIMEOUT:-}
BOOT_RETRIES=${BOOT_RETRIES:-0}
MACHINE=virt,virtualization=on,mte=on,gic-version=3
HIB_MARK="# harness: hibernation: the restore kernel boots"
# machine MODE MTE: the machine of a cell: MTE2 except in the forced
# cells; no ITS in the kexec cells. Without EFI the first kernel cannot
# tell the second which memory its GICv3 LPI tables hold (LPIs, once
# enabled, stay enabled), and the second, reusing the tables where the
# redistributors point, overwrote its own text with LPI properties
# (measured: 6.12, an Undefined instruction oops in
# msi_lib_irq_domain_select(), code bytes 0xc2).
machine() {
	local m=$MACHINE
	[ "$2" != forced ] || m=${m/mte=on/mte=off}
	! is_kexec "$1" || m="$m,its=off"
	echo "$m"
}

# cmdline MODE MTE: the kernel command line of a cell.
cmdline() {
	local c="console=ttyAMA0 panic=-1${TEST_TIMEOUT:+ harness.timeout=$TEST_TIMEOUT}"
	local mode=$1
	# MODE-late: only CPUs 0 and 1 boot; 2 and 3 come up for the first
	# time in mte_host_probe, long after KVM's init.
	case $mode in
	nvhe-late | hvhe-late | protected-late | protected-nvhe-late)
		mode=${mode%-late}
		c="$c maxcpus=2"
		;;
	# The image kernel of a hibernation cell; restore_cmdline gives the
	# other boot's.
	nvhe-hib | hvhe-hib)
		mode=${mode%-hib}
		[ "$2" != forced ] || die "a hibernation cell's MTE is 'on' or 'off', not 'forced'"
		c="$c no_console_suspend harness.hib=${3:-suspend}"
		;;
	# The second kernel of a kexec cell, the one tested; first_cmdline
	# gives the first's.
	nvhe-kexec | hvhe-kexec)
		mode=${mode%-kexec}
		[ "$2" != forced ] || die "a kexec cell's MTE is 'on' or 'off', not 'forced'"
		c="$c harness.kexec=${3:-second}"
		;;
	esac
	case $mode in
	nvhe) c="$c kvm-arm.mode=nvhe" ;;
	hvhe) c="$c kvm-arm.mode=nvhe arm64_sw.hvhe=1" ;;
	protected) c="$c kvm-arm.mode=protected" ;;
	protected-nvhe) c="$c kvm-arm.mode=protected arm64_sw.hvhe=0 id_aa64mmfr1.vh=0" ;;
	vhe) ;;
	# KVM holds EL2 only while a VM exists, and resets to the hyp stub
	# when the last one goes: the host then runs under the stub.
	nvhe-lazy) c="$c kvm-arm.mode=nvhe kvm.enable_virt_at_load=0" ;;
	hvhe-lazy) c="$c kvm-arm.mode=nvhe arm64_sw.hvhe=1 kvm.enable_virt_at_load=0" ;;
	*) die "unknown mode '$1' (nvhe, hvhe, protected, protected-nvhe, vhe, nvhe-lazy, hvhe-lazy, one of the first four with -late, nvhe-hib, hvhe-hib, nvhe-kexec, hvhe-kexec)" ;;
	esac
	case $2 in
	on) ;;
	off) c="$c arm64.nomte" ;;
	forced) c="$c id_aa64pfr1.mte=2" ;;
	*) die "MTE must be 'on', 'off' or 'forced', not '$2'" ;;
	esac
	echo "$c"
}

# is_hib MODE: true for a hibernation cell's mode.
is_hib() {
	case $1 in *-hib) return 0 ;; esac
	return 1
}

# is_kexec MODE: true for a kexec cell's mode.
is_kexec() {
	case $1 in *-kexec) return 0 ;; esac
	return 1
}

# first_cmdline MODE MTE: the command line of a kexec cell's first kernel:
# the same KVM mode, the other MTE state.
first_cmdline() {
	local other=on
	[ "$2" != on ] || other=off
	cmdline "$1" "$other" first
}

# restore_cmdline MODE MTE: the command line of a hibernation cell's
# restore kernel: the same KVM mode, the other MTE state, the image's disk.
restore_cmdline() {
	local other=on
	[ "$2" != on ] || other=off
	echo "$(cmdline "$1" "$other" restore) resume=/dev/vda"
}

# probe_qemu: fail unless this QEMU accepts the machine options we need.
probe_qemu() {
	local out rc=0
	command -v "$QEMU" >/dev/null 2>&1 || die "QEMU '$QEMU' not found (run 'make deps')"
	out=$(printf '%s\n' '{"execute":"qmp_capabilities"}' '{"execute":"quit"}' |
		timeout 20 "$QEMU" -machine "$MACHINE" -cpu max,pauth-impdef=on \
			-nodefaults -display none -S -qmp stdio 2>&1) || rc=$?
	out=$(grep -v '^{' <<<"$out" | head -1)
	case $out in
	*mte*) die "$QEMU does not support -machine $MACHINE: $out" ;;
	esac
	if [ "$rc" != 0 ] || [ -n "$out" ]; then
		die "$QEMU cannot start -machine $MACHINE: $out"
	fi
}

if [ "${PROBE_ONLY:-}" = 1 ]; then
	probe_qemu
	exit 0
fi
if [ "${PRINT_CMDLINE:-}" = 1 ]; then
	cmdline "$MODE" "$MTE"
	[ "$(machine "$MODE" "$MTE")" = "$MACHINE" ] || machine "$MODE" "$MTE"
	! is_hib "$MODE" || echo "restore: $(restore_cmdline "$MODE" "$MTE")"
	! is_kexec "$MODE" || echo "kexec from: $(first_cmdline "$MODE" "$MTE")"
	exit 0
fi
# PRINT_CMDLINE=all: MODE and MTE are lists; the lines above for every
# cell, each behind the cell's name (one call for a whole matrix).
if [ "${PRINT_CMDLINE:-}" = all ]; then
	for m in $MODE; do
		for t in $MTE; do
			c=$(cmdline "$m" "$t")
			echo "$m-mte$t $c"
			[ "$(machine "$m" "$t")" = "$MACHINE" ] || echo "$m-mte$t $(machine "$m" "$t")"
			! is_hib "$m" || echo "$m-mte$t restore: $(restore_cmdline "$m" "$t")"
			! is_kexec "$m" || echo "$m-mte$t kexec from: $(first_cmdline "$m" "$t")"
		done
	done
	exit 0
fi
APPEND=$(cmdline "$MODE" "$MTE")
[ -f "$IMAGE" ] || die "kernel image $IMAGE missing"
[ -f "$INITRD" ] || die "initramfs $INITRD missing"
probe_qemu
if [ "$SHELL_MODE" = 1 ]; then
	! is_hib "$MODE" || die "a hibernation cell has no shell: it boots twice"
	! is_kexec "$MODE" || die "a kexec cell has no shell: it boots two kernels"
	echo "QEMU: the cell's shell on this terminal; 'exit' powers off, Ctrl-a x kills QEMU" >&2
	exec "$QEMU" -machine "$(machine "$MODE" "$MTE")" -cpu max,pauth-impdef=on \
		-smp 4 -m 1G -nic none -nographic -no-reboot \
		-kernel "$IMAGE" -initrd "$INITRD" -append "$APPEND harness.shell=1"
fi
case $BOOT_RETRIES in '' | *[!0-9]*) die "BOOT_RETRIES must be a number, not '$BOOT_RETRIES'" ;; esac
mkdir -p "$(dirname "$CONSOLE")"
HUNG=${CONSOLE%.console}.hung
SWAP=${CONSOLE%.console}.swap
KEXEC_DISK=${CONSOLE%.console}.kexec
rm -f "$CONSOLE" "$HUNG"[0-9]*.console
trap 'rm -f "$SWAP" "$KEXEC_DISK"' EXIT

# qemu CMDLINE [QEMU ARG...]: one boot of the cell, its console appended
# to CONSOLE; QEMU's status (124 or 137: timed out).
qemu() {
	local append=$1 rc=0
	shift
	timeout -k 5 "$BOOT_TIMEOUT" "$QEMU" -machine "$(machine "$MODE" "$MTE")" -cpu max,pauth-impdef=on \
		-smp 4 -m 1G -nic none -nographic -no-reboot \
		-kernel "$IMAGE" -initrd "$INITRD" -append "$append" "$@" \
		</dev/null >>"$CONSOLE" 2>&1 || rc=$?
	return "$rc"
}

# kexec_disk: a kexec cell's disk (guest-kexec.c reads it): a 4 KiB
# header with the sizes and the second kernel's command line, the Image
# from 4 KiB, the initramfs from the next 4 KiB boundary.
kexec_disk() {
	local img rd
	img=$(stat -c %s "$IMAGE")
	rd=$(stat -c %s "$INITRD")
	rm -f "$KEXEC_DISK"
	printf 'harness-kexec %s %s\n%s\n' "$img" "$rd" "$APPEND" >"$KEXEC_DISK"
	# arm64's COMMAND_LINE_SIZE
	[ "${#APPEND}" -lt 2048 ] || die "kexec: the second kernel's command line is too long"
	truncate -s 4096 "$KEXEC_DISK"
	cat "$IMAGE" >>"$KEXEC_DISK"
	truncate -s $((4096 + (img + 4095) / 4096 * 4096)) "$KEXEC_DISK"
	cat "$INITRD" >>"$KEXEC_DISK"
}

# boot_cell: the cell's boot, or a hibernation cell's two (the restore
# kernel only once the image kernel powered off by itself, each with its
# own BOOT_TIMEOUT); the status of the last one.
boot_cell() {
	local disk rc=0
	: >"$CONSOLE"
	if is_kexec "$MODE"; then
		kexec_disk
		# shellcheck disable=SC2054 # QEMU's option values hold the commas
		disk=(-drive "if=none,id=kexec,format=raw,readonly=on,file=$KEXEC_DISK"
			-device virtio-blk-device,drive=kexec)
		qemu "$(first_cmdline "$MODE" "$MTE")" "${disk[@]}" || return
		return 0
	fi
	if ! is_hib "$MODE"; then
		qemu "$APPEND" || return
		return 0
	fi
	rm -f "$SWAP"
	truncate -s 512M "$SWAP"
	# shellcheck disable=SC2054 # QEMU's option values hold the commas
	disk=(-drive "if=none,id=swap,format=raw,file=$SWAP" -device virtio-blk-device,drive=swap)
	qemu "$APPEND" "${disk[@]}" || return
	# On a line of its own, whatever the first boot printed last.
	printf "\n%s\n" "$HIB_MARK" >>"$CONSOLE"
	qemu "$(restore_cmdline "$MODE" "$MTE")" "${disk[@]}" || rc=$?
	rm -f "$SWAP"
	return "$rc"
}

tries=0
while :; do
	rc=0
	boot_cell || rc=$?
	case $rc in 124 | 137) ;; *) break ;; esac
	[ "$tries" -lt "$BOOT_RETRIES" ] || break
	# A guest that hung once may be TCG on a loaded host: boot it again,
	# keeping the hung console for parse-cell.py, which fails the cell if
	# that boot showed anything but the hang (see testing.rst, Grading).
	tries=$((tries + 1))
	mv "$CONSOLE" "$HUNG$tries.console"
	echo "note: $MODE-mte$MTE: boot timed out after ${BOOT_TIMEOUT}s, booting it again" \
		"(hung console: $HUNG$tries.console)" >&2
done
case $rc in
0) exit 0 ;;
124 | 137)
	echo "error: $MODE-mte$MTE: boot timed out after ${BOOT_TIMEOUT}s; console tail:" >&2
	tail -n 20 "$CONSOLE" | sed 's/^/  | /' >&2
	exit 2
	;;
*)
	echo "error: $MODE-mte$MTE: QEMU exited with status $rc; console tail:" >&2
	tail -n 20 "$CONSOLE" | sed 's/^/  | /' >&2
	exit 1
	;;
esac
