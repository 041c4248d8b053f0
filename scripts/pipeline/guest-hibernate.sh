#!/bin/sh
# guest-hibernate.sh: /hibernate in the initramfs, the command a hibernation
# cell's mte_userspace runs between colouring its memory and checking it
# (MTE_USERSPACE_ACROSS, set by /init). Makes the cell's disk (/dev/vda) a
# swap device and hibernates to it: the kernel writes its image there and
# powers the machine off; boot.sh then boots the restore kernel, which
# loads the image and jumps back into it, where the write below returns.
# Exits 0 only in the resumed image kernel, 1 on any failure.
# shellcheck disable=SC3043
set -eu
case " $(cat /proc/cmdline) " in
*" harness.hib=suspend "*) ;;
*)
	echo "hibernate: not the image kernel of a hibernation cell" >&2
	exit 1
	;;
esac
mkswap /dev/vda >/dev/null
swapon /dev/vda
# No platform hibernation ops on arm64: "shutdown" powers off (PSCI
# SYSTEM_OFF) once the image is written.
echo shutdown >/sys/power/disk
echo disk >/sys/power/state
swapoff /dev/vda
