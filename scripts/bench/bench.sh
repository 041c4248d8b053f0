#!/bin/bash
# bench.sh: "make bench". Measures, on this machine:
#  1. the hot-path cost of the series: instruction counts of the nVHE
#     hypervisor object, unpatched vs patched 6.12 (scripts/bench/hotpath.py);
#  2. the harness's speed: warm no-change "make verify", "make verify" after
#     editing one patch, each boot's boot-to-verdict time, and (COLD=1) a cold
#     "make verify" in a fresh clone; next to the reference floor, the
#     kernel's own route: make on the unchanged tree plus a plain QEMU boot
#     of the same Image with a trivial init.
# Writes out/results/bench/{hotpath,timings}.txt and regenerates
# Documentation/results.rst. Env: COLD=1 to include the cold measurement.
set -eu
. "$(dirname "$0")/../lib.sh"

SCRIPTS=$ROOT/scripts
BENCH=$OUT/results/bench
WORK=$OUT/bench
mkdir -p "$BENCH" "$WORK"
export KVER=6.12 KCONFIG=default

# build_series SERIES: prepare and build the 6.12 kernel for SERIES; prints
# the build directory.
build_series() {
	local tree build
	tree=$(SERIES=$1 bash "$SCRIPTS/pipeline/prepare-tree.sh" | tail -n1)
	build=$OUT/build/$(basename "$tree")-default
	bash "$SCRIPTS/pipeline/build-kernel.sh" "$tree" "$build" >&2
	echo "$build"
}

# now: the time in nanoseconds.
now() {
	date +%s%N
}

# since T0: seconds elapsed since now() returned T0, to 0.1 s.
since() {
	awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f\n", (b - a) / 1e9 }'
}

# timed NAME CMD...: run CMD (output to $WORK/NAME.log); print its seconds.
timed() {
	local name=$1 t0
	t0=$(now)
	shift
	"$@" >"$WORK/$name.log" 2>&1 || die "$* failed (see $WORK/$name.log)"
	since "$t0"
}

