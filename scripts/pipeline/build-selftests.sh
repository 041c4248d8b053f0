#!/bin/bash
# build-selftests.sh TREE BUILD: cross-build the kselftests the cells run,
# statically: kselftest-install TARGETS="kvm arm64" with ARM64_SUBTARGETS=mte
# (the KVM tests, and the arm64 MTE tests with mte_userspace), KDIR=BUILD for
# test modules; on 6.1, whose lib.mk has no TEST_GEN_MODS_DIR, mte_probe.ko
# is built with M= as its selftest patch says. Output:
# BUILD/kselftest/kselftest_install/. Log: $OUT/logs/selftests-<name>.log.
set -eu
. "$(dirname "$0")/../lib.sh"

[ $# = 2 ] || die "usage: build-selftests.sh TREE BUILD"
TREE=$(realpath "$1")
mkdir -p "$2"
BUILD=$(realpath "$2")
JOBS=${JOBS:-$(nproc)}
NAME=$(basename "$BUILD")
LOG=$OUT/logs/selftests-$NAME.log
INSTALL=$BUILD/kselftest/kselftest_install

need_tool aarch64-linux-gnu-gcc make
[ -f "$BUILD/arch/arm64/boot/Image" ] || die "build the kernel in $BUILD first"
export PATH=/usr/lib/ccache:$PATH CCACHE_BASEDIR=$OUT

# fresh_module: mte_probe.ko is built inside the tree, which the default
# and KCONFIG=nomte builds share, and kbuild's command lines do not name
# KDIR, so a module built for one kernel would be taken for the other.
# Drop its objects when the kernel it was built for changes.
fresh_module() {
	local dir=$TREE/tools/testing/selftests/kvm/mte_probe
	[ -d "$dir" ] || return 0
	[ "$(cat "$dir/.harness-kdir" 2>/dev/null)" = "$BUILD" ] && return 0
	find "$dir" -maxdepth 1 \( -name '*.o' -o -name '*.ko' -o -name '*.mod' \
		-o -name '*.mod.c' -o -name '.*.cmd' -o -name Module.symvers \
		-o -name modules.order \) -delete
	echo "$BUILD" >"$dir/.harness-kdir"
}

# build_module: a lib.mk without TEST_GEN_MODS_DIR (6.1) neither builds nor
# installs mte_probe.ko (its selftest series hooks nothing there): build
# it against BUILD and put it where kselftest-install puts it elsewhere.
build_module() {
	local dir=$TREE/tools/testing/selftests/kvm/mte_probe
	local dest=$INSTALL/kvm/mte_probe
	[ -d "$dir" ] || return 0
	grep -qs TEST_GEN_MODS_DIR "$TREE/tools/testing/selftests/lib.mk" && return 0
	make -C "$BUILD" ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- \
		-j"$JOBS" M="$dir" modules >>"$LOG" 2>&1 || {
		grep -E 'error|Error' "$LOG" | tail -15 >&2
		die "mte_probe.ko build failed (see $LOG)"
	}
	mkdir -p "$dest"
	cp "$dir/mte_probe.ko" "$dest/mte_probe.ko"
}

# built_stamp: the tree's commit, the kernel build (its own stamp, see
# build-kernel.sh) and this script: a match means nothing to rebuild.
built_stamp() {
	{
		git -C "$TREE" rev-parse HEAD 2>/dev/null || echo "no git"
		cat "$BUILD/.harness-built" 2>/dev/null || echo "no kernel stamp"
		sha1sum <"$0"
	} | sha1sum | cut -c1-16
}

main() {
	local stamp
	stamp=$(built_stamp)
	if [ -f "$BUILD/.harness-built" ] && [ -f "$INSTALL/kselftest-list.txt" ] &&
		[ "$(cat "$BUILD/kselftest/.harness-built" 2>/dev/null)" = "$stamp" ]; then
		stage "build: selftests up to date ($NAME)"
		return 0
	fi
	rm -f "$BUILD/kselftest/.harness-built"
	stage "build: kvm and arm64 selftests ($NAME)"
	fresh_module
	make -C "$TREE" ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- O="$BUILD" \
		-j"$JOBS" KDIR="$BUILD" USERLDFLAGS=-static \
		kselftest-install TARGETS="kvm arm64" ARM64_SUBTARGETS=mte >"$LOG" 2>&1 || {
		grep -E 'error|Error' "$LOG" | tail -15 >&2
		die "kvm selftests build failed (see $LOG)"
	}
	[ -d "$INSTALL/kvm" ] || die "no kselftest_install/kvm produced (see $LOG)"
	build_module
	echo "$stamp" >"$BUILD/kselftest/.harness-built"
}

# main and exit on one line: editing this file during a run is harmless.
main "$@"; exit
