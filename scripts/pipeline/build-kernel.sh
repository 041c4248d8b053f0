#!/bin/bash
# build-kernel.sh TREE BUILD: configure and cross-build the arm64 kernel.
# Config: allnoconfig + configs/base.config (+ configs/no-mte.config when
# KCONFIG=nomte, configs/hibernate.config when KCONFIG=hibernate) via the
# tree's merge_config.sh -m, then olddefconfig; every requested option is
# checked in the resulting .config. Build: Image and modules with ccache
# (default ccache dir, CCACHE_BASEDIR=$OUT so the per-series trees share
# hits). Log: $OUT/logs/build-<name>.log.
set -eu
. "$(dirname "$0")/../lib.sh"

[ $# = 2 ] || die "usage: build-kernel.sh TREE BUILD"
TREE=$(realpath "$1")
mkdir -p "$2"
BUILD=$(realpath "$2")
KCONFIG=${KCONFIG:-default}
JOBS=${JOBS:-$(nproc)}
NAME=$(basename "$BUILD")
LOG=$OUT/logs/build-$NAME.log

case $KCONFIG in
default) FRAGS="$ROOT/configs/base.config" ;;
nomte) FRAGS="$ROOT/configs/base.config $ROOT/configs/no-mte.config" ;;
hibernate) FRAGS="$ROOT/configs/base.config $ROOT/configs/hibernate.config" ;;
*) die "KCONFIG must be 'default', 'nomte' or 'hibernate', not '$KCONFIG'" ;;
esac

need_tool aarch64-linux-gnu-gcc make flex bison bc
is_kernel_tree "$TREE" || die "$TREE is not a Linux kernel tree"
mkdir -p "$BUILD" "$OUT/logs"

export ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-
export PATH=/usr/lib/ccache:$PATH CCACHE_BASEDIR=$OUT
kmake() {
	make -C "$TREE" O="$BUILD" -j"$JOBS" "$@"
}

# config_wanted FRAG...: "NAME VALUE" for each option the fragments request
# (later fragments override earlier ones); "n" for "is not set" lines.
config_wanted() {
	awk '
		/^CONFIG_[A-Za-z0-9_]+=/ { i = index($0, "="); v[substr($0, 1, i - 1)] = substr($0, i + 1); next }
		/^# CONFIG_[A-Za-z0-9_]+ is not set/ { v[$2] = "n" }
		END { for (k in v) print k, v[k] }
	' "$@" | sort
}

# kconfig_symbols: every CONFIG_ name the tree's Kconfig files define.
kconfig_symbols() {
	grep -rhoE '^[[:space:]]*(menu)?config[[:space:]]+[A-Za-z0-9_]+' \
		--include='Kconfig*' "$TREE" | awk '{ print "CONFIG_" $2 }' | sort -u
}

# check_config CONFIG FRAG...: fail listing every requested option that did
# not survive into CONFIG. Options this tree's Kconfig does not define at all
# (e.g. CONFIG_ARM64_PAN, unconditional in 7.x) only get a warning.
check_config() {
	local cfg=$1 name want have lost="" undefined="" syms=""
	shift
	while read -r name want; do
		have=$(sed -n "s/^$name=//p" "$cfg")
		[ -n "$have" ] || have=n
		[ "$have" != "$want" ] || continue
		[ -n "$syms" ] || syms=$(kconfig_symbols)
		if grep -qx "$name" <<<"$syms"; then
			lost="$lost $name(want $want, got $have)"
		else
			undefined="$undefined $name"
		fi
	done < <(config_wanted "$@")
	[ -z "$undefined" ] || warn "not defined by this tree's Kconfig, ignored:$undefined"
	[ -z "$lost" ] || die "config options lost in $cfg:$lost"
}

configure() {
	local stamp
	# shellcheck disable=SC2086
	# What the configuration depends on: the fragments, the Kconfig files
	# and kconfig itself (their blob ids from the index, not the tree's
	# commit: a series edit that touches no Kconfig keeps the .config).
	stamp=$( (echo "$KCONFIG"; git -C "$TREE" ls-files -s -- ':(glob)**/Kconfig*' scripts/kconfig \
		2>/dev/null || git -C "$TREE" rev-parse HEAD 2>/dev/null || true; cat $FRAGS) | sha1sum)
	if [ -f "$BUILD/.config" ] && [ "$(cat "$BUILD/.harness-config" 2>/dev/null)" = "$stamp" ]; then
		return 0
	fi
	stage "config: $NAME ($KCONFIG)"
	# A configuration that fails or is interrupted must not look done.
	rm -f "$BUILD/.harness-config"
	[ -f "$BUILD/.config" ] && cp -p "$BUILD/.config" "$BUILD/.config.prev"
	# shellcheck disable=SC2086
	{ kmake allnoconfig &&
		(cd "$BUILD" && "$TREE/scripts/kconfig/merge_config.sh" -m -O "$BUILD" .config $FRAGS) &&
		kmake olddefconfig; } >"$LOG" 2>&1 || die "kernel configuration failed (see $LOG)"
	# Same content as before: keep the old mtime so nothing is rebuilt.
	if [ -f "$BUILD/.config.prev" ] && cmp -s "$BUILD/.config" "$BUILD/.config.prev"; then
		touch -r "$BUILD/.config.prev" "$BUILD/.config"
	fi
	rm -f "$BUILD/.config.prev"
	# shellcheck disable=SC2086
	check_config "$BUILD/.config" $FRAGS
	echo "$stamp" >"$BUILD/.harness-config"
}

# built_stamp: what the last successful build was made from: the tree's
# commit (prepare-tree.sh makes a new one whenever the content changes,
# and refuses a tree edited in place), the .config and the compiler.
built_stamp() {
	{
		git -C "$TREE" rev-parse HEAD 2>/dev/null || echo "no git"
		sha1sum <"$BUILD/.config"
		aarch64-linux-gnu-gcc --version | head -n 1
	} | sha1sum | cut -c1-16
}

build() {
	local stamp
	stamp=$(built_stamp)
	# Nothing changed since the last build: even a no-op kbuild run
	# takes half a minute here.
	if [ -f "$BUILD/arch/arm64/boot/Image" ] && [ "$(cat "$BUILD/.harness-built" 2>/dev/null)" = "$stamp" ]; then
		stage "build: Image modules up to date ($NAME)"
		return 0
	fi
	rm -f "$BUILD/.harness-built"
	stage "build: Image modules ($NAME)"
	kmake Image modules >>"$LOG" 2>&1 || {
		grep -E 'error|Error' "$LOG" | tail -15 >&2
		die "kernel build failed (see $LOG)"
	}
	[ -f "$BUILD/arch/arm64/boot/Image" ] || die "no Image produced (see $LOG)"
	echo "$stamp" >"$BUILD/.harness-built"
}

main() {
	# Only the .config check when asked (used by the unit tests).
	if [ "${CHECK_ONLY:-}" = 1 ]; then
		# shellcheck disable=SC2086
		check_config "$BUILD/.config" $FRAGS
		exit 0
	fi
	: >>"$LOG"
	configure
	build
	stage "build: done ($NAME)"
}

# main and exit on one line: editing this file during a run is harmless.
main "$@"; exit
