# shellcheck shell=bash
# lib.sh: helpers shared by the harness scripts (sourced, never run).
# Provides die/warn/stage logging with elapsed time and common paths.

# Repository root and output directory (all build products live under out/).
ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
# HARNESS_OUT moves it (the unit tests use a scratch one); a plain OUT in
# the environment (other build systems export one) is not taken.
OUT=$(realpath -m "${HARNESS_OUT:-$ROOT/out}")
HARNESS_OUT=$OUT
# Harness start time, inherited by child scripts so stage times add up.
HARNESS_T0=${HARNESS_T0:-$(date +%s)}
export ROOT HARNESS_OUT HARNESS_T0

die() {
	echo "error: $*" >&2
	exit 1
}

warn() {
	echo "warning: $*" >&2
}

# stage MSG: print "[  42s] MSG" with the time since the harness started.
stage() {
	printf '[%4ds] %s\n' "$(($(date +%s) - HARNESS_T0))" "$*"
}

# need_tool TOOL...: fail with a one-line error if a tool is not on PATH.
need_tool() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 ||
			die "required tool '$t' not found on PATH (run 'make deps')"
	done
}

# kernel_version TREE: "6.12.117" from the tree's top-level Makefile.
kernel_version() {
	awk -F' *= *' '
		$1 == "VERSION" { v = $2 }
		$1 == "PATCHLEVEL" { p = $2 }
		$1 == "SUBLEVEL" { s = $2 }
		$1 == "EXTRAVERSION" { e = $2 }
		/^NAME/ { exit }
		END { if (v == "") exit 1; printf "%s.%s.%s%s\n", v, p, s, e }
	' "$1/Makefile"
}

# is_kernel_tree DIR: true if DIR looks like a Linux source tree with arm64.
is_kernel_tree() {
	[ -f "$1/Makefile" ] && [ -f "$1/Kconfig" ] &&
		[ -d "$1/arch/arm64" ] && [ -f "$1/scripts/kconfig/merge_config.sh" ] &&
		grep -q '^PATCHLEVEL *=' "$1/Makefile"
}

# kvm_arch_dir TREE: the arm64 KVM selftests directory name (aarch64 or arm64).
kvm_arch_dir() {
	if [ -d "$1/tools/testing/selftests/kvm/arm64" ]; then
		echo arm64
	else
		echo aarch64
	fi
}

# The kernel families the project has a series for (patches/<family>/)
# and Debian ships a linux-source for; 7.3 carries upstream's fix (the
# oracle) and is only run bare.
# shellcheck disable=SC2034 # used by the scripts that source this file
FAMILIES="6.12 6.1"
# The bases the selftest series (patches/selftests/<family>) is made for.
# shellcheck disable=SC2034 # used by the scripts that source this file
SELFTEST_FAMILIES="6.12 6.1 7.3"

# kernel_family: the family of the run's base: KVER (default 6.12), or
# the VERSION.PATCHLEVEL of the tree KSRC ("?" when KSRC has none).
kernel_family() {
	local v
	if [ -n "${KSRC:-}" ]; then
		v=$(kernel_version "$KSRC" 2>/dev/null) || v="?"
		echo "$v" | cut -d. -f1,2
	else
		echo "${KVER:-6.12}"
	fi
}

# patches_dir: the series directory of the run: PATCHES when set, else
# patches/mainline for SERIES=mainline (our fixes to upstream, against
# 7.3), else patches/<family> of the run's base.
patches_dir() {
	if [ "${SERIES:-}" = mainline ]; then
		realpath -m "${PATCHES:-$ROOT/patches/mainline}"
	else
		realpath -m "${PATCHES:-$ROOT/patches/$(kernel_family)}"
	fi
}

# check_mainline_base: die unless the run's base fits its series: our
# fixes to upstream (SERIES=mainline) are against 7.3 only.
check_mainline_base() {
	[ "${SERIES:-}" != mainline ] || [ "$(kernel_family)" = 7.3 ] ||
		die "SERIES=mainline applies to Linux 7.3, not $(kernel_family) (KVER=7.3)"
}

# selftests_dir: the selftest series of the run's base: STPATCHES when
# set, else patches/selftests/<family> (made by make selftest-series).
selftests_dir() {
	realpath -m "${STPATCHES:-$ROOT/patches/selftests/$(kernel_family)}"
}

# family_base FAMILY: the git directory of FAMILY's pristine Debian source
# (out/base/deb-FAMILY, imported first if needed; branch "pristine").
family_base() {
	env -u KSRC -u PATCHES -u STPATCHES KVER="$1" SERIES=none \
		bash "$ROOT/scripts/pipeline/prepare-tree.sh" --base | tail -n 1
}

