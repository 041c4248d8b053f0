#!/bin/bash
# lint.sh: the project's lints. checkpatch.pl --strict on every series
# (patches/<family>/*.patch, each checked by the checkpatch.pl of its own
# base, e.g. 6.1's for patches/6.1), and shellcheck on scripts/, .ci/ and
# tests/. Exit non-zero if any lint complains.
set -eu
. "$(dirname "$0")/../lib.sh"

need_tool shellcheck perl
fail=0
stage "lint: shellcheck"
mapfile -t SH < <(
	{
		find "$ROOT/scripts" -name '*.sh' 2>/dev/null
		ls "$ROOT"/tests/*.sh 2>/dev/null
		find "$ROOT/.ci" "$ROOT/tests" -type f -perm -u+x 2>/dev/null
		grep -ls '^#!/bin/\(ba\)\?sh' "$ROOT"/.ci/* "$ROOT"/tests/fixtures/bin/* 2>/dev/null
	} | sort -u
)
shellcheck "${SH[@]}" || fail=1

# checkpatch_family FAMILY: checkpatch.pl --strict of FAMILY's own base
# on each patch of patches/FAMILY; sets fail=1 on any complaint.
checkpatch_family() {
	local tree p
	stage "lint: checkpatch --strict on patches/$1"
	tree=$(env -u KSRC -u PATCHES KVER="$1" SERIES=patches bash "$ROOT/scripts/pipeline/prepare-tree.sh")
	mapfile -t LIST < <(series_patches "$ROOT/patches/$1")
	for p in "${LIST[@]}"; do
		# The messages cite upstream commits by id and subject; the
		# prepared tree has no upstream history to look them up in, so
		# checkpatch checks their form ('commit <12 chars> ("subject")')
		# but not that they exist (UNKNOWN_COMMIT_ID).
		(cd "$tree" && perl scripts/checkpatch.pl --strict --no-summary -q \
			--ignore UNKNOWN_COMMIT_ID "$p") >"$OUT/checkpatch.log" 2>&1 || {
			echo "checkpatch: $1/$(basename "$p"):"
			sed 's/^/  /' "$OUT/checkpatch.log"
			fail=1
		}
	done
}

for family in $FAMILIES; do
	checkpatch_family "$family"
done
[ "$fail" = 0 ] || die "lint failed"
stage "lint: clean"
