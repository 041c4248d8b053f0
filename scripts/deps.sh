#!/bin/bash
# deps.sh: install the Debian packages the harness needs (only those missing),
# unpack an arm64 busybox-static into out/busybox/ and the guest tools
# kselftest's runner needs and busybox lacks into out/guest-tools/ (from
# Debian's arm64 packages: coreutils' timeout, perl-base for the runner's
# unbuffered prefix.pl, and the C library they load). Quick when all present.
set -eu
. "$(dirname "$0")/lib.sh"

PKGS="gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-system-arm
linux-source-6.12 flex bison bc libssl-dev libelf-dev cpio ccache kmod quilt
shellcheck rsync python3 git xz-utils lava-common python3-yaml"
BUSYBOX=$OUT/busybox/bin/busybox
# The arm64 packages the guest's kselftest runner takes tools from.
GUEST_PKGS="coreutils libc6 perl-base libcrypt1"
GUEST=$OUT/guest-tools

# missing_pkgs: print the packages from $PKGS that are not installed.
missing_pkgs() {
	local p
	# shellcheck disable=SC2086
	dpkg-query -W -f '${Package} ${db:Status-Abbrev}\n' $PKGS 2>/dev/null |
		awk '$2 == "ii" { print $1 }' >"$OUT/.deps-present"
	for p in $PKGS; do
		grep -qx "$p" "$OUT/.deps-present" || echo "$p"
	done
	rm -f "$OUT/.deps-present"
}

# as_root CMD...: run CMD as root, through sudo when needed.
as_root() {
	if [ "$(id -u)" = 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		die "need root (or sudo) to run: $*"
	fi
}

UPDATED=
apt_update_once() {
	[ -n "$UPDATED" ] && return 0
	as_root apt-get update -qq || die "apt-get update failed"
	UPDATED=1
}

install_pkgs() {
	local missing
	missing=$(missing_pkgs | tr '\n' ' ')
	[ -z "$missing" ] && return 0
	stage "deps: installing $missing"
	apt_update_once
	# shellcheck disable=SC2086
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends $missing >/dev/null ||
		die "apt-get install failed for: $missing"
}

# fetch_arm64 DIR PKG...: apt-get download PKG:arm64... into DIR (the
# current lists first; updated only if that fails).
fetch_arm64() {
	local dir=$1
	shift
	if ! dpkg --print-foreign-architectures | grep -qx arm64; then
		as_root dpkg --add-architecture arm64
		UPDATED=
	fi
	rm -rf "$dir" && mkdir -p "$dir" && chmod 0777 "$dir"
	if ! (cd "$dir" && apt-get download -qq "${@/%/:arm64}") >/dev/null 2>&1; then
		apt_update_once
		(cd "$dir" && apt-get download -qq "${@/%/:arm64}") ||
			die "apt-get download ${*/%/:arm64} failed"
	fi
}

install_busybox() {
	local dir=$OUT/busybox-deb deb
	[ -x "$BUSYBOX" ] && return 0
	stage "deps: fetching busybox-static:arm64"
	fetch_arm64 "$dir" busybox-static
	deb=$(ls "$dir"/busybox-static_*_arm64.deb)
	dpkg-deb -x "$deb" "$dir/x"
	mkdir -p "$OUT/busybox/bin"
	cp "$dir/x/bin/busybox" "$BUSYBOX.tmp" && mv "$BUSYBOX.tmp" "$BUSYBOX"
	rm -rf "$dir"
}

# install_guest_tools: out/guest-tools/, a tree the initramfs copies to /:
# usr/bin/timeout, usr/bin/perl and perl-base's modules, and the shared
# libraries they need (checked with readelf).
install_guest_tools() {
	local dir=$OUT/guest-tools-deb deb lib
	[ -f "$GUEST/.done" ] && return 0
	stage "deps: fetching the guest's runner tools ($GUEST_PKGS, arm64)"
	# shellcheck disable=SC2086
	fetch_arm64 "$dir" $GUEST_PKGS
	for deb in "$dir"/*.deb; do
		dpkg-deb -x "$deb" "$dir/x"
	done
	rm -rf "$GUEST.tmp" && mkdir -p "$GUEST.tmp/usr/bin" "$GUEST.tmp/lib/aarch64-linux-gnu" \
		"$GUEST.tmp/usr/lib/aarch64-linux-gnu"
	cp -a "$dir/x/usr/bin/timeout" "$dir/x/usr/bin/perl" "$GUEST.tmp/usr/bin/"
	cp -a "$dir/x/usr/lib/aarch64-linux-gnu/perl-base" "$GUEST.tmp/usr/lib/aarch64-linux-gnu/"
	cp -a "$dir/x/lib/ld-linux-aarch64.so.1" "$GUEST.tmp/lib/"
	for lib in ld-linux-aarch64.so.1 libc.so.6 libm.so.6 libcrypt.so.1; do
		cp -aL "$(find "$dir/x" -name "$lib" | head -n 1)" "$GUEST.tmp/lib/aarch64-linux-gnu/$lib" ||
			die "no $lib in $GUEST_PKGS"
	done
	for lib in $(aarch64-linux-gnu-readelf -d "$GUEST.tmp/usr/bin/timeout" "$GUEST.tmp/usr/bin/perl" |
		sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort -u); do
		[ -e "$GUEST.tmp/lib/aarch64-linux-gnu/$lib" ] ||
			die "guest tools: $lib is needed but not taken from $GUEST_PKGS"
	done
	(cd "$dir" && ls ./*.deb) >"$GUEST.tmp/.done"
	rm -rf "$GUEST" && mv "$GUEST.tmp" "$GUEST"
	rm -rf "$dir"
}

mkdir -p "$OUT"
install_pkgs
install_busybox
install_guest_tools
