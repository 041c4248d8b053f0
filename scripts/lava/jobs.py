#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""jobs.py: write one LAVA job definition (YAML) per matrix cell.

Each job boots the cell's kernel and initramfs (the ones verify.sh built and
booted) with the cell's kernel command line, and a "monitors" test action
turns the guest's per-test result lines ("## result NAME OUTCOME",
printed by guest-init.sh after each test's KTAP line) into LAVA test cases,
one per top-level test, pass, fail or skip by the test's exit status. That
is all LAVA grades: the cell's other checks (KVM mode, oopses, MTE tests
that must not skip, tests that never ran) are parse-cell.py's, on the
console LAVA keeps in the job log.

Device types:
  qemu (default) LAVA's QEMU device: the same machine, CPU and memory as
                 boot.sh, every cell including the forced ones (QEMU's
                 mte=off); kernel and initramfs deployed to tmpfs.
  anything else  a real board booted by U-Boot from TFTP (the usual LAVA
                 arm64 board): the command line goes in extra_kernel_args;
                 forced cells are left out (they need a CPU without MTE).

Input: --cells "MODE:MTE:CMDLINE" lines on stdin (boot.sh PRINT_CMDLINE=1
gives the command line), the kernel and initramfs paths, the URL prefix the
lab will fetch them from. Output: OUTDIR/<cell>.yaml, and the names of the
files written on stdout.
"""

import argparse
import hashlib
import os
import sys

import yaml

QEMU_MACHINE = "virt,virtualization=on,mte=on,gic-version=3"


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def monitor():
    """The test action: one LAVA test case per top-level kselftest."""
    return {
        "timeout": {"minutes": 20},
        "monitors": [{
            "name": "kselftest-kvm",
            # Anchored at a line start on "##": a test's own output reaches
            # the console behind "# ", so it cannot forge or end the results.
            "start": "\nTAP version 13",
            "end": "\n## end",
            "pattern": (r"\n## result (?P<test_case_id>[-\w.]+) "
                        r"(?P<result>pass|fail|skip)(?=\s)"),
        }],
    }


def qemu_job(name, mte, cmdline, kernel, initrd):
    machine = QEMU_MACHINE.replace("mte=on", "mte=off") if mte == "forced" else QEMU_MACHINE
    return {
        "device_type": "qemu",
        "job_name": name,
        "timeouts": {"job": {"minutes": 30}, "action": {"minutes": 20},
                     "connection": {"minutes": 2}},
        "priority": "medium",
        "visibility": "public",
        "context": {
            "arch": "arm64",
            "machine": machine,
            "cpu": "max,pauth-impdef=on",
            "memory": 1024,
            # LAVA's qemu.jinja2 always adds a virtio NIC; no boot ROM
            # for it, so that a QEMU without ipxe-qemu's ROMs starts.
            "extra_options": ["-smp 4", "-nic none", "-no-reboot",
                              "-global virtio-net-pci.romfile="],
        },
        "actions": [
            {"deploy": {
                "to": "tmpfs",
                "timeout": {"minutes": 5},
                "images": {
                    "kernel": dict(kernel, image_arg="-kernel {kernel} -append '%s'" % cmdline),
                    "initrd": dict(initrd, image_arg="-initrd {initrd}"),
                },
            }},
            {"boot": {"method": "qemu", "media": "tmpfs", "timeout": {"minutes": 5}}},
            {"test": monitor()},
        ],
    }


def board_job(device_type, name, cmdline, kernel, initrd):
    # console= comes from the board's device dictionary, not from our QEMU line.
    args = " ".join(a for a in cmdline.split() if not a.startswith("console="))
    return {
        "device_type": device_type,
        "job_name": name,
        "timeouts": {"job": {"minutes": 30}, "action": {"minutes": 20},
                     "connection": {"minutes": 2}},
        "priority": "medium",
        "visibility": "public",
        "context": {"extra_kernel_args": args},
        "actions": [
            {"deploy": {
                "to": "tftp",
                "timeout": {"minutes": 5},
                "kernel": dict(kernel, type="image"),
                "ramdisk": dict(initrd),
            }},
            {"boot": {"method": "u-boot", "commands": "ramdisk",
                      "timeout": {"minutes": 5}}},
            {"test": monitor()},
        ],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", required=True, help="the run's name, e.g. 6.12.117-patches")
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--initrd", required=True)
    ap.add_argument("--url", required=True, help="URL prefix of the kernel and initramfs")
    ap.add_argument("--device-type", default="qemu")
    ap.add_argument("--outdir", required=True)
    args = ap.parse_args()
    url = args.url.rstrip("/")
    kernel = {"url": "%s/%s" % (url, os.path.basename(args.kernel)),
              "sha256sum": sha256(args.kernel)}
    initrd = {"url": "%s/%s" % (url, os.path.basename(args.initrd)),
              "sha256sum": sha256(args.initrd)}
    os.makedirs(args.outdir, exist_ok=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        mode, mte, cmdline = line.rstrip("\n").split(":", 2)
        cell = "%s-mte%s" % (mode, mte)
        name = "pkvm-nomte %s %s" % (args.run, cell)
        if args.device_type == "qemu":
            job = qemu_job(name, mte, cmdline, kernel, initrd)
        elif mte == "forced":
            continue
        else:
            job = board_job(args.device_type, name, cmdline, kernel, initrd)
        path = os.path.join(args.outdir, cell + ".yaml")
        with open(path, "w", encoding="utf-8") as f:
            yaml.safe_dump(job, f, sort_keys=False, width=1000)
        print(path)


if __name__ == "__main__":
    main()
