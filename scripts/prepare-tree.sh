#!/bin/bash
# prepare-tree.sh: produce the kernel source tree the harness builds from.
# Usage: prepare-tree.sh [--name]  (--name: only print <src-id>-<series>)
# Input (env): KSRC (user tree, never modified) or KVER (Debian linux-source),
# SERIES=patches|none, PATCHES (the series directory, default patches/),
# VARIANT (a tree of its own, <src-id>-<series>.<variant>, so that trying
# other series does not disturb the main tree's incremental build).
# Output: $OUT/trees/<src-id>-<series>, a git repo with
# the pristine base tagged "base", the series applied with git am and the
# selftests installed. Its path is printed as the last line of stdout.
# Unchanged inputs leave the tree untouched; a changed series is re-applied
# and files whose content did not change get their old mtimes back, so the
# O= kernel build stays incremental.
set -eu
. "$(dirname "$0")/lib.sh"

KVER=${KVER:-6.12}
SERIES=${SERIES:-patches}
PATCHES=${PATCHES:-$ROOT/patches}
GIT="git -c user.name=harness -c user.email=harness@localhost -c advice.detachedHead=false"

case $SERIES in patches | none) ;; *) die "SERIES must be 'patches' or 'none', not '$SERIES'" ;; esac

# src_id: stable name of the base source (Debian package or user tree).
src_id() {
	if [ -n "${KSRC:-}" ]; then
		printf 'ksrc-%s\n' "$(realpath "$KSRC" | sha1sum | cut -c1-8)"
	else
		printf 'deb-%s\n' "$KVER"
	fi
}

