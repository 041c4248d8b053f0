#!/bin/bash
# prepare-tree.sh: produce the kernel source tree the harness builds from.
# Usage: prepare-tree.sh [--name|--base]  (--name: only print
# <src-id>-<series>; --base: make sure the pristine copy of the source
# exists, print its git directory, prepare no tree)
# Input (env): KSRC (user tree, never modified) or KVER (Debian linux-source),
# SERIES=patches|mainline|none, PATCHES (the series directory, default
# patches/<family>, e.g. patches/6.12 for KVER=6.12 or a 6.12.y KSRC;
# patches/mainline, our fixes to upstream, for SERIES=mainline on 7.3),
# VARIANT (a tree of its own, <src-id>-<series>.<variant>, so that trying
# other series does not disturb the main tree's incremental build).
# Output: $OUT/trees/<src-id>-<series>, a git repo with
# the pristine base tagged "base", the series applied with git am, then
# the selftest series (patches/selftests/<family>, SERIES=none too). Its path is printed as the last line of stdout.
# Unchanged inputs leave the tree untouched; a changed series is re-applied
# and files whose content did not change get their old mtimes back, so the
# O= kernel build stays incremental.
set -eu
. "$(dirname "$0")/../lib.sh"

KVER=${KVER:-6.12}
SERIES=${SERIES:-patches}
PATCHES=$(patches_dir)
STPATCHES=$(selftests_dir)
GIT="git -c user.name=harness -c user.email=harness@localhost -c advice.detachedHead=false"

case $SERIES in patches | mainline | none) ;; *) die "SERIES must be 'patches', 'mainline' or 'none', not '$SERIES'" ;; esac
check_mainline_base

# src_id: stable name of the base source (Debian package or user tree).
src_id() {
	if [ -n "${KSRC:-}" ]; then
		printf 'ksrc-%s\n' "$(realpath -m "$KSRC" | sha1sum | cut -c1-8)"
	else
		printf 'deb-%s\n' "$KVER"
	fi
}

# private_apt_download PKG SUITE DIR: fetch PKG's .deb into DIR through a
# private apt configuration for SUITE whose mirror is taken from this
# machine's apt sources.
private_apt_download() {
	local pkg=$1 suite=$2 dir=$3 uri
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
Suites: $suite
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

# deb_tarball: path of the linux-source tarball for $KVER (fetching it:
# 6.1 is Debian 12's own kernel, taken from the machine's apt sources as
# they are, then from bookworm on its mirror; 7.3 from trixie-backports).
deb_tarball() {
	local t=/usr/src/linux-source-$KVER.tar.xz dir deb suite
	[ -f "$t" ] && { echo "$t"; return; }
	case $KVER in
	6.12) die "$t missing: install linux-source-6.12 (make deps)" ;;
	6.1 | 7.3) ;;
	*) die "KVER must be 6.12, 6.1 or 7.3, not '$KVER'" ;;
	esac
	dir=$OUT/pkg/linux-source-$KVER
	t=$dir/x/usr/src/linux-source-$KVER.tar.xz
	if [ ! -f "$t" ]; then
		stage "source: downloading linux-source-$KVER" >&2
		rm -rf "$dir" && mkdir -p "$dir"
		chmod 0777 "$dir"
		if [ "$KVER" != 6.1 ] ||
			! (cd "$dir" && apt-get -qq download "linux-source-$KVER") >"$dir/apt.log" 2>&1; then
			case $KVER in 6.1) suite=bookworm ;; *) suite=trixie-backports ;; esac
			private_apt_download "linux-source-$KVER" "$suite" "$dir"
		fi
		deb=$(ls "$dir"/linux-source-"$KVER"_*.deb)
		dpkg-deb -x "$deb" "$dir/x" && rm -f "$deb"
		[ -f "$t" ] || die "$deb did not contain $t"
	fi
	echo "$t"
}

# kgit ARGS...: read-only git on the user's tree, trusted even when
# another user owns it (git's safe.directory check; it is only read).
kgit() {
	git -c safe.directory='*' -C "$KSRC" "$@"
}

# ksrc_is_git: KSRC is the top of its own git work tree (not merely a
# directory inside some other repository).
ksrc_is_git() {
	[ "$(kgit rev-parse --show-toplevel 2>/dev/null)" = "$(realpath "$KSRC")" ]
}

