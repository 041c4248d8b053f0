#!/bin/bash
# update-series.sh: (re)write the selftest series, patches/selftests/<family>/
# for every family in SELFTEST_FAMILIES (6.12, 6.1 and 7.3), from selftests/
# (the source of truth) and the family's pristine Debian base (imported
# into out/base/ first if needed). make test checks that the committed
# series equal what this writes (scripts/checks/check-selftest-series.sh).
set -eu
. "$(dirname "$0")/../lib.sh"

need_tool git python3
for family in $SELFTEST_FAMILIES; do
	base=$(family_base "$family")
	python3 "$ROOT/scripts/selftests/mkseries.py" "$base" pristine \
		"$ROOT/patches/selftests/$family" >/dev/null
	stage "selftest series: patches/selftests/$family ($(grep -c . "$ROOT/patches/selftests/$family/series") patches)"
done
