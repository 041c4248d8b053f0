#!/bin/bash
# run-local.sh DIR CELL: run one job that make lava wrote (DIR/jobs/CELL.yaml)
# with Debian's own LAVA dispatcher on this machine, and compare LAVA's test
# cases with the harness's results for the same cell, kernel and initramfs.
# The dispatcher is not installed: lava-dispatcher and the Python packages
# it needs are fetched with apt-get download (the machine's apt sources)
# into out/pkg/lava and unpacked into out/lava-dispatcher (installing
# lava-dispatcher would pull in about 150 packages, systemd-sysv and
# libguestfs among them). python3-guestfs is replaced by a stand-in that
# fails if called: a tmpfs deploy with a monitors test never calls it. The
# device configuration is rendered from lava-server's qemu.jinja2 with the
# job's context, as a LAVA server does. Exit 0 only when the job finished,
# every test case equals the harness's result and the console LAVA logged
# gets the same verdict from parse-cell.py as the harness's own boot;
# DIR/run-CELL/ keeps LAVA's log, both consoles and the comparison.
set -eu
. "$(dirname "$0")/../lib.sh"

[ $# = 2 ] || die "usage: run-local.sh DIR CELL"
DIR=$1
CELL=$2
JOB=$DIR/jobs/$CELL.yaml
[ -f "$JOB" ] || die "no LAVA job $JOB (make lava writes the jobs of the run's cells)"
[ "$(/usr/bin/python3 -c 'import yaml, sys; print(yaml.safe_load(open(sys.argv[1]))["device_type"])' "$JOB")" = qemu ] ||
	die "$JOB is not for LAVA's qemu device type (LAVA_DEVICE_TYPE=qemu)"
need_tool apt-get dpkg-deb qemu-system-aarch64
PKGS="lava-dispatcher lava-dispatcher-host lava-server python3-pexpect
python3-ptyprocess python3-jinja2 python3-markupsafe python3-requests
python3-urllib3 python3-idna python3-certifi python3-chardet
python3-charset-normalizer python3-setproctitle python3-pyudev
python3-configobj python3-six python3-netifaces python3-magic python3-tz"
DEBS=$OUT/pkg/lava
LD=$OUT/lava-dispatcher
RUNDIR=$DIR/run-$CELL

# fetch_dispatcher: the packages, once, unpacked into $LD/root.
fetch_dispatcher() {
	local p
	[ ! -f "$LD/.unpacked" ] || return 0
	stage "lava: fetching Debian's lava-dispatcher (not installed; unpacked in $LD)"
	mkdir -p "$DEBS"
	# shellcheck disable=SC2086 # one word per package
	(cd "$DEBS" && apt-get download -qq $PKGS) >/dev/null 2>&1 ||
		die "apt-get download of lava-dispatcher and its Python packages failed"
	rm -rf "$LD" && mkdir -p "$LD/root" "$LD/shim"
	for p in "$DEBS"/*.deb; do
		dpkg-deb -x "$p" "$LD/root"
	done
	cat >"$LD/shim/guestfs.py" <<'EOF'
"""Stand-in for python3-guestfs: lava_dispatcher imports it at load time."""


class GuestFS:
    def __init__(self, *args, **kwargs):
        raise RuntimeError("libguestfs is not available to this local dispatcher")
EOF
	touch "$LD/.unpacked"
}

fetch_dispatcher
export PYTHONPATH=$LD/shim:$LD/root/usr/lib/python3/dist-packages:/usr/lib/python3/dist-packages
rm -rf "$RUNDIR" && mkdir -p "$RUNDIR/devices"
printf '%s\n' "{% extends 'qemu.jinja2' %}" "{% set mac_addr = '52:54:00:12:34:59' %}" \
	"{% set netdevice = 'user' %}" >"$RUNDIR/devices/local.jinja2"
/usr/bin/python3 - "$JOB" "$RUNDIR/devices" "$LD/root/usr/share/lava-server/device-types" \
	>"$RUNDIR/device.yaml" <<'EOF' || die "rendering the qemu device configuration failed"
import sys

import jinja2.sandbox
import yaml

job = yaml.safe_load(open(sys.argv[1]))
env = jinja2.sandbox.SandboxedEnvironment(
    loader=jinja2.FileSystemLoader(sys.argv[2:]), autoescape=False, trim_blocks=True)
text = env.get_template("local.jinja2").render(**job.get("context", {}))
yaml.safe_load(text)
sys.stdout.write(text)
EOF

stage "lava: reference boot of $CELL with the harness (boot.sh)"
IMAGE=$DIR/Image
INITRD=$DIR/initramfs.cpio
BOOT_RETRIES=0 bash "$ROOT/scripts/pipeline/boot.sh" "$IMAGE" "$INITRD" "${CELL%-mte*}" "${CELL##*-mte}" \
	"$RUNDIR/harness.console" || die "the harness's own boot of $CELL failed (see $RUNDIR/harness.console)"

stage "lava: lava-run $JOB"
ID=pkvm-nomte-$$
rc=0
timeout -k 5 900 /usr/bin/python3 "$LD/root/usr/bin/lava-run" --job-id "$ID" \
	--output-dir "$RUNDIR/out" --device "$RUNDIR/device.yaml" "$JOB" \
	>"$RUNDIR/lava-run.out" 2>"$RUNDIR/lava.log" || rc=$?
# lava-run downloads into its own directory whatever --output-dir says.
rm -rf "/var/lib/lava/dispatcher/tmp/$ID"
[ "$rc" = 0 ] || die "lava-run exited with $rc (see $RUNDIR/lava.log)"

/usr/bin/python3 - "$RUNDIR/lava.log" "$RUNDIR/harness.console" "$RUNDIR/lava.console" \
	>"$RUNDIR/compare.txt" <<'EOF' || rc=$?
import re
import sys

import yaml

lava, finished, console = {}, False, []
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    if not line.startswith("{"):
        continue
    rec = yaml.safe_load(line)
    msg = rec.get("msg")
    if rec.get("lvl") == "target" and isinstance(msg, str):
        console.append(msg)
    if rec.get("lvl") == "info" and msg == "Job finished correctly":
        finished = True
    if rec.get("lvl") == "results" and msg.get("definition") == "kselftest-kvm":
        lava[msg.get("extra", {}).get("test_case_id", msg["case"])] = msg["result"]
harness = {}
for line in open(sys.argv[2], encoding="utf-8", errors="replace"):
    m = re.match(r"## result (\S+) (pass|fail|skip)\r?$", line)
    if m:
        harness[m.group(1)] = m.group(2)
bad = 0
for name in sorted(set(lava) | set(harness)):
    same = lava.get(name) == harness.get(name)
    bad += not same
    print("%-24s harness %-5s lava %-5s %s" % (name, harness.get(name, "-"),
                                              lava.get(name, "-"), "" if same else "DIFFERENT"))
names = set(lava) | set(harness)
print("LAVA job %s; %d test cases (harness: %d), %d equal, %d different"
      % ("finished" if finished else "did NOT finish", len(lava), len(harness),
         len(names) - bad, bad))
with open(sys.argv[3], "w", encoding="utf-8") as f:
    f.write("\n".join(console) + "\n")
sys.exit(0 if finished and harness and not bad else 1)
EOF
cat "$RUNDIR/compare.txt"
[ "$rc" = 0 ] || die "LAVA's results for $CELL differ from the harness's (see $RUNDIR)"

# The console LAVA logged, graded as the harness grades its own: the same
# verdict, or LAVA's all-pass hides what only parse-cell.py checks.
want=no
[ "${CELL##*-mte}" != on ] || [ "${KCONFIG:-default}" != default ] || want=yes
for c in harness lava; do
	python3 "$ROOT/scripts/pipeline/parse-cell.py" "$RUNDIR/$c.console" --mode "${CELL%-mte*}" \
		--mte "${CELL##*-mte}" --want-mte "$want" --require mte_host_probe --require mte_guest \
		--require mte_userspace >"$RUNDIR/$c.verdict" || true
	echo "$c console: $(head -n1 "$RUNDIR/$c.verdict")"
done
[ "$(head -n1 "$RUNDIR/harness.verdict" | cut -d' ' -f2)" = "$(head -n1 "$RUNDIR/lava.verdict" | cut -d' ' -f2)" ] ||
	die "the console LAVA logged grades otherwise than the harness's (see $RUNDIR/*.verdict)"