# edited_patches DIR: a copy of patches/6.12 whose first code hunk line is
# changed in a way that still applies (a comment gains a word).
edited_patches() {
	local dir=$1 p
	rm -rf "$dir" && cp -r "$ROOT/patches/6.12" "$dir"
	p=$(grep -l '^+ \* ' "$dir"/*.patch | head -n1)
	sed -i '0,/^+ \* /s//+ * (edited) /' "$p"
	basename "$p"
}

# floor_boot IMAGE: seconds for a plain boot of IMAGE to a trivial init.
floor_boot() {
	local st=$WORK/floor-root t0
	rm -rf "$st" && mkdir -p "$st/bin"
	cp "$OUT/busybox/bin/busybox" "$st/bin/"
	ln -s busybox "$st/bin/sh" && ln -s busybox "$st/bin/poweroff"
	printf '#!/bin/sh\necho floor-init-reached\npoweroff -f\n' >"$st/init"
	chmod +x "$st/init"
	(cd "$st" && find . | cpio -o -H newc --quiet) >"$WORK/floor.cpio"
	t0=$(now)
	timeout 120 qemu-system-aarch64 -machine virt,virtualization=on,mte=on,gic-version=3 \
		-cpu max,pauth-impdef=on -smp 4 -m 1G -nic none -nographic -no-reboot \
		-kernel "$1" -initrd "$WORK/floor.cpio" -append "console=ttyAMA0 panic=-1" \
		>"$WORK/floor-boot.log" 2>&1 || true
	grep -q floor-init-reached "$WORK/floor-boot.log" || die "floor boot did not reach init (see $WORK/floor-boot.log)"
	since "$t0"
}

main() {
	local rc=0 BASE_BUILD NEW_BUILD EDITED warm edit restore TREE floor_make FLOOR_BOOT
	local COLD_LINE cold RUN_DIR NCELLS FLOOR f
	stage "bench: hot paths (unpatched vs patched 6.12)"
	BASE_BUILD=$(build_series none)
	NEW_BUILD=$(build_series patches)
	python3 "$SCRIPTS/bench/hotpath.py" "$BASE_BUILD/arch/arm64/kvm/hyp/nvhe/kvm_nvhe.o" \
		"$NEW_BUILD/arch/arm64/kvm/hyp/nvhe/kvm_nvhe.o" >"$BENCH/hotpath.txt" || rc=$?
	cat "$BENCH/hotpath.txt"

	stage "bench: warm verify (priming run first)"
	bash "$SCRIPTS/pipeline/verify.sh" >"$WORK/prime.log" 2>&1 || warn "priming verify failed (see $WORK/prime.log)"
	warm=$(timed warm bash "$SCRIPTS/pipeline/verify.sh")

	stage "bench: verify after editing one patch"
	EDITED=$(edited_patches "$WORK/patches-edited")
	edit=$(timed edit env PATCHES="$WORK/patches-edited" bash "$SCRIPTS/pipeline/verify.sh")
	stage "bench: restoring the unedited series"
	restore=$(timed restore bash "$SCRIPTS/pipeline/verify.sh")

	stage "bench: reference floor"
	TREE=$OUT/trees/deb-6.12-patches
	floor_make=$(timed floor_make make -C "$TREE" ARCH=arm64 \
		CROSS_COMPILE=aarch64-linux-gnu- O="$NEW_BUILD" -j"$(nproc)" Image modules)
	FLOOR_BOOT=$(floor_boot "$NEW_BUILD/arch/arm64/boot/Image")

	COLD_LINE="cold make verify: not measured (COLD=1 make bench)"
	if [ "${COLD:-0}" = 1 ]; then
		stage "bench: cold verify in a fresh clone"
		rm -rf "$WORK/clone"
		git clone -q "$ROOT" "$WORK/clone"
		cold=$(timed cold make -C "$WORK/clone" verify)
		COLD_LINE="cold make verify (fresh clone, packages present, ccache as left): ${cold} s"
	fi

	RUN_DIR=$(find "$OUT/logs" -maxdepth 1 -name '6.12.*-patches' | head -n1)
	NCELLS=$(find "$RUN_DIR" -name '*.seconds' 2>/dev/null | wc -l)
	FLOOR=$(awk -v m="$floor_make" -v b="$FLOOR_BOOT" -v n="$NCELLS" 'BEGIN { printf "%.1f\n", m + b * n }')
	{
		echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(date -u +%Y-%m-%d)"
		echo "$COLD_LINE"
		echo "warm make verify, nothing changed: ${warm} s"
		echo "make verify after editing one patch ($EDITED): ${edit} s (and ${restore} s to go back)"
		echo "per-boot boot-to-verdict, last patched run:"
		for f in "$RUN_DIR"/*.seconds; do
			[ -f "$f" ] && echo "  $(basename "$f" .seconds): $(cat "$f") s"
		done
		echo "floor: kernel make on the unchanged tree: ${floor_make} s"
		echo "floor: plain QEMU boot of the same Image to a trivial init: ${FLOOR_BOOT} s"
		echo "floor for a warm run (make + one trivial boot per cell, $NCELLS cells): ${FLOOR} s"
		awk -v w="$warm" -v f="$FLOOR" 'BEGIN { if (f > 0) printf "warm verify overhead over the floor: %+.0f%%\n", (w - f) * 100 / f }'
	} >"$BENCH/timings.txt"
	cat "$BENCH/timings.txt"
	python3 "$SCRIPTS/proof/results-rst.py" "$OUT/results" >"$ROOT/Documentation/results.rst"
	stage "bench: written to $BENCH and Documentation/results.rst"
	exit "$rc"
}

# Only definitions above: bash has read the whole file before main runs.
main "$@"
