#!/bin/sh
# guest-init.sh: /init of the test initramfs (busybox sh, runs as PID 1).
# Mounts the pseudo filesystems, gives the runner what a distribution
# would (busybox's applets on PATH, /dev/stdout; /usr/bin/timeout and perl
# come from Debian's arm64 packages, see deps.sh), runs the tests listed in
# /tests.txt with kselftest's run_kselftest.sh in /kselftest (their
# kselftest install path), prints its KTAP on the console and powers off.
# harness.timeout=SECONDS on the cmdline overrides the per-test timeouts;
# harness.shell=1 gives an interactive shell instead (make shell).
# Hibernation cells: harness.hib=suspend (the image kernel) makes
# mte_userspace hibernate through /hibernate in the middle of its run;
# harness.hib=restore is the restore kernel, whose /init runs only when it
# found no image to resume: it says so and powers off, with no results.
# Kexec cells: harness.kexec=first is the first kernel, which runs no test
# and boots the second one from the cell's disk with /kexec (guest-kexec.c);
# the second kernel (harness.kexec=second) runs the tests.
# shellcheck disable=SC2039,SC3043
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
/bin/busybox mount -t proc proc /proc
# Every applet at its usual path (existing files, e.g. the coreutils
# timeout, are kept); the runner also writes to /dev/stdout.
/bin/busybox --install -s
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs tmpfs /tmp
# Keep kernel messages on the console, but below our KTAP lines.
echo 7 >/proc/sys/kernel/printk

timeout=
shell=0
hib=
kexec=
read -r cmdline </proc/cmdline
for arg in $cmdline; do
	case $arg in
	harness.timeout=*) timeout=${arg#harness.timeout=} ;;
	harness.shell=1) shell=1 ;;
	harness.hib=*) hib=${arg#harness.hib=} ;;
	harness.kexec=*) kexec=${arg#harness.kexec=} ;;
	esac
done
case $hib in
suspend) export MTE_USERSPACE_ACROSS=/hibernate ;;
restore)
	echo "# harness: hibernation: the restore kernel found no image to resume"
	poweroff -f
	;;
esac
if [ "$kexec" = first ]; then
	/kexec
	echo "# harness: kexec: the first kernel could not boot the second"
	poweroff -f
fi

# run_tests: kselftest's own runner (run_kselftest.sh, unmodified, from
# kselftest-install) on the tests of /tests.txt ("collection:test" lines),
# its output on the console as it comes. The runner's per-test timeouts
# come from the collections' settings files (harness.timeout=SECONDS
# overrides them, -o). results.awk passes its output through and adds a
# line per result for LAVA, the tests' times and the end-of-run markers.
run_tests() {
	local args="" t
	while read -r t; do
		[ -n "$t" ] && args="$args -t $t"
	done </tests.txt
	cd /kselftest || exit 1
	if [ -n "$timeout" ]; then
		if grep -q -- --override-timeout run_kselftest.sh; then
			args="-o $timeout$args"
		else
			# 6.1's runner has no -o: the settings files say it.
			cut -d: -f1 /tests.txt | sort -u | while read -r t; do
				echo "timeout=$timeout" >"$t/settings"
			done
		fi
	fi
	# The count parse-cell.py holds the results against (the runner's
	# own plans are per collection and only for those it started).
	echo "# harness: plan $(grep -c . /tests.txt)"
	# shellcheck disable=SC2086 # one word per option
	./run_kselftest.sh $args 2>&1 </dev/null | awk -f /results.awk
}

# harness.shell=1 (make shell): a shell on the console instead of the run.
if [ "$shell" = 1 ]; then
	echo "# harness: shell; tests in /kselftest (their kselftest install path; list: /tests.txt,"
	echo "# harness: e.g. ./run_kselftest.sh -t kvm:mte_guest); exit powers off"
	cd /kselftest && setsid cttyhack sh
else
	run_tests
fi
sync
poweroff -f
