#!/bin/bash
# tests/run.sh: unit tests of the harness itself (fast, no kernel build, no
# real boot): the console parser and summary on canned consoles in
# tests/fixtures/, boot.sh against a fake QEMU (no MTE, hang, panic),
# prepare-tree.sh on a tiny fake kernel tree (bad KSRC, a series that does
# not apply, mtime preservation, user tree untouched), the .config check
# and a missing cross compiler. Prints TAP and "N passed, N failed".
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
FIX=$HERE/fixtures
S=$ROOT/scripts
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export HARNESS_OUT=$TMP/out HARNESS_T0
OUT=$HARNESS_OUT
HARNESS_T0=$(date +%s)
mkdir -p "$OUT"
N=0
FAILED=0

# t NAME WANT_RC REGEX CMD...: run CMD, want exit status WANT_RC ("nz" for
# any non-zero) and REGEX (grep -E) somewhere in its stdout+stderr.
t() {
	local name=$1 want=$2 re=$3 rc=0 out
	shift 3
	N=$((N + 1))
	out=$("$@" 2>&1) || rc=$?
	if { [ "$want" = nz ] && [ "$rc" != 0 ]; } || [ "$want" = "$rc" ]; then
		if grep -Eq -- "$re" <<<"$out"; then
			echo "ok $N $name"
			return 0
		fi
	fi
	FAILED=$((FAILED + 1))
	echo "not ok $N $name (exit $rc, want $want, /$re/)"
	tail -15 <<<"$out" | sed 's/^/#   /'
}

# ok NAME CMD...: CMD must succeed (a shell condition).
ok() {
	local name=$1
	shift
	N=$((N + 1))
	if "$@"; then echo "ok $N $name"; else
		FAILED=$((FAILED + 1))
		echo "not ok $N $name"
	fi
}

parse() {
	python3 "$S/pipeline/parse-cell.py" "$@"
}

# fake_tree DIR: the smallest tree prepare-tree.sh accepts.
fake_tree() {
	mkdir -p "$1/arch/arm64/kvm" "$1/scripts/kconfig" "$1/tools/testing/selftests/kvm/aarch64"
	printf 'VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 0\nEXTRAVERSION =\nNAME = Fake\n' >"$1/Makefile"
	echo 'mainmenu "fake"' >"$1/Kconfig"
	printf 'config ARM64\nconfig ARM64_MTE\nmenuconfig KVM\n' >"$1/arch/arm64/Kconfig"
	touch "$1/scripts/kconfig/merge_config.sh"
	printf 'TEST_GEN_PROGS_aarch64 = aarch64/foo\nTEST_GEN_PROGS_aarch64 += aarch64/bar\n' \
		>"$1/tools/testing/selftests/kvm/Makefile"
	printf 'one\n' >"$1/arch/arm64/kvm/a.c"
	printf 'two\n' >"$1/arch/arm64/kvm/b.c"
	touch "$1/tools/testing/selftests/kvm/aarch64/foo.c"
}

# mkpatch TREE FILE OLD NEW NAME OUTDIR: a git-am-able patch changing FILE.
mkpatch() {
	local d=$TMP/mkpatch
	rm -rf "$d" && mkdir -p "$d"
	cp -r "$1/." "$d/"
	git -C "$d" init -q && git -C "$d" add -Af . &&
		git -C "$d" -c user.name=t -c user.email=t@t commit -qm base
	sed -i "s/$3/$4/" "$d/$2"
	git -C "$d" -c user.name=t -c user.email=t@t commit -qam "$5"
	git -C "$d" format-patch -q -1 --stdout >"$6/$5.patch"
}

tree_sum() {
	(cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha1sum | sha1sum)
}

echo "TAP version 13"

# --- parse-cell.py on canned consoles ------------------------------------
t "parser: complete nvhe console passes" 0 'nvhe-mteoff: PASS.*4 passed, 0 failed, 0 skipped' \
	parse "$FIX/console-pass.log" --mode nvhe --mte off --ktap "$TMP/p.ktap" --json "$TMP/p.json"
ok "parser: KTAP file ends with the completion marker" grep -qx '# harness: done' "$TMP/p.ktap"
ok "parser: KTAP file has no kernel log lines" bash -c "! grep -q '^\[' $TMP/p.ktap"
t "parser: wrong KVM mode fails the cell" 1 "wrong KVM mode: reached 'VHE'" \
	parse "$FIX/console-wrongmode.log" --mode nvhe --mte off
t "parser: VHE+NV2 counts as vhe" 0 'vhe-mteon: PASS' \
	parse <(sed 's/Hyp nVHE mode/VHE+NV2 mode/' "$FIX/console-pass.log") --mode vhe --mte on
t "parser: protected wants Protected hVHE" 1 'wrong KVM mode' \
	parse "$FIX/console-pass.log" --mode protected --mte on
t "parser: a lazy cell whose host probe ran no idle phase fails" 1 'mte_host_probe: .*ran no idle phase under the hyp stub' \
	parse "$FIX/console-pass.log" --mode nvhe-lazy --mte off
t "parser: a lazy cell with the idle phase passes" 0 'nvhe-lazy-mteoff: PASS' \
	parse <(sed 's/# ok 1 boot: MRS GCR_EL1: UNDEF/# ok 1 idle (hyp stub, no VM): MRS GCR_EL1 accessible (control)/' \
		"$FIX/console-pass.log") --mode nvhe-lazy --mte off
t "parser: 6.1's plain 'Hyp mode' counts as nvhe" 0 'nvhe-mteoff: PASS' \
	parse <(sed 's/Hyp nVHE mode/Hyp mode/' "$FIX/console-pass.log") --mode nvhe --mte off
t "parser: plain 'Hyp mode' is not hvhe" 1 "wrong KVM mode: reached 'Hyp'" \
	parse <(sed 's/Hyp nVHE mode/Hyp mode/' "$FIX/console-pass.log") --mode hvhe --mte off
t "parser: plain 'Hyp mode' is not protected-nvhe" 1 "wrong KVM mode: reached 'Hyp'" \
	parse <(sed 's/Hyp nVHE mode/Hyp mode/' "$FIX/console-pass.log") --mode protected-nvhe --mte off
t "parser: panic fails, oops lines printed" 1 'crashed: plan 1..3 but 1 results.*|\| .*Internal error: Oops' \
	parse "$FIX/console-panic.log" --mode nvhe --mte off
t "parser: panic console shows Kernel panic line" 1 '\| .*Kernel panic - not syncing' \
	parse "$FIX/console-panic.log" --mode nvhe --mte off
t "parser: WARNING fails the cell" 1 'kernel oops/panic/warning: .*WARNING: CPU: 1' \
	parse "$FIX/console-warn.log" --mode nvhe --mte off
t "parser: a warning's first call trace is named, frame by frame" 1 \
	'first call trace: mark_page_dirty_in_slot\+0xd0/0xe8 < user_mem_abort\+0x10/0x20 < kvm_handle_guest_abort\+0x8/0x9$' \
	parse <(sed '5a\
[    1.000001] Call trace:\
[    1.000002]  mark_page_dirty_in_slot+0xd0/0xe8\
[    1.000003]  user_mem_abort+0x10/0x20\
[    1.000004]  kvm_handle_guest_abort+0x8/0x9\
[    1.000005] ---[ end trace 0000000000000000 ]---' "$FIX/console-warn.log") --mode nvhe --mte off
t "parser: stream ending early is incomplete" 1 'incomplete: plan 1..3 but 1 results' \
	parse "$FIX/console-truncated.log" --mode nvhe --mte off
t "parser: missing marker is incomplete" 1 "incomplete: no '# Totals'" \
	parse <(grep -v '^# harness: done' "$FIX/console-pass.log") --mode nvhe --mte off
t "parser: no KTAP at all is incomplete" 1 'incomplete: no KTAP stream' \
	parse <(head -4 "$FIX/console-pass.log") --mode nvhe --mte off
t "parser: MTE test SKIP in a non-VHE cell fails" 1 'mte_host_probe: skipped in a non-VHE cell' \
	parse "$FIX/console-mteskip.log" --mode nvhe --mte off
t "parser: MTE test SKIP in vhe is a skip, not a pass" 0 'vhe-mteoff: PASS.*3 passed, 0 failed, 1 skipped' \
	parse <(sed 's/Hyp nVHE mode/VHE mode/' "$FIX/console-mteskip.log") --mode vhe --mte off
t "parser: failing test fails the cell, subtest named" 1 'mte_host_probe: failed \(exit=1 subtests: boot: MSR GCR_EL1' \
	parse "$FIX/console-hostfail.log" --mode nvhe --mte off
t "parser: expected failure passes the control" 0 'nvhe-mteoff: PASS.*4 passed, 0 failed' \
	parse "$FIX/console-hostfail.log" --mode nvhe --mte off --expect "$FIX/expect-hostfail.txt"
t "parser: unexpected pass fails the control" 1 'mte_host_probe: passed but was expected to fail' \
	parse "$FIX/console-pass.log" --mode nvhe --mte off --expect "$FIX/expect-hostfail.txt"
t "parser: a known failure named by its sub-test passes the control" 0 'nvhe-mteoff: PASS' \
	parse "$FIX/console-hostfail.log" --mode nvhe --mte off --expect <(echo "nvhe off mte_host_probe fail ^boot: MSR GCR_EL1")
t "parser: a failing sub-test the rule does not name fails the control" 1 'unexpected failing sub-tests: boot: MSR GCR_EL1' \
	parse "$FIX/console-hostfail.log" --mode nvhe --mte off --expect <(echo "nvhe off mte_host_probe fail ^boot: MRS")
t "parser: a known failure that did not run to its end fails the control" 1 'did not run to its end \(1 of 2 sub-tests' \
	parse <(sed '/^# not ok 2 boot: MSR/d' "$FIX/console-hostfail.log" | sed 's/^# ok 1 boot: MRS GCR_EL1: UNDEF/# not ok 1 boot: MRS GCR_EL1: UNDEF/') \
	--mode nvhe --mte off --expect <(echo "nvhe off mte_host_probe fail ^boot:")
t "parser: a required test that did not run fails the cell" 1 'not in the run: mte_guest' \
	parse "$FIX/console-pass.log" --mode nvhe --mte off --require mte_host_probe --require mte_guest
t "parser: an MTE-on cell whose kernel did not detect MTE fails" 1 'kernel does not use MTE, but the cell is MTE on' \
	parse "$FIX/console-pass.log" --mode nvhe --mte on --want-mte yes
