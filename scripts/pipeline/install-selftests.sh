#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# install-selftests.sh <kernel-tree>
#
# Copies the MTE KVM selftests (selftests/mte_*.c) and their helper module
# (selftests/mte_probe/) into the KVM selftest directory of a Linux source
# tree and hooks them into its Makefile. Handles both layouts:
#   6.12: tools/testing/selftests/kvm/aarch64/, kvm/Makefile,
#         TEST_GEN_PROGS_aarch64 += aarch64/<test>
#   7.x:  tools/testing/selftests/kvm/arm64/, kvm/Makefile.kvm,
#         TEST_GEN_PROGS_arm64 += arm64/<test>
# (6.1 has the 6.12 layout; see below for its tools/include.) The module
# source goes to tools/testing/selftests/kvm/mte_probe/ and is hooked with
# TEST_GEN_MODS_DIR := mte_probe (lib.mk installs
# $(notdir TEST_GEN_MODS_DIR)/*.ko relative to the kvm directory, so the
# module directory has to sit directly in kvm/). A lib.mk without
# TEST_GEN_MODS_DIR (6.1) gets no hook: build-selftests.sh then builds the
# module with "make -C <build> M=.../kvm/mte_probe" and copies it to
# kselftest_install/kvm/mte_probe/. Running it twice changes nothing.
#
# Then, in the tree (KDIR = the built kernel the module is for; it is needed
# because kselftest's gen_mods_dir builds the module against it, and without
# it the module is silently not built and the install step fails):
#   make ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- O=/abs/build \
#        KDIR=/abs/build USERLDFLAGS=-static TARGETS=kvm kselftest-install
# installs to /abs/build/kselftest/kselftest_install/kvm/
# (tests in aarch64/ or arm64/, module in mte_probe/mte_probe.ko), and
#   make ... O=/abs/build KDIR=/abs/build TARGETS=kvm kselftest
# runs them (on the target).
set -eu

die() {
	echo "install-selftests.sh: $*" >&2
	exit 1
}

[ $# -eq 1 ] || die "usage: install-selftests.sh <kernel-tree>"

tree=$1
here=$(cd "$(dirname "$0")" && pwd)
src=$here/../../selftests
kvm=$tree/tools/testing/selftests/kvm
tests="mte_host_probe mte_guest mte_userspace"
marker="# MTE host/guest enforcement selftests (scripts/pipeline/install-selftests.sh)"

if [ ! -f "$tree/Makefile" ] || [ ! -f "$tree/arch/arm64/Kconfig" ] ||
	[ ! -d "$kvm" ]; then
	die "$tree is not a Linux kernel source tree"
fi

if [ -f "$kvm/Makefile.kvm" ]; then
	mk=$kvm/Makefile.kvm
	dir=arm64
elif grep -q '^TEST_GEN_PROGS_aarch64' "$kvm/Makefile"; then
	mk=$kvm/Makefile
	dir=aarch64
else
	die "unknown KVM selftest Makefile layout in $kvm"
fi
var=TEST_GEN_PROGS_$dir
mods=
if grep -qs TEST_GEN_MODS_DIR "$tree/tools/testing/selftests/lib.mk"; then
	mods="TEST_GEN_MODS_DIR := mte_probe"
fi

for t in $tests; do
	[ -f "$src/$t.c" ] || die "missing $src/$t.c"
done

# Copy only when the content differs, so a second run touches nothing.
copy() {
	cmp -s "$1" "$2" 2>/dev/null || cp --remove-destination "$1" "$2"
}

for t in $tests; do
	copy "$src/$t.c" "$kvm/$dir/$t.c"
done
mkdir -p "$kvm/mte_probe"
# Debian's 6.1.192 kvm/aarch64/vgic_init.c (a stable backport) includes
# <linux/bitfield.h>, which that tree's tools/include lacks, so the kvm
# target does not build at all; later trees have one there. Give it the
# kernel's own header, which builds in userspace.
bf=$tree/tools/include/linux/bitfield.h
if [ ! -f "$bf" ] && [ -f "$tree/include/linux/bitfield.h" ] &&
	grep -rqs --include='*.[ch]' '<linux/bitfield.h>' "$kvm"; then
	copy "$tree/include/linux/bitfield.h" "$bf"
fi
copy "$src/mte_probe/mte_probe.c" "$kvm/mte_probe/mte_probe.c"
copy "$src/mte_probe/Makefile" "$kvm/mte_probe/Makefile"

# Debian's 6.1.192 dirty_log_test.c (a stable backport) uses
# TEST_ASSERT_EQ(), which that tree's library lacks: leave out the tree's
# own tests that cannot build there, or the kvm target builds nothing.
broken=
if ! grep -qs 'define TEST_ASSERT_EQ' "$kvm/include/test_util.h"; then
	broken=$(grep -l 'TEST_ASSERT_EQ(' "$kvm"/*.c "$kvm/$dir"/*.c 2>/dev/null |
		sed "s|^$kvm/||; s|\.c\$||" | tr '\n' ' ')
	broken=${broken:+ ${broken% }}
fi

if ! grep -qF "$marker" "$mk"; then
	# Insert after the last "$var +=" line, i.e. before the Makefile
	# folds the per-arch list into TEST_GEN_PROGS and includes lib.mk.
	last=$(grep -n "^${var}[[:space:]]*+=" "$mk" | tail -n 1 | cut -d: -f1)
	[ -n "$last" ] || die "no '$var +=' line in $mk"
	block=$(mktemp)
	trap 'rm -f "$block"' EXIT
	{
		echo "$marker"
		for t in $tests; do
			echo "$var += $dir/$t"
		done
		[ -z "$mods" ] || echo "$mods"
		[ -z "$broken" ] ||
			echo "$var := \$(filter-out$broken,\$($var))"
	} >"$block"
	tmp=$mk.tmp.$$
	sed "${last}r $block" "$mk" >"$tmp"
	mv "$tmp" "$mk"
fi

echo "installed MTE selftests into $kvm ($dir/, mte_probe/, $(basename "$mk")${mods:+, $mods})"
