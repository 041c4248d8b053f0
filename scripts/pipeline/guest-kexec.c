// SPDX-License-Identifier: GPL-2.0-only
/*
 * guest-kexec.c: /kexec in the initramfs of the two-kernel cells' build
 * (KCONFIG=hibernate), run by /init in the first kernel of a kexec cell
 * (harness.kexec=first). The cell's disk (/dev/vda, written by boot.sh)
 * holds the second kernel: a 4 KiB header
 *
 *	harness-kexec IMAGE_BYTES INITRD_BYTES\n
 *	COMMAND LINE\n
 *
 * then the Image from byte 4096 and the initramfs from the next 4 KiB
 * boundary after it. Both are copied into memfds, loaded with
 * kexec_file_load() and booted with reboot(LINUX_REBOOT_CMD_KEXEC), after
 * KEXEC_MARK on its own line (parse-cell.py splits the console there).
 * Exits 1 with a one-line message on stderr if any step fails.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#define DISK		"/dev/vda"
#define HDR_BYTES	4096UL
#define KEXEC_MARK	"# harness: kexec: the second kernel boots"

static void fail(const char *what)
{
	fprintf(stderr, "kexec: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* A memfd holding @len bytes of @disk from offset @off. */
static int copy_out(int disk, const char *name, off_t off, size_t len)
{
	static char buf[1 << 16];
	size_t done = 0;
	int fd;

	fd = memfd_create(name, 0);
	if (fd < 0)
		fail("memfd_create");
	while (done < len) {
		size_t want = len - done < sizeof(buf) ? len - done : sizeof(buf);
		ssize_t n = pread(disk, buf, want, off + done);

		if (n <= 0) {
			if (!n)
				errno = EIO;
			fail("reading " DISK);
		}
		if (write(fd, buf, n) != n)
			fail("writing a memfd");
		done += n;
	}
	return fd;
}

int main(void)
{
	char hdr[HDR_BYTES + 1], *cmdline, *end;
	unsigned long img_len, rd_len, rd_off;
	int disk, kfd, ifd, n;

	disk = open(DISK, O_RDONLY | O_CLOEXEC);
	if (disk < 0)
		fail("opening " DISK);
	n = pread(disk, hdr, HDR_BYTES, 0);
	if (n != (int)HDR_BYTES) {
		if (n >= 0)
			errno = EIO;
		fail("reading the header of " DISK);
	}
	hdr[HDR_BYTES] = '\0';
	if (sscanf(hdr, "harness-kexec %lu %lu\n", &img_len, &rd_len) != 2 ||
	    !img_len || !rd_len) {
		fprintf(stderr, "kexec: " DISK " has no 'harness-kexec' header\n");
		return 1;
	}
	cmdline = strchr(hdr, '\n');
	end = cmdline ? strchr(cmdline + 1, '\n') : NULL;
	if (!end) {
		fprintf(stderr, "kexec: no command line in the header of " DISK "\n");
		return 1;
	}
	cmdline++;
	*end = '\0';

	rd_off = HDR_BYTES + (img_len + HDR_BYTES - 1) / HDR_BYTES * HDR_BYTES;
	kfd = copy_out(disk, "image", HDR_BYTES, img_len);
	ifd = copy_out(disk, "initrd", rd_off, rd_len);
	if (syscall(SYS_kexec_file_load, kfd, ifd, strlen(cmdline) + 1,
		    cmdline, 0UL))
		fail("kexec_file_load");

	/*
	 * The mark must be on the console, whole, before the kernel's own
	 * shutdown messages: wait until the UART has sent it.
	 */
	printf("\n%s\n", KEXEC_MARK);
	fflush(stdout);
	tcdrain(STDOUT_FILENO);
	sync();
	reboot(RB_KEXEC);
	fail("reboot(LINUX_REBOOT_CMD_KEXEC)");
	return 1;
}
