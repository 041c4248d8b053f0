#!/bin/bash
# lint.sh: the project's lints. checkpatch.pl --strict on every series
# (patches/<family>/*.patch, patches/selftests/<family>/*.patch and
# patches/mainline/*.patch, 7.3's; each
# checked by the checkpatch.pl of its own base, e.g. 6.1's for
# patches/6.1), and shellcheck on scripts/, .ci/ and tests/. Exit non-zero
# if any lint complains.
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

# checkpatch_dir DIR TREE: checkpatch.pl --strict of TREE (the series' own
# base) on each patch of DIR; sets fail=1 on any complaint.
checkpatch_dir() {
	local p
	stage "lint: checkpatch --strict on ${1#"$ROOT"/}"
	mapfile -t LIST < <(series_patches "$1")
	for p in "${LIST[@]}"; do
		# The messages cite upstream commits by id and subject; the
		# prepared tree has no upstream history to look them up in, so
		# checkpatch checks their form ('commit <12 chars> ("subject")')
		# but not that they exist (UNKNOWN_COMMIT_ID). New files make it
		# ask whether MAINTAINERS needs an entry (FILE_PATH_CHANGES): the
		# selftests go into directories MAINTAINERS already covers.
		(cd "$2" && perl scripts/checkpatch.pl --strict --no-summary -q \
			--ignore UNKNOWN_COMMIT_ID,FILE_PATH_CHANGES "$p") >"$OUT/checkpatch.log" 2>&1 || {
			echo "checkpatch: ${1#"$ROOT"/}/$(basename "$p"):"
			sed 's/^/  /' "$OUT/checkpatch.log"
			fail=1
		}
	done
}

# tree_of FAMILY SERIES: the prepared tree of FAMILY's Debian base.
tree_of() {
	env -u KSRC -u PATCHES -u STPATCHES KVER="$1" SERIES="$2" \
		bash "$ROOT/scripts/pipeline/prepare-tree.sh" | tail -n 1
}

for family in $FAMILIES; do
	tree=$(tree_of "$family" patches)
	checkpatch_dir "$ROOT/patches/$family" "$tree"
	checkpatch_dir "$ROOT/patches/selftests/$family" "$tree"
done
# The selftest series of the other bases (7.3: the oracle, no series).
for family in $SELFTEST_FAMILIES; do
	case " $FAMILIES " in *" $family "*) continue ;; esac
	checkpatch_dir "$ROOT/patches/selftests/$family" "$(tree_of "$family" none)"
done
# Our fixes to upstream, by 7.3's checkpatch.pl.
checkpatch_dir "$ROOT/patches/mainline" "$(tree_of 7.3 none)"
[ "$fail" = 0 ] || die "lint failed"
stage "lint: clean"
