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
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18

MAX_THREADS = 32  # RLIMIT_NPROC after the uid drop: the sandbox and its threads, no more


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def namespaces(hide: list[str], cwd: str = "") -> tuple[list[str], list[str]]:
    """Private network and mount namespaces; cover the hidden paths. Returns (applied, missing)."""
    if os.geteuid() != 0:
        return [], ["network-namespace: needs root (or bubblewrap)", "private-filesystem: needs root (or bubblewrap)"]
    libc = _libc()
    if libc.unshare(CLONE_NEWNS | CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        return [], [f"network-namespace: unshare failed ({os.strerror(e)})", f"private-filesystem: unshare failed ({os.strerror(e)})"]
    applied = ["network-namespace"]
    if libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        return applied, [f"private-filesystem: cannot make mounts private ({os.strerror(ctypes.get_errno())})"]
    flags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC
    failed = []
    for path in sorted(set(hide), key=len):
        if cwd and (cwd + os.sep).startswith(path.rstrip(os.sep) + os.sep):
            failed.append(f"{path} (it holds the sandbox's own folder: set TMPDIR elsewhere)")
        elif os.path.isdir(path) and libc.mount(b"tmpfs", path.encode(), b"tmpfs", flags, b"size=4k,mode=555") != 0:
            failed.append(f"{path} ({os.strerror(ctypes.get_errno())})")
    if failed:
        return applied, [f"private-filesystem: could not hide {', '.join(failed)}"]
    return [*applied, "private-filesystem"], []


PRIVATE_TMP = ("/tmp", "/var/tmp", "/dev/shm")
SANDBOX_CWD = "/tmp/work"


def private_tmp(cwd: str) -> tuple[list[str], list[str], str]:
    """Fresh, size-capped temp folders (nothing shared with the host or other sandboxes); the
    sandbox's own folder is bind-mounted at /tmp/work. Call inside the private mount namespace."""
    libc = _libc()
    fd = os.open(cwd, os.O_RDONLY | os.O_DIRECTORY)  # keeps the folder reachable once /tmp is covered
    try:
        for path in PRIVATE_TMP:
            if os.path.isdir(path) and libc.mount(b"tmpfs", path.encode(), b"tmpfs", MS_NOSUID | MS_NODEV,
                                                  b"size=64m,nr_inodes=4096,mode=1777") != 0:
                return [], [f"private-tmp: cannot mount a tmpfs on {path} ({os.strerror(ctypes.get_errno())})"], cwd
        os.makedirs(SANDBOX_CWD, exist_ok=True)
        if libc.mount(f"/proc/self/fd/{fd}".encode(), SANDBOX_CWD.encode(), None, MS_BIND | MS_REC, None) != 0:
            return [], [f"private-tmp: cannot bind the sandbox folder ({os.strerror(ctypes.get_errno())})"], cwd
    finally:
        os.close(fd)
    return ["private-tmp"], [], SANDBOX_CWD


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
    applied, missing = namespaces(list(spec.get("hide", [])), cwd)
    if "private-filesystem" in applied and cwd:
        a, m, cwd = private_tmp(cwd)
        applied += a
        missing += m
    elif cwd:
        missing.append("private-tmp: needs the private mount namespace")
    for a, m in (drop_privileges(spec.get("uid")), seccomp_filter()):
        applied += a
        missing += m
    return applied, missing, cwd
