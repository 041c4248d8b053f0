#!/bin/sh
# guest-init.sh: /init of the test initramfs (busybox sh, runs as PID 1).
# Mounts the pseudo filesystems, runs every test listed in /tests.txt
# (one "name" per line, binaries in /kvm/) with a per-test timeout, and
# prints KTAP on the console in the kselftest runner's format (plus a
# "## result NAME pass|fail|skip" line per test, for LAVA), followed by a
# "# Totals" line, the completion marker "# harness: done", "## end" (for
# LAVA) and poweroff.
# The per-test timeout comes from harness.timeout=SECONDS on the cmdline;
# harness.shell=1 gives an interactive shell instead (make shell).
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
shell=0
read -r cmdline </proc/cmdline
for arg in $cmdline; do
	case $arg in
	harness.timeout=*) timeout=${arg#harness.timeout=} ;;
	harness.shell=1) shell=1 ;;
	esac
done

run_tests() {
	local n=0 total pass=0 fail=0 skip=0 name rc result
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
			result=pass
			;;
		4)
			echo "ok $n selftests: kvm: $name # SKIP"
			skip=$((skip + 1))
			result=skip
			;;
		137)
			echo "not ok $n selftests: kvm: $name # TIMEOUT $timeout seconds"
			fail=$((fail + 1))
			result=fail
			;;
		*)
			echo "not ok $n selftests: kvm: $name # exit=$rc"
			fail=$((fail + 1))
			result=fail
			;;
		esac
		# One line a LAVA "monitors" pattern can read (scripts/lava/jobs.py);
		# "##" because a test's own lines all start with "# ".
		echo "## result $name $result"
		echo "# harness: $name took $(awk "BEGIN { printf \"%.1f\", $t1 - $t0 }")s"
	done </tests.txt
	echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:$skip error:0"
	echo "# harness: done"
	# Last: LAVA stops logging the console where its monitor ends.
	echo "## end"
}

# harness.shell=1 (make shell): a shell on the console instead of the run.
if [ "$shell" = 1 ]; then
	echo "# harness: shell; the tests are in /kvm (list: /tests.txt); exit powers off"
	/bin/busybox --install -s /bin
	cd /kvm && setsid cttyhack sh
else
	run_tests
fi
sync
poweroff -f
