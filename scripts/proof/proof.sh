#!/bin/bash
# proof.sh: the proof matrix of one base (KVER=6.12, the default, or 6.1).
# Shows that the suite goes red where it must: the unpatched base fails,
# upstream 7.3 passes (6.12 only: the oracle is one kernel for all bases),
# a CONFIG_ARM64_MTE=n kernel is enforced, every prefix of the base's
# series boots cleanly, every patch is caught by a named test when left
# out, the base's smoke set does not regress, and deliberate breaks of the
# series (configs/mutations/<KVER>/, 6.12) are each caught, and our fixes
# to upstream (patches/mainline) turn 7.3's failures green (6.12 only).
# Each row runs verify.sh (or reads its results) and records whether the
# control held and how long it took, in out/results/proof/<KVER>/rows/<n>.tsv
# (rows not run keep their last result); then results-rst.py regenerates
# Documentation/results.rst from every base's rows.
# Env: KVER, ROWS (subset of: negative oracle nomte bisect loo regression
# mutation mainline; default all of them that the base has), JOBS, W1 (0: the bisect row
# boots every prefix but skips their W=1 builds; make test, for time).
set -eu
. "$(dirname "$0")/../lib.sh"

SCRIPTS=$ROOT/scripts
[ -z "${KSRC:-}" ] || die "proof.sh runs on Debian's sources (KVER=6.12 or 6.1), not KSRC"
export KVER=${KVER:-6.12}
case " $FAMILIES " in *" $KVER "*) ;; *) die "KVER: no series for '$KVER' (proof bases: $FAMILIES)" ;; esac
if [ "$KVER" = 6.12 ]; then
	ROWS=${ROWS:-negative oracle nomte bisect loo regression mutation mainline}
	# nvhe-lazy too: KVM there resets to the hyp stub while no VM exists,
	# which is where patch 3 shows.
	LOO_MODE="protected nvhe-lazy"
else
	ROWS=${ROWS:-negative nomte bisect loo regression}
	# nVHE too: 6.1's KVM leaves EL2 to the hyp stub while no VM exists,
	# which is where patch 3 shows.
	LOO_MODE="protected-nvhe nvhe"
fi
SERIES_DIR=$ROOT/patches/$KVER
PROOF=$OUT/results/proof/$KVER
WORK=$OUT/proof/$KVER
KV=$(kernel_version "$OUT/trees/deb-$KVER-patches" 2>/dev/null || true)
W1=${W1:-1}
mkdir -p "$PROOF/rows" "$WORK"
BROKEN=0
WHY=()