t "parser: an MTE-off cell whose kernel detected MTE fails" 1 'kernel uses MTE, but the cell is MTE off' \
	parse <(sed '1i [    0.000000] CPU features: detected: Memory Tagging Extension' "$FIX/console-pass.log") --mode nvhe --mte off --want-mte no
t "parser: bad expectation file is a usage error" 2 'error: .*want .MODE MTE TEST RESULT' \
	parse "$FIX/console-pass.log" --mode nvhe --mte off --expect <(echo "nvhe off x")

# --- summarize.py ----------------------------------------------------------
parse "$FIX/console-pass.log" --mode nvhe --mte off --json "$TMP/a.json" >/dev/null || true
parse "$FIX/console-truncated.log" --mode nvhe --mte on --json "$TMP/b.json" >/dev/null || true
t "summary: totals line is last and counts all cells" 0 '^5 passed, 3 failed, 0 skipped$' \
	bash -c "python3 $S/pipeline/summarize.py --run x --out $TMP/s.txt $TMP/a.json $TMP/b.json | tail -1"
ok "summary: summary.txt ends with the totals line" \
	bash -c "tail -1 $TMP/s.txt | grep -Eqx '[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped'"

# --- boot.sh against a fake QEMU ---------------------------------------------
touch "$TMP/Image" "$TMP/initrd"
FQ=$FIX/bin/fake-qemu
t "boot: QEMU without mte=on is refused" 1 '^error: .*does not support -machine virt,.*mte=on' \
	env QEMU="$FQ" FAKE_QEMU=nomte bash "$S/pipeline/boot.sh" "$TMP/Image" "$TMP/initrd" nvhe on "$TMP/c0"
t "boot: missing QEMU is refused" 1 "^error: QEMU '/nonexistent/qemu' not found" \
	env QEMU=/nonexistent/qemu bash "$S/pipeline/boot.sh" "$TMP/Image" "$TMP/initrd" nvhe on "$TMP/c0"
t "boot: hanging guest times out, console tail shown" 2 'timed out after 2s.*|  \| # selftests: kvm: get-reg-list' \
	env QEMU="$FQ" FAKE_QEMU=hang BOOT_TIMEOUT=2 BOOT_RETRIES=0 bash "$S/pipeline/boot.sh" "$TMP/Image" "$TMP/initrd" nvhe off "$TMP/c1"
t "boot: hanging guest's console tail has the last line" 2 '  \| # selftests: kvm: get-reg-list' \
	env QEMU="$FQ" FAKE_QEMU=hang BOOT_TIMEOUT=2 BOOT_RETRIES=0 bash "$S/pipeline/boot.sh" "$TMP/Image" "$TMP/initrd" nvhe off "$TMP/c1"
t "boot: a guest that hangs every time fails after its retry" 2 'booting it again.*|timed out after 1s' \
	env QEMU="$FQ" FAKE_QEMU=hang BOOT_TIMEOUT=1 BOOT_RETRIES=1 bash "$S/pipeline/boot.sh" "$TMP/Image" "$TMP/initrd" nvhe off "$TMP/h0.console"
ok "boot: the hung console of the first boot is kept" [ -s "$TMP/h0.hung1.console" ]
t "boot: a guest that hangs once is booted again" 0 "^note: nvhe-mteoff: boot timed out after 1s, booting it again \(hung console: $TMP/h1.hung1.console\)" \
	env QEMU="$FQ" FAKE_QEMU=hang-once FAKE_STATE="$TMP/h1.state" FAKE_CONSOLE="$FIX/console-pass.log" \
	BOOT_TIMEOUT=1 BOOT_RETRIES=1 bash "$S/pipeline/boot.sh" "$TMP/Image" "$TMP/initrd" nvhe off "$TMP/h1.console"
t "boot: BOOT_RETRIES must be a number" 1 "^error: BOOT_RETRIES must be a number, not 'x'" \
	env QEMU="$FQ" FAKE_QEMU=hang BOOT_RETRIES=x bash "$S/pipeline/boot.sh" "$TMP/Image" "$TMP/initrd" nvhe off "$TMP/h2.console"
t "parser: a boot that only hung before a clean boot passes, named" 0 "booted again: h1.hung1.console: hung in 'get-reg-list', 0 test results" \
	parse "$TMP/h1.console" --mode nvhe --mte off --hung "$TMP/h1.hung1.console"
parse "$TMP/h1.console" --mode nvhe --mte off --hung "$TMP/h1.hung1.console" --json "$TMP/h1.json" >/dev/null
t "summary: a cell booted again is named, and counted on the cells line" 0 \
	"^  nvhe-mteoff: h1.hung1.console: hung in .*|^1/1 cells passed \(1 booted again; counts" \
	python3 "$S/pipeline/summarize.py" --run t --out "$TMP/h1.summary" "$TMP/h1.json"
ok "summary: the retried cell's note is in the summary file" grep -q "^Booted again (after a hang" "$TMP/h1.summary"
# A cell that failed its grade and was booted again (verify.sh FAIL_RETRIES).
printf '%s\n' 'nvhe-mteoff: FAIL (mode: Hyp nVHE; 3 passed, 1 failed, 0 skipped)' \
	'  nvhe-mteoff: mte_host_probe: failed (exit=1 unexpected failing sub-tests: host kernel log clean (1 bad line(s)))' \
	'  nvhe-mteoff: | WARNING: CPU: 1 PID: 9 at x.c:1 f+0x0/0x4' >"$TMP/f1.failed1.verdict"
t "parser: a boot after a failed grade passes on its own, the first verdict named" 0 \
	"^  nvhe-mteoff: booted again: f1.failed1.console: failed its grade: mte_host_probe: failed \(exit=1 unexpected failing sub-tests: host kernel log clean \(1 bad line\(s\)\)\)$" \
	parse "$FIX/console-pass.log" --mode nvhe --mte off --failed "$TMP/f1.failed1.verdict" --json "$TMP/f1.json"
t "summary: a cell booted again after a failed grade is named and counted" 0 \
	"^  nvhe-mteoff: f1.failed1.console: failed its grade: .*|^1/1 cells passed \(1 booted again; counts" \
	python3 "$S/pipeline/summarize.py" --run t --out "$TMP/f1.summary" "$TMP/f1.json"
t "parser: the second boot is still graded: a failure there fails the cell" 1 "^  nvhe-mteoff: booted again: f1.failed1.console" \
	parse "$FIX/console-hostfail.log" --mode nvhe --mte off --failed "$TMP/f1.failed1.verdict"
printf '%s\n' 'nvhe-mteoff: PASS (mode: Hyp nVHE; 4 passed, 0 failed, 0 skipped)' >"$TMP/f2.failed1.verdict"
t "parser: a first boot that passes when graded again is still named" 0 \
	"booted again: f2.failed1.console: failed the grading it had then; passes this one" \
	parse "$FIX/console-pass.log" --mode nvhe --mte off --failed "$TMP/f2.failed1.verdict"
t "parser: a missing first verdict is an error, not a pass" 2 "No such file" \
	parse "$FIX/console-pass.log" --mode nvhe --mte off --failed "$TMP/nonexistent.verdict"
sed 's/^# selftests: kvm: get-reg-list$/[    9.000000] Internal error: Oops: 0000000096000004 [#1] SMP\n&/' \
	"$FIX/console-boot-then-hang.log" >"$TMP/h3.hung1.console"
t "parser: a hung boot that also oopsed fails the cell" 1 "the boot that hung \(h3.hung1.console\) also showed: .*Internal error: Oops" \
	parse "$FIX/console-pass.log" --mode nvhe --mte off --hung "$TMP/h3.hung1.console"
{ sed -n '1,/^1\.\./p' "$FIX/console-hostfail.log"; sed -n '/^# selftests: kvm: mte_host_probe/,/^not ok/p' "$FIX/console-hostfail.log"
	echo '[   60.000000] rcu: INFO: rcu_sched detected stalls on CPUs/tasks:'; } >"$TMP/h4.hung1.console"
t "parser: a hung boot with a failed MTE test fails the cell" 1 "the boot that hung \(h4.hung1.console\) had unexpected results: mte_host_probe \(exit=1\)" \
	parse "$FIX/console-pass.log" --mode nvhe --mte off --hung "$TMP/h4.hung1.console"
# Hung inside mte_host_probe, after one failed sub-test, and with only its
# first line: our series can hang there, so a run of it (--strict-hang)
# fails; a bare base's run is booted again.
{ sed -n '1,/^1\.\./p' "$FIX/console-hostfail.log"; echo '# selftests: kvm: mte_host_probe'
	echo '# TAP version 13'; echo '# 1..5'; } >"$TMP/h5.hung1.console"
t "parser: a run of our series that hung in an MTE test fails" 1 "hung in mte_host_probe, where the series can cause a hang" \
	parse "$FIX/console-pass.log" --mode nvhe --mte off --strict-hang --hung "$TMP/h5.hung1.console"
t "parser: a bare base's run that hung in an MTE test is booted again" 0 "hung in 'mte_host_probe', 0 test results" \
	parse "$FIX/console-pass.log" --mode nvhe --mte off --hung "$TMP/h5.hung1.console"
{ cat "$TMP/h5.hung1.console"; echo '# not ok 1 GCR_EL1 read denied'; } >"$TMP/h6.hung1.console"
t "parser: the test a boot hung in had failed a sub-test: the cell fails" 1 "was in mte_host_probe, which had failed: GCR_EL1 read denied" \
	parse "$FIX/console-pass.log" --mode nvhe --mte off --hung "$TMP/h6.hung1.console"
printf 'nvhe off mte_host_probe pass|fail GCR_EL1\n' >"$TMP/h6.expect"
t "parser: ... unless the expectation names that failure (a control run)" 0 "booted again: h6.hung1.console: hung in 'mte_host_probe'" \
	parse "$FIX/console-pass.log" --mode nvhe --mte off --expect "$TMP/h6.expect" --hung "$TMP/h6.hung1.console"
{ cat "$TMP/h5.hung1.console"; echo '[   30.000000] CPU: 1 PID: 90 Comm: mte_host_probe Not tainted'; } >"$TMP/h7.hung1.console"
t "parser: a hung boot with our test in a stack dump fails a run of our series" 1 "has mte_probe or an mte_ test in a stack dump" \
	parse "$FIX/console-pass.log" --mode nvhe --mte off --strict-hang --hung "$TMP/h7.hung1.console"
{ sed -n '1,/^1\.\./p' "$FIX/console-mteskip.log"; sed -n '/^# selftests: kvm: mte_host_probe/,/^ok .*mte_host_probe/p' "$FIX/console-mteskip.log"; } >"$TMP/h8.hung1.console"
t "parser: a hung boot where an MTE test skipped on an MTE cell fails" 1 "had unexpected results: mte_host_probe" \
	parse "$FIX/console-pass.log" --mode nvhe --mte off --hung "$TMP/h8.hung1.console"