# family_config NAME: configs/NAME-<family>.txt for the run's base when the
# base has its own (e.g. configs/smoke-6.1.txt), else configs/NAME.txt.
family_config() {
	local f
	f=$ROOT/configs/$1-$(kernel_family).txt
	[ -f "$f" ] || f=$ROOT/configs/$1.txt
	echo "$f"
}

# family_modes FAMILY: the KVM modes a kernel family can boot. 6.1 has no
# hVHE: its protected mode is protected nVHE.
family_modes() {
	case $1 in
	6.1) echo "nvhe protected-nvhe vhe" ;;
	*) echo "nvhe hvhe protected protected-nvhe vhe" ;;
	esac
}

# family_extra_modes FAMILY: modes a family can boot that the default
# matrix leaves out: KVM holding EL2 only while a VM exists
# (kvm.enable_virt_at_load=0, from 6.12; 6.1's nVHE always does that),
# each non-VHE mode booted with maxcpus=2 (-late), whose other CPUs
# come up for the first time after KVM's init, and hibernation (-hib) and
# kexec (-kexec) in the non-protected non-VHE modes (pKVM refuses to
# hibernate and to load a kexec kernel; 6.1 has no hVHE).
family_extra_modes() {
	case $1 in
	6.1) echo "nvhe-late protected-nvhe-late nvhe-hib nvhe-kexec" ;;
	*) echo "nvhe-lazy hvhe-lazy nvhe-late hvhe-late protected-late protected-nvhe-late nvhe-hib hvhe-hib nvhe-kexec hvhe-kexec" ;;
	esac
}

# series_patches DIR: the patch files of the series in order: DIR/series
# (quilt's list) when present, else DIR/*.patch sorted by name.
series_patches() {
	local p
	if [ -f "$1/series" ]; then
		sed -e 's/#.*//' -e 's/[[:space:]].*//' "$1/series" | grep . |
			while read -r p; do echo "$1/$p"; done
	else
		for p in "$1"/*.patch; do
			[ -f "$p" ] && echo "$p"
		done
	fi
	return 0
}

# human KB: "1.7 GB" / "240 MB" for a size in kilobytes.
human() {
	awk -v k="$1" 'BEGIN { if (k >= 1048576) printf "%.1f GB\n", k / 1048576;
		else printf "%d MB\n", (k + 1023) / 1024 }'
}

# free_kb: kilobytes free on the filesystem holding $OUT (HARNESS_FREE_KB
# stands in for df in the unit tests).
free_kb() {
	if [ -n "${HARNESS_FREE_KB:-}" ]; then
		echo "$HARNESS_FREE_KB"
	else
		mkdir -p "$OUT"
		df -Pk "$OUT" | awk 'NR == 2 { print $4 }'
	fi
}

# disk_usage BASE TREE BUILD LOGS RESULTS: one line on what out/ holds for
# a run and in total, from one walk of $OUT: GNU du counts each file and
# directory once per call, so a later argument (out/files, out/) gets only
# what the earlier ones did not hold, and the lines add up to the total.
# Measured before the boots: this run's new consoles are not in it.
# The tree's own share is the tree less the part of the shared store
# (out/files) that is linked into it.
disk_usage() {
	local files=0 rest=0 base=0 tree=0 build=0 logs=0 all=0 size path own fd
	# The store's own total, walked at the same time.
	exec {fd}< <(du -sk "$OUT/files" 2>/dev/null)
	while IFS=$'\t' read -r size path; do
		all=$((all + size))
		case $path in
		"$1") base=$size ;;
		"$2") tree=$size ;;
		"$3") build=$size ;;
		"$4" | "$5") logs=$((logs + size)) ;;
		"$OUT/files") rest=$size ;;
		esac
	done < <(du -sk "$@" "$OUT/files" "$OUT" 2>/dev/null)
	read -r files _ <&"$fd" || files=0
	exec {fd}<&-
	# Only trees link into the store; another run adding to it between
	# the two walks could make this negative.
	own=$((tree - (files - rest)))
	[ "$own" -ge 0 ] || own=0
	echo "Disk: this run holds $(human $((base + tree + build + logs))) in out/:" \
		"tree $(human "$tree") ($(human "$own") its own, the rest shared with other trees)," \
		"build $(human "$build"), source copy $(human "$base"), logs and results $(human "$logs");" \
		"out/ holds $(human "$all") in total, $(human "$(free_kb)") free"
}

# need_space KB WHAT: stop with a one-line error, before anything is
# written, when fewer than KB kilobytes are free for WHAT under $OUT.
need_space() {
	local free
	free=$(free_kb)
	[ "$free" -ge "$1" ] ||
		die "not enough space: $2 needs $(human "$1") free in $OUT, $(human "$free") available (make clean frees runs)"
}
