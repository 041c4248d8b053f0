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
export KSRC KVER SERIES MODES MTE KCONFIG JOBS EXPECT BOOT_TIMEOUT TEST_TIMEOUT RERUN QEMU BOOT_JOBS PATCHES VARIANT

# The proof-matrix rows CI runs (make test) and the full set (make proof).
TEST_ROWS := negative oracle bisect regression
PROOF_ROWS := negative oracle nomte bisect loo regression

.PHONY: help deps verify test proof bench apply control lint series-check unit clean clean-source

help:
	@echo "make verify   apply patches/, build, boot every KVM mode x MTE cell, print the verdict"
	@echo "make test     lint + series hygiene + unit tests + verify + CI proof rows (what CI runs)"
	@echo "make proof    the whole proof matrix; regenerates Documentation/results.rst"
	@echo "make bench    hot-path instruction counts and harness timings"
	@echo "make apply    prepare out/trees/<src>-<series> (series applied, selftests installed)"
	@echo "make control  verify SERIES=none EXPECT=series-none (negative control)"
	@echo "make clean    free out/ but the downloads; make clean-source KSRC=...|KVER=...: one source"
	@echo "make deps     install missing Debian packages and the arm64 busybox"
	@echo "variables: KSRC=/path KVER=6.12|7.3 SERIES=patches|none MODES='nvhe hvhe protected protected-nvhe vhe'"
	@echo "           MTE='off on forced' KCONFIG=default|nomte JOBS=N EXPECT=name|file BOOT_TIMEOUT=s RERUN=1"

deps:
	@bash scripts/deps.sh

verify: deps
	@bash scripts/verify.sh

apply: deps
	@bash scripts/prepare-tree.sh

control: deps
	@SERIES=none EXPECT=series-none bash scripts/verify.sh

lint: deps
	@bash scripts/lint.sh

series-check: deps
	@bash scripts/check-series.sh
	@bash scripts/check-prev-debian.sh

unit:
	@bash tests/run.sh

# The main verify runs first (the proof rows compare against it) and again
# at the end, from its cache, so that the run's last line is its verdict.
test: deps
	@bash scripts/lint.sh
	@bash scripts/check-series.sh
	@bash scripts/check-prev-debian.sh
	@bash tests/run.sh
	@bash scripts/verify.sh
	@ROWS="$(TEST_ROWS)" bash scripts/proof.sh
	@bash scripts/verify.sh

proof: deps
	@bash scripts/verify.sh
	@ROWS="$(PROOF_ROWS)" bash scripts/proof.sh

bench: deps
	@bash scripts/bench.sh

# clean: everything runs made under out/ but the downloads (out/pkg,
# out/busybox); clean-source: only one source's copies (KSRC= or KVER=).
clean:
	@bash scripts/clean.sh

clean-source:
	@bash scripts/clean.sh --source
