#!/bin/bash
# check-series.sh: series hygiene. Applies the base's series
# (patches/<family>/, e.g. patches/6.1 for KVER=6.1; patches/mainline for
# KVER=7.3 SERIES=mainline) in order with
# 'git am' and with 'quilt push -a' in scratch copies of the files the
# series touches (taken from the pristine base of KVER/KSRC), so a series
# that only applies one way is caught. Exit non-zero naming the bad patch.
set -eu
. "$(dirname "$0")/../lib.sh"

need_tool git quilt
check_mainline_base
PATCHES=$(patches_dir)
mapfile -t LIST < <(series_patches "$PATCHES")
[ "${#LIST[@]}" != 0 ] || die "no patches in $PATCHES"
for p in "${LIST[@]}"; do
	[ -f "$p" ] || die "series lists $(basename "$p") but $p does not exist"
done
# Makes sure the pristine base exists; the base repo is its first commit.
# The mainline series is checked on the oracle's tree (7.3, SERIES=none).
case ${SERIES:-patches} in mainline) tree_series=none ;; *) tree_series=patches ;; esac
TREE=$(SERIES=$tree_series bash "$ROOT/scripts/pipeline/prepare-tree.sh")
SCRATCH=$(mktemp -d "$OUT/series-check.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT

# scratch DIR: the touched files of the base, as they are before the series.
scratch() {
	mkdir -p "$1"
	sed -n 's|^--- a/||p; s|^+++ b/||p' "${LIST[@]}" | sed 's/\t.*//' | sort -u |
		while read -r f; do
			git -C "$TREE" cat-file -e "base:$f" 2>/dev/null && echo "$f"
		done | xargs -r git -C "$TREE" archive base -- | tar -C "$1" -x
}

stage "series: git am in a scratch copy"
scratch "$SCRATCH/am"
git -C "$SCRATCH/am" init -q
git -C "$SCRATCH/am" add -Af .
git -C "$SCRATCH/am" -c user.name=harness -c user.email=harness@localhost commit -qm base --allow-empty
for p in "${LIST[@]}"; do
	git -C "$SCRATCH/am" -c user.name=harness -c user.email=harness@localhost am -q "$p" >"$SCRATCH/am.log" 2>&1 || {
		sed 's/^/  /' "$SCRATCH/am.log" >&2
		die "series does not apply with git am: $(basename "$p")"
	}
done

stage "series: quilt push -a in a scratch copy"
scratch "$SCRATCH/quilt"
mkdir -p "$SCRATCH/quilt/patches"
for p in "${LIST[@]}"; do
	cp "$p" "$SCRATCH/quilt/patches/"
	basename "$p" >>"$SCRATCH/quilt/patches/series"
done
(cd "$SCRATCH/quilt" && QUILT_PATCHES=patches quilt push -a -q --fuzz=0) >"$SCRATCH/quilt.log" 2>&1 || {
	sed 's/^/  /' "$SCRATCH/quilt.log" >&2
	die "series does not apply with quilt push -a: $(grep -m1 -o 'Applying patch [^ ]*' "$SCRATCH/quilt.log" | tail -1)"
}
stage "series: $(basename "$PATCHES") applies with git am and quilt ($(wc -l <"$SCRATCH/quilt/patches/series") patches)"
