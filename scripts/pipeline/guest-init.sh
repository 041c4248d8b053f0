#!/bin/sh
# guest-init.sh: /init of the test initramfs (busybox sh, runs as PID 1).
# Mounts the pseudo filesystems, runs every test listed in /tests.txt
# (one "name" per line, binaries in /kvm/) with a per-test timeout, and
# prints KTAP on the console in the kselftest runner's format, followed by a
# "# Totals" line, the completion marker "# harness: done" and poweroff.
# The per-test timeout comes from harness.timeout=SECONDS on the cmdline.
# shellcheck disable=SC2039,SC3043
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs tmpfs /tmp
# Keep kernel messages on the console, but below our KTAP lines.
echo 7 >/proc/sys/kernel/printk

timeout=120
read -r cmdline </proc/cmdline
for arg in $cmdline; do
	case $arg in harness.timeout=*) timeout=${arg#harness.timeout=} ;; esac
done

run_tests() {
	local n=0 total pass=0 fail=0 skip=0 name rc
	total=$(grep -c . /tests.txt)
	echo "TAP version 13"
	echo "1..$total"
	while read -r name; do
		[ -n "$name" ] || continue
		n=$((n + 1))
		echo "# selftests: kvm: $name"
		cd /kvm || exit 1
		rm -f /tmp/rc
		read -r t0 _ </proc/uptime
		{
			timeout -s KILL "$timeout" "./$name" </dev/null
			echo $? >/tmp/rc
		} 2>&1 | sed 's/^/# /'
		rc=$(cat /tmp/rc 2>/dev/null || echo 255)
		read -r t1 _ </proc/uptime
		case $rc in
		0)
			echo "ok $n selftests: kvm: $name"
			pass=$((pass + 1))
			;;
		4)
			echo "ok $n selftests: kvm: $name # SKIP"
			skip=$((skip + 1))
			;;
		137)
			echo "not ok $n selftests: kvm: $name # TIMEOUT $timeout seconds"
			fail=$((fail + 1))
			;;
		*)
			echo "not ok $n selftests: kvm: $name # exit=$rc"
			fail=$((fail + 1))
			;;
		esac
		echo "# harness: $name took $(awk "BEGIN { printf \"%.1f\", $t1 - $t0 }")s"
	done </tests.txt
	echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:$skip error:0"
	echo "# harness: done"
}

run_tests
sync
poweroff -f
