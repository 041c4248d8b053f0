# SPDX-License-Identifier: GPL-2.0-only
# results.awk: the guest's filter on kselftest's runner output (guest-init.sh,
# /results.awk in the initramfs; busybox awk). Every line goes through at
# once. After each "ok|not ok N selftests: COLLECTION: NAME" line it adds
# "## result NAME pass|fail|skip" (one line a LAVA "monitors" pattern can
# read, scripts/lava/jobs.py; "##" because a test's own lines all start with
# "# ") and "# harness: NAME took S s"; at the end "# Totals: ...", the
# completion marker "# harness: done" and "## end" (LAVA stops there).

function uptime(l, f) {
	if ((getline l <"/proc/uptime") <= 0)
		return 0
	close("/proc/uptime")
	split(l, f, " ")
	return f[1]
}

{
	print
	fflush()
}

/^# selftests: / {
	t0 = uptime()
}

/^(not )?ok [0-9]+ selftests: / {
	name = $0
	sub(/^(not )?ok [0-9]+ selftests: [^:]*: /, "", name)
	sub(/ .*/, "", name)
	# "ok ... # SKIP" is a skip; "not ok" and any other directive on an
	# "ok" (7.x: "# XFAIL", "# XPASS") fail.
	if ($1 == "not") {
		r = "fail"
		fail++
	} else if ($0 ~ / # SKIP/) {
		r = "skip"
		skip++
	} else if ($0 ~ / # /) {
		r = "fail"
		fail++
	} else {
		r = "pass"
		pass++
	}
	print "## result " name " " r
	printf "# harness: %s took %.1fs\n", name, uptime() - t0
	fflush()
}

END {
	printf "# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:%d error:0\n", pass, fail, skip
	print "# harness: done"
	print "## end"
}
