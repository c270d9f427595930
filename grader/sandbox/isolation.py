"""Isolation layers applied inside a sandbox before student code is imported.

Each layer is applied where the platform and privileges allow it and reported by name; a
layer that cannot be applied is reported with the reason, never silently skipped:

- namespaces and a new root (root only: a user namespace alone does not drop root's kernel
  uid): a private network namespace (no network, loopback down) and a private mount
  namespace whose root holds only the system folders and the Python installation, read-only,
  with any course copy inside them covered by an empty mount. A zygote enters them once for
  all the sandboxes it forks (isolate_zygote); each sandbox then only unshares its mount
  namespace to get a /tmp of its own, where it writes the submission's files (enter_sandbox);
- uid drop: as root, an unprivileged uid per grading worker, so RLIMIT_NPROC bites and files
  outside the sandbox's own folder are not writable;
- seccomp: the deny-list filter of seccomp.py.
"""

from __future__ import annotations

import ctypes
import errno
import os
import resource
import sys
from typing import Any

from . import seccomp
from .libc import libc as _libc

# Either of these keeps a student's code from acting as the grader's user; without both, grading
# is refused unless the teacher passes UNSAFE_FLAG.
CONTAINING_LAYERS = ("uid-drop", "private-filesystem")
UNSAFE_FLAG = "--unsafe-no-isolation"

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18

MAX_THREADS = 32  # RLIMIT_NPROC after the uid drop: the sandbox and its threads, no more


_USERNS = False  # this process made a user namespace of its own (not root): capabilities to drop
# What root needs to give a sandbox a uid of its own: change uids, groups and owners
_ROOT_CAPS = (7, 6, 0)  # CAP_SETUID, CAP_SETGID, CAP_CHOWN
_PRIVILEGED: bool | None = None


def privileged() -> bool:
    """Root that can give sandboxes a uid of their own (uid 0 with the capabilities to change
    uids and owners). Root in a container that dropped them is not: it takes the unprivileged
    way, a user namespace of its own. Found once per process, before anything is dropped."""
    global _PRIVILEGED
    if _PRIVILEGED is None:
        _PRIVILEGED = os.geteuid() == 0 and all(_has_capability(cap) for cap in _ROOT_CAPS)
    return _PRIVILEGED


