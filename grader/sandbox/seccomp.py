"""The seccomp layer: a deny-list filter, reviewed in one place, that keeps a sandbox to itself: no new
process or program, no socket (io_uring included), no reach into other processes, no memory its limit
does not count, and none of the kernel interfaces exploits lean on, while threads (numpy's), mmap,
signals to itself and the file API keep working. Built once per process (a zygote builds it for all
the sandboxes it forks) and loaded by each sandbox before student code, with a small filter of its
own that sends its signals to itself alone.
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct
from typing import Any

from .libc import libc as _libc

# The deny-list, reviewed in one place: layer (the name reports give) -> why -> the calls, each
# answering EPERM. A name this libseccomp or architecture does not know is skipped; calls of
# another ABI (i386's int 0x80, x32) kill the sandbox, whatever their number.
DENIED: dict[str, dict[str, tuple[str, ...]]] = {
    "seccomp-no-new-processes": {
        "a new process or program: a sandbox is one process and its threads": (
            "fork", "vfork", "execve", "execveat"),
        "namespaces, mounts, the root: the sandbox's view of the system is made before it starts": (
            "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "open_tree", "move_mount",
            "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr"),
    },
    "seccomp-no-sockets": {
        "sockets: no network, no unix socket": ("socket", "socketpair"),
        "io_uring: a second system call table (socket, connect, open...) that no filter sees": (
            "io_uring_setup", "io_uring_enter", "io_uring_register"),
    },
    "seccomp-no-other-processes": {
        "another process's memory, descriptors, signals or state, by pid or by pidfd": (
            "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_open", "pidfd_getfd",
            "pidfd_send_signal", "process_madvise", "process_mrelease", "kcmp", "get_robust_list",
            "move_pages", "migrate_pages"),
    },
    "seccomp-no-uncounted-memory": {
        "memory RLIMIT_AS does not count (memfd, System V shared memory, which outlives the sandbox)"
        " and channels between sandboxes (System V IPC, POSIX message queues)": (
            "memfd_create", "memfd_secret", "shmget", "shmat", "shmdt", "shmctl", "msgget", "msgsnd",
            "msgrcv", "msgctl", "semget", "semop", "semtimedop", "semctl", "mq_open", "mq_unlink",
            "mq_timedsend", "mq_timedreceive", "mq_notify", "mq_getsetattr", "ipc"),
    },
    "seccomp-small-kernel-surface": {
        "interfaces kernel exploits lean on (page-fault handling, BPF, perf, keyrings, file handles)": (
            "userfaultfd", "bpf", "perf_event_open", "keyctl", "add_key", "request_key",
            "name_to_handle_at", "open_by_handle_at", "fanotify_init", "lookup_dcookie", "modify_ldt"),
        "system administration: kernels, modules, hardware ports, swap, reboot, accounting, quotas, clock, "
        "host names, kernel log, terminals": (
            "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "create_module",
            "iopl", "ioperm", "swapon", "swapoff", "reboot", "acct", "quotactl", "quotactl_fd",
            "settimeofday", "clock_settime", "adjtimex", "clock_adjtime", "sethostname", "setdomainname",
            "syslog", "vhangup"),
        "obsolete calls": ("uselib", "ustat", "sysfs", "_sysctl", "nfsservctl"),
    },
}

CLONE_THREAD = 0x00010000
CLONE_NAMESPACES = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000)
TIOCSTI, TIOCLINUX = 0x5412, 0x541C
LOW_32 = 0xFFFFFFFF  # a command the kernel reads as a 32-bit int: compare these bits only

# Calls denied for some arguments: (layer, why, call, argument, comparison, value). "clear": denied
# when argument & value == 0; "set": when argument & value == value; "ne": when argument != value;
# "is": when the low 32 bits equal value.
F_SETOWN, F_SETSIG, F_SETOWN_EX = 8, 10, 15
DENIED_WITH: tuple[tuple[str, str, str, int, str, int], ...] = (
    ("seccomp-no-new-processes", "clone makes threads (CLONE_THREAD) only", "clone", 0, "clear", CLONE_THREAD),
    *(("seccomp-no-new-processes", "clone makes no namespace", "clone", 0, "set", flag) for flag in CLONE_NAMESPACES),
    *(("seccomp-no-other-processes", "limits and priorities of this process only (pid 0; a process, not a group"
       " or a user)", call, argument, "ne", value)
      for call, argument, value in (("prlimit64", 0, 0), ("setpriority", 0, 0), ("setpriority", 1, 0),
                                    ("ioprio_set", 0, 1), ("ioprio_set", 1, 0), ("sched_setscheduler", 0, 0),
                                    ("sched_setparam", 0, 0), ("sched_setattr", 0, 0))),
    ("seccomp-small-kernel-surface", "the default execution domain only (READ_IMPLIES_EXEC maps data executable)",
     "personality", 0, "ne", 0),
    *(("seccomp-small-kernel-surface", "no typing into a terminal, no console selection", "ioctl", 1, "is", cmd)
      for cmd in (TIOCSTI, TIOCLINUX)),
    # a descriptor's owner gets SIGIO (or any signal F_SETSIG names) when it is ready: a signal to
    # another process by the back door
    *(("seccomp-no-other-processes", "no signals to others through a descriptor's owner", "fcntl", 1, "is", cmd)
      for cmd in (F_SETOWN, F_SETSIG, F_SETOWN_EX)),
)
# clone3 answers ENOSYS, so that the C library falls back to clone for its threads.
ENOSYS_CALLS = ("clone3",)
# Signals go to the sandbox itself only: a filter of its own, made with its pid when it is loaded.
SIGNAL_CALLS = ("kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo")
LAYERS = tuple(DENIED)

_FILTER: Any = None  # the filter, built once per process (a zygote builds it for all its children)
_PROGRAM: Any = None  # the filter compiled to a BPF program by libseccomp, once: (struct sock_fprog, its buffer)
_SIGNALS: Any = None  # the signal filter compiled once for STAND_IN_PID: (its code, where that pid is in it)
_BINDING: Any = None  # the pyseccomp module, once build() has imported it
STAND_IN_PID = 0x7EADBEEF  # no pid is this large (pid_max is at most 2**22); each sandbox puts its own
PR_SET_SECCOMP = 22
PR_SET_NO_NEW_PRIVS = 38
SECCOMP_MODE_FILTER = 2
BPF_JMP = 0x05
INSTRUCTION = struct.Struct("=HBBI")  # struct sock_filter: code, jt, jf, k


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def _code(f: Any) -> bytes:
    """The filter as the kernel takes it: BPF instructions (what libseccomp would generate again at every load)."""
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
    if not code or len(code) % INSTRUCTION.size:
        raise ValueError("libseccomp exported no BPF program")
    return code


def _program(code: bytes) -> Any:
    buffer = ctypes.create_string_buffer(code, len(code))
    return _SockFprog(len(code) // INSTRUCTION.size, ctypes.addressof(buffer)), buffer


def _install(program: Any) -> None:
    """Load a compiled program (two system calls)."""
    libc = _libc()
    prctl = libc.prctl
    prctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong)
    if prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 or \
            prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(program[0]), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl: {os.strerror(ctypes.get_errno())}")


def _load(f: Any) -> None:
    """Load the filter: the program compiled once if there is one, else by libseccomp."""
    if _PROGRAM is None:
        f.load()
    else:
        _install(_PROGRAM)


def build() -> Any:
    """The deny-list as a libseccomp filter, ready to load."""
    global _FILTER, _PROGRAM, _SIGNALS, _BINDING
    if _FILTER is None:
        import pyseccomp as seccomp

        _BINDING = seccomp
        f = seccomp.SyscallFilter(seccomp.ALLOW)
        for groups in DENIED.values():
            for names in groups.values():
                for name in names:
                    _add(f, seccomp.ERRNO(errno.EPERM), name)
        for _layer, _why, name, argument, comparison, value in DENIED_WITH:
            if comparison == "clear":
                arg = seccomp.Arg(argument, seccomp.MASKED_EQ, value, 0)
            elif comparison == "set":
                arg = seccomp.Arg(argument, seccomp.MASKED_EQ, value, value)
            elif comparison == "is":
                arg = seccomp.Arg(argument, seccomp.MASKED_EQ, LOW_32, value)
            else:
                arg = seccomp.Arg(argument, seccomp.NE, value)
            _add(f, seccomp.ERRNO(errno.EPERM), name, arg)
        for name in ENOSYS_CALLS:
            _add(f, seccomp.ERRNO(errno.ENOSYS), name)
        try:
            _PROGRAM = _program(_code(f))
        except Exception:
            _PROGRAM = None  # libseccomp compiles it at each load instead
        try:
            _SIGNALS = _signal_template()
        except Exception:
            _SIGNALS = None  # each sandbox has libseccomp build its signal filter
        _FILTER = f
    return _FILTER


def _add(f: Any, action: int, name: str, *args: Any) -> None:
    try:
        f.add_rule(action, name, *args)
    except (ValueError, RuntimeError, OSError):
        pass  # a call this architecture or this libseccomp does not have


def _signal_filter(pid: int) -> Any:
    """A filter that lets the signal calls reach `pid` (the sandbox itself) and no other process."""
    seccomp = _BINDING
    f = seccomp.SyscallFilter(seccomp.ALLOW)
    for name in SIGNAL_CALLS:
        f.add_rule(seccomp.ERRNO(errno.EPERM), name, seccomp.Arg(0, seccomp.NE, pid))
    return f


def _signal_template() -> tuple[bytes, list[int]] | None:
    """The signal filter compiled for STAND_IN_PID, and the offsets of the comparisons with it;
    None if that pid shows up anywhere but in comparisons."""
    code = _code(_signal_filter(STAND_IN_PID))
    offsets = []
    for offset in range(0, len(code), INSTRUCTION.size):
        op, _, _, k = INSTRUCTION.unpack_from(code, offset)
        if k == STAND_IN_PID:
            if op & 0x07 != BPF_JMP:
                return None
            offsets.append(offset)
    return (code, offsets) if offsets else None


def _load_signal_filter(pid: int) -> None:
    """Load the signal filter for `pid`: the template with `pid` put in, else built by libseccomp."""
    if _SIGNALS is None:
        _signal_filter(pid).load()
        return
    template, offsets = _SIGNALS
    code = bytearray(template)
    for offset in offsets:
        op, jt, jf, _ = INSTRUCTION.unpack_from(code, offset)
        INSTRUCTION.pack_into(code, offset, op, jt, jf, pid)
    _install(_program(bytes(code)))


def apply() -> tuple[list[str], list[str]]:
    """Load the deny-list filter, then the sandbox's own signal filter (requires libseccomp
    through the pyseccomp binding). Returns the layers applied and those missing, with why."""
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
    try:
        _load_signal_filter(os.getpid())
    except Exception as e:
        return ([layer for layer in LAYERS if layer != "seccomp-no-other-processes"],
                [f"seccomp-no-other-processes: signal filter: {type(e).__name__}: {e}"])
    return list(LAYERS), []