t "boot: BOOT_RETRIES=2 keeps both hung consoles" 2 "hung console: $TMP/h9.hung2.console" \
	env QEMU="$FQ" FAKE_QEMU=hang BOOT_TIMEOUT=1 BOOT_RETRIES=2 bash "$S/pipeline/boot.sh" "$TMP/Image" "$TMP/initrd" nvhe off "$TMP/h9.console"
ok "boot: hung1 is the first hung console, not overwritten" [ -s "$TMP/h9.hung1.console" ]
touch "$TMP/h9.hungry.console"
t "boot: a new boot removes the cell's old hung consoles only" 0 '' \
	env QEMU="$FQ" FAKE_QEMU=console FAKE_CONSOLE="$FIX/console-pass.log" bash "$S/pipeline/boot.sh" "$TMP/Image" "$TMP/initrd" nvhe off "$TMP/h9.console"
ok "boot: ... and keeps other files" bash -c "[ ! -e $TMP/h9.hung1.console ] && [ ! -e $TMP/h9.hung2.console ] && [ -e $TMP/h9.hungry.console ]"
t "boot+parse: hung console grades incomplete" 1 'incomplete: plan 1..3 but 0 results' \
	parse "$TMP/c1" --mode nvhe --mte off
t "parser: a timed-out boot fails even with a complete stream" 1 '  nvhe-mteoff: boot timed out after 300s' \
	parse "$FIX/console-pass.log" --mode nvhe --mte off --boot "timed out after 300s"
t "boot: panicking guest boots, console captured" 0 '' \
	env QEMU="$FQ" FAKE_QEMU=console FAKE_CONSOLE="$FIX/console-panic.log" \
	bash "$S/pipeline/boot.sh" "$TMP/Image" "$TMP/initrd" nvhe off "$TMP/c2"
t "boot+parse: panicking guest fails with the oops" 1 '\| .*Internal error: Oops' \
	parse "$TMP/c2" --mode nvhe --mte off
t "boot: cmdline of protected-nvhe, MTE off" 0 'kvm-arm.mode=protected arm64_sw.hvhe=0 id_aa64mmfr1.vh=0 arm64.nomte' \
	env PRINT_CMDLINE=1 bash "$S/pipeline/boot.sh" - - protected-nvhe off -
t "boot: cmdline of vhe has no kvm-arm.mode (and no timeout: the settings files')" 0 '^console=ttyAMA0 panic=-1$' \
	env PRINT_CMDLINE=1 bash "$S/pipeline/boot.sh" - - vhe on -
t "boot: TEST_TIMEOUT overrides the per-test timeouts" 0 '^console=ttyAMA0 panic=-1 harness.timeout=30$' \
	env PRINT_CMDLINE=1 TEST_TIMEOUT=30 bash "$S/pipeline/boot.sh" - - vhe on -
# results.awk on what run_kselftest.sh prints (two collections, a pass, a
# SKIP, a failure, a timeout, a test's own forged lines).
printf '%s\n' 'TAP version 13' '1..1' '# timeout set to 45' '# selftests: arm64: mte_userspace' \
	'# ok 1 sub' 'ok 1 selftests: arm64: mte_userspace' 'TAP version 13' '1..3' \
	'# selftests: kvm: mte_host_probe' '# ## result forged pass' 'ok 1 selftests: kvm: mte_host_probe # SKIP' \
	'# selftests: kvm: mte_guest' 'not ok 2 selftests: kvm: mte_guest # exit=1' \
	'# selftests: kvm: get-reg-list' '#' 'not ok 3 selftests: kvm: get-reg-list # TIMEOUT 120 seconds' \
	>"$TMP/runner.out"
awk -f "$S/pipeline/results.awk" "$TMP/runner.out" >"$TMP/runner.res"
ok "guest: results.awk passes every runner line through, in order" \
	bash -c "grep -v -e '^## ' -e '^# harness: ' -e '^# Totals: ' $TMP/runner.res | cmp -s - $TMP/runner.out"
ok "guest: results.awk: one result line per test, pass/skip/fail/timeout" \
	bash -c "[ \"\$(grep '^## result' $TMP/runner.res | tr '\n' ,)\" = '## result mte_userspace pass,## result mte_host_probe skip,## result mte_guest fail,## result get-reg-list fail,' ]"
ok "guest: results.awk ends with the totals and both end markers" \
	bash -c "[ \"\$(tail -n 3 $TMP/runner.res | tr '\n' ,)\" = '# Totals: pass:1 fail:2 xfail:0 xpass:0 skip:1 error:0,# harness: done,## end,' ]"
# A kernel message cutting into the runner's line (seen: the runner's own
# "kselftest: Running tests in kvm" to /dev/kmsg), with the rest of the
# line after it; an XFAIL (7.x runner, exit 2); the guest's own count.
{ echo '# harness: plan 2'; printf '%s\n' 'TAP version 13' '1..2' '# selftests: kvm: a' \
	'ok 1 selftests: kvm: a[    2.663494] kselftest: Running tests in kvm' ' # SKIP' \
	'# selftests: kvm: b' 'ok 2 selftests: kvm: b # XFAIL' '# Totals: pass:0 fail:0 xfail:0 xpass:0 skip:0 error:0' \
	'# harness: done'; } >"$TMP/cut.log"
parse "$TMP/cut.log" --mode nvhe --mte off --json "$TMP/cut.json" >/dev/null 2>&1 || true
ok "parser: a kernel message inside a result line does not hide its SKIP" \
	python3 -c "import json; t = {x['name']: x['status'] for x in json.load(open('$TMP/cut.json'))['tests']}; assert t['a'] == 'skip', t"
ok "parser: an XFAIL is not a pass" \
	python3 -c "import json; t = {x['name']: x['status'] for x in json.load(open('$TMP/cut.json'))['tests']}; assert t['b'] == 'fail', t"
# The same kernel message right after the collection's "TAP version 13"
# (seen on 7.3, vhe-mteon), its newline then ending the runner's line.
sed 's/^TAP version 13$/TAP version 13[    1.512428] kselftest: Running tests in arm64/' "$TMP/cut.log" |
	sed 's/^\(TAP version 13.*\)$/\1\n/' >"$TMP/cut-tap.log"
t "parser: a kernel message after 'TAP version 13' does not lose the stream" 1 'nvhe-mteoff: FAIL .mode: .; 0 passed, 2 failed, 1 skipped' \
	parse "$TMP/cut-tap.log" --mode nvhe --mte off
# A kernel message inside a sub-test's result line (seen: "Detected
# PIPT I-cache on CPU3" in the host probe's hotplug phase, 6.12 proof
# prefix 3), the rest of the line after it: the name must come back whole,
# or "[exception entry only]" is lost and an oracle cell fails.
awk '/^# not ok 1 boot: MRS GCR_EL1: failed on 4 of 4 CPU\(s\) \(cpu 0 1 2 3\) \[exception entry only\]/ && !d {
	print "# not ok 1 boot: MRS GCR_EL1: failed on 4 of 4 CPU(s) (cpu 0 1 2[    4.549212] Detected PIPT I-cache on CPU2"
	print " 3) [exception entry only]"; d = 1; next } 1' "$FIX/console-oracle-hvhe-mteoff.log" >"$TMP/cut-sub.log"
ok "parser: the fixture has the cut sub-test line" grep -q 'cpu 0 1 2\[    4.549212\] Detected' "$TMP/cut-sub.log"
t "parser: a kernel message inside a sub-test's result line does not change its name" 0 '^hvhe-mteoff: PASS' \
	parse "$TMP/cut-sub.log" --mode hvhe --mte off --want-mte no --expect "$ROOT/configs/expect/oracle-7.3.txt"
t "parser: the oracle's hvhe-mteoff fixture passes as oracle-7.3.txt names" 0 '^hvhe-mteoff: PASS' \
	parse "$FIX/console-oracle-hvhe-mteoff.log" --mode hvhe --mte off --want-mte no --expect "$ROOT/configs/expect/oracle-7.3.txt"
# The rest of a cut result line starting as a directive ("# SKIP"), a
# cut "# selftests:" header, and a boot that hung in the middle of a line
# (boot.sh's QEMU kill message is no rest of it).
{ echo '# harness: plan 1'; printf '%s\n' 'TAP version 13' '1..1' \
	'# selftests: kvm: a[    2.100000] mte_probe: loaded' '' \
	'ok 1 selftests: kvm: a [    2.663494] kselftest: Running tests in kvm' '# SKIP' \
	'# Totals: pass:0 fail:0 xfail:0 xpass:0 skip:1 error:0' '# harness: done'; } >"$TMP/cut-dir.log"
parse "$TMP/cut-dir.log" --mode nvhe --mte off --json "$TMP/cut-dir.json" --ktap "$TMP/cut-dir.ktap" >/dev/null 2>&1 || true
ok "parser: a cut before '# SKIP' keeps the SKIP" \
	python3 -c "import json; t = {x['name']: x['status'] for x in json.load(open('$TMP/cut-dir.json'))['tests']}; assert t == {'a': 'skip'}, t"
ok "parser: a cut '# selftests:' header keeps the test's name" grep -qx '# selftests: kvm: a' "$TMP/cut-dir.ktap"
sed 's/^# harness: plan 2$/# harness: plan 3/; s/^1\.\.2$/1..2/' "$TMP/cut.log" >"$TMP/cut3.log"
t "parser: fewer results than the guest's own count of tests is incomplete" 1 'incomplete: 3 tests to run but 2 results' \
	parse "$TMP/cut3.log" --mode nvhe --mte off
t "parser: the runner's two collections make one plan" 1 'nvhe-mteoff: FAIL .mode: .; 1 passed, 4 failed' \
	parse "$TMP/runner.res" --mode nvhe --mte off --json "$TMP/runner.json"
ok "parser: the runner's plans add up (4 results, no plan complaint)" \
	bash -c "! grep -q 'plan 1' $TMP/runner.json && grep -q 'mte_guest' $TMP/runner.json"
t "boot: cmdline of hvhe (hVHE without protected mode), MTE off" 0 'kvm-arm.mode=nvhe arm64_sw.hvhe=1 arm64.nomte$' \
	env PRINT_CMDLINE=1 bash "$S/pipeline/boot.sh" - - hvhe off -
t "boot: a forced cell claims MTE2 on the command line" 0 'kvm-arm.mode=protected id_aa64pfr1.mte=2$' \
	env PRINT_CMDLINE=1 bash "$S/pipeline/boot.sh" - - protected forced -