# ksrc_kind: git, plain or deb.
ksrc_kind() {
	if [ -z "${KSRC:-}" ]; then echo deb; elif ksrc_is_git; then echo git; else echo plain; fi
}

# bgit ARGS...: git on the base repository (bare; index in harness-index).
bgit() {
	GIT_INDEX_FILE=$BASE/harness-index $GIT --git-dir="$BASE" "$@"
}

# base_init: create the bare base repository (again when the kind of
# source changed). Nothing of it points into the user's repository: the
# objects it needs are fetched (fetch_head), so no git command run here
# can touch the user's files, not even an object's mtime.
base_init() {
	local gd kind
	kind=$(ksrc_kind)
	[ -f "$BASE/harness-id" ] && [ "$(cat "$BASE/harness-kind" 2>/dev/null)" = "$kind" ] && return 0
	rm -rf "$BASE" && mkdir -p "$BASE"
	git init -q --bare "$BASE"
	git --git-dir="$BASE" config gc.auto 0
	git --git-dir="$BASE" symbolic-ref HEAD refs/heads/pristine
	if [ "$kind" = git ]; then
		gd=$(kgit rev-parse --path-format=absolute --git-common-dir)
		[ -f "$gd/info/exclude" ] && cp "$gd/info/exclude" "$BASE/info/exclude"
		# Seed the index with the user's, stat data and mtime kept (a
		# racily clean entry stays suspect), so the first scan hashes
		# only what changed; a split index cannot be borrowed.
		if ! cp -p "$(kgit rev-parse --path-format=absolute --git-path index)" \
			"$BASE/harness-index" 2>/dev/null || ! bgit ls-files >/dev/null 2>&1; then
			rm -f "$BASE/harness-index"
		fi
	fi
	echo "$kind" >"$BASE/harness-kind"
	echo none >"$BASE/harness-id"
}

# fetch_head: print the user's HEAD commit, its objects fetched (depth 1:
# HEAD's tree only, one pack) into $BASE/fetch.git, a shallow repository
# the base borrows objects from; empty when HEAD is unborn. The base itself
# stays complete (its commits have no parent), so trees can borrow from it.
fetch_head() {
	local head f=$BASE/fetch.git
	head=$(kgit rev-parse -q --verify HEAD) || return 0
	if ! git --git-dir="$f" cat-file -e "$head^{tree}" 2>/dev/null; then
		stage "source: fetching HEAD of $KSRC" >&2
		[ -d "$f" ] || {
			git init -q --bare "$f" && git --git-dir="$f" config gc.auto 0
			echo "$f/objects" >"$BASE/objects/info/alternates"
		}
		need_space "$(base_need)" "fetching HEAD of $KSRC"
		# upload-pack runs without our -c options: give it its own.
		$GIT --git-dir="$f" fetch -q --depth=1 --no-tags \
			--upload-pack="git -c safe.directory='*' upload-pack" \
			"file://$(realpath "$KSRC")" HEAD ||
			die "cannot fetch HEAD from KSRC=$KSRC"
		head=$(git --git-dir="$f" rev-parse FETCH_HEAD)
		git --git-dir="$f" update-ref "refs/fetched/$head" "$head"
	fi
	echo "$head"
}

# base_commit ID MSG: point refs/heads/pristine at a commit of the index's
# tree (a new root commit, so that the base is never shallow) and remember
# ID.
base_commit() {
	local c tree
	tree=$(bgit write-tree)
	# A new HEAD with the same files (work in progress committed) keeps
	# the base, so nothing is applied again.
	if [ "$(git --git-dir="$BASE" rev-parse -q --verify 'pristine^{tree}')" != "$tree" ]; then
		stage "source: committing base" >&2
		c=$(bgit commit-tree "$tree" -m "$2")
		git --git-dir="$BASE" update-ref refs/heads/pristine "$c"
	fi
	echo "$1" >"$BASE/harness-id"
}

# check_ksrc: KSRC is a kernel tree the harness can read.
check_ksrc() {
	[ -n "${KSRC:-}" ] || return 0
	[ -d "$KSRC" ] || die "KSRC=$KSRC is not a directory"
	is_kernel_tree "$KSRC" || die "KSRC=$KSRC is not a Linux kernel tree (no Makefile/Kconfig/arch/arm64)"
	if ! ksrc_is_git; then
		[ -f "$KSRC/.config" ] || [ -d "$KSRC/include/config" ] &&
			die "KSRC=$KSRC has in-tree build output; run 'make mrproper' there"
	fi
	return 0
}

