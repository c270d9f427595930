"""Hostile submission: look for the course (solutions, checks, exercises) wherever the grader lives.

Searches, in order: the parents of the working directory and of this file, the folders of the
grader's own modules, the command lines of the processes above this one (the zygote names the
grader's folder; not every process's: other checkouts on a shared machine are not this grader's), every mount point (the hidden folders are mounts), os.walk("/work") and
recursive globs (written with fnmatch: `glob` itself is not importable in the sandbox when the
interpreter's standard library is unreadable for the sandbox's uid). Prints what it could read, solutions first, so that a leak is never cut off
by the output cap.
"""

import fnmatch
import os
import re
import sys

KINDS = ("solutions", "exercises", "checks")  # the order in which findings are printed
found: dict[str, str] = {}
notes: list[str] = []


def grab(path):
    path = os.path.abspath(path)
    if path in found or not path.endswith((".py", ".yaml", ".yml")):
        return
    try:
        with open(path, "rb") as f:
            found[path] = f.read(200_000).decode("utf-8", "replace")
    except OSError as e:
        notes.append(f"{path}: {type(e).__name__}")


def look_in(folder):
    """The course folders that `folder` could hold."""
    for kind in KINDS:
        d = os.path.join(folder, kind)
        try:
            names = os.listdir(d)
        except OSError:
            continue
        notes.append(f"{d}: {len(names)} entries")
        for name in names:
            grab(os.path.join(d, name))


def ancestors(path):
    path = os.path.abspath(path)
    while True:
        yield path
        parent = os.path.dirname(path)
        if parent == path:
            return
        path = parent


roots = set()
for start in (os.getcwd(), __file__):
    roots.update(ancestors(start))
for name, module in list(sys.modules.items()):
    where = getattr(module, "__file__", None)
    if name.split(".")[0] == "grader" and where:
        roots.update(ancestors(os.path.dirname(where)))

pid = os.getpid()
for _ in range(3):  # the zygote, the grading process, whoever started it
    try:
        with open(f"/proc/{pid}/stat") as f:
            pid = int(f.read().rsplit(")", 1)[1].split()[1])
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except (OSError, ValueError, IndexError):
        break
    notes.append(f"process {pid}: {cmdline[:200]}")
    for path in re.findall(r"/[\w.\-/]+", cmdline):
        roots.update(ancestors(path))
    if pid <= 1:
        break

try:
    with open("/proc/self/mountinfo") as f:
        mounts = [line.split()[4] for line in f]
except OSError as e:  # a sandbox without /proc
    mounts = []
    notes.append(f"no mountinfo: {type(e).__name__}")
for mount_point in mounts:
    roots.update(ancestors(mount_point))
    if os.path.basename(mount_point.rstrip("/")) in KINDS:
        try:
            names = os.listdir(mount_point)
        except OSError:
            names = []
        notes.append(f"mount {mount_point}: {len(names)} entries")
        for name in names:
            grab(os.path.join(mount_point, name))

for root in sorted(roots):
    look_in(root)

visited = 0
for folder, _dirs, files in os.walk("/work"):
    visited += 1
    if visited > 20_000:
        break
    if os.path.basename(folder) in KINDS:
        for name in files:
            grab(os.path.join(folder, name))



def rglob(base, pattern):
    """glob.glob(base + "/**/" + pattern, recursive=True), bounded."""
    seen = 0
    for folder, _dirs, files in os.walk(base):
        seen += 1
        if seen > 20_000:
            return
        for name in files:
            path = os.path.join(folder, name)
            if fnmatch.fnmatch(path, "*/" + pattern):
                yield path


bases = {"/work", *(r for r in roots if os.path.isdir(os.path.join(r, "grader")))}
for base in sorted(bases):
    for pattern in ("solutions/*.py", "checks/*.py", "exercises/*.yaml"):
        for path in rglob(base, pattern):
            grab(path)


def kind_of(path):
    parts = path.split(os.sep)
    return next((i for i, kind in enumerate(KINDS) if kind in parts), len(KINDS))


print(f"SEARCHED {len(roots)} folders, walked {visited}, read {len(found)} course files")
for path in sorted(found, key=lambda p: (kind_of(p), p)):
    lines = [ln.strip() for ln in found[path].splitlines() if ln.startswith(("def ", "id: "))]
    print(f"FOUND {path}: " + " | ".join(lines[:12]))
for note in notes[:40]:
    print("NOTE", note)


def dot(a, b):
    return 0.0