t "boot: a forced cell runs a machine without MTE2" 0 '^virt,virtualization=on,mte=off,gic-version=3$' \
	env PRINT_CMDLINE=1 bash "$S/pipeline/boot.sh" - - protected forced -
t "parser: a forced cell without the ignored-override line fails" 1 'forced cell: no .ID_AA64PFR1_EL1\[11:8\]: ignoring override' \
	parse "$FIX/console-pass.log" --mode nvhe --mte forced
t "boot: a late cell boots two CPUs only" 0 'maxcpus=2 kvm-arm.mode=protected arm64.nomte$' \
	env PRINT_CMDLINE=1 bash "$S/pipeline/boot.sh" - - protected-late off -
t "boot: VHE has no late mode" 1 "^error: unknown mode 'vhe-late'" \
	env PRINT_CMDLINE=1 bash "$S/pipeline/boot.sh" - - vhe-late on -
t "parser: a late cell whose host probe ran no first-online phase fails" 1 'mte_host_probe: .*ran no first-online phase' \
	parse "$FIX/console-pass.log" --mode nvhe-late --mte off
# A late cell's console: the kernel brought up two CPUs at boot.
late_console() {
	sed "1a\\
[    0.090000] smp: Brought up 1 node, ${2:-2} CPUs" "$FIX/console-pass.log" |
		sed "s/# ok 1 boot: MRS GCR_EL1: UNDEF/# ok 1 first online: $1/;s/Hyp nVHE mode/Hyp hVHE mode/"
}
t "parser: a late cell with the first-online phase passes" 0 'hvhe-late-mteoff: PASS' \
	parse <(late_console 'MRS GCR_EL1 denied on 2 CPU(s)') --mode hvhe-late --mte off
t "parser: a late cell whose kernel booted all CPUs fails" 1 'late cell: the kernel did not report bringing up 2 CPUs at boot .*reported 4' \
	parse <(late_console 'MRS GCR_EL1 denied on 2 CPU(s)' 4) --mode hvhe-late --mte off
t "parser: pKVM's refusal needs the kernel's word for each late CPU" 1 'logged no failed PSCI CPU_ON for CPU\(s\) 3\)' \
	parse <(late_console 'MRS GCR_EL1: not probed, no such CPU runs the host (EL2 refused CPU_ON for all 2)' |
		sed 's/Hyp hVHE mode/Protected hVHE mode/;1a\
[   12.000000] psci: failed to boot CPU2 (-22)') --mode protected-late --mte off
t "parser: pKVM's refusal with the kernel's word passes" 0 'protected-late-mteoff: PASS' \
	parse <(late_console 'MRS GCR_EL1: not probed, no such CPU runs the host (EL2 refused CPU_ON for all 2)' |
		sed 's/Hyp hVHE mode/Protected hVHE mode/;1a\
[   12.000000] psci: failed to boot CPU2 (-22)\
[   12.000001] psci: failed to boot CPU3 (-22)') --mode protected-late --mte off
t "parser: outside protected mode a late CPU must be probed" 1 'first-online probes not run outside protected mode' \
	parse <(late_console 'MRS GCR_EL1: not probed, no such CPU runs the host (EL2 refused CPU_ON for all 2)') \
	--mode hvhe-late --mte off
# Hibernation cells: both boots on one console (real consoles, trimmed to
# the lines the parser reads).
HOFF=$FIX/console-hib-mteoff.log
HON=$FIX/console-hib-mteon.log
t "parser: a hibernation cell with its restore boot passes" 0 'nvhe-hib-mteoff: PASS' \
	parse "$HOFF" --mode nvhe-hib --mte off --want-mte no
t "parser: tags lost across hibernation fail the cell" 1 'mte_userspace: failed .*across: 0 of 4096 granules kept their tag' \
	parse "$HON" --mode nvhe-hib --mte on --want-mte yes
t "parser: ... unless the expectation names that loss" 0 'nvhe-hib-mteon: PASS' \
	parse "$HON" --mode nvhe-hib --mte on --want-mte yes --expect "$ROOT/configs/expect/hibernate.txt"
t "parser: a tag check whose tags were not all set first checked nothing" 1 'did not check that its data and tags survived' \
	parse <(sed 's/(4096 set before)/(4000 set before)/' "$HON") --mode nvhe-hib --mte on \
	--want-mte yes --expect "$ROOT/configs/expect/hibernate.txt"
t "parser: the expectation takes all tags lost, not some" 1 'unexpected failing sub-tests: across: 4095 of 4096 granules kept their tag' \
	parse <(sed 's/ 0 of 4096 granules kept their tag/ 4095 of 4096 granules kept their tag/' "$HON") \
	--mode nvhe-hib --mte on --want-mte yes --expect "$ROOT/configs/expect/hibernate.txt"
t "parser: data lost across hibernation is never expected" 1 'unexpected failing sub-tests: across: 4000 of 4096 granules kept their data' \
	parse <(sed 's/^# ok 2 across: 4096 of 4096 granules kept their data/# not ok 2 across: 4000 of 4096 granules kept their data/' "$HON") \
	--mode nvhe-hib --mte on --want-mte yes --expect "$ROOT/configs/expect/hibernate.txt"
t "parser: an MTE-on cell's restore kernel must not use MTE" 1 'restore kernel uses MTE, as the image kernel does' \
	parse <(sed '/^# harness: hibernation/a\
[    0.000000] CPU features: detected: Memory Tagging Extension' "$HON") --mode nvhe-hib --mte on \
	--expect "$ROOT/configs/expect/hibernate.txt"
t "parser: the host probe and guest test must run in the resumed kernel" 1 'mte_host_probe: .*did not start after the restore kernel loaded the image' \
	parse <(grep -v 'Image loading done' "$HOFF"; echo '[    9.000000] PM: Image loading done') \
	--mode nvhe-hib --mte off --want-mte no
t "parser: a hibernation cell without the restore boot fails" 1 'no restore boot' \
	parse <(grep -v '^# harness: hibernation' "$HOFF") --mode nvhe-hib --mte off --want-mte no
t "parser: the restore kernel must not share the image kernel's MTE state" 1 'restore kernel does not use MTE, as the image kernel does' \
	parse <(grep -v 'Memory Tagging' "$HOFF") --mode nvhe-hib --mte off --want-mte no
t "parser: the restore kernel must reach the cell's KVM mode" 1 "restore kernel reached KVM mode 'Hyp hVHE'" \
	parse <(awk '/^# harness: hibernation/ { r = 1 } r && /mode initialized/ { sub(/Hyp nVHE/, "Hyp hVHE") } 1' "$HOFF") \
	--mode nvhe-hib --mte off --want-mte no
t "parser: a broken test header is no proof it ran after the resume" 1 'mte_host_probe: .*did not start after the restore kernel loaded the image' \
	parse <(sed 's/^# selftests: kvm: mte_host_probe$/# selftests: kvm: mte_host_[  9.1] x/' "$HOFF") \
	--mode nvhe-hib --mte off --want-mte no
t "parser: the image kernel's own MTE state must be the cell's" 1 'image kernel does not use MTE, but the cell is MTE on' \
	parse <(awk '/^# harness: hibernation/ { r = 1 } r || !/Memory Tagging/' "$HON") --mode nvhe-hib --mte on \
	--expect "$ROOT/configs/expect/hibernate.txt"
t "parser: an MTE-on cell's tags must come back through the hibernation" 1 'restored the tags of 3 pages, fewer than' \
	parse <(sed 's/hibernate: Restored 16 MTE pages/hibernate: Restored 3 MTE pages/' "$HON") --mode nvhe-hib --mte on \
	--want-mte yes --expect "$ROOT/configs/expect/hibernate.txt"
t "parser: the restore kernel must have loaded the image" 1 'restore kernel did not load the image' \
	parse <(grep -v 'Image loading done' "$HOFF") --mode nvhe-hib --mte off --want-mte no
t "parser: mte_userspace must have hibernated in its across test" 1 "ran no passing 'across' test" \
	parse <(sed "s/# ok 1 across '/# ok 1 acrosz '/" "$HOFF") --mode nvhe-hib --mte off --want-mte no

# Kexec cells: one boot of two kernels, the second graded (trimmed real
# consoles of 6.12 + series).
KON=$FIX/console-kexec-mteon.log
KOFF=$FIX/console-kexec-mteoff.log
t "parser: a kexec cell (nomte -> MTE) passes" 0 '^nvhe-kexec-mteon: PASS \(mode: Hyp nVHE; 4 passed' \
	parse "$KON" --mode nvhe-kexec --mte on --want-mte yes
t "parser: a kexec cell (MTE -> nomte) passes" 0 '^hvhe-kexec-mteoff: PASS \(mode: Hyp hVHE; 4 passed' \
	parse "$KOFF" --mode hvhe-kexec --mte off --want-mte no
t "parser: a kexec cell without the mark has no second kernel" 1 'kexec cell: no second kernel' \
	parse <(grep -v '^# harness: kexec' "$KON") --mode nvhe-kexec --mte on --want-mte yes
t "parser: the first kernel must be in the other MTE state" 1 'the first kernel uses MTE, as the second does' \
	parse <(sed '/^# harness: kexec/i\
[    0.000000] CPU features: detected: Memory Tagging Extension' "$KON") --mode nvhe-kexec --mte on --want-mte yes
t "parser: the second kernel's MTE state is the cell's" 1 'kexec cell: the second kernel does not use MTE, but the cell is MTE on' \
	parse <(awk '/^# harness: kexec/ { r = 1 } !(r && /Memory Tagging/)' "$KON") --mode nvhe-kexec --mte on
t "parser: the first kernel must reach the cell's KVM mode" 1 "the first kernel reached KVM mode 'Hyp hVHE'" \
	parse <(awk '/^# harness: kexec/ { r = 1 } !r && /mode initialized/ { sub(/Hyp nVHE/, "Hyp hVHE") } 1' "$KON") \
	--mode nvhe-kexec --mte on --want-mte yes
t "parser: the KVM mode of the cell is the second kernel's" 1 "wrong KVM mode: reached 'Hyp hVHE'" \
	parse <(awk '/^# harness: kexec/ { r = 1 } r && /mode initialized/ { sub(/Hyp nVHE/, "Hyp hVHE") } 1' "$KON") \
	--mode nvhe-kexec --mte on --want-mte yes
t "parser: the second kernel must have boot.sh's command line" 1 'no .Kernel command line:. with harness.kexec=second' \
	parse <(sed 's/harness.kexec=second/harness.kexec=other/' "$KON") --mode nvhe-kexec --mte on --want-mte yes