# base_need: kilobytes a first copy of the source may take: for Debian,
# the download (when not cached) and a pack about twice the tarball; for a
# git KSRC, HEAD's files packed, its index and room for uncommitted files;
# for a plain KSRC, its files compressed (half their size, conservatively).
base_need() {
	local tb=/usr/src/linux-source-$KVER.tar.xz
	if [ -n "${KSRC:-}" ] && ksrc_is_git; then
		# HEAD's files packed (about a fifth of their size), its index.
		echo $(($(kgit ls-tree -r -l HEAD 2>/dev/null | awk '{ s += $4 } END { print int(s / 5120) }') +
			65536))
	elif [ -n "${KSRC:-}" ]; then
		echo $(($(du -sk --exclude=.git "$KSRC" | cut -f1) / 2))
	elif [ -f "$tb" ]; then
		echo $(($(stat -c %s "$tb") / 512))
	else
		echo 1048576
	fi
}

# tarball_id TARBALL: what must change for a Debian source to be re-read.
tarball_id() {
	stat -c "$KVER %s %Y" "$1"
}

# ensure_base: $BASE is a bare repository whose refs/heads/pristine is the
# pristine source: for a git KSRC, HEAD plus uncommitted and untracked
# (not ignored) files; for a plain KSRC, every file; for Debian, the
# tarball's content. The user's tree is only read, never written.
ensure_base() {
	local id head tb
	if [ -n "${KSRC:-}" ]; then
		base_init
		head=
		# Paths given to git below are relative to the top of KSRC.
		cd "$KSRC"
		if [ "$(ksrc_kind)" = git ]; then
			head=$(fetch_head)
			if [ -z "$head" ]; then
				# Unborn HEAD: a copied index names blobs only the
				# user's repository has; read every file instead.
				bgit read-tree --empty
			elif [ ! -f "$BASE/harness-index" ]; then
				bgit read-tree "$head"
			fi
			# Entries the index holds for other content than HEAD (staged
			# changes, or the previous base) are read again from the files
			# (update-index, not add: a tracked file stays tracked even
			# when an ignore rule matches it).
			if [ -n "$head" ]; then
				bgit diff-index --cached -z --name-only "$head" >"$BASE/harness-staged"
				bgit --work-tree=. update-index -z --force-remove --stdin <"$BASE/harness-staged"
				bgit --work-tree=. update-index -z --add --remove --stdin <"$BASE/harness-staged"
			fi
			bgit --work-tree=. add -A -- :/ ||
				die "cannot read KSRC=$KSRC into $BASE"
		else
			bgit --work-tree=. add -Af -- :/ ||
				die "cannot read KSRC=$KSRC into $BASE"
		fi
		cd "$HERE"
		id="$head $(bgit write-tree)"
		[ "$(cat "$BASE/harness-id")" = "$id" ] && return 0
		stage "source: read $KSRC" >&2
		base_commit "$id" "base: $KSRC${head:+ at $head, with uncommitted files}"
	else
		tb=$(deb_tarball)
		id=$(tarball_id "$tb")
		[ -f "$BASE/harness-id" ] && [ "$(cat "$BASE/harness-id")" = "$id" ] && return 0
		stage "source: importing $(basename "$tb")" >&2
		rm -rf "$BASE"
		base_init
		# Straight from the tarball into one pack: no extracted copy.
		python3 "$ROOT/scripts/pipeline/tar2git.py" "$tb" refs/heads/pristine "base: $(basename "$tb")" |
			git --git-dir="$BASE" fast-import --quiet >/dev/null 2>&1 || true
		git --git-dir="$BASE" rev-parse -q --verify refs/heads/pristine >/dev/null ||
			die "cannot import $tb into $BASE (corrupt or truncated tarball?)"
		echo "$id" >"$BASE/harness-id"
	fi
}

