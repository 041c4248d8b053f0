#!/bin/bash
# check-selftest-series.sh: the committed selftest series
# (patches/selftests/<family>/) must be exactly what make selftest-series
# writes from selftests/ and the family's pristine base, and must apply
# there with git am and with quilt push -a. Run for every family in
# SELFTEST_FAMILIES (6.12, 6.1, 7.3). Exit non-zero naming the family.
set -eu
. "$(dirname "$0")/../lib.sh"

need_tool git python3 quilt
SCRATCH=$(mktemp -d "$OUT/selftest-series.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT

# applies FAMILY BASE: git am, then quilt push -a, on the touched files.
applies() {
	local dir=$ROOT/patches/selftests/$1 s=$SCRATCH/$1 git
	git="git -c user.name=harness -c user.email=harness@localhost"
	mapfile -t LIST < <(series_patches "$dir")
	mkdir -p "$s/am"
	sed -n 's|^--- a/||p' "${LIST[@]}" | sed 's/\t.*//' | sort -u |
		xargs -r git --git-dir="$2" archive pristine -- | tar -C "$s/am" -x
	cp -a "$s/am" "$s/quilt"
	$git -C "$s/am" init -q && $git -C "$s/am" add -Af . &&
		$git -C "$s/am" commit -q --allow-empty -m base
	for p in "${LIST[@]}"; do
		$git -C "$s/am" am -q "$p" >"$s/am.log" 2>&1 || {
			sed 's/^/  /' "$s/am.log" >&2
			die "patches/selftests/$1 does not apply with git am: $(basename "$p")"
		}
	done
	mkdir -p "$s/quilt/patches"
	cp "${LIST[@]}" "$dir/series" "$s/quilt/patches/"
	(cd "$s/quilt" && QUILT_PATCHES=patches quilt push -a -q --fuzz=0) >"$s/quilt.log" 2>&1 || {
		sed 's/^/  /' "$s/quilt.log" >&2
		die "patches/selftests/$1 does not apply with quilt push -a"
	}
}

for family in $SELFTEST_FAMILIES; do
	dir=$ROOT/patches/selftests/$family
	[ -f "$dir/series" ] || die "no selftest series in patches/selftests/$family (run make selftest-series)"
	base=$(family_base "$family")
	python3 "$ROOT/scripts/selftests/mkseries.py" "$base" pristine "$SCRATCH/gen-$family" >/dev/null
	diff -r "$SCRATCH/gen-$family" "$dir" >"$SCRATCH/diff-$family" 2>&1 || {
		head -20 "$SCRATCH/diff-$family" >&2
		die "patches/selftests/$family is out of sync with selftests/ (run make selftest-series and commit)"
	}
	applies "$family" "$base"
	stage "selftest series: patches/selftests/$family in sync, applies with git am and quilt ($(grep -c . "$dir/series") patches)"
done