# inputs_stamp BASE: a short hash of what BASE's rows depend on (the code
# of its series, from each patch's "---" on, so that a reworded message
# keeps its rows; the selftests, the configs, expectations and mutants).
# results-rst.py marks a row recorded under another stamp as stale.
inputs_stamp() {
	{
		# shellcheck disable=SC2016 # sed's $, not the shell's
		series_patches "$ROOT/patches/$1" | xargs -r sed -n '/^---$/,$p'
		# 6.12 carries row 8, our fixes to upstream.
		# shellcheck disable=SC2016
		[ "$1" != 6.12 ] || series_patches "$ROOT/patches/mainline" | xargs -r sed -n '/^---$/,$p'
		cat "$ROOT"/selftests/*.c "$ROOT"/selftests/mte_probe/* \
			"$ROOT"/configs/*.txt "$ROOT"/configs/expect/* "$ROOT/configs/mutations/$1"/*
	} 2>/dev/null | sha1sum | cut -c1-12
}

# record ROW STATUS SECONDS DETAIL [LOG...]: the row's line of the table. ROW
# starts with the row's number, which orders the table. The logs of a row
# that did not hold are explained at the end of the run.
record() {
	printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$(inputs_stamp "$KVER")" \
		>"$PROOF/rows/${1%% *}.tsv"
	stage "proof: $1: $2 ($3 s) $4"
	[ "$2" != holds ] || return 0
	BROKEN=1
	shift 4
	WHY+=("$@")
}

# explain LOG: why a verify run failed, in a few lines that reach CI's
# output: its error lines, failing cells with parse-cell.py's reasons (the
# indented "  CELL: TEST: ..." lines), failing tests, and a hung boot's tail.
explain() {
	echo "--- $1 (what failed):" >&2
	grep -E '^error:|^  \| |^  [a-z0-9-]+-mte[a-z]+: [^|]|^REGRESSION|: FAIL|BAD:|not ok|timed out|Kernel panic|Internal error|BUG:|WARNING:|warning:' \
		"$1" 2>/dev/null | head -n 60 >&2 || true
	tail -n 5 "$1" >&2 2>/dev/null || true
}

# retried LOG: " (booted again: CELLS)" for the cells a verify run booted
# again (after a hang: boot.sh BOOT_RETRIES; after a failed grade:
# verify.sh FAIL_RETRIES; its summary's "Booted again" section), else
# nothing, so that a row never hides a retry. The section's lines, which
# say why, go to standard error: they reach CI's output.
retried() {
	local lines again
	lines=$(awk '/^Booted again/ { s = 1; next } s && /^$/ { s = 0 }
		s && /^  [a-z-]+-mte[a-z]+: / { print }' "$1" 2>/dev/null)
	[ -n "$lines" ] || return 0
	awk -v name="$(basename "$1")" '{ print name ": " $0 }' <<<"$lines" >&2
	again=$(awk '{ sub(/:$/, "", $1); print $1 }' <<<"$lines" | sort -u | tr '\n' ' ')
	echo " (booted again: ${again% })"
}

# verdict LOG: a verify run's last line and what retried says.
verdict() {
	echo "$(tail -n1 "$1")$(retried "$1")"
}

# run_verify LABEL VAR=VALUE...: verify.sh with the given environment, its
# output in $PROOF/LABEL.log and its results under out/results/KVER-LABEL.
run_verify() {
	local label=$1
	shift
	stage "proof: verify $label ($*)"
	env LABEL="$KVER-$label" "$@" bash "$SCRIPTS/pipeline/verify.sh" >"$PROOF/$label.log" 2>&1
}

# series_dir NAME N...: a patch directory holding patches number N... only.
series_dir() {
	local dir=$WORK/$1 n p
	shift
	rm -rf "$dir" && mkdir -p "$dir"
	for n in "$@"; do
		p=$(sed -n "${n}p" "$SERIES_DIR/series")
		cp "$SERIES_DIR/$p" "$dir/"
		echo "$p" >>"$dir/series"
	done
	echo "$dir"
}

# failing_tests LABEL: "cell:test" for every failed test of run_verify
# LABEL, and "cell:timeout" (every boot hung) or "cell:crash" for a cell
# whose boot check failed.
failing_tests() {
	python3 - "$OUT/results/$KVER-$1" <<'PY'
import glob, json, sys
out = []
for path in sorted(glob.glob(sys.argv[1] + "/*.json")):
    c = json.load(open(path))
    if not c["boot_ok"]:
        hung = any(p.startswith("boot timed out") for p in c["problems"])
        out.append("%s:%s" % (c["cell"], "timeout" if hung else "crash"))
    out += ["%s:%s" % (c["cell"], t["name"]) for t in c["tests"]
            if t["status"] == "fail"]
print(" ".join(out))
PY
}

row_negative() {
	local t0=$SECONDS st=holds
	# Same run name as "make control", so its cached cells are reused.
	stage "proof: verify SERIES=none EXPECT=series-none"
	# No second boot for a failed cell here (FAIL_RETRIES=0): a boot whose
	# probes missed the hole is what this row exists to catch.
	SERIES=none EXPECT=series-none FAIL_RETRIES=0 bash "$SCRIPTS/pipeline/verify.sh" >"$PROOF/control-none.log" 2>&1 || st=BROKEN
	# Every probe must see the bad case on the bare base, or it proves
	# nothing where the series makes it pass.
	python3 "$SCRIPTS/proof/reach-report.py" "$OUT/results/$KV-none" --check \
		>"$PROOF/control-reach.txt" || st=BROKEN
	record "1 negative control ($KVER, SERIES=none)" "$st" $((SECONDS - t0)) \
		"$(head -c 2000 "$PROOF/control-reach.txt" | tr '\n' ' ')$(retried "$PROOF/control-none.log")" \
		"$PROOF/control-none.log" "$PROOF/control-reach.txt"
}

# row_oracle and row_nomte use the runs' default names (7.3.x-none,
# 6.12.x-patches-nomte), the names "make verify KVER=7.3 SERIES=none" and
# "make verify KCONFIG=nomte" use too.
row_oracle() {
	local t0=$SECONDS st=holds
	[ "$KVER" = 6.12 ] || die "ROWS: the oracle row (7.3) is run with KVER=6.12"
	# Our tests only: the smoke set guards 6.12 against the series, and
	# 7.3's own debug-exceptions test can WARN under TCG (seen once in
	# mark_page_dirty_in_slot), which says nothing about MTE. The
	# expectation file names the failures 7.3's own injection causes.
	stage "proof: verify KVER=7.3 SERIES=none SMOKE=/dev/null EXPECT=oracle-7.3"
	KVER=7.3 SERIES=none SMOKE=/dev/null EXPECT=oracle-7.3 bash "$SCRIPTS/pipeline/verify.sh" \
		>"$PROOF/oracle-7.3.log" 2>&1 || st=BROKEN
	record "2 upstream oracle (7.3, SERIES=none)" "$st" $((SECONDS - t0)) \
		"$(verdict "$PROOF/oracle-7.3.log")" "$PROOF/oracle-7.3.log"
}

# hung_in_probe DIR CELL: true when CELL's boot in results DIR reached its
# KVM mode, logged no oops, and timed out inside mte_host_probe (its last
# test started and never reported): the stub trap, not some other hang.
hung_in_probe() {
	python3 - "$1/$2" <<'PY'
import json, re, sys
c = json.load(open(sys.argv[1] + ".json"))
ktap = open(sys.argv[1] + ".ktap", errors="replace").read().splitlines()
started = [l for l in ktap if l.startswith("# selftests: ")]
timed_out = any(p.startswith("boot timed out") for p in c["problems"])
wrong = [p for p in c["problems"] if p.startswith(("no 'kvm", "wrong KVM mode", "kernel "))]
ok = (c["reached"] and not wrong and not c["oops"] and timed_out and started
      and started[-1] == "# selftests: kvm: mte_host_probe"
      and not any(re.match(r"(not )?ok \d+ selftests: kvm: mte_host_probe", l) for l in ktap))
sys.exit(0 if ok else 1)
PY
}

# row_mainline: our fixes to upstream (patches/mainline) against the
# oracle. The bare 7.3 must show the teardown bug (its lazy cells hang
# with arm64.nomte; the oracle row shows the other three), and 7.3 with
# the fixes must pass every cell, the lazy ones too, where the oracle's
# expectation file names failures (configs/expect/mainline-7.3.txt).
row_mainline() {
	local t0=$SECONDS st=holds cell hung="" miss=""
	local lazy="nvhe-lazy hvhe-lazy"
	# Only what the row states: no series, variant or expectation of the
	# caller's make command line may leak into its runs.
	local clean=(env -u PATCHES -u VARIANT -u KCONFIG -u EXPECT -u BOOT_RETRIES -u FAIL_RETRIES -u MTE -u MODES)
	[ "$KVER" = 6.12 ] || die "ROWS: the mainline row (7.3) is run with KVER=6.12"
	stage "proof: verify KVER=7.3 SERIES=none MODES='$lazy' MTE=off (the bug)"
	rm -rf "$OUT/results/7.3-oracle-lazy"
	"${clean[@]}" KVER=7.3 SERIES=none LABEL=7.3-oracle-lazy SMOKE=/dev/null MODES="$lazy" \
		MTE=off BOOT_TIMEOUT=90 BOOT_RETRIES=0 FAIL_RETRIES=0 bash "$SCRIPTS/pipeline/verify.sh" \
		>"$PROOF/oracle-lazy.log" 2>&1 || true
	for cell in $lazy; do
		if hung_in_probe "$OUT/results/7.3-oracle-lazy" "$cell-mteoff" 2>/dev/null; then
			hung="$hung $cell-mteoff"
		else
			miss="$miss $cell-mteoff"
		fi
	done
	[ -z "$miss" ] || st=BROKEN
	stage "proof: verify KVER=7.3 SERIES=mainline SMOKE=/dev/null (the fixes)"
	"${clean[@]}" KVER=7.3 SERIES=mainline SMOKE=/dev/null MODES="$(family_modes 7.3) $lazy" \
		MTE="off on forced" EXPECT=mainline-7.3 \
		bash "$SCRIPTS/pipeline/verify.sh" >"$PROOF/mainline-7.3.log" 2>&1 || st=BROKEN
	record "8 our fixes to upstream (7.3, SERIES=mainline)" "$st" $((SECONDS - t0)) \
		"bare 7.3 hung in mte_host_probe in:${hung:- none}${miss:+ (did not in:$miss)}; with the fixes: $(verdict "$PROOF/mainline-7.3.log")" \
		"$PROOF/oracle-lazy.log" "$PROOF/mainline-7.3.log"
}

row_nomte() {
	local t0=$SECONDS st=holds
	stage "proof: verify KCONFIG=nomte"
	KCONFIG=nomte bash "$SCRIPTS/pipeline/verify.sh" >"$PROOF/nomte.log" 2>&1 || st=BROKEN
	record "3 CONFIG_ARM64_MTE=n kernel (patched $KVER)" "$st" $((SECONDS - t0)) \
		"$(verdict "$PROOF/nomte.log")" "$PROOF/nomte.log"
}

# w1_check LABEL: W=1 build of the objects the series touches, from the
# proof tree, in a build directory of its own; prints the warning count.
w1_check() {
	local tree=$OUT/trees/deb-$KVER-patches.proof b=$OUT/build/deb-$KVER-patches.proof-w1 n
	mkdir -p "$b"
	[ -f "$b/.config" ] || cp "$OUT/build/deb-$KVER-patches-default/.config" "$b/.config"
	make -C "$tree" ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- O="$b" \
		-j"${JOBS:-$(nproc)}" W=1 olddefconfig arch/arm64/kernel/cpufeature.o \
		arch/arm64/kernel/cpuinfo.o arch/arm64/kernel/head.o \
		arch/arm64/kvm/arm.o arch/arm64/kvm/sys_regs.o \
		arch/arm64/kvm/hyp/vhe/switch.o arch/arm64/kvm/hyp/nvhe/kvm_nvhe.o >"$PROOF/$1-w1.log" 2>&1 ||
		die "W=1 build failed for $1 (see $PROOF/$1-w1.log)"
	n=$(grep -c 'warning:' "$PROOF/$1-w1.log" || true)
	echo "$n"
}

# row_bisect: prefix 0 (the base) gives the W=1 reference; prefixes 1..N
# are booted in every cell with our tests only and must not crash.
row_bisect() {
	local t0 st k dir n w base_w=0 bad=0 detail="" total logs=()
	total=$(grep -c . "$SERIES_DIR/series")
	rm -f "$PROOF/bisect.tsv"
	for k in $(seq 0 "$total"); do
		t0=$SECONDS
		# shellcheck disable=SC2046
		dir=$(series_dir "prefix-$k" $(seq 1 "$k"))
		if [ "$k" = 0 ]; then
			VARIANT=proof PATCHES=$dir SERIES=patches bash "$SCRIPTS/pipeline/prepare-tree.sh" \
				>"$PROOF/prefix-0.log" 2>&1 || die "preparing the base failed (see $PROOF/prefix-0.log)"
			if [ "$W1" = 0 ]; then
				printf '0 (base)\tW=1 not checked (W1=0)\t-\t%s\n' \
					$((SECONDS - t0)) >>"$PROOF/bisect.tsv"
			else
				base_w=$(w1_check prefix-0)
				printf '0 (base)\tW=1 reference: %s warnings\t-\t%s\n' "$base_w" \
					$((SECONDS - t0)) >>"$PROOF/bisect.tsv"
			fi
			continue
		fi
		st=clean
		rm -rf "$OUT/results/$KVER-prefix-$k"
		if ! run_verify "prefix-$k" VARIANT=proof PATCHES="$dir" SMOKE=/dev/null EXPECT=bisect; then
			# Every test result is acceptable here, so a failed run is
			# either a crashed cell or the harness itself failing.
			st="error: $(tail -n1 "$PROOF/prefix-$k.log")"
		fi
		n=$(failing_tests "prefix-$k" | tr ' ' '\n' | grep -c ':crash$\|:timeout$' || true)
		[ "$n" = 0 ] || st=crash
		w=$base_w
		[ "$W1" = 0 ] || w=$(w1_check "prefix-$k")
		[ "$w" -le "$base_w" ] || {
			st="$st, $w W=1 warnings (base $base_w)"
			logs+=("$PROOF/prefix-$k-w1.log")
		}
		[ "$st" = clean ] || {
			bad=1
			logs+=("$PROOF/prefix-$k.log")
		}
		printf '%s\t%s\t%s\t%s\n' "$k" "$st" "$n" $((SECONDS - t0)) >>"$PROOF/bisect.tsv"
		detail="$detail $k:$st$(retried "$PROOF/prefix-$k.log")"
	done
	[ "$bad" = 0 ] && st=holds || st=BROKEN
	record "4 bisect safety (prefixes 1..$total$([ "$W1" = 1 ] || echo ', W=1 not built'))" "$st" \
		"$(awk -F'\t' '{s += $4} END {print s}' "$PROOF/bisect.tsv")" "$detail" "${logs[@]}"
}

row_loo() {
	local t0=$SECONDS i dir keep caught again st=holds total logs=()
	total=$(grep -c . "$SERIES_DIR/series")
	rm -f "$PROOF/loo.tsv"
	for i in $(seq 1 "$total"); do
		keep=$(seq 1 "$total" | grep -vx "$i" | tr '\n' ' ')
		# shellcheck disable=SC2086
		dir=$(series_dir "without-$i" $keep)
		rm -rf "$OUT/results/$KVER-without-$i"
		caught=""
		# The base's protected mode (hVHE on 6.12, nVHE on 6.1), where a
		# CPU brought back by the pKVM PSCI relay is what patch 1
		# protects, and a mode that resets to the hyp stub (6.12's
		# nvhe-lazy, 6.1's nVHE).
		if ! run_verify "without-$i" VARIANT=proof PATCHES="$dir" SMOKE=/dev/null \
			MODES="$LOO_MODE" MTE="off on"; then
			caught=$(failing_tests "without-$i")
			# A run that failed without a failing test or crashed cell
			# is the harness failing, not a test catching anything.
			[ -n "$caught" ] || {
				st=BROKEN
				caught="harness error: $(tail -n1 "$PROOF/without-$i.log")"
				logs+=("$PROOF/without-$i.log")
			}
		fi
		again=$(retried "$PROOF/without-$i.log")
		printf '%s\t%s\t%s\n' "$i" "$(sed -n "${i}p" "$SERIES_DIR/series")" "${caught:-none}$again" >>"$PROOF/loo.tsv"
		if [ -z "$caught" ] && ! grep -q "^${i}[[:space:]]" "$(family_config untestable)" 2>/dev/null; then
			st=BROKEN
		fi
	done
	record "5 every patch is load-bearing" "$st" $((SECONDS - t0)) "see loo table" "${logs[@]}"
}

# row_mutation: each configs/mutations/<KVER>/*.patch, applied after the
# whole series, breaks it on purpose in one way; booted in the cells its
# Mutant-Modes and Mutant-MTE lines name (our tests only), every one of
# those cells must fail in the way its Mutant-Expect line names (a test,
# or "timeout": the boot hung). A mutant that does not apply, a run that
# fails some other way, or a cell that does not fail breaks the control.
row_mutation() {
	local t0=$SECONDS m name dir caught st=holds total logs=() n=0 modes mte want cell miss
	total=$(grep -c . "$SERIES_DIR/series")
	rm -f "$PROOF/mutation.tsv"
	for m in "$ROOT/configs/mutations/$KVER"/*.patch; do
		[ -f "$m" ] || continue
		n=$((n + 1))
		name=$(basename "$m" .patch)
		modes=$(sed -n 's/^Mutant-Modes: //p' "$m")
		mte=$(sed -n 's/^Mutant-MTE: //p' "$m")
		want=$(sed -n 's/^Mutant-Expect: //p' "$m")
		# shellcheck disable=SC2046
		dir=$(series_dir "mutant-$name" $(seq 1 "$total"))
		cp "$m" "$dir/" && basename "$m" >>"$dir/series"
		rm -rf "$OUT/results/$KVER-mutant-$name"
		run_verify "mutant-$name" VARIANT=proof PATCHES="$dir" SMOKE=/dev/null BOOT_TIMEOUT=90 \
			MODES="$modes" MTE="$mte" || true
		caught=$(failing_tests "mutant-$name")
		miss=""
		for cell in $(for a in $modes; do for b in $mte; do echo "$a-mte$b"; done; done); do
			grep -qE "(^| )$cell:($want)( |\$)" <<<"$caught" || miss="$miss $cell"
		done
		if [ -z "$modes" ] || [ -z "$mte" ] || [ -z "$want" ] || [ -n "$miss" ]; then
			st=BROKEN
			caught="NOT CAUGHT in:${miss:- (no Mutant- lines)} ($(tail -n1 "$PROOF/mutant-$name.log")) ${caught}"
			logs+=("$PROOF/mutant-$name.log")
		fi
		printf '%s\t%s\t%s\n' "$name" "$(sed -n 's/^Subject: \[MUTANT\] //p' "$m")" \
			"$caught" >>"$PROOF/mutation.tsv"
	done
	[ "$n" -gt 0 ] || st=BROKEN
	record "7 every mutant of the series is caught ($n)" "$st" $((SECONDS - t0)) "see mutation table" "${logs[@]}"
}

row_regression() {
	local t0=$SECONDS st=holds out
	out=$(python3 "$SCRIPTS/proof/smoke-compare.py" "$OUT/results/$KV-none" \
		"$OUT/results/${KV}-patches") || st=BROKEN
	echo "$out" >"$PROOF/regression.txt"
	record "6 smoke set regression guard" "$st" $((SECONDS - t0)) \
		"$(tail -n1 "$PROOF/regression.txt")" "$PROOF/regression.txt"
}

main() {
	local row
	for row in $ROWS; do
		case $row in
		negative) row_negative ;;
		oracle) row_oracle ;;
		nomte) row_nomte ;;
		bisect) row_bisect ;;
		loo) row_loo ;;
		regression) row_regression ;;
		mutation) row_mutation ;;
		mainline) row_mainline ;;
		*) die "ROWS: unknown row '$row'" ;;
		esac
	done
	local stamps=() b
	for b in $FAMILIES; do stamps+=("--stamp=$b=$(inputs_stamp "$b")"); done
	python3 "$SCRIPTS/proof/results-rst.py" "$OUT/results" "${stamps[@]}" >"$PROOF/results.rst"
	cp "$PROOF/results.rst" "$ROOT/Documentation/results.rst"
	stage "proof: tables written to Documentation/results.rst"
	if [ "$BROKEN" = 1 ]; then
		for row in "${WHY[@]}"; do explain "$row"; done
		echo "error: a proof-matrix control did not hold (see $PROOF/rows)" >&2
		exit 1
	fi
}

# Only definitions above: bash has read the whole file before main runs, so
# editing this script during a run cannot derail the run.
main "$@"; exit