t "parser: a kexec mark printed after the tests started is not one" 1 'kexec cell: no second kernel' \
	parse <(grep -v '^# harness: kexec' "$KON" | sed '/^TAP version 13/a\
# harness: kexec: the second kernel boots') --mode nvhe-kexec --mte on --want-mte yes
t "parser: a first kernel that could not kexec says why" 1 'no second kernel .*: kexec: kexec_file_load: Device or resource busy' \
	parse <(sed '/^# harness: kexec/,$d' "$KON"; echo 'kexec: kexec_file_load: Device or resource busy'
		echo '# harness: kexec: the first kernel could not boot the second') --mode nvhe-kexec --mte on --want-mte yes
t "parser: the first kernel must log its KVM teardown" 1 'did not log its KVM teardown' \
	parse <(awk '/^# harness: kexec/ { r = 1 } !(r && !s && /exiting hardware virtualization/); /harness.kexec=second/ { s = 1 }' "$KON") \
	--mode nvhe-kexec --mte on --want-mte yes
t "parser: a nomte kernel of a kexec cell must say MTE was forced off" 1 'the first kernel, booted with arm64.nomte, did not log' \
	parse <(awk '/^# harness: kexec/ { r = 1 } !(!r && /forced to 0/)' "$KON") --mode nvhe-kexec --mte on --want-mte yes
{ sed -n '1,/harness.kexec=second/p' "$KON"; } >"$TMP/k1.hung1.console"
t "parser: a run of our series that hung in the kexec fails" 1 'hung between the two kernels of the kexec' \
	parse "$KON" --mode nvhe-kexec --mte on --want-mte yes --strict-hang --hung "$TMP/k1.hung1.console"
t "parser: a bare base's run that hung in the kexec is booted again, named" 0 'booted again: k1.hung1.console: hung in the kexec' \
	parse "$KON" --mode nvhe-kexec --mte on --want-mte yes --hung "$TMP/k1.hung1.console"
t "parser: a first kernel whose reboot into the second failed says why" 1 'could not boot the second: kexec: reboot' \
	parse <(sed -n '1,/^# harness: kexec/p' "$KON"; echo 'kexec: reboot(LINUX_REBOOT_CMD_KEXEC): Invalid argument'
		echo '# harness: kexec: the first kernel could not boot the second') --mode nvhe-kexec --mte on --want-mte yes
t "parser: a first kernel that oopsed fails the cell" 1 'Internal error: Oops' \
	parse <(sed '/^# harness: kexec/i\
[    1.000000] Internal error: Oops: 0000000096000004 [#1] SMP' "$KON") --mode nvhe-kexec --mte on --want-mte yes
t "boot: unknown mode is refused" 1 "^error: unknown mode 'hvhe2'" \
	env PRINT_CMDLINE=1 bash "$S/pipeline/boot.sh" - - hvhe2 on -
t "boot: unknown MTE value is refused" 1 "^error: MTE must be 'on', 'off' or 'forced'" \
	env PRINT_CMDLINE=1 bash "$S/pipeline/boot.sh" - - nvhe half -

# --- prepare-tree.sh on a fake tree --------------------------------------------
mkdir -p "$TMP/notkernel"
echo hello >"$TMP/notkernel/README"
t "prepare: KSRC not a kernel tree" 1 "^error: KSRC=.*notkernel is not a Linux kernel tree" \
	env KSRC="$TMP/notkernel" bash "$S/pipeline/prepare-tree.sh"
t "prepare: KSRC missing" 1 '^error: KSRC=/nonexistent is not a directory' \
	env KSRC=/nonexistent bash "$S/pipeline/prepare-tree.sh"
fake_tree "$TMP/k"
mkdir -p "$TMP/good" "$TMP/bad" "$TMP/good2"
mkpatch "$TMP/k" arch/arm64/kvm/a.c one ONE 0001-a "$TMP/good"
mkpatch "$TMP/k" arch/arm64/kvm/b.c two TWO 0002-b "$TMP/good"
cp "$TMP/good/0001-a.patch" "$TMP/bad/"
sed 's/^-two$/-zwei/' "$TMP/good/0002-b.patch" >"$TMP/bad/0002-b-broken.patch"
cp "$TMP/good/0001-a.patch" "$TMP/good2/"
sed 's/TWO/TWO-v2/' "$TMP/good/0002-b.patch" >"$TMP/good2/0002-b.patch"
# The fake tree's own selftest series (the real ones need a real tree).
mkdir -p "$TMP/st" "$TMP/stbad"
mkpatch "$TMP/k" tools/testing/selftests/kvm/Makefile aarch64\\/bar aarch64\\/mte_host_probe 0001-st "$TMP/st"
sed 's|^-TEST_GEN_PROGS_aarch64 += aarch64/bar$|-TEST_GEN_PROGS_aarch64 += aarch64/baz|' \
	"$TMP/st/0001-st.patch" >"$TMP/stbad/0001-st.patch"
echo 0001-st.patch >"$TMP/st/series"
echo 0001-st.patch >"$TMP/stbad/series"
export STPATCHES=$TMP/st
SUM=$(tree_sum "$TMP/k")
t "prepare: selftest series that does not apply names the patch" 1 '^error: selftest series does not apply: 0001-st.patch \(patch 1 of .*/stbad\)' \
	env KSRC="$TMP/k" PATCHES="$TMP/good" STPATCHES="$TMP/stbad" bash "$S/pipeline/prepare-tree.sh"
cp -r "$TMP/k" "$TMP/k-st"
sed -i 's|aarch64/bar|aarch64/mte_host_probe|' "$TMP/k-st/tools/testing/selftests/kvm/Makefile"
t "prepare: a KSRC that has the selftest series already is used as it is" 0 'the selftest series is in the tree already' \
	env KSRC="$TMP/k-st" SERIES=none bash "$S/pipeline/prepare-tree.sh"
mkdir -p "$TMP/st2"
cp "$TMP/st/0001-st.patch" "$TMP/st2/"
mkpatch "$TMP/k-st" arch/arm64/kvm/b.c two zwei 0002-st "$TMP/st2"
printf '0001-st.patch\n0002-st.patch\n' >"$TMP/st2/series"
cp -r "$TMP/k" "$TMP/k-st2"
echo zwei >"$TMP/k-st2/arch/arm64/kvm/b.c"
t "prepare: a KSRC with only part of the selftest series is refused" 1 '^error: the tree has part of .*st2, or another version of it' \
	env KSRC="$TMP/k-st2" SERIES=none STPATCHES="$TMP/st2" bash "$S/pipeline/prepare-tree.sh"
t "prepare: series that does not apply names the patch" 1 '^error: series does not apply: 0002-b-broken.patch \(patch 2\)' \
	env KSRC="$TMP/k" PATCHES="$TMP/bad" bash "$S/pipeline/prepare-tree.sh"
