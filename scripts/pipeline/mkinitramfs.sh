#!/bin/bash
# mkinitramfs.sh BUILD OUTPUT: pack the guest initramfs (cpio newc,
# uncompressed): busybox-static, the runner's tools from Debian's arm64
# packages (out/guest-tools/, deps.sh), /init (scripts/pipeline/guest-init.sh)
# and its /results.awk, /hibernate (guest-hibernate.sh), for KCONFIG=hibernate
# /kexec (guest-kexec.c, built static here), and under
# /kselftest/ a slice of BUILD/kselftest/kselftest_install: the runner
# (run_kselftest.sh, kselftest/, kselftest-list.txt), each collection's
# settings file, the selected tests at their install paths and the
# mte_probe module. /tests.txt lists the selected tests as the runner names
# them ("kvm:get-reg-list", "arm64:mte_userspace"): the smoke set
# (configs/smoke.txt, or the base's own configs/smoke-<family>.txt, e.g.
# smoke-6.1.txt; an "a|b" line takes the first name that was built)
# followed by the MTE tests that were built (KCONFIG=hibernate: no smoke
# set, mte_userspace first).
set -eu
. "$(dirname "$0")/../lib.sh"

[ $# = 2 ] || die "usage: mkinitramfs.sh BUILD OUTPUT"
BUILD=$1
OUTPUT=$2
INST=$BUILD/kselftest/kselftest_install
BUSYBOX=$OUT/busybox/bin/busybox
GUEST=$OUT/guest-tools
MTE_TESTS="mte_host_probe mte_guest mte_userspace"
# A hibernation kernel's cells (KCONFIG=hibernate) hibernate inside
# mte_userspace: it runs first, so that the other two test the resumed
# kernel, and there is no smoke set unless SMOKE names one. The same
# kernel's kexec cells boot their second kernel with /kexec.
KEXEC_SRC=
if [ "${KCONFIG:-}" = hibernate ]; then
	KEXEC_SRC=$ROOT/scripts/pipeline/guest-kexec.c
	SMOKE=${SMOKE:-/dev/null}
	MTE_TESTS="mte_userspace mte_host_probe mte_guest"
fi
SMOKE=${SMOKE:-$(family_config smoke)}

need_tool cpio
[ -x "$BUSYBOX" ] || die "$BUSYBOX missing (run 'make deps')"
[ -f "$GUEST/.done" ] || die "$GUEST missing (run 'make deps')"
[ -f "$INST/kselftest-list.txt" ] || die "$INST/kselftest-list.txt missing (build the selftests first)"

# entry NAME: the runner's "collection:NAME" for a test that was built.
entry() {
	local e
	e=$(awk -F: -v t="$1" '$2 == t { print; exit }' "$INST/kselftest-list.txt")
	[ -n "$e" ] && [ -x "$INST/${e%%:*}/$1" ] && echo "$e"
}

# test_list: the tests to run, in order, as "collection:name".
test_list() {
	local line alt found t
	while read -r line; do
		line=${line%%#*}
		line=$(echo "$line" | tr -d ' \t')
		[ -n "$line" ] || continue
		found=
		for alt in $(echo "$line" | tr '|' ' '); do
			found=$(entry "$alt") && break
		done
		[ -n "$found" ] || die "smoke test '$line' not built in $INST"
		echo "$found"
	done <"$SMOKE"
	for t in $MTE_TESTS; do
		entry "$t" || true
	done
}

# The same inputs (the selftests build's stamp, see build-selftests.sh,
# the smoke list, busybox, the guest tools and the scripts that go in)
# give the same archive: keep the one there is.
STAMP=$( {
	cat "$BUILD/kselftest/.harness-built" 2>/dev/null || date +%s%N
	cat "$GUEST/.done"
	echo "$MTE_TESTS"
	sha1sum "$SMOKE" "$BUSYBOX" "$0" "$ROOT/scripts/pipeline/guest-init.sh" \
		"$ROOT/scripts/pipeline/guest-hibernate.sh" "$ROOT/scripts/pipeline/results.awk" \
		${KEXEC_SRC:+"$KEXEC_SRC"}
} | sha1sum | cut -c1-16)
if [ -f "$OUTPUT" ] && [ "$(cat "$OUTPUT.stamp" 2>/dev/null)" = "$STAMP" ]; then
	stage "initramfs: $(basename "$OUTPUT") up to date"
	exit 0
fi
rm -f "$OUTPUT.stamp"
stage "initramfs: $(basename "$OUTPUT")"
STAGING=$(mktemp -d "$OUT/initramfs.XXXXXX")
trap 'rm -rf "$STAGING"' EXIT
mkdir -p "$STAGING"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,etc,kselftest}
cp -a "$GUEST/." "$STAGING/"
rm -f "$STAGING/.done"
cp "$BUSYBOX" "$STAGING/bin/busybox"
ln -s busybox "$STAGING/bin/sh"
install -m 0755 "$ROOT/scripts/pipeline/guest-init.sh" "$STAGING/init"
install -m 0755 "$ROOT/scripts/pipeline/guest-hibernate.sh" "$STAGING/hibernate"
install -m 0644 "$ROOT/scripts/pipeline/results.awk" "$STAGING/results.awk"
if [ -n "$KEXEC_SRC" ]; then
	need_tool aarch64-linux-gnu-gcc
	aarch64-linux-gnu-gcc -static -O2 -Wall -Wextra -Werror -o "$STAGING/kexec" "$KEXEC_SRC" ||
		die "building /kexec from $KEXEC_SRC failed"
fi
test_list >"$STAGING/tests.txt"
K=$STAGING/kselftest
cp -a "$INST/run_kselftest.sh" "$INST/kselftest" "$INST/kselftest-list.txt" "$K/"
while IFS=: read -r coll t; do
	mkdir -p "$K/$coll"
	cp -a "$INST/$coll/$t" "$K/$coll/$t"
	[ ! -f "$INST/$coll/settings" ] || cp -a "$INST/$coll/settings" "$K/$coll/settings"
done <"$STAGING/tests.txt"
[ ! -d "$INST/kvm/mte_probe" ] || cp -a "$INST/kvm/mte_probe" "$K/kvm/mte_probe"
# Fixed mtimes: same inputs give a byte-identical archive (cell cache key).
find "$STAGING" -exec touch -h -d @0 {} +
(cd "$STAGING" && find . | LC_ALL=C sort | cpio -o -H newc --quiet --reproducible \
	--owner=0:0) >"$OUTPUT.tmp"
mv "$OUTPUT.tmp" "$OUTPUT"
echo "$STAMP" >"$OUTPUT.stamp"
