# Harness for the arm64 nVHE/pKVM "no MTE for the host" series.
# make verify: apply the series to a kernel, build, boot the KVM mode x MTE
# matrix under QEMU and grade the KVM selftests. make test: lints, series
# hygiene, the harness's unit tests, verify, and the proof-matrix controls
# that fit in CI. make proof: every control; make bench: hot paths and
# harness speed. See README.md.
#
# Variables: KSRC KVER SERIES MODES MTE KCONFIG JOBS EXPECT BOOT_TIMEOUT
# TEST_TIMEOUT RERUN QEMU (all passed to the scripts through the environment).

SHELL := /bin/bash
# One clock for the whole make run, so every stage line shows time since start.
HARNESS_T0 := $(shell date +%s)
export HARNESS_T0
export KSRC KVER SERIES MODES MTE KCONFIG JOBS EXPECT BOOT_TIMEOUT TEST_TIMEOUT RERUN QEMU BOOT_JOBS BOOT_RETRIES FAIL_RETRIES PATCHES VARIANT LAVA_DEVICE_TYPE LAVA_URL

# The proof-matrix rows CI runs (make test); make proof runs every row of
# the base (KVER=6.12, or KVER=6.1, which has no oracle row).
TEST_ROWS := negative oracle bisect regression
# The bases with a series (patches/<family>/), as scripts/lib.sh lists them.
FAMILIES := $(shell sed -n 's/^FAMILIES="\(.*\)"$$/\1/p' scripts/lib.sh)

.PHONY: help deps verify shell lava lava-run test proof bench apply control lint series-check selftest-series unit clean clean-source

help:
	@echo "make verify   apply patches/<base>/, build, boot every KVM mode x MTE cell, print the verdict"
	@echo "make test     lint + series hygiene + unit tests + verify + CI proof rows (what CI runs)"
	@echo "make proof    the whole proof matrix; regenerates Documentation/results.rst"
	@echo "make bench    hot-path instruction counts and harness timings"
	@echo "make shell CELL=<mode>-mte<on|off|forced>  that cell's kernel and command line, a shell instead of the run"
	@echo "make lava     one LAVA job per cell (LAVA_DEVICE_TYPE=qemu|<board> LAVA_URL=...), schema-checked"
	@echo "make lava-run CELL=<cell>  run that cell's QEMU job with Debian's lava-dispatcher here, compare"
	@echo "make apply    prepare out/trees/<src>-<series> (series and selftest series applied)"
	@echo "make selftest-series  write patches/selftests/<family>/ from selftests/ (commit the result)"
	@echo "make control  verify SERIES=none EXPECT=series-none (negative control)"
	@echo "make clean    free out/ but the downloads; make clean-source KSRC=...|KVER=...: one source"
	@echo "make deps     install missing Debian packages and the arm64 busybox"
	@echo "variables: KSRC=/path KVER=6.12|6.1|7.3 SERIES=patches|mainline|none MODES='nvhe hvhe protected protected-nvhe vhe'"
	@echo "           (6.1 has no hVHE: MODES='nvhe protected-nvhe vhe')"
	@echo "           MTE='off on forced' KCONFIG=default|nomte JOBS=N EXPECT=name|file BOOT_TIMEOUT=s RERUN=1"

deps:
	@bash scripts/deps.sh

verify: deps
	@bash scripts/pipeline/verify.sh

shell: deps
	@[ -n "$(CELL)" ] || { echo "error: make shell needs CELL=<mode>-mte<on|off|forced>, e.g. CELL=nvhe-mteoff" >&2; exit 1; }
	@bash scripts/pipeline/verify.sh --shell "$(CELL)"

lava: deps
	@bash scripts/pipeline/verify.sh --lava

lava-run: deps
	@[ -n "$(CELL)" ] || { echo "error: make lava-run needs CELL=<mode>-mte<on|off|forced>, e.g. CELL=nvhe-mteoff" >&2; exit 1; }
	@LAVA_DEVICE_TYPE=qemu bash scripts/pipeline/verify.sh --lava-run "$(CELL)"

apply: deps
	@bash scripts/pipeline/prepare-tree.sh

control: deps
	@SERIES=none EXPECT=series-none FAIL_RETRIES=0 bash scripts/pipeline/verify.sh

lint: deps
	@bash scripts/checks/lint.sh

series-check: deps
	@for v in $(FAMILIES); do KVER=$$v bash scripts/checks/check-series.sh && \
		KVER=$$v bash scripts/checks/check-prev-debian.sh || exit 1; done
	@KVER=7.3 SERIES=mainline bash scripts/checks/check-series.sh
	@bash scripts/checks/check-selftest-series.sh
	@KVER=6.12 PATCHES=patches/selftests/6.12 bash scripts/checks/check-prev-debian.sh

selftest-series: deps
	@bash scripts/selftests/update-series.sh

unit:
	@bash tests/run.sh

# The main verify (6.12) runs first (the proof rows compare against it),
# then 6.1's, and 6.12's again at the end, from its cache, so that the
# run's last line is the main verdict. The bisect row boots every prefix
# but leaves their W=1 builds to make proof (W1=0), for CI's time budget.
# The LAVA jobs of the 6.12 run are written and schema-checked (make lava).
test: deps
	@bash scripts/checks/lint.sh
	@for v in $(FAMILIES); do KVER=$$v bash scripts/checks/check-series.sh && \
		KVER=$$v bash scripts/checks/check-prev-debian.sh || exit 1; done
	@KVER=7.3 SERIES=mainline bash scripts/checks/check-series.sh
	@bash scripts/checks/check-selftest-series.sh
	@KVER=6.12 PATCHES=patches/selftests/6.12 bash scripts/checks/check-prev-debian.sh
	@bash tests/run.sh
	@KVER=6.12 bash scripts/pipeline/verify.sh
	@KVER=6.12 bash scripts/pipeline/verify.sh --lava
	@KVER=6.12 ROWS="$(TEST_ROWS)" W1=0 bash scripts/proof/proof.sh
	@KVER=6.1 bash scripts/pipeline/verify.sh
	@KVER=6.12 bash scripts/pipeline/verify.sh

proof: deps
	@bash scripts/pipeline/verify.sh
	@bash scripts/proof/proof.sh

bench: deps
	@bash scripts/bench/bench.sh

# clean: everything runs made under out/ but the downloads (out/pkg,
# out/busybox); clean-source: only one source's copies (KSRC= or KVER=).
clean:
	@bash scripts/clean.sh

clean-source:
	@bash scripts/clean.sh --source