TREE=$(ls -d "$OUT"/trees/ksrc-*-patches)
ok "prepare: failed series leaves the copy at base, nothing half-applied" \
	bash -c "[ \$(git -C $TREE rev-parse HEAD) = \$(git -C $TREE rev-parse base) ] &&
		[ ! -d $TREE/.git/rebase-apply ] && [ -z \"\$(git -C $TREE status --porcelain)\" ]"
ok "prepare: user tree untouched after a failed series" [ "$(tree_sum "$TMP/k")" = "$SUM" ]
t "prepare: good series applies, selftest series applied" 0 "$TREE\$" \
	env KSRC="$TMP/k" PATCHES="$TMP/good" bash "$S/pipeline/prepare-tree.sh"
ok "prepare: series content in the copy" grep -qx TWO "$TREE/arch/arm64/kvm/b.c"
ok "prepare: selftest series in the copy" grep -q mte_host_probe "$TREE/tools/testing/selftests/kvm/Makefile"
ok "prepare: user tree untouched after applying" [ "$(tree_sum "$TMP/k")" = "$SUM" ]
touch -d @1000000000 "$TREE/arch/arm64/kvm/a.c" "$TREE/arch/arm64/kvm/b.c"
env KSRC="$TMP/k" PATCHES="$TMP/good" bash "$S/pipeline/prepare-tree.sh" >/dev/null 2>&1 || true
ok "prepare: unchanged inputs touch nothing" [ "$(stat -c %Y "$TREE/arch/arm64/kvm/b.c")" = 1000000000 ]
env KSRC="$TMP/k" PATCHES="$TMP/good2" bash "$S/pipeline/prepare-tree.sh" >/dev/null 2>&1 || true
ok "prepare: re-applied series: changed file updated" grep -qx TWO-v2 "$TREE/arch/arm64/kvm/b.c"
ok "prepare: re-applied series: unchanged file keeps its mtime" \
	[ "$(stat -c %Y "$TREE/arch/arm64/kvm/a.c")" = 1000000000 ]
t "prepare: unchanged inputs after a re-application: the tree is reused" 0 "$TREE\$" \
	env KSRC="$TMP/k" PATCHES="$TMP/good2" bash "$S/pipeline/prepare-tree.sh"
env KSRC="$TMP/k" PATCHES="$TMP/good" bash "$S/pipeline/prepare-tree.sh" >/dev/null 2>&1 || true
printf 'three\n' >"$TMP/k/arch/arm64/kvm/c.c"
env KSRC="$TMP/k" PATCHES="$TMP/good" bash "$S/pipeline/prepare-tree.sh" >/dev/null 2>&1 || true
ok "prepare: a change in a plain KSRC is picked up" grep -qx three "$TREE/arch/arm64/kvm/c.c"
cp -r "$TMP/k" "$TMP/g"
echo '/.config' >"$TMP/g/.gitignore"
git -C "$TMP/g" init -q && git -C "$TMP/g" add -A && git -C "$TMP/g" -c user.name=t -c user.email=t@t commit -qm g
printf 'three-mod\n' >"$TMP/g/arch/arm64/kvm/c.c"
echo four >"$TMP/g/arch/arm64/kvm/d.c"
echo junk >"$TMP/g/.config"
echo five >"$TMP/g/arch/arm64/kvm/e.c" && git -C "$TMP/g" add arch/arm64/kvm/e.c
GSTAT=$(git -C "$TMP/g" status --porcelain; tree_sum "$TMP/g")
gmeta() { (cd "$TMP/g/.git" && find . -printf '%p %s %i %T@\n' | sort); }
GMETA=$(gmeta)
t "prepare: git KSRC with uncommitted changes and in-tree build output" 0 'trees/ksrc-.*-patches$' \
	env KSRC="$TMP/g" PATCHES="$TMP/good" bash "$S/pipeline/prepare-tree.sh"
GTREE=$(env KSRC="$TMP/g" PATCHES="$TMP/good" bash "$S/pipeline/prepare-tree.sh" 2>/dev/null)
ok "prepare: git KSRC: uncommitted and untracked files copied, ignored .config not" \
	bash -c "grep -qx three-mod $GTREE/arch/arm64/kvm/c.c && grep -qx four $GTREE/arch/arm64/kvm/d.c &&
		grep -qx TWO $GTREE/arch/arm64/kvm/b.c && [ ! -e $GTREE/.config ]"
ok "prepare: git KSRC: a staged new file is in the copy" grep -qx five "$GTREE/arch/arm64/kvm/e.c"
ok "prepare: git KSRC's .git untouched, to the mtime" [ "$(gmeta)" = "$GMETA" ]
ok "prepare: git KSRC untouched" [ "$(git -C "$TMP/g" status --porcelain; tree_sum "$TMP/g")" = "$GSTAT" ]
GID=$(basename "${GTREE%-patches}")
ok "prepare: git KSRC: the source copy has no files and no link to the user's objects" \
	bash -c "[ \"\$(cat $OUT/base/$GID/objects/info/alternates)\" = $OUT/base/$GID/fetch.git/objects ] &&
		[ ! -e $OUT/base/$GID/fetch.git/objects/info/alternates ] && [ ! -e $OUT/base/$GID/Makefile ] &&
		[ ! -e $OUT/base/$GID/shallow ]"

# --- disk: shared files, free-space check, clean ------------------------------------
KTREE=$TREE
t "space: too little room for a new tree is a one-line error with the figures" 1 \
	"^error: not enough space: ksrc-[0-9a-f]+-none \(tree [0-9]+ MB\) needs [0-9]+ MB free in $OUT, 1 MB available" \
	env HARNESS_FREE_KB=1 KSRC="$TMP/k" SERIES=none bash "$S/pipeline/prepare-tree.sh"
ok "space: nothing was written for the refused tree" [ ! -e "${KTREE%-patches}-none" ]
t "space: too little room for a first source copy names it" 1 \
	"^error: not enough space: the copy of $TMP/built2 needs [0-9]+ MB free in $OUT, 1 MB available" \
	bash -c "cp -r '$TMP/k' '$TMP/built2' && HARNESS_FREE_KB=1 KSRC='$TMP/built2' bash '$S/pipeline/prepare-tree.sh'"
t "space: the run's build counts too" 1 "build and logs 512 MB\) needs" \
	env HARNESS_FREE_KB=100000 HARNESS_EXTRA_KB=524288 KSRC="$TMP/k" bash "$S/pipeline/prepare-tree.sh"
env KSRC="$TMP/k" SERIES=none bash "$S/pipeline/prepare-tree.sh" >/dev/null 2>&1 || true
ok "share: an unchanged file is one inode in two trees" \
	[ "$(stat -c %i "$KTREE/Makefile")" = "$(stat -c %i "${KTREE%-patches}-none/Makefile")" ]
ok "share: the series changed its own copy only" \
	bash -c "grep -qx TWO $KTREE/arch/arm64/kvm/b.c && grep -qx two ${KTREE%-patches}-none/arch/arm64/kvm/b.c"
INO=$(stat -c %i "$KTREE/Makefile")
env KSRC="$TMP/k" PATCHES="$TMP/good2" bash "$S/pipeline/prepare-tree.sh" >/dev/null 2>&1 || true
ok "share: re-applying a series keeps the other files shared" \
	bash -c "[ $INO = \$(stat -c %i $KTREE/Makefile) ] && grep -qx TWO-v2 $KTREE/arch/arm64/kvm/b.c"
ok "share: both trees are clean checkouts" \
	bash -c "[ -z \"\$(git -C $KTREE status --porcelain)\" ] && [ -z \"\$(git -C ${KTREE%-patches}-none status --porcelain)\" ]"
echo edited >>"$KTREE/Makefile"
t "share: a tree edited in place is refused" 1 "^error: .*-patches was edited in place; its files are shared" \
	env KSRC="$TMP/k" PATCHES="$TMP/good2" bash "$S/pipeline/prepare-tree.sh"
mkdir -p "$TMP/tar/top/d"
printf 'a\n' >"$TMP/tar/top/a" && printf 'x\n' >"$TMP/tar/top/d/x" && printf 'g\n' >"$TMP/tar/top/d/g x"
chmod 0754 "$TMP/tar/top/d/x" && chmod 0654 "$TMP/tar/top/d/g x"
ln -s ../a "$TMP/tar/top/d/l" && ln "$TMP/tar/top/a" "$TMP/tar/top/d/h" && printf 'q\n' >"$TMP/tar/top/\"q"
tar -C "$TMP/tar" -cJf "$TMP/t.tar.xz" top
git init -q --bare "$TMP/tar.git"
python3 "$S/pipeline/tar2git.py" "$TMP/t.tar.xz" refs/heads/pristine base | git --git-dir="$TMP/tar.git" fast-import --quiet
git -C "$TMP/tar/top" init -q && git -C "$TMP/tar/top" add -A
ok "tar2git: the imported tree is what git add makes of the extracted files" \
	[ "$(git --git-dir="$TMP/tar.git" rev-parse 'pristine^{tree}')" = "$(git -C "$TMP/tar/top" write-tree)" ]
C=$TMP/clean
mkdir -p "$C"/{base/deb-6.12,base/deb-7.3,trees/deb-6.12-patches,trees/deb-7.3-none,build/deb-7.3-none-default}
mkdir -p "$C"/{files/ab,pkg/linux-source-7.3,busybox/bin,results/x,logs,proof,bench}
echo a >"$C/trees/deb-7.3-none/f" && ln "$C/trees/deb-7.3-none/f" "$C/files/ab/a1"
echo b >"$C/trees/deb-6.12-patches/f" && ln "$C/trees/deb-6.12-patches/f" "$C/files/ab/b1"
touch "$C/logs/build-deb-7.3-none-default.log" "$C/logs/build-deb-6.12-patches-default.log" "$C/base/.lock-deb-7.3"
touch "$C/pkg/linux-source-7.3/l.deb" "$C/busybox/bin/busybox" "$C/notours"
t "clean-source: needs KSRC or KVER" 1 '^error: clean-source: name the source' env HARNESS_OUT="$C" bash "$S/clean.sh" --source
t "clean-source: KVER=7.3 says what it removed" 0 'removed the copies of linux-source-7.3 \(deb-7.3\)' \
	env HARNESS_OUT="$C" KVER=7.3 bash "$S/clean.sh" --source
ok "clean-source: only 7.3's copies and the store files only they used are gone" \
	bash -c "[ ! -e $C/base/deb-7.3 ] && [ ! -e $C/trees/deb-7.3-none ] && [ ! -e $C/build/deb-7.3-none-default ] &&
		[ ! -e $C/files/ab/a1 ] && [ ! -e $C/logs/build-deb-7.3-none-default.log ] &&
		[ -e $C/files/ab/b1 ] && [ -e $C/trees/deb-6.12-patches/f ] && [ -e $C/base/deb-6.12 ] &&
		[ -e $C/logs/build-deb-6.12-patches-default.log ]"
t "clean: says what it freed and kept" 0 'kept: out/pkg out/busybox \(downloads\)' env HARNESS_OUT="$C" bash "$S/clean.sh"
ok "clean: only the downloads, run locks and files it did not make are left" \
	[ "$(cd "$C" && find . -type f | sort | tr '\n' ' ')" = "./base/.lock-deb-7.3 ./busybox/bin/busybox ./notours ./pkg/linux-source-7.3/l.deb " ]

# git KSRC corner cases, each against SERIES=none
tgit() { git -C "$1" -c user.name=t -c user.email=t@t "${@:2}"; }
fake_tree "$TMP/u" && tgit "$TMP/u" init -q && tgit "$TMP/u" add -A
t "prepare: git KSRC with no commit yet, files staged" 0 'trees/ksrc-.*-none$' \
	env KSRC="$TMP/u" SERIES=none bash "$S/pipeline/prepare-tree.sh"
fake_tree "$TMP/h" && echo ign.c >"$TMP/h/.gitignore" && echo orig >"$TMP/h/ign.c"
tgit "$TMP/h" init -q && tgit "$TMP/h" add -A && tgit "$TMP/h" add -f ign.c && tgit "$TMP/h" commit -qm h
echo changed >"$TMP/h/ign.c"
env KSRC="$TMP/h" SERIES=none bash "$S/pipeline/prepare-tree.sh" >/dev/null 2>&1 || true
echo sub >"$TMP/h/arch/arm64/kvm/s.c" && tgit "$TMP/h" add arch/arm64/kvm/s.c
HT=$(cd "$TMP/h/arch" && env KSRC=.. SERIES=none bash "$S/pipeline/prepare-tree.sh" 2>/dev/null)
ok "prepare: git KSRC run from inside it, twice: staged file read, tracked ignored file kept" \
	bash -c "grep -qx sub $HT/arch/arm64/kvm/s.c && grep -qx changed $HT/ign.c && grep -qx two $HT/arch/arm64/kvm/b.c"
env OUT="$TMP/other" KSRC="$TMP/h" SERIES=none bash "$S/pipeline/prepare-tree.sh" >/dev/null 2>&1 || true
ok "prepare: a plain OUT in the environment is not taken" [ ! -e "$TMP/other" ]
if [ "$(id -u)" = 0 ]; then
	cp -a "$TMP/h" "$TMP/foreign" && chown -R nobody "$TMP/foreign"
	t "prepare: git KSRC owned by another user" 0 'trees/ksrc-.*-none$' \
		env KSRC="$TMP/foreign" SERIES=none bash "$S/pipeline/prepare-tree.sh"
else
	N=$((N + 1)) && echo "ok $N prepare: git KSRC owned by another user # SKIP not root"
fi

fake_tree "$TMP/built"
touch "$TMP/built/.config"
t "prepare: plain KSRC with an in-tree build is refused" 1 "^error: KSRC=.*built has in-tree build output; run 'make mrproper' there" \
	env KSRC="$TMP/built" bash "$S/pipeline/prepare-tree.sh"
t "prepare: bad SERIES value" 1 "^error: SERIES must be 'patches', 'mainline' or 'none'" \
	env SERIES=some bash "$S/pipeline/prepare-tree.sh"
t "prepare: SERIES=mainline names its own tree" 0 "^deb-7\.3-mainline$" \
	env KVER=7.3 SERIES=mainline bash "$S/pipeline/prepare-tree.sh" --name
t "series-check: SERIES=mainline is for 7.3 only" 1 "^error: SERIES=mainline applies to Linux 7.3, not 6.12" \
	env KVER=6.12 SERIES=mainline bash "$S/checks/check-series.sh"
t "prepare: SERIES=mainline is for 7.3 only" 1 "^error: SERIES=mainline applies to Linux 7.3, not 6.12" \
	env KVER=6.12 SERIES=mainline bash "$S/pipeline/prepare-tree.sh"

# --- build-kernel.sh .config check -------------------------------------------
mkdir -p "$TMP/b"
grep -v CONFIG_KVM= "$ROOT/configs/base.config" >"$TMP/b/.config"
t "config: lost options are listed (=y and 'is not set')" 1 \
	'^error: config options lost in .*CONFIG_ARM64_MTE\(want n, got y\).*CONFIG_KVM\(want y, got n\)' \
	env CHECK_ONLY=1 KCONFIG=nomte bash "$S/pipeline/build-kernel.sh" "$TMP/k" "$TMP/b"
cp "$ROOT/configs/base.config" "$TMP/b/.config"
t "config: a complete .config passes" 0 '' env CHECK_ONLY=1 bash "$S/pipeline/build-kernel.sh" "$TMP/k" "$TMP/b"
grep -v -e CONFIG_SMP= -e CONFIG_KVM= "$ROOT/configs/base.config" >"$TMP/b/.config"
t "config: options the tree does not define only warn" 1 \
	'warning: not defined by this tree.s Kconfig, ignored:.* CONFIG_SMP' \
	env CHECK_ONLY=1 bash "$S/pipeline/build-kernel.sh" "$TMP/k" "$TMP/b"

# --- missing tool ------------------------------------------------------------------
# A PATH with the basic tools verify.sh needs before its tool check, and
# make, git, ... but no aarch64-linux-gnu-gcc.
mkdir -p "$TMP/bin"
for f in bash dirname date nproc env cat make git rsync python3 cpio flex bison bc flock realpath; do
	ln -s "$(command -v "$f")" "$TMP/bin/$f"
done
t "verify: missing cross compiler is a one-line error" 1 "^error: required tool 'aarch64-linux-gnu-gcc' not found" \
	env PATH="$TMP/bin" bash "$S/pipeline/verify.sh"
t "verify: bad MODES is refused" 1 "^error: MODES: no mode 'hvhe2' in Linux 6.12" env MODES=hvhe2 bash "$S/pipeline/verify.sh"
t "verify: a mode the base lacks is refused (6.1 has no hVHE)" 1 "^error: MODES: no mode 'hvhe' in Linux 6.1 \(it has: nvhe protected-nvhe vhe nvhe-late protected-nvhe-late nvhe-hib nvhe-kexec\)" \
	env KVER=6.1 MODES=hvhe bash "$S/pipeline/verify.sh"
ok "lib: a base with its own config takes it (6.1: smoke-6.1.txt, untestable-6.1.txt)" \
	bash -c ". $S/lib.sh; KVER=6.1; [ \"\$(family_config smoke)\" = $ROOT/configs/smoke-6.1.txt ] &&
		[ \"\$(family_config untestable)\" = $ROOT/configs/untestable-6.1.txt ]"
ok "lib: 6.12 and 7.3 take the shared configs" \
	bash -c ". $S/lib.sh; KVER=6.12; [ \"\$(family_config smoke)\" = $ROOT/configs/smoke.txt ] &&
		KVER=7.3 && [ \"\$(family_config smoke)\" = $ROOT/configs/smoke.txt ]"
ok "lib: a KSRC tree's family comes from its Makefile" \
	bash -c ". $S/lib.sh; mkdir -p $TMP/k61 && printf 'VERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = 192\nEXTRAVERSION =\nNAME = x\n' >$TMP/k61/Makefile;
		KSRC=$TMP/k61; [ \"\$(kernel_family)\" = 6.1 ] && [ \"\$(patches_dir)\" = $ROOT/patches/6.1 ]"
t "verify: unknown KVER is refused" 1 "^error: KVER must be 6.12, 6.1 or 7.3, not '6.0'" env KVER=6.0 bash "$S/pipeline/verify.sh"
t "prepare: a base without a series needs SERIES=none" 1 "^error: no series for Linux 7.3: .*patches/7.3 does not exist" \
	env HARNESS_OUT="$TMP/noseries" KVER=7.3 SERIES=patches bash "$S/pipeline/prepare-tree.sh"
t "verify: SERIES=mainline is for 7.3 only" 1 "^error: SERIES=mainline applies to Linux 7.3, not 6.1" \
	env KVER=6.1 SERIES=mainline bash "$S/pipeline/verify.sh"
t "verify: bad SERIES value" 1 "^error: SERIES must be patches, mainline or none, not 'x'" env SERIES=x bash "$S/pipeline/verify.sh"
ok "lib: SERIES=mainline takes patches/mainline, PATCHES still wins" \
	bash -c ". $S/lib.sh; KVER=7.3 SERIES=mainline; [ \"\$(patches_dir)\" = $ROOT/patches/mainline ] &&
		PATCHES=$TMP/p && [ \"\$(patches_dir)\" = $TMP/p ]"
t "verify: unknown EXPECT is refused" 1 "^error: EXPECT: no file 'nope'" env EXPECT=nope bash "$S/pipeline/verify.sh"
t "shell: a cell the base lacks is refused" 1 "^error: CELL: want <mode>-mte<on\|off\|forced>, mode one of: nvhe protected-nvhe vhe" \
	env KVER=6.1 bash "$S/pipeline/verify.sh" --shell hvhe-mteoff
t "shell: a cell without on/off/forced is refused" 1 "^error: CELL: want" \
	bash "$S/pipeline/verify.sh" --shell nvhe-mtex
t "shell: the cell boots with harness.shell=1 on its command line" 0 "harness.shell=1" \
	env QEMU="$FQ" FAKE_QEMU=args bash "$S/pipeline/boot.sh" --shell "$TMP/Image" "$TMP/initrd" nvhe off -
# LAVA jobs from a fake kernel: valid for the QEMU device and for a board,
# forced cells only on QEMU, and the schema check catches a broken job.
if /usr/bin/python3 -c "import lava_common.schemas" 2>/dev/null; then
	head -c 4096 /dev/urandom >"$TMP/Image"
	head -c 512 /dev/urandom >"$TMP/initramfs.cpio"
	printf 'nvhe:off:console=ttyAMA0 kvm-arm.mode=nvhe arm64.nomte\nprotected:forced:console=ttyAMA0 id_aa64pfr1.mte=2\n' >"$TMP/cells"
	t "lava: QEMU jobs for every cell pass lava-common's schema" 0 "^ok .*/protected-mteforced.yaml" \
		bash -c "/usr/bin/python3 $S/lava/jobs.py --run t --kernel $TMP/Image --initrd $TMP/initramfs.cpio \
			--url file://$TMP --outdir $TMP/lq <$TMP/cells && /usr/bin/python3 $S/lava/validate.py $TMP/lq/*.yaml"
	ok "lava: the QEMU job boots the cell's command line and machine" \
		bash -c "grep -q 'mte=off,gic-version=3' $TMP/lq/protected-mteforced.yaml &&
			grep -qe \"-append 'console=ttyAMA0 id_aa64pfr1.mte=2'\" $TMP/lq/protected-mteforced.yaml"
	t "lava: board jobs leave the forced cells out and pass the schema" 0 "^ok .*/nvhe-mteoff.yaml\$" \
		bash -c "/usr/bin/python3 $S/lava/jobs.py --run t --kernel $TMP/Image --initrd $TMP/initramfs.cpio \
			--url https://lab.invalid/a --device-type juno-r2 --outdir $TMP/lb <$TMP/cells &&
			[ ! -e $TMP/lb/protected-mteforced.yaml ] && /usr/bin/python3 $S/lava/validate.py $TMP/lb/*.yaml"
	sed 's/method: qemu/method: qemu-nope/' "$TMP/lq/nvhe-mteoff.yaml" >"$TMP/lq-bad.yaml"
	t "lava: a job the schema rejects fails the check" 1 "^invalid .*lq-bad.yaml" \
		/usr/bin/python3 "$S/lava/validate.py" "$TMP/lq-bad.yaml"
	{ cat "$TMP/lq/nvhe-mteoff.yaml"; echo "results_dir: /tmp"; } >"$TMP/lq-extra.yaml"
	t "lava: the check is strict (an unknown key is refused)" 1 "^invalid .*lq-extra.yaml: extra keys not allowed" \
		/usr/bin/python3 "$S/lava/validate.py" "$TMP/lq-extra.yaml"
	# The console as guest-init.sh writes it (results.awk; CR CR LF as a pty
	# gives it to LAVA, CR LF elsewhere; seen with lava-run), a test's own
	# output ("# " in front) trying to forge a result and to end the
	# monitor, and a near miss.
	line=$(printf '%s\n' '# selftests: kvm: mte_host_probe' 'ok 1 selftests: kvm: mte_host_probe # SKIP' |
		awk -f "$S/pipeline/results.awk" | grep '^## result')
	printf 'TAP version 13\r\n# ## result forged pass\r\n# ## end\r\n%s\r\r\n## result near passed\r\n## end\r\n' \
		"$line" >"$TMP/lava-console"
	t "lava: the monitor reads guest-init's result lines and nothing a test prints" 0 "^\[\('mte_host_probe', 'skip'\)\] end at 1\$" \
		/usr/bin/python3 -c "import re, yaml
m = yaml.safe_load(open('$TMP/lq/nvhe-mteoff.yaml'))['actions'][2]['test']['monitors'][0]
text = open('$TMP/lava-console', newline='').read()
found = [(x.group('test_case_id'), x.group('result')) for x in re.finditer(m['pattern'], text)]
print(found, 'end at', len(re.findall(m['end'], text)))"
	t "lava-run: a cell without a job is a one-line error" 1 "^error: no LAVA job .*/jobs/hvhe-mteon.yaml" \
		bash "$S/lava/run-local.sh" "$TMP/lq/.." hvhe-mteon
	mkdir -p "$TMP/lbd/jobs" && cp "$TMP/lb/nvhe-mteoff.yaml" "$TMP/lbd/jobs/"
	t "lava-run: only QEMU jobs run here" 1 "^error: .*not for LAVA's qemu device type" \
		bash "$S/lava/run-local.sh" "$TMP/lbd" nvhe-mteoff
else
	ok "lava: lava-common is installed (make deps)" false
fi
t "verify: QEMU without mte=on stops before building" 1 '^error: .*does not support -machine' \
	env QEMU="$FQ" FAKE_QEMU=nomte bash "$S/pipeline/verify.sh"

# One boot.sh call for the matrix must give each cell exactly the lines of
# its own call (the boot cache's key input).
cmdlines_match() {
	local m t one all
	for m in nvhe hvhe protected protected-nvhe vhe nvhe-lazy hvhe-lazy nvhe-late protected-late; do
		for t in off on forced; do
			one=$(PRINT_CMDLINE=1 TEST_TIMEOUT=30 bash "$S/pipeline/boot.sh" - - "$m" "$t" -)
			all=$(PRINT_CMDLINE=all TEST_TIMEOUT=30 bash "$S/pipeline/boot.sh" - - \
				"nvhe hvhe protected protected-nvhe vhe nvhe-lazy hvhe-lazy nvhe-late protected-late" "off on forced" - |
				sed -n "s/^$m-mte$t //p")
			[ -n "$one" ] && [ "$one" = "$all" ] || return 1
		done
	done
}
ok "boot: PRINT_CMDLINE=all gives every cell its own command line" cmdlines_match
hib_cmdlines_match() {
	local m t one all
	for m in nvhe-hib hvhe-hib; do
		for t in off on; do
			one=$(PRINT_CMDLINE=1 bash "$S/pipeline/boot.sh" - - "$m" "$t" -)
			all=$(PRINT_CMDLINE=all bash "$S/pipeline/boot.sh" - - "nvhe-hib hvhe-hib" "off on" - |
				sed -n "s/^$m-mte$t //p")
			[ -n "$one" ] && [ "$one" = "$all" ] || return 1
		done
	done
}
ok "boot: PRINT_CMDLINE=all gives a hibernation cell both boots' lines" hib_cmdlines_match
t "boot: a kexec cell: second kernel, machine without ITS, first kernel in the other MTE state" 0 \
	'^console=ttyAMA0 panic=-1 harness.kexec=second kvm-arm.mode=nvhe arm64_sw.hvhe=1 virt,virtualization=on,mte=on,gic-version=3,its=off kexec from: console=ttyAMA0 panic=-1 harness.kexec=first kvm-arm.mode=nvhe arm64_sw.hvhe=1 arm64.nomte$' \
	bash -c "PRINT_CMDLINE=1 bash $S/pipeline/boot.sh - - hvhe-kexec on - | tr '\n' ' ' | sed 's/ \$//'"
t "boot: PRINT_CMDLINE=all names a kexec cell's three lines" 0 '^3$' \
	bash -c "PRINT_CMDLINE=all bash $S/pipeline/boot.sh - - 'nvhe nvhe-kexec' off - | grep -c '^nvhe-kexec-mteoff '"
t "boot: a kexec cell is not forced" 1 "^error: a kexec cell's MTE is 'on' or 'off'" \
	env PRINT_CMDLINE=1 bash "$S/pipeline/boot.sh" - - nvhe-kexec forced -
t "boot: protected mode has no kexec cell" 1 "^error: unknown mode 'protected-kexec'" \
	env PRINT_CMDLINE=1 bash "$S/pipeline/boot.sh" - - protected-kexec on -
t "verify: a kexec cell has no shell, refused before building" 1 '^error: a hibernation or kexec cell has no shell' \
	bash "$S/pipeline/verify.sh" --shell hvhe-kexec-mteoff
t "verify: kexec modes are not mixed with the default ones" 1 '^error: hibernation and kexec modes' \
	env MODES="nvhe nvhe-kexec" bash "$S/pipeline/verify.sh"
t "verify: 6.1 has no hVHE kexec cell" 1 "^error: MODES: no mode 'hvhe-kexec' in Linux 6.1" \
	env KVER=6.1 MODES="hvhe-kexec" MTE="off on" bash "$S/pipeline/verify.sh"
t "verify: FAIL_RETRIES=1 is refused for our series" 1 '^error: FAIL_RETRIES=1 is for runs without our series' \
	env FAIL_RETRIES=1 bash "$S/pipeline/verify.sh"
t "verify: FAIL_RETRIES takes 0 or 1" 1 "^error: FAIL_RETRIES must be 0 or 1, not '2'" \
	env SERIES=none FAIL_RETRIES=2 bash "$S/pipeline/verify.sh"
t "boot: a hibernation cell's restore kernel has the other MTE state" 0 \
	'harness.hib=suspend kvm-arm.mode=nvhe arm64_sw.hvhe=1 arm64.nomte restore: .*harness.hib=restore kvm-arm.mode=nvhe arm64_sw.hvhe=1 resume=/dev/vda$' \
	bash -c "PRINT_CMDLINE=1 bash $S/pipeline/boot.sh - - hvhe-hib off - | tr '\n' ' ' | sed 's/ \$//'"
t "boot: MTE-on image kernel, nomte restore kernel" 0 'restore: .* kvm-arm.mode=nvhe arm64.nomte resume=/dev/vda$' \
	env PRINT_CMDLINE=1 bash "$S/pipeline/boot.sh" - - nvhe-hib on -
t "boot: a hibernation cell is not forced" 1 "^error: a hibernation cell's MTE is 'on' or 'off'" \
	env PRINT_CMDLINE=1 bash "$S/pipeline/boot.sh" - - nvhe-hib forced -
t "boot: protected mode has no hibernation cell" 1 "^error: unknown mode 'protected-hib'" \
	env PRINT_CMDLINE=1 bash "$S/pipeline/boot.sh" - - protected-hib on -
t "verify: hibernation modes are not mixed with the others" 1 '^error: hibernation and kexec modes \(\*-hib, \*-kexec\) need KCONFIG=hibernate' \
	env MODES="nvhe nvhe-hib" bash "$S/pipeline/verify.sh"
t "verify: a hibernation run has no LAVA job, refused before building" 1 '^error: hibernation and kexec cells boot two kernels: no LAVA job' \
	env MODES="nvhe-hib" MTE="off on" bash "$S/pipeline/verify.sh" --lava
t "verify: a hibernation cell has no shell, refused before building" 1 '^error: a hibernation or kexec cell has no shell' \
	bash "$S/pipeline/verify.sh" --shell nvhe-hib-mteon
t "verify: hibernation modes take no forced cell" 1 '^error: hibernation and kexec modes take MTE="off on"' \
	env MODES="nvhe-hib" MTE="on forced" bash "$S/pipeline/verify.sh"
t "boot: PRINT_CMDLINE=all fails on a bad mode" nz "unknown mode 'bogus'" \
	env PRINT_CMDLINE=all bash "$S/pipeline/boot.sh" - - "nvhe bogus" on -

# The Disk line: one du walk, the shared store counted once, sizes per part.
D=$TMP/du
mkdir -p "$D/files" "$D/trees/t" "$D/build/b" "$D/base/s" "$D/logs/r" "$D/results/r" "$D/other"
kb() { head -c $(($2 * 1024)) /dev/urandom >"$1"; }
kb "$D/files/shared" 1000 && ln "$D/files/shared" "$D/trees/t/linked"
kb "$D/trees/t/own" 2000 && kb "$D/build/b/Image" 3000 && kb "$D/base/s/src" 1000
kb "$D/logs/r/console" 1000 && kb "$D/other/x" 1000
# shellcheck disable=SC2016 # $1, $2: arguments of the inner shell
t "verify: the Disk line counts the shared store once" 0 \
	'this run holds 8 MB in out/: tree 3 MB \(2 MB its own, .*build 3 MB, source copy 1 MB, logs and results 1 MB; out/ holds 9 MB in total' \
	env HARNESS_OUT="$D" HARNESS_FREE_KB=1 bash -c '. "$1/lib.sh" && disk_usage "$2/base/s" "$2/trees/t" "$2/build/b" "$2/logs/r" "$2/results/r"' - "$S" "$D"

# reach-report.py: a denial that only entered the wrong way is no reach.
R=$TMP/reach
mkdir -p "$R/entry" "$R/leak"
rj() {
	printf '{"cell": "nvhe-mteoff", "mode": "nvhe", "mte": "off", "tests": [{"name": "mte_host_probe", "subtests": [%s]}]}\n' "$2" >"$1/nvhe-mteoff.json"
}
rj "$R/entry" '{"name": "boot: MRS GCR_EL1: failed on 4 of 4 CPU(s) (cpu 0 1 2 3) [exception entry only]", "ok": false}, {"name": "boot: STG denied on 4 CPU(s)", "ok": true}'
rj "$R/leak" '{"name": "boot: MRS GCR_EL1: failed on 4 of 4 CPU(s) (cpu 0 1 2 3)", "ok": false}, {"name": "boot: STG denied on 4 CPU(s)", "ok": true}'
t "reach-report: an entry-only failure is no reach" 0 '^host EL1 reached no MTE state' \
	python3 "$S/proof/reach-report.py" "$R/entry"
t "reach-report: a register reached, no empty tag list" 0 '^with arm64.nomte, host EL1 still reached the MTE registers \(MRS GCR_EL1\) in nvhe-mteoff$' \
	python3 "$S/proof/reach-report.py" "$R/leak"
t "reach-report: --check wants every boot probe reached" 1 'not every boot probe reached MTE state' \
	python3 "$S/proof/reach-report.py" "$R/leak" --check
mkdir -p "$R/hung"
printf '{"cell": "nvhe-mteoff", "mode": "nvhe", "mte": "off", "tests": [{"name": "mte_host_probe", "subtests": [{"name": "boot: STG: failed on 4 of 4 CPU(s) (cpu 0 1 2 3)", "ok": false}]}], "hung_probes": [[{"name": "boot: STG denied on 4 CPU(s)", "ok": true}]]}\n' >"$R/hung/nvhe-mteoff.json"
t "reach-report: a boot probe that passed in a hung boot fails --check" 1 'nvhe-mteoff: in the boot that hung \(1\), a boot probe did not reach MTE state' \
	python3 "$S/proof/reach-report.py" "$R/hung" --check
mkdir -p "$R/err"
rj "$R/err" '{"name": "boot: MRS GCR_EL1: failed on 1 of 4 CPU(s) (cpu 2) [probe error]", "ok": false}, {"name": "boot: STG: failed on 4 of 4 CPU(s) (cpu 0 1 2 3)", "ok": false}'
t "reach-report: a probe that could not run is no reach, and fails --check" 1 '^negative control incomplete: nvhe-mteoff: not every boot probe reached' \
	python3 "$S/proof/reach-report.py" "$R/err" --check
t "reach-report: --check fails when every failure was entry-only" 1 '^host EL1 reached no MTE state' \
	python3 "$S/proof/reach-report.py" "$R/entry" --check

echo "1..$N"
echo "$((N - FAILED)) passed, $FAILED failed"
[ "$FAILED" = 0 ]