def _has_capability(cap: int) -> bool:
    data = (_CapData * 2)()
    if _libc().capget(ctypes.byref(_CapHeader(_CAP_VERSION_3, 0)), data) != 0:
        return False
    return bool(data[cap // 32].effective & (1 << (cap % 32)))


def namespaces() -> tuple[list[str], list[str]]:
    """Private network and mount namespaces. As root, directly; otherwise inside a user namespace
    of this process's own, where it is root over nothing but its own mounts (the kernel still
    checks every file against the real uid). Returns (applied, missing)."""
    global _USERNS
    libc = _libc()
    root = privileged()
    uid, gid = os.getuid(), os.getgid()
    if libc.unshare(CLONE_NEWNS | CLONE_NEWNET | (0 if root else CLONE_NEWUSER)) != 0:
        e = os.strerror(ctypes.get_errno())
        why = f"unshare failed ({e})" if root else f"user namespaces are unavailable here ({e})"
        return [], [f"network-namespace: {why}", f"private-filesystem: {why}"]
    applied = ["network-namespace"]
    if not root:
        try:
            for name, text in (("setgroups", "deny"), ("uid_map", f"0 {uid} 1"), ("gid_map", f"0 {gid} 1")):
                with open(f"/proc/self/{name}", "w") as f:
                    f.write(text)
        except OSError as e:
            return [], [f"network-namespace: cannot map the user namespace ({e.strerror})",
                        f"private-filesystem: cannot map the user namespace ({e.strerror})"]
        _USERNS = True
        applied.insert(0, "user-namespace")
    if libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        return applied, [f"private-filesystem: cannot make mounts private ({os.strerror(ctypes.get_errno())})"]
    return applied, []


def own_pid_namespace() -> tuple[list[str], list[str]]:
    """Make this process's next child the first process (pid 1) of a new pid namespace: it and
    its sandboxes then see no process of the grader's, and cannot signal one. Call once."""
    if _libc().unshare(CLONE_NEWPID) != 0:
        return [], [f"pid-namespace: unshare failed ({os.strerror(ctypes.get_errno())})"]
    return ["pid-namespace"], []


# The sandbox's whole filesystem: these, read-only, and its own folder at /tmp/work. Nothing
# else exists for it: not the course, not the submissions, not other checkouts, not /home.
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
DEVICES = ("null", "zero", "random", "urandom")
SANDBOX_CWD = "/tmp/work"


def python_dirs() -> list[str]:
    """The interpreter's own folders: its prefixes and installed packages (never the grader's source)."""
    dirs = [sys.base_prefix, sys.prefix]
    dirs += [p for p in sys.path if p and ("site-packages" in p or "dist-packages" in p)]
    return [os.path.realpath(d) for d in dirs if os.path.isdir(d) and os.path.realpath(d) != "/"]


def _build_root(new: str, hide: list[str], work: str | None) -> tuple[list[str], list[str]]:
    """Mount a tmpfs at `new` holding only the system folders and the Python installation
    (read-only), a few devices, a /tmp and, if given, the folder `work` at /tmp/work; chroot into it.

    Call inside a private mount namespace, as root. Every source is opened first and bound from
    its descriptor, so `new` can be /tmp of this namespace: nothing is created in folders the
    grader sees. Returns (applied, missing).
    """
    libc = _libc()

    def fail(what: str) -> tuple[list[str], list[str]]:
        return [], [f"private-filesystem: {what} ({os.strerror(ctypes.get_errno())})"]

    allowed = sorted(set(SYSTEM_DIRS) | set(python_dirs()), key=len)
    sources: list[tuple[str, int | str]] = []  # (path, descriptor) or (path, symlink target)
    kept: list[str] = []
    for path in allowed:
        if any(path.startswith(k.rstrip("/") + "/") for k in kept):
            continue  # inside a folder already bound
        if os.path.islink(path):
            sources.append((path, os.readlink(path)))
        elif os.path.isdir(path):
            sources.append((path, os.open(path, os.O_PATH | os.O_DIRECTORY)))
            kept.append(path)
    devices = [(name, os.open(f"/dev/{name}", os.O_PATH)) for name in DEVICES if os.path.exists(f"/dev/{name}")]
    work_fd = os.open(work, os.O_PATH | os.O_DIRECTORY) if work else None
    opened = [fd for _, fd in sources if isinstance(fd, int)] + [fd for _, fd in devices]
    opened += [work_fd] if work_fd is not None else []
    try:
        if libc.mount(b"tmpfs", new.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, b"size=1m,mode=755") != 0:
            return fail("cannot mount the new root")
        for path, source in sources:
            target = new + path
            if isinstance(source, str):
                os.makedirs(os.path.dirname(target), exist_ok=True)
                os.symlink(source, target)
                continue
            os.makedirs(target, exist_ok=True)
            if libc.mount(f"/proc/self/fd/{source}".encode(), target.encode(), None, MS_BIND | MS_REC, None) != 0:
                return fail(f"cannot bind {path}")
            if not _read_only(target):
                return fail(f"cannot make {path} read-only")
        os.makedirs(new + "/dev", exist_ok=True)
        for name, fd in devices:
            open(f"{new}/dev/{name}", "w").close()
            libc.mount(f"/proc/self/fd/{fd}".encode(), f"{new}/dev/{name}".encode(), None, MS_BIND, None)
        os.makedirs(new + "/tmp", exist_ok=True)
        if not _hide(new, hide):
            return fail("cannot hide the course")
        # Python folders under /tmp (a venv made with mktemp) would vanish under a sandbox's
        # private /tmp: a second view of each, elsewhere, is bound back over it (hidden parts too)
        views = [(f"{UNDER_TMP}/{i}", path) for i, path in enumerate(p for p, _ in sources if p.startswith("/tmp/"))
                 if os.path.isdir(new + path)]  # (second view, the folder under /tmp)
        if not _rebind(new, [(path, view) for view, path in views]):
            return fail("cannot bind the Python folders under /tmp")
        if work_fd is not None:
            if not _private_tmp(new + "/tmp", 64 << 20):
                return fail("cannot mount a private /tmp")
            if not _rebind(new, views):
                return fail("cannot bind the Python folders under /tmp")
            os.makedirs(new + SANDBOX_CWD, exist_ok=True)
            if libc.mount(f"/proc/self/fd/{work_fd}".encode(), (new + SANDBOX_CWD).encode(), None, MS_BIND | MS_REC, None) != 0:
                return fail("cannot bind the sandbox folder")
        global _UNDER_TMP
        _UNDER_TMP = views
    finally:
        for fd in opened:
            os.close(fd)
    # The root itself read-only: shared by every sandbox of a zygote, and owned (in a user
    # namespace) by the uid they run as, it must hold nothing one of them could leave for the next
    if libc.mount(None, new.encode(), None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, None) != 0:
        return fail("cannot make the new root read-only")
    os.chroot(new)
    os.chdir("/")
    return ["private-filesystem", "private-tmp"], []


UNDER_TMP = "/.python-under-tmp"
_UNDER_TMP: list[tuple[str, str]] = []  # (second view, a Python folder under /tmp), set by _build_root


# statvfs flags -> the mount flags a remount must repeat (in a user namespace the kernel refuses
# a remount that would clear a flag the mount was given outside it)
_KEPT_FLAGS = ((os.ST_NODEV, MS_NODEV), (os.ST_NOEXEC, MS_NOEXEC), (os.ST_NOATIME, 1024),
               (os.ST_NODIRATIME, 2048), (os.ST_RELATIME, 1 << 21))


def _read_only(target: str) -> bool:
    """Remount the bind mount at `target` read-only and nosuid, keeping its other flags."""
    flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID
    try:
        have = os.statvfs(target).f_flag
    except OSError:
        return False
    for st, ms in _KEPT_FLAGS:
        if have & st:
            flags |= ms
    return _libc().mount(None, target.encode(), None, flags, None) == 0


def _rebind(root: str, pairs: list[tuple[str, str]]) -> bool:
    """For each (source, destination): bind `root`+source, with what is mounted inside it, over
    `root`+destination (created if missing), read-only."""
    libc = _libc()
    for source, dest in pairs:
        os.makedirs(root + dest, exist_ok=True)
        if libc.mount((root + source).encode(), (root + dest).encode(), None, MS_BIND | MS_REC, None) != 0:
            return False
        _read_only(root + dest)
    return True


def _private_tmp(path: str, size: int) -> bool:
    return _libc().mount(b"tmpfs", path.encode(), b"tmpfs", MS_NOSUID | MS_NODEV,
                         f"size={size},nr_inodes=4096,mode=1777".encode()) == 0


def _hide(root: str, hide: list[str]) -> bool:
    """Cover course copies inside the allowed folders (an installed package's course/) with empty
    mounts; False if one could not be covered."""
    libc = _libc()
    for path in hide:
        if path == "/tmp":
            continue  # every sandbox mounts a private /tmp of its own over it
        if os.path.isdir(root + path) and libc.mount(b"tmpfs", (root + path).encode(), b"tmpfs",
                                                     MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                                                     b"size=4k,mode=555") != 0:
            return False
    return True


# --------------------------------------------------------------------------- zygote and sandbox


_ZYGOTE: tuple[list[str], list[str], frozenset[str]] | None = None  # layers a zygote gave itself, and what it hid


def isolate_zygote(hide: list[str]) -> tuple[list[str], list[str]]:
    """In a zygote, once: the network and mount namespaces and the new root, shared by every
    sandbox it forks (each then only needs its own /tmp). Saves most of a sandbox's start-up.

    The zygote keeps root (its children need it to make their /tmp) but is itself chrooted:
    it never again sees the course or the submissions.
    """
    global _ZYGOTE
    _libc()
    try:
        seccomp.build()  # built once here; each sandbox only loads it
    except Exception:
        pass  # each sandbox reports why seccomp is missing
    applied, missing = namespaces()
    if "network-namespace" in applied and not missing:
        a, m = _build_root("/tmp", hide, None)
        applied, missing = applied + a, missing + m
    if "private-filesystem" in applied and hasattr(os, "pidfd_open"):  # the grader finds its sandboxes by pidfd
        a, m = own_pid_namespace()
        applied, missing = applied + a, missing + m
    _ZYGOTE = (applied, missing, frozenset(hide))
    return applied, missing


def zygote_has_private_root() -> bool:
    """Did this process's zygote enter a root of its own (so its sandboxes need no folder on disk)?"""
    return _ZYGOTE is not None and "private-filesystem" in _ZYGOTE[0]


def write_files(cwd: str, files: dict[str, bytes], uid: int | None) -> None:
    """The submission's files, in the sandbox's working folder, owned by the sandbox's uid."""
    base = os.path.realpath(cwd)
    owner = uid if uid is not None and privileged() else None
    folders = [base]  # what this sandbox's uid must own: its folder, every subfolder and file
    for rel, data in files.items():
        parts = rel.split("/")
        if rel.startswith("/") or any(p in ("", ".", "..") for p in parts):
            continue  # submissions are read safely already; never write outside, whatever the name
        for depth in range(1, len(parts)):
            folder = os.path.join(base, *parts[:depth])
            if not os.path.isdir(folder):
                os.mkdir(folder, 0o700)
                folders.append(folder)
        fd = os.open(os.path.join(base, rel), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            _write_all(fd, data)
            if owner is not None:
                os.fchown(fd, owner, owner)
        finally:
            os.close(fd)
    if owner is not None:
        parent = os.path.dirname(base)
        if os.path.basename(parent).startswith("grader-sandbox-"):
            folders.append(parent)  # a folder on disk made for this sandbox alone
        for folder in folders:
            os.chown(folder, owner, owner)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def enter_sandbox(spec: dict[str, Any], files: dict[str, bytes]) -> tuple[list[str], list[str], str]:
    """In a new sandbox process, before any student code: its working folder holding the
    submission's files, then every layer, in the order they must go (namespaces and the private
    filesystem need root, then the uid drop, then seccomp).

    `spec` has `cwd` (a folder prepared for it, unless its zygote has a private root), `hide`
    and `uid`. Returns the layers applied, those missing, and the working folder as it now sees it.
    """
    uid = spec.get("uid")
    hide = list(spec.get("hide", []))
    if zygote_has_private_root() and _ZYGOTE is not None:
        applied, missing = list(_ZYGOTE[0]), list(_ZYGOTE[1])
        libc = _libc()
        size = (64 << 20) + 2 * sum(len(d) for d in files.values())
        if libc.unshare(CLONE_NEWNS) != 0 or not _private_tmp("/tmp", size):
            raise OSError(f"private /tmp: {os.strerror(ctypes.get_errno())}")
        extra = [h for h in hide if h not in _ZYGOTE[2]]
        # the second views of Python folders under /tmp first: the binds below carry the covers
        if not (_hide("", [view + h[len(path):] for view, path in _UNDER_TMP for h in extra
                           if h == path or h.startswith(path + "/")])
                and _rebind("", _UNDER_TMP) and _hide("", extra)):
            raise OSError(f"the sandbox's view of the files could not be set up ({os.strerror(ctypes.get_errno())})")
        os.mkdir(SANDBOX_CWD, 0o700)
        cwd = SANDBOX_CWD
        write_files(cwd, files, uid)
    else:
        cwd = os.path.realpath(spec["cwd"])
        write_files(cwd, files, uid)
        if _ZYGOTE is not None:  # forked from a zygote that could not isolate itself: say why
            applied, missing = list(_ZYGOTE[0]), list(_ZYGOTE[1])
        else:  # started on its own (no fork here): every layer now
            applied, missing = namespaces()
            if "network-namespace" in applied and not missing:
                a, m = _build_root("/tmp", hide, cwd)
                applied, missing = applied + a, missing + m
                cwd = SANDBOX_CWD if a else cwd
        if "private-filesystem" not in applied and not any(m.startswith("private-filesystem") for m in missing):
            missing.append("private-filesystem: needs root (or bubblewrap)")
    os.chdir(cwd)
    for a, m in (drop_privileges(uid), seccomp.apply()):
        applied += a
        missing += m
    return applied, missing, cwd


def drop_privileges(uid: int | None) -> tuple[list[str], list[str]]:
    """As root, become `uid` (no groups) with a process limit; in a user namespace of our own,
    drop every capability in it; else report why not."""
    if _USERNS:
        # counted per uid within this user namespace: the zygote's two processes, this sandbox and
        # its threads, and sandboxes of the zygote not yet reaped
        resource.setrlimit(resource.RLIMIT_NPROC, (2 * MAX_THREADS, 2 * MAX_THREADS))
        applied, missing = drop_capabilities()
        return applied + ["process-limit"], missing
    if not privileged():
        return ["unprivileged-user"], []
    if uid is None:
        return [], ["uid-drop: no uid given"]
    try:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    except OSError as e:
        return [], [f"uid-drop: {e.strerror}"]
    resource.setrlimit(resource.RLIMIT_NPROC, (MAX_THREADS, MAX_THREADS))
    return ["uid-drop", "process-limit"], []


_CAP_VERSION_3 = 0x20080522
PR_CAPBSET_DROP = 24
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def drop_capabilities() -> tuple[list[str], list[str]]:
    """Give up every capability (effective, permitted, inheritable, ambient and the bounding set),
    and check that none is left."""
    libc = _libc()
    prctl = libc.prctl
    prctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong)
    for cap in range(64):
        if prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() == errno.EINVAL:
            break  # past the kernel's last capability
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header, data = _CapHeader(_CAP_VERSION_3, 0), (_CapData * 2)()
    if libc.capset(ctypes.byref(header), data) != 0:
        return [], [f"no-capabilities: capset failed ({os.strerror(ctypes.get_errno())})"]
    left = (_CapData * 2)()
    if libc.capget(ctypes.byref(_CapHeader(_CAP_VERSION_3, 0)), left) != 0 or \
            any(d.effective or d.permitted or d.inheritable for d in left):
        return [], ["no-capabilities: capabilities remain after capset"]
    return ["no-capabilities"], []
