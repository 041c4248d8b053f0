#!/bin/bash
# mkinitramfs.sh BUILD OUTPUT: pack the guest initramfs (cpio newc,
# uncompressed): busybox-static, /init (scripts/pipeline/guest-init.sh), /tests.txt
# and the selected KVM selftests from BUILD/kselftest/kselftest_install/kvm
# plus the mte_probe module. Tests: the smoke set (configs/smoke.txt, or
# the base's own configs/smoke-<family>.txt, e.g. smoke-6.1.txt; an "a|b"
# line takes the first name that exists) followed by the MTE tests when
# they were installed.
set -eu
. "$(dirname "$0")/../lib.sh"

[ $# = 2 ] || die "usage: mkinitramfs.sh BUILD OUTPUT"
BUILD=$1
OUTPUT=$2
INST=$BUILD/kselftest/kselftest_install/kvm
BUSYBOX=$OUT/busybox/bin/busybox
SMOKE=${SMOKE:-$(family_config smoke)}
MTE_TESTS="mte_host_probe mte_guest mte_userspace"

need_tool cpio
[ -x "$BUSYBOX" ] || die "$BUSYBOX missing (run 'make deps')"
[ -d "$INST" ] || die "$INST missing (build the selftests first)"

# test_list: names of the tests to run, in order.
test_list() {
	local line alt found t
	while read -r line; do
		line=${line%%#*}
		line=$(echo "$line" | tr -d ' \t')
		[ -n "$line" ] || continue
		found=
		for alt in $(echo "$line" | tr '|' ' '); do
			if [ -x "$INST/$alt" ]; then
				found=$alt
				break
			fi
		done
		[ -n "$found" ] || die "smoke test '$line' not built in $INST"
		echo "$found"
	done <"$SMOKE"
	for t in $MTE_TESTS; do
		[ -x "$INST/$t" ] && echo "$t"
	done
	return 0
}

stage "initramfs: $(basename "$OUTPUT")"
STAGING=$(mktemp -d "$OUT/initramfs.XXXXXX")
trap 'rm -rf "$STAGING"' EXIT
mkdir -p "$STAGING"/{bin,sbin,dev,proc,sys,tmp,kvm,etc}
cp "$BUSYBOX" "$STAGING/bin/busybox"
for a in sh mount mkdir cat echo grep sed sync poweroff timeout rm sleep dmesg insmod ls awk; do
	ln -s busybox "$STAGING/bin/$a"
done
install -m 0755 "$ROOT/scripts/pipeline/guest-init.sh" "$STAGING/init"
test_list >"$STAGING/tests.txt"
while read -r t; do
	cp "$INST/$t" "$STAGING/kvm/$t"
done <"$STAGING/tests.txt"
[ -d "$INST/mte_probe" ] && cp -r "$INST/mte_probe" "$STAGING/kvm/mte_probe"
# Fixed mtimes: same inputs give a byte-identical archive (cell cache key).
find "$STAGING" -exec touch -h -d @0 {} +
(cd "$STAGING" && find . | LC_ALL=C sort | cpio -o -H newc --quiet --reproducible \
	--owner=0:0) >"$OUTPUT.tmp"
mv "$OUTPUT.tmp" "$OUTPUT"
