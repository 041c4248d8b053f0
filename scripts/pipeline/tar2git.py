#!/usr/bin/env python3
"""tar2git.py TARBALL REF MESSAGE: a git fast-import stream of TARBALL.

Writes to stdout one commit on REF whose tree is the tarball's content with
its first path component removed (as `tar --strip-components=1`): regular
files (executable bit kept) and symlinks. Piped into `git fast-import`, the
source goes straight into one pack: nothing is extracted to disk and no
loose objects are written. The commit date is the tarball's newest member,
so the same tarball always gives the same commit.
"""
import os
import sys
import tarfile


def quote(path):
    """A path (bytes) as fast-import reads it: C-style quoted when needed."""
    if not path.startswith(b'"') and b"\n" not in path:
        return path
    esc = path.replace(b"\\", b"\\\\").replace(b'"', b'\\"').replace(b"\n", b"\\n")
    return b'"' + esc + b'"'


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: tar2git.py TARBALL REF MESSAGE")
    tarball, ref, message = sys.argv[1:]
    out = sys.stdout.buffer
    files = []
    newest = 0
    mark = 0
    with tarfile.open(tarball, "r:*") as tf:
        for m in tf:
            parts = m.name.split("/", 1)
            if len(parts) < 2 or not parts[1]:
                continue
            path = os.fsencode(parts[1].rstrip("/"))
            newest = max(newest, int(m.mtime))
            if m.issym():
                data = os.fsencode(m.linkname)
                mode = "120000"
            elif m.isfile() or m.islnk():
                f = tf.extractfile(m)
                data = f.read() if f else b""
                # git keeps the owner's execute bit only.
                mode = "100755" if m.mode & 0o100 else "100644"
            else:
                continue
            mark += 1
            out.write(b"blob\nmark :%d\ndata %d\n" % (mark, len(data)))
            out.write(data)
            out.write(b"\n")
            files.append((mode, mark, path))
    msg = message.encode()
    who = b"harness <harness@localhost> %d +0000" % newest
    out.write(b"commit %s\n" % ref.encode())
    out.write(b"author %s\ncommitter %s\n" % (who, who))
    out.write(b"data %d\n%s\n" % (len(msg), msg))
    for mode, m, path in files:
        out.write(b"M %s :%d %s\n" % (mode.encode(), m, quote(path)))
    out.write(b"\n")


if __name__ == "__main__":
    main()
