#!/bin/bash
# boot.sh [--shell] IMAGE INITRD MODE MTE CONSOLE: boot one matrix cell under QEMU
# (TCG, virt with EL2 and MTE) and capture its serial console in CONSOLE.
# MODE: nvhe|hvhe|protected|protected-nvhe|vhe, nvhe-lazy|hvhe-lazy
# (kvm.enable_virt_at_load=0) or nvhe-late|hvhe-late|protected-late|
# protected-nvhe-late (maxcpus=2), or nvhe-hib|hvhe-hib (hibernation, see
# below), the last three kinds not in the default matrix; MTE: on, off (adds
# arm64.nomte) or forced (a CPU without MTE, QEMU's mte=off, booted with
# id_aa64pfr1.mte=2: an override claiming more MTE than the CPU has, which
# the kernel must ignore without touching MTE2 state).
# A hibernation cell boots twice on one disk (NAME.swap beside CONSOLE,
# deleted after): the image kernel (MODE's KVM mode, MTE as asked) runs the
# tests and hibernates in their middle, then the restore kernel (the same
# Image, the other MTE state, resume=/dev/vda) resumes it, and the image
# kernel finishes the run. CONSOLE holds both boots, the second behind the
# line HIB_MARK. MTE: on or off only.
# --shell (make shell): the guest's shell on this terminal instead of the
# test run, no timeout, CONSOLE unused.
# Env: QEMU (binary, default qemu-system-aarch64), PRINT_CMDLINE (1: print
# the cell's command line, and its machine if not the default, and exit;
# all: the same for every cell of the lists MODE x MTE, named),
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
# The machine of a cell: MTE2 except in the forced cells.
machine() {
	if [ "$1" = forced ]; then
		echo "${MACHINE/mte=on/mte=off}"
	else
		echo "$MACHINE"
	fi
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
	*) die "unknown mode '$1' (nvhe, hvhe, protected, protected-nvhe, vhe, nvhe-lazy, hvhe-lazy, one of the first four with -late, nvhe-hib, hvhe-hib)" ;;
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
	[ "$MTE" != forced ] || machine "$MTE"
	! is_hib "$MODE" || echo "restore: $(restore_cmdline "$MODE" "$MTE")"
	exit 0
fi
# PRINT_CMDLINE=all: MODE and MTE are lists; the lines above for every
# cell, each behind the cell's name (one call for a whole matrix).
if [ "${PRINT_CMDLINE:-}" = all ]; then
	for m in $MODE; do
		for t in $MTE; do
			c=$(cmdline "$m" "$t")
			echo "$m-mte$t $c"
			[ "$t" != forced ] || echo "$m-mte$t $(machine "$t")"
			! is_hib "$m" || echo "$m-mte$t restore: $(restore_cmdline "$m" "$t")"
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
	echo "QEMU: the cell's shell on this terminal; 'exit' powers off, Ctrl-a x kills QEMU" >&2
	exec "$QEMU" -machine "$(machine "$MTE")" -cpu max,pauth-impdef=on \
		-smp 4 -m 1G -nic none -nographic -no-reboot \
		-kernel "$IMAGE" -initrd "$INITRD" -append "$APPEND harness.shell=1"
fi
case $BOOT_RETRIES in '' | *[!0-9]*) die "BOOT_RETRIES must be a number, not '$BOOT_RETRIES'" ;; esac
mkdir -p "$(dirname "$CONSOLE")"
HUNG=${CONSOLE%.console}.hung
SWAP=${CONSOLE%.console}.swap
rm -f "$CONSOLE" "$HUNG"[0-9]*.console
trap 'rm -f "$SWAP"' EXIT

# qemu CMDLINE [QEMU ARG...]: one boot of the cell, its console appended
# to CONSOLE; QEMU's status (124 or 137: timed out).
qemu() {
	local append=$1 rc=0
	shift
	timeout -k 5 "$BOOT_TIMEOUT" "$QEMU" -machine "$(machine "$MTE")" -cpu max,pauth-impdef=on \
		-smp 4 -m 1G -nic none -nographic -no-reboot \
		-kernel "$IMAGE" -initrd "$INITRD" -append "$append" "$@" \
		</dev/null >>"$CONSOLE" 2>&1 || rc=$?
	return "$rc"
}

# boot_cell: the cell's boot, or a hibernation cell's two (the restore
# kernel only once the image kernel powered off by itself, each with its
# own BOOT_TIMEOUT); the status of the last one.
boot_cell() {
	local disk rc=0
	: >"$CONSOLE"
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