# inputs_hash: everything (besides the base) that decides the tree content.
inputs_hash() {
	{
		echo "series=$SERIES"
		git --git-dir="$BASE" rev-parse refs/heads/pristine
		if [ "$SERIES" != none ]; then
			series_patches "$PATCHES" | xargs -r cat 2>/dev/null || true
		fi
		series_patches "$STPATCHES" | xargs -r cat 2>/dev/null || true
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
		touch -c -h -m -d "@$mt" "$TREE/$f"
	done <"$TREE/.git/harness-mtimes"
}

# am_each WHAT WHERE PATCH...: git am each PATCH in order; at the first
# that fails, abort, reset the tree to base and stop naming it (WHAT:
# "series" or "selftest series", WHERE: " of DIR" or nothing).
am_each() {
	local what=$1 where=$2 p n=0
	shift 2
	for p in "$@"; do
		[ -f "$p" ] || die "$what lists $(basename "$p") but $p does not exist"
		n=$((n + 1))
		if ! $GIT -C "$TREE" am -q "$p" >"$TREE/.git/harness-am.log" 2>&1; then
			$GIT -C "$TREE" am --abort >/dev/null 2>&1 || true
			$GIT -C "$TREE" checkout -q -f -B harness base
			rm -f "$TREE/.git/harness-stamp"
			sed 's/^/  /' "$TREE/.git/harness-am.log" | head -20 >&2
			die "$what does not apply: $(basename "$p") (patch $n$where) failed 'git am'; tree reset to base"
		fi
	done
}

# apply_series: git am each patch in order, naming the one that fails.
apply_series() {
	mapfile -t LIST < <(series_patches "$PATCHES")
	if [ "${#LIST[@]}" = 0 ]; then
		# The mainline run exists to test its fixes: never the bare 7.3.
		[ "$SERIES" != mainline ] || die "no patches in $PATCHES (SERIES=mainline)"
		warn "no patches in $PATCHES; building the bare base"
		return 0
	fi
	am_each series "" "${LIST[@]}"
	stage "series: applied ${#LIST[@]} patches" >&2
}

# series_in_tree: "all" when every patch of the selftest series (LIST)
# reverse-applies, last first, to the tree's HEAD (in a scratch index: the
# tree is what the series makes), "part" when the last one does but not
# all do, "none" otherwise.
series_in_tree() {
	local idx=$TREE/.git/harness-st-index i state=none
	rm -f "$idx"
	GIT_INDEX_FILE=$idx git -C "$TREE" read-tree HEAD
	for ((i = ${#LIST[@]} - 1; i >= 0; i--)); do
		if ! GIT_INDEX_FILE=$idx git -C "$TREE" apply --cached -R "${LIST[i]}" >/dev/null 2>&1; then
			rm -f "$idx"
			echo "$state"
			return 0
		fi
		state=part
	done
	rm -f "$idx"
	echo all
}

# apply_selftests: git am the base's selftest series (patches/selftests/
# <family>, generated from selftests/ by make selftest-series), exactly
# what a user's git am of it gives.
apply_selftests() {
	if [ ! -f "$STPATCHES/series" ]; then
		warn "no selftest series for Linux $(kernel_family) ($STPATCHES); only the smoke set will run"
		return 0
	fi
	mapfile -t LIST < <(series_patches "$STPATCHES")
	# A KSRC that has them already (git am'd by its owner): nothing to do.
	case $(series_in_tree) in
	all)
		stage "series: the selftest series is in the tree already" >&2
		return 0
		;;
	part)
		die "the tree has part of $STPATCHES, or another version of it: apply the rest, or start from a tree without it"
		;;
	esac
	am_each "selftest series" " of $STPATCHES" "${LIST[@]}"
	stage "series: applied ${#LIST[@]} selftest patches" >&2
}

# tree_usable: TREE is a clone of this base that can still fetch from it
# (a tree of an older layout, or one whose borrowed objects are gone, is
# checked out again). Leaves the base's commit in FETCH_HEAD.
tree_usable() {
	[ -d "$TREE/.git" ] &&
		[ "$(cat "$TREE/.git/objects/info/alternates" 2>/dev/null)" = "$BASE/objects" ] &&
		git -C "$TREE" fetch -q origin pristine 2>/dev/null &&
		git -C "$TREE" rev-parse -q --verify "FETCH_HEAD^{tree}" >/dev/null
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
	# One absolute spelling of KSRC (ensure_base works from inside it).
	HERE=$PWD
	[ -z "${KSRC:-}" ] || KSRC=$(realpath -m "$KSRC")
	check_ksrc
	[ "$SERIES" = none ] || [ -d "$PATCHES" ] ||
		die "no series for Linux $(kernel_family): $PATCHES does not exist (SERIES=none builds the bare base)"
	[ -f "$BASE/harness-id" ] || need_space "$(base_need)" "the copy of ${KSRC:-linux-source-$KVER}"
	ensure_base "$BASE"
	if [ "${1:-}" = --base ]; then
		echo "$BASE"
		exit 0
	fi
	HASH=$(inputs_hash)

	FRESH=0
	tree_usable || FRESH=1
	if [ "$FRESH" = 1 ]; then
		NEED=$(python3 "$ROOT/scripts/pipeline/checkout-shared.py" --need "$BASE" pristine "$OUT/files")
		# Its old build directories go too: the build starts afresh.
		[ -n "${HARNESS_EXTRA_KB:-}" ] && [ "$HARNESS_EXTRA_KB" -lt 524288 ] && HARNESS_EXTRA_KB=524288
	elif [ "$(git -C "$TREE" rev-parse base)" != "$(git -C "$TREE" rev-parse FETCH_HEAD)" ]; then
		# The files the new base changes are written again.
		NEED=$(git -C "$TREE" diff -z --name-only --no-renames base FETCH_HEAD |
			tr '\0' '\n' | sed 's/^/FETCH_HEAD:/' |
			git -C "$TREE" cat-file --batch-check='%(objectsize)' |
			awk '$1 ~ /^[0-9]+$/ { s += int($1 / 4096) * 4 + 4 } END { print s + 16384 }')
	else
		NEED=16384
	fi
	need_space $((NEED + ${HARNESS_EXTRA_KB:-0})) "$(basename "$TREE") (tree $(human "$NEED")${HARNESS_EXTRA_KB:+, build and logs $(human "$HARNESS_EXTRA_KB")})"
	# Its files are shared with other trees: an edit made in place would be
	# in all of them (an interrupted git am is aborted below instead).
	if [ "$FRESH" = 0 ] && [ ! -d "$TREE/.git/rebase-apply" ]; then
		git -C "$TREE" update-index -q --refresh >/dev/null || true
		git -C "$TREE" diff-files --quiet ||
			die "$TREE was edited in place; its files are shared with other trees: run 'make clean' (edit a KSRC tree instead)"
	fi
	if [ "$FRESH" = 0 ] && [ -f "$TREE/.git/harness-stamp" ] && [ ! -d "$TREE/.git/rebase-apply" ] &&
		[ "$(cat "$TREE/.git/harness-stamp")" = "$HASH" ]; then
		echo "$TREE"
		exit 0
	fi
	# From here until the end the tree is not what any stamp says.
	rm -f "$TREE/.git/harness-stamp"
	if [ "$FRESH" = 1 ]; then
		stage "source: checking out $ID for SERIES=$SERIES" >&2
		rm -rf "$TREE"
		# Builds made from an earlier tree of this name would look newer
		# than the shared files' mtimes: start them afresh (ccache).
		rm -rf "$OUT/build/$(basename "$TREE")"-*
		$GIT clone -q --shared --no-checkout "$BASE" "$TREE"
		git -C "$TREE" config gc.auto 0
		# Another tree linking a shared file changes its ctime only.
		git -C "$TREE" config core.trustctime false
		$GIT -C "$TREE" tag base HEAD
		$GIT -C "$TREE" read-tree base
		python3 "$ROOT/scripts/pipeline/checkout-shared.py" "$TREE" "$OUT/files" >"$TREE/.git/harness-checkout.log" ||
			die "cannot check out $TREE"
		$GIT -C "$TREE" checkout -q -B harness base
		OLD=base
	else
		OLD=$(git -C "$TREE" rev-parse HEAD)
		git -C "$TREE" am --abort >/dev/null 2>&1 || true
		save_mtimes "$OLD"
		$GIT -C "$TREE" tag -f base FETCH_HEAD >/dev/null
		$GIT -C "$TREE" checkout -q -f -B harness base
	fi
	if [ "$SERIES" != none ]; then
		apply_series
	fi
	# The selftests go in for SERIES=none too: that is the negative control.
	apply_selftests
	[ "$OLD" = base ] || restore_mtimes "$OLD" HEAD
	# The index learns the restored mtimes (else they look like edits).
	git -C "$TREE" update-index -q --refresh >/dev/null || true
	echo "$HASH" >"$TREE/.git/harness-stamp"
	echo "$TREE"
}

# main and exit on one line: editing this file during a run is harmless.
main "$@"; exit