# private_apt_download PKG DIR: fetch PKG's .deb into DIR through a private
# apt configuration whose mirror is taken from this machine's apt sources.
private_apt_download() {
	local pkg=$1 dir=$2 uri
	uri=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' \
		/etc/apt/sources.list.d/*.sources 2>/dev/null | grep -m1 '/debian/*$' || true)
	if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
		uri=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/) { print $i; exit } }' \
			/etc/apt/sources.list | grep -m1 '/debian/*$' || true)
	fi
	[ -n "$uri" ] || die "cannot find a Debian mirror in /etc/apt sources"
	mkdir -p "$dir/apt/lists/partial" "$dir/apt/parts" "$dir/apt/archives/partial"
	chmod -R 0777 "$dir"
	cat >"$dir/apt/parts/backports.sources" <<SRC
Types: deb
URIs: $uri
Suites: trixie-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	set -- -o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$dir/apt/parts" \
		-o "Dir::State::Lists=$dir/apt/lists" -o "Dir::Cache=$dir/apt" \
		-o Debug::NoLocking=1
	apt-get "$@" -qq update >"$dir/apt.log" 2>&1 ||
		die "private apt-get update failed (see $dir/apt.log)"
	(cd "$dir" && apt-get "$@" -qq download "$pkg") >>"$dir/apt.log" 2>&1 ||
		die "apt-get download $pkg failed (see $dir/apt.log)"
}

# deb_tarball: path of the linux-source tarball for $KVER (fetching it).
deb_tarball() {
	local t=/usr/src/linux-source-$KVER.tar.xz dir deb
	[ -f "$t" ] && { echo "$t"; return; }
	case $KVER in
	6.12) die "$t missing: install linux-source-6.12 (make deps)" ;;
	7.3) ;;
	*) die "KVER must be 6.12 or 7.3, not '$KVER'" ;;
	esac
	dir=$OUT/pkg/linux-source-$KVER
	t=$dir/x/usr/src/linux-source-$KVER.tar.xz
	if [ ! -f "$t" ]; then
		stage "source: downloading linux-source-$KVER" >&2
		rm -rf "$dir" && mkdir -p "$dir"
		private_apt_download "linux-source-$KVER" "$dir"
		deb=$(ls "$dir"/linux-source-"$KVER"_*.deb)
		dpkg-deb -x "$deb" "$dir/x" && rm -f "$deb"
		[ -f "$t" ] || die "$deb did not contain $t"
	fi
	echo "$t"
}

# ksrc_is_git: KSRC is the top of its own git work tree (not merely a
# directory inside some other repository).
ksrc_is_git() {
	[ "$(git -C "$KSRC" rev-parse --show-toplevel 2>/dev/null)" = "$(realpath "$KSRC")" ]
}

# ksrc_identity: what must change for the user's tree to be copied again.
ksrc_identity() {
	if ksrc_is_git; then
		{
			git -C "$KSRC" rev-parse HEAD
			git -C "$KSRC" status --porcelain
			git -C "$KSRC" diff HEAD
		} | sha1sum | cut -c1-16
	else
		echo plain
	fi
}

# ensure_base DIR: DIR is a git repo whose HEAD is the pristine source.
ensure_base() {
	local base=$1 id tb
	if [ -n "${KSRC:-}" ]; then
		[ -d "$KSRC" ] || die "KSRC=$KSRC is not a directory"
		is_kernel_tree "$KSRC" || die "KSRC=$KSRC is not a Linux kernel tree (no Makefile/Kconfig/arch/arm64)"
		id=$(ksrc_identity)
		[ "$id" != plain ] && [ -f "$base/.git/harness-id" ] &&
			[ "$(cat "$base/.git/harness-id")" = "$id" ] && return 0
		stage "source: syncing $KSRC" >&2
		mkdir -p "$base"
		if ksrc_is_git; then
			# Tracked and untracked-but-not-ignored files only; files
			# gone from KSRC are removed from the copy.
			git -C "$KSRC" ls-files -z -co --exclude-standard >"$OUT/.ksrc-files"
			rsync -a --from0 --files-from="$OUT/.ksrc-files" "$KSRC/" "$base/"
			if [ -d "$base/.git" ]; then
				comm -z -23 <(git -C "$base" ls-files -z | sort -z) <(sort -z "$OUT/.ksrc-files") |
					(cd "$base" && xargs -0r rm -f)
			fi
			rm -f "$OUT/.ksrc-files"
		else
			[ -f "$KSRC/.config" ] || [ -d "$KSRC/include/config" ] &&
				die "KSRC=$KSRC has in-tree build output; run 'make mrproper' there"
			rsync -a --delete --exclude=/.git "$KSRC/" "$base/"
		fi
	else
		id=$KVER
		[ -f "$base/.git/harness-id" ] && [ "$(cat "$base/.git/harness-id")" = "$id" ] && return 0
		tb=$(deb_tarball)
		stage "source: extracting $(basename "$tb")" >&2
		rm -rf "$base" && mkdir -p "$base"
		tar -C "$base" --strip-components=1 -xf "$tb"
	fi
	[ -d "$base/.git" ] || $GIT -C "$base" init -q
	$GIT -C "$base" add -Af .
	if ! git -C "$base" rev-parse -q --verify HEAD >/dev/null ||
		! git -C "$base" diff --cached --quiet; then
		stage "source: committing base" >&2
		$GIT -C "$base" commit -q --allow-empty -m "base: $id"
	fi
	echo "$id" >"$base/.git/harness-id"
}

# inputs_hash: everything (besides the base) that decides the tree content.
inputs_hash() {
	{
		echo "series=$SERIES"
		git -C "$BASE" rev-parse HEAD
		if [ "$SERIES" = patches ]; then
			series_patches "$PATCHES" | xargs -r cat 2>/dev/null || true
		fi
		find "$ROOT/selftests" -type f -print0 2>/dev/null | sort -z |
			xargs -0r sha1sum | sed "s|$ROOT/||"
		cat "$ROOT/scripts/install-selftests.sh" 2>/dev/null || true
	} | sha1sum | cut -c1-16
}

# save_mtimes REV: record "mtime path" of files differing between base and REV.
save_mtimes() {
	git -C "$TREE" diff --name-only -z base "$1" |
		(cd "$TREE" && { xargs -0r stat -c '%Y %n' 2>/dev/null || true; }) >"$TREE/.git/harness-mtimes"
}

# restore_mtimes OLD NEW: files whose content is equal in OLD and NEW get
# back the mtime they had before the re-application.
restore_mtimes() {
	local old=$1 new=$2 mt f
	while read -r mt f; do
		[ "$(git -C "$TREE" rev-parse -q --verify "$old:$f" 2>/dev/null)" = \
			"$(git -C "$TREE" rev-parse -q --verify "$new:$f" 2>/dev/null)" ] || continue
		touch -m -d "@$mt" "$TREE/$f"
	done <"$TREE/.git/harness-mtimes"
}

# apply_series: git am each patch in order, naming the one that fails.
apply_series() {
	local p n=0
	mapfile -t LIST < <(series_patches "$PATCHES")
	if [ "${#LIST[@]}" = 0 ]; then
		warn "no patches in $PATCHES; building the bare base"
		return 0
	fi
	for p in "${LIST[@]}"; do
		[ -f "$p" ] || die "series lists $(basename "$p") but $p does not exist"
		n=$((n + 1))
		if ! $GIT -C "$TREE" am -q "$p" >"$TREE/.git/harness-am.log" 2>&1; then
			$GIT -C "$TREE" am --abort >/dev/null 2>&1 || true
			$GIT -C "$TREE" checkout -q -f -B harness base
			rm -f "$TREE/.git/harness-stamp"
			sed 's/^/  /' "$TREE/.git/harness-am.log" | head -20 >&2
			die "series does not apply: $(basename "$p") (patch $n) failed 'git am'; tree reset to base"
		fi
	done
	stage "series: applied $n patches" >&2
}

# install_selftests: run the selftest installer and commit what it wrote.
install_selftests() {
	local inst=$ROOT/scripts/install-selftests.sh
	if [ ! -f "$inst" ]; then
		warn "scripts/install-selftests.sh not found; only the smoke set will run"
		return 0
	fi
	stage "series: installing selftests" >&2
	bash "$inst" "$TREE" >"$TREE/.git/harness-install.log" 2>&1 ||
		die "scripts/install-selftests.sh failed (see $TREE/.git/harness-install.log)"
	$GIT -C "$TREE" add -Af -- tools/testing/selftests
	$GIT -C "$TREE" commit -q --allow-empty -m "selftests: install MTE KVM tests"
}

main() {
	ID=$(src_id)
	BASE=$OUT/base/$ID
	TREE=$OUT/trees/$ID-$SERIES${VARIANT:+.$VARIANT}
	if [ "${1:-}" = --name ]; then
		echo "$ID-$SERIES"
		exit 0
	fi
	mkdir -p "$OUT/base" "$OUT/trees"
	# One preparation of a given source at a time (verify.sh holds the lock
	# for its whole run and says so through HARNESS_LOCKED).
	if [ "${HARNESS_LOCKED:-}" != "$ID" ]; then
		exec 8>"$OUT/base/.lock-$ID"
		flock 8
	fi
	ensure_base "$BASE"
	HASH=$(inputs_hash)

	if [ -f "$TREE/.git/harness-stamp" ] && [ "$(cat "$TREE/.git/harness-stamp")" = "$HASH" ]; then
		echo "$TREE"
		exit 0
	fi
	if [ ! -d "$TREE/.git" ]; then
		stage "source: cloning $ID for SERIES=$SERIES" >&2
		rm -rf "$TREE"
		$GIT clone -q --shared "$BASE" "$TREE"
		$GIT -C "$TREE" tag base HEAD
		$GIT -C "$TREE" checkout -q -B harness base
		OLD=base
	else
		OLD=$(git -C "$TREE" rev-parse HEAD)
		git -C "$TREE" am --abort >/dev/null 2>&1 || true
		$GIT -C "$TREE" fetch -q origin
		save_mtimes "$OLD"
		$GIT -C "$TREE" tag -f base FETCH_HEAD >/dev/null
		$GIT -C "$TREE" checkout -q -f -B harness base
	fi
	if [ "$SERIES" = patches ]; then
		apply_series
	fi
	# The selftests go in for SERIES=none too: that is the negative control.
	install_selftests
	[ "$OLD" = base ] || restore_mtimes "$OLD" HEAD
	echo "$HASH" >"$TREE/.git/harness-stamp"
	echo "$TREE"
}

# main and exit on one line: editing this file during a run is harmless.
main "$@"; exit
