"""Isolation layers applied inside a sandbox before student code is imported.

Each layer is applied where the platform and privileges allow it and reported by name; a
layer that cannot be applied is reported with the reason, never silently skipped:

- namespaces: a private network namespace (no network, loopback down) and a private mount
  namespace in which the exercises, solutions, checks, the submissions folder and the
  gradebook are covered by empty read-only tmpfs mounts (root only: a user namespace alone
  does not drop root's kernel uid);
- uid drop: as root, an unprivileged uid per grading worker, so RLIMIT_NPROC bites and files
  outside the sandbox's own folder are not readable;
- seccomp: a deny-list filter (below, the one reviewed place) that blocks new processes,
  program execution, sockets and ptrace while leaving threads (numpy's) working.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import resource
import sys
from typing import Any

# The deny-list, reviewed in one place. clone is denied unless it creates a thread (CLONE_THREAD);
# clone3 answers ENOSYS so that the C library falls back to clone for its threads.
DENIED_SYSCALLS = ("fork", "vfork", "execve", "execveat", "socket", "socketpair", "ptrace",
                   "process_vm_readv", "process_vm_writev", "mount", "umount2", "unshare", "setns",
                   "pivot_root", "chroot", "bpf", "perf_event_open", "keyctl", "add_key", "request_key")
CLONE_THREAD = 0x00010000

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18

MAX_THREADS = 32  # RLIMIT_NPROC after the uid drop: the sandbox and its threads, no more


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def namespaces() -> tuple[list[str], list[str]]:
    """Private network and mount namespaces (root only: a user namespace alone does not drop
    root's kernel uid). Returns (applied, missing)."""
    if os.geteuid() != 0:
        return [], ["network-namespace: needs root (or bubblewrap)", "private-filesystem: needs root (or bubblewrap)"]
    libc = _libc()
    if libc.unshare(CLONE_NEWNS | CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        return [], [f"network-namespace: unshare failed ({os.strerror(e)})", f"private-filesystem: unshare failed ({os.strerror(e)})"]
    if libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        return ["network-namespace"], [f"private-filesystem: cannot make mounts private ({os.strerror(ctypes.get_errno())})"]
    return ["network-namespace"], []


# The sandbox's whole filesystem: these, read-only, and its own folder at /tmp/work. Nothing
# else exists for it: not the course, not the submissions, not other checkouts, not /home.
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
DEVICES = ("null", "zero", "random", "urandom")
SANDBOX_CWD = "/tmp/work"


def _python_dirs() -> list[str]:
    """The interpreter's own folders: its prefixes and installed packages (never the grader's source)."""
    dirs = [sys.base_prefix, sys.prefix]
    dirs += [p for p in sys.path if p and ("site-packages" in p or "dist-packages" in p)]
    return [os.path.realpath(d) for d in dirs if os.path.isdir(d) and os.path.realpath(d) != "/"]


def private_root(cwd: str, hide: list[str]) -> tuple[list[str], list[str], str]:
    """Build a root of only system folders, the Python installation and the sandbox's folder; enter it.

    Call inside the private mount namespace, as root. Every source is opened first and bound from
    its descriptor, so the new root can be mounted on /tmp of this namespace: nothing is created
    in folders the grader sees. Returns (applied, missing, new cwd).
    """
    libc = _libc()
    new = "/tmp"  # in this mount namespace only

    def fail(what: str) -> tuple[list[str], list[str], str]:
        return [], [f"private-filesystem: {what} ({os.strerror(ctypes.get_errno())})"], cwd

    allowed = sorted(set(SYSTEM_DIRS) | set(_python_dirs()), key=len)
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
    work = os.open(cwd, os.O_PATH | os.O_DIRECTORY)
    opened = [fd for _, fd in sources if isinstance(fd, int)] + [fd for _, fd in devices] + [work]
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
            libc.mount(None, target.encode(), None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID, None)
        os.makedirs(new + "/dev", exist_ok=True)
        for name, fd in devices:
            open(f"{new}/dev/{name}", "w").close()
            libc.mount(f"/proc/self/fd/{fd}".encode(), f"{new}/dev/{name}".encode(), None, MS_BIND, None)
        os.makedirs(new + "/tmp", exist_ok=True)
        if libc.mount(b"tmpfs", f"{new}/tmp".encode(), b"tmpfs", MS_NOSUID | MS_NODEV,
                      b"size=64m,nr_inodes=4096,mode=1777") != 0:
            return fail("cannot mount a private /tmp")
        os.makedirs(new + SANDBOX_CWD, exist_ok=True)
        if libc.mount(f"/proc/self/fd/{work}".encode(), (new + SANDBOX_CWD).encode(), None, MS_BIND | MS_REC, None) != 0:
            return fail("cannot bind the sandbox folder")
        for path in hide:  # course copies inside the allowed folders (an installed package's course/)
            if os.path.isdir(new + path):
                libc.mount(b"tmpfs", (new + path).encode(), b"tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                           b"size=4k,mode=555")
    finally:
        for fd in opened:
            os.close(fd)
    os.chroot(new)
    os.chdir(SANDBOX_CWD)
    return ["private-filesystem", "private-tmp"], [], SANDBOX_CWD


def drop_privileges(uid: int | None) -> tuple[list[str], list[str]]:
    """As root, become `uid` (no groups) with a process limit; else report why not."""
    if os.geteuid() != 0:
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


def seccomp_filter() -> tuple[list[str], list[str]]:
    """Load the deny-list filter (requires libseccomp through the pyseccomp binding)."""
    try:
        import pyseccomp as seccomp
    except (ImportError, OSError) as e:
        return [], [f"seccomp: pyseccomp/libseccomp unavailable ({type(e).__name__})"]
    try:
        f = seccomp.SyscallFilter(seccomp.ALLOW)
        for name in DENIED_SYSCALLS:
            try:
                f.add_rule(seccomp.ERRNO(errno.EPERM), name)
            except (ValueError, RuntimeError, OSError):
                pass  # a syscall this architecture does not have
        f.add_rule(seccomp.ERRNO(errno.EPERM), "clone", seccomp.Arg(0, seccomp.MASKED_EQ, CLONE_THREAD, 0))
        f.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
        f.load()
    except Exception as e:  # libseccomp reports failures in several ways
        return [], [f"seccomp: {type(e).__name__}: {e}"]
    return ["seccomp-no-new-processes", "seccomp-no-sockets"], []


def apply_isolation(spec: dict[str, Any]) -> tuple[list[str], list[str], str]:
    """All layers, in the order they must go: namespaces (need root), then the uid drop, then seccomp.

    Returns the layers applied, those missing, and the sandbox's working folder as it now sees it.
    """
    cwd = os.path.realpath(spec["cwd"]) if spec.get("cwd") else ""
    applied, missing = namespaces()
    if "network-namespace" in applied and not missing and cwd:
        a, m, cwd = private_root(cwd, list(spec.get("hide", [])))
        applied += a
        missing += m
    elif cwd and not missing:
        missing.append("private-filesystem: needs root (or bubblewrap)")
    for a, m in (drop_privileges(spec.get("uid")), seccomp_filter()):
        applied += a
        missing += m
    return applied, missing, cwd
