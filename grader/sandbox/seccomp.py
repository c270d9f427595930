"""The seccomp layer: a deny-list filter, reviewed in one place, that blocks new processes, program
execution, sockets and ptrace while leaving threads (numpy's) working. Built once per process (a
zygote builds it for all the sandboxes it forks) and loaded by each sandbox before student code.
"""

from __future__ import annotations

import ctypes
import errno
import os
from typing import Any

from .libc import libc as _libc

# The deny-list, reviewed in one place. clone is denied unless it creates a thread (CLONE_THREAD);
# clone3 answers ENOSYS so that the C library falls back to clone for its threads.
DENIED_SYSCALLS = ("fork", "vfork", "execve", "execveat", "socket", "socketpair", "ptrace",
                   "process_vm_readv", "process_vm_writev", "mount", "umount2", "unshare", "setns",
                   "pivot_root", "chroot", "bpf", "perf_event_open", "keyctl", "add_key", "request_key")
CLONE_THREAD = 0x00010000

_FILTER: Any = None  # the filter, built once per process (a zygote builds it for all its children)
_PROGRAM: Any = None  # the filter compiled to a BPF program by libseccomp, once: (struct sock_fprog, its buffer)
PR_SET_SECCOMP = 22
PR_SET_NO_NEW_PRIVS = 38
SECCOMP_MODE_FILTER = 2


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def _compiled(f: Any) -> Any:
    """The filter as the kernel takes it (what libseccomp would generate again at every load)."""
    r, w = os.pipe()
    try:
        with os.fdopen(w, "wb", closefd=False) as out:
            f.export_bpf(out)
        os.close(w)
        w = -1
        code = b""
        while chunk := os.read(r, 65536):
            code += chunk
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)
    if not code or len(code) % 8:
        return None
    buffer = ctypes.create_string_buffer(code, len(code))
    return _SockFprog(len(code) // 8, ctypes.addressof(buffer)), buffer


def _load(f: Any) -> None:
    """Load the filter: the program compiled once if there is one (two system calls), else by libseccomp."""
    if _PROGRAM is None:
        f.load()
        return
    libc = _libc()
    prctl = libc.prctl
    prctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong)
    if prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 or \
            prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(_PROGRAM[0]), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl: {os.strerror(ctypes.get_errno())}")


def build() -> Any:
    """The deny-list as a libseccomp filter, ready to load."""
    global _FILTER, _PROGRAM
    if _FILTER is None:
        import pyseccomp as seccomp

        f = seccomp.SyscallFilter(seccomp.ALLOW)
        for name in DENIED_SYSCALLS:
            try:
                f.add_rule(seccomp.ERRNO(errno.EPERM), name)
            except (ValueError, RuntimeError, OSError):
                pass  # a syscall this architecture does not have
        f.add_rule(seccomp.ERRNO(errno.EPERM), "clone", seccomp.Arg(0, seccomp.MASKED_EQ, CLONE_THREAD, 0))
        f.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
        try:
            _PROGRAM = _compiled(f)
        except Exception:
            _PROGRAM = None  # libseccomp compiles it at each load instead
        _FILTER = f
    return _FILTER


def apply() -> tuple[list[str], list[str]]:
    """Load the deny-list filter (requires libseccomp through the pyseccomp binding)."""
    try:
        f = build()
    except (ImportError, OSError) as e:
        return [], [f"seccomp: pyseccomp/libseccomp unavailable ({type(e).__name__})"]
    except Exception as e:  # libseccomp reports failures in several ways
        return [], [f"seccomp: {type(e).__name__}: {e}"]
    try:
        _load(f)
    except Exception as e:
        return [], [f"seccomp: {type(e).__name__}: {e}"]
    return ["seccomp-no-new-processes", "seccomp-no-sockets"], []
