#!/usr/bin/env python3
"""checkout-shared.py TREE STORE: fill TREE's empty work tree from its index,
sharing file content with every other tree through STORE.
checkout-shared.py --need GITDIR REV STORE: kilobytes a tree of REV would
take on disk now (its files not yet in STORE, rounded to 4 KiB blocks, and
its index), for the free-space check that runs before it is made.

STORE holds one read-only file per (blob, executable bit), named after the
blob id; one whose size is not its blob's any more was written in place and
is replaced. A file already in STORE is hard-linked into TREE; the others are
written by `git checkout-index` and then linked into STORE for the next
tree. Trees of different sources (eight 6.12 trees, or 6.12 with and without
the series) thus hold one copy of each distinct file.

This is safe because nothing writes a tree's tracked file in place: git
(checkout, am, reset) unlinks a file before writing its new content, the
kernel and selftest builds write only under O= or to new files, and the
store's files are read-only so that a writer that does not unlink fails
loudly instead of changing every tree (not for root, which may write them:
prepare-tree.sh refuses a reused tree whose files differ from its index). The linked files keep the store's
mtime, so prepare-tree.sh drops the build directories of a tree it checks
out afresh. Prints "linked N, wrote M" on stdout.
"""
import os
import subprocess
import sys


def git(tree, *args, check=True, **kw):
    return subprocess.run(["git", "-C", tree, *args], check=check, **kw)


def store_key(mode, blob):
    return blob + ("x" if mode == "100755" else "")


def files(git_cmd, rev):
    """(mode, blob, size, path) of each file and link of REV, recursively."""
    out = subprocess.run(git_cmd + ["ls-tree", "-r", "-l", "-z", rev],
                         check=True, stdout=subprocess.PIPE).stdout
    for rec in out.split(b"\0"):
        if rec:
            meta, path = rec.split(b"\t", 1)
            mode, _kind, blob, size = meta.decode().split()
            yield mode, blob, size, path


def need(gitdir, rev, store):
    kb = 0
    for mode, blob, size, _path in files(["git", "--git-dir", gitdir], rev):
        kb += 1  # its index entry and directory slot, roughly
        if mode in ("100644", "100755"):
            key = store_key(mode, blob)
            if os.path.exists(os.path.join(store, key[:2], key)):
                continue
            kb += (int(size) + 4095) // 4096 * 4
    print(kb)


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--need":
        need(*sys.argv[2:])
        return
    if len(sys.argv) != 3:
        sys.exit("usage: checkout-shared.py TREE STORE")
    tree, store = sys.argv[1:]
    linked = 0
    wanted = []  # (path, store file or None)
    made = set()
    # The index was read from HEAD: HEAD's files with their sizes.
    for mode, blob, size, path in files(["git", "-C", tree], "HEAD"):
        if mode not in ("100644", "100755"):
            wanted.append((path, None))
            continue
        key = store_key(mode, blob)
        keep = os.path.join(store.encode(), key[:2].encode(), key.encode())
        dst = os.path.join(tree.encode(), path)
        parent = os.path.dirname(dst)
        if parent not in made:
            os.makedirs(parent, exist_ok=True)
            made.add(parent)
        try:
            if os.stat(keep).st_size != int(size):
                # Written in place by something: no longer this blob.
                os.unlink(keep)
            os.link(keep, dst)
            linked += 1
        except FileNotFoundError:
            wanted.append((path, keep))
    if wanted:
        names = b"".join(p + b"\0" for p, _ in wanted)
        git(tree, "checkout-index", "-q", "-f", "-z", "--stdin", input=names)
    for path, keep in wanted:
        if keep is None:
            continue
        src = os.path.join(tree.encode(), path)
        st = os.stat(src)
        os.chmod(src, st.st_mode & ~0o222)
        os.makedirs(os.path.dirname(keep), exist_ok=True)
        try:
            os.link(src, keep)
        except FileExistsError:
            pass  # another tree stored the same blob meanwhile
    # The index learns the new inodes' stat data (no content is rehashed
    # for files git wrote; linked files are hashed once).
    git(tree, "update-index", "-q", "--refresh",
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    print("linked %d, wrote %d" % (linked, len(wanted)))


if __name__ == "__main__":
    main()
