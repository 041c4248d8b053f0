#!/bin/bash
# clean.sh: free the space the harness took under out/ and say how much.
# Usage: clean.sh            everything made for runs: results, logs, builds,
#                            source copies (base/), trees, the shared file
#                            store, proof and bench work; keeps the downloads
#                            (out/pkg: Debian packages fetched with apt, e.g.
#                            linux-source-7.3; out/busybox: the arm64 busybox;
#                            out/guest-tools: the guest runner's tools).
#                            Only names the harness makes are removed.
#        clean.sh --source   only the copies of one source, named by KSRC=
#                            or KVER= (base, its trees, their builds and build
#                            logs), then the store's files no tree uses.
# A run in progress holds its source's lock; cleaning waits for it.
set -eu
. "$(dirname "$0")/lib.sh"

# used_kb: kilobytes under $OUT (0 when it does not exist).
used_kb() {
	if [ -d "$OUT" ]; then du -sk "$OUT" | cut -f1; else echo 0; fi
}

# prune_store: drop the shared files that no tree links any more.
prune_store() {
	[ -d "$OUT/files" ] || return 0
	find "$OUT/files" -type f -links 1 -delete
	find "$OUT/files" -mindepth 1 -type d -empty -delete
}

# lock_all: wait for every run in progress (each holds a source lock).
lock_all() {
	local l
	for l in "$OUT"/base/.lock-*; do
		[ -e "$l" ] || continue
		exec {fd}<"$l"
		flock "$fd"
	done
}

# RUN_PRODUCTS: what runs make under out/ (names, not globs of out/ itself:
# clean never empties a directory it does not know).
RUN_PRODUCTS="trees files build results logs proof bench checkpatch.log .ksrc-files .deps-present"

clean_all() {
	local d kept=
	lock_all
	for d in $RUN_PRODUCTS; do
		rm -rf "${OUT:?}/$d"
	done
	rm -rf "$OUT"/prev-check.* "$OUT"/series-check.* "$OUT"/selftest-series.* "$OUT"/initramfs.* "$OUT"/busybox-deb "$OUT"/guest-tools-deb "$OUT"/guest-tools.tmp
	# The source copies go, their lock files stay (runs may wait on them).
	if [ -d "$OUT/base" ]; then
		find "$OUT/base" -mindepth 1 -maxdepth 1 ! -name '.lock-*' -exec rm -rf {} +
	fi
	for d in pkg busybox guest-tools; do
		[ -e "$OUT/$d" ] && kept="$kept out/$d"
	done
	echo "kept:${kept:- nothing} (downloads)"
}

clean_source() {
	local id l
	[ -n "${KSRC:-}${KVER:-}" ] || die "clean-source: name the source with KSRC=<tree> or KVER=6.12|6.1|7.3"
	id=$(KSRC=${KSRC:-} bash "$ROOT/scripts/pipeline/prepare-tree.sh" --name)
	id=${id%-*}
	l=$OUT/base/.lock-$id
	if [ -e "$l" ]; then
		exec 9<"$l"
		flock 9
	fi
	rm -rf "$OUT/base/$id" "$OUT/trees/$id"-* "$OUT/build/$id"-* \
		"$OUT/logs/build-$id"-* "$OUT/logs/selftests-$id"-*
	prune_store
	echo "removed the copies of ${KSRC:-linux-source-$KVER} ($id)"
}

BEFORE=$(used_kb)
case ${1:-} in
"") clean_all ;;
--source) clean_source ;;
*) die "usage: clean.sh [--source]" ;;
esac
AFTER=$(used_kb)
echo "clean: freed $(human $((BEFORE - AFTER))); out/ holds $(human "$AFTER")"
