#!/bin/bash
# deps.sh: install the Debian packages the harness needs (only those missing)
# and unpack an arm64 busybox-static into out/busybox/. Quick when all present.
set -eu
. "$(dirname "$0")/lib.sh"

PKGS="gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-system-arm
linux-source-6.12 flex bison bc libssl-dev libelf-dev cpio ccache kmod quilt
shellcheck rsync python3 git xz-utils lava-common python3-yaml"
BUSYBOX=$OUT/busybox/bin/busybox

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

install_busybox() {
	local dir deb
	[ -x "$BUSYBOX" ] && return 0
	stage "deps: fetching busybox-static:arm64"
	if ! dpkg --print-foreign-architectures | grep -qx arm64; then
		as_root dpkg --add-architecture arm64
		UPDATED=
	fi
	dir=$OUT/busybox-deb
	rm -rf "$dir" && mkdir -p "$dir" && chmod 0777 "$dir"
	# Try the current lists first; update them only if that fails.
	if ! (cd "$dir" && apt-get download -qq busybox-static:arm64) >/dev/null 2>&1; then
		apt_update_once
		(cd "$dir" && apt-get download -qq busybox-static:arm64) ||
			die "apt-get download busybox-static:arm64 failed"
	fi
	deb=$(ls "$dir"/busybox-static_*_arm64.deb)
	dpkg-deb -x "$deb" "$dir/x"
	mkdir -p "$OUT/busybox/bin"
	cp "$dir/x/bin/busybox" "$BUSYBOX.tmp" && mv "$BUSYBOX.tmp" "$BUSYBOX"
	rm -rf "$dir"
}

mkdir -p "$OUT"
install_pkgs
install_busybox
