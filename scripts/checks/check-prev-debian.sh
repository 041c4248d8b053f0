#!/bin/bash
# check-prev-debian.sh: the series must also apply to the previous Debian
# linux-source-$KVER (6.12 or 6.1) still in the archive, not only to the
# current one.
# Finds the second-newest version apt knows, downloads that package once
# into out/pkg/ (apt-get download, no install), extracts only the files the
# series touches and applies the series to them with git am and with
# quilt push -a. Exit non-zero naming the version and the patch that fails.
set -eu
. "$(dirname "$0")/../lib.sh"

KVER=${KVER:-6.12}
PKG=linux-source-$KVER
PATCHES=$(patches_dir)

# previous_version: the second-newest version of $PKG in apt's lists.
previous_version() {
	apt-cache madison "$PKG" 2>/dev/null | awk -F'|' '{gsub(/ /, "", $2); print $2}' |
		sort -u -r -V | sed -n 2p
}

# fetch VERSION: path of the extracted package tree for VERSION (cached).
fetch() {
	local dir=$OUT/pkg/$PKG-$1
	if [ ! -f "$dir/.done" ]; then
		rm -rf "$dir" && mkdir -p "$dir"
		chmod 0777 "$dir"
		(cd "$dir" && apt-get -qq download "$PKG=$1") >"$dir/apt.log" 2>&1 ||
			die "apt-get download $PKG=$1 failed (see $dir/apt.log)"
		dpkg-deb -x "$dir"/*.deb "$dir/x" && rm -f "$dir"/*.deb
		touch "$dir/.done"
	fi
	echo "$dir"
}

# touched_files: the paths the series modifies.
touched_files() {
	series_patches "$PATCHES" | xargs sed -n 's|^--- a/||p' | sed 's/\t.*//' | sort -u
}

# extract TARBALL DEST: the touched files of TARBALL into DEST.
extract() {
	local top
	top=$(tar -tJf "$1" | head -n1 | cut -d/ -f1)
	mkdir -p "$2"
	touched_files | sed "s|^|$top/|" |
		xargs tar -C "$2" --strip-components=1 -xJf "$1"
}

# apply_both DIR: git am, then quilt push -a on a fresh copy.
apply_both() {
	local p git="git -c user.name=harness -c user.email=harness@localhost"
	cp -a "$1" "$1.quilt"
	$git -C "$1" init -q && $git -C "$1" add -Af . && $git -C "$1" commit -qm base
	while read -r p; do
		$git -C "$1" am -q "$p" >"$1.am.log" 2>&1 ||
			die "series does not apply to $PKG $VERSION with git am: $(basename "$p")"
	done < <(series_patches "$PATCHES")
	mkdir -p "$1.quilt/patches"
	series_patches "$PATCHES" | xargs -I{} cp {} "$1.quilt/patches/"
	series_patches "$PATCHES" | xargs -n1 basename >"$1.quilt/patches/series"
	(cd "$1.quilt" && QUILT_PATCHES=patches quilt push -a -q --fuzz=0) >"$1.quilt.log" 2>&1 ||
		die "series does not apply to $PKG $VERSION with quilt push -a (see $1.quilt.log)"
}

need_tool apt-cache apt-get dpkg-deb git quilt tar
VERSION=$(previous_version)
[ -n "$VERSION" ] || die "apt knows no previous version of $PKG (apt-get update?)"
stage "series: previous Debian $PKG $VERSION"
DIR=$(fetch "$VERSION")
SCRATCH=$(mktemp -d "$OUT/prev-check.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT
extract "$(find "$DIR/x" -name "$PKG.tar.xz" | head -n1)" "$SCRATCH/tree"
apply_both "$SCRATCH/tree"
stage "series: applies to $PKG $VERSION with git am and quilt"
