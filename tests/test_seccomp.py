"""The seccomp layer against attackers that call the kernel directly (ctypes `syscall`, x86_64 numbers).

Each class grades the same attackers and a correct neighbour through the real `grade` command,
once as root (every isolation layer) and once as an unprivileged user (no uid of its own, and no
namespace where user namespaces are unavailable: seccomp is then what stands between the student,
the host's loopback and the grader's processes). The attackers try the paths a
deny-list of fork, exec and socket misses: io_uring (a socket and a connection to listeners the test
opens on 127.0.0.1 and on an abstract unix name), memory the sandbox's limit does not count (memfd,
System V and POSIX message queues), other processes (signals, limits, priorities, pidfds), and
kernel interfaces a numpy function never needs. Each prints what every call returned; a call the
filter refuses returns -1 with errno EPERM (1), where the kernel alone would have succeeded or
answered another errno (EBADF, ENOTTY, EINVAL, ESRCH). A submission that uses threads, mmap, signals
to itself, its own limits and the file API keeps full marks.
"""

from __future__ import annotations

import os
import platform
import select
import shutil
import socket
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
from test_hostile import CORRECT_DOT, Batch, BatchContract, run_batch, with_prelude

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                       reason="grading as root and as another user needs root (see `grade doctor`)"),
    pytest.mark.skipif(platform.machine() != "x86_64", reason="the attackers use x86_64 system call numbers"),
]

HOSTILE = Path(__file__).resolve().parent / "hostile_seccomp"
REFUSED = "returned -1, errno 1"  # what a call the filter denies returns
RUN_ID = f"{os.getpid()}-{time.time_ns()}"

# Prefix of the attackers below: `call` makes one raw system call, prints what it returned, returns it.
SYSCALL = '''
import ctypes

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def call(label, *args):
    ctypes.set_errno(0)
    ret = libc.syscall(*[ctypes.c_long(a) if isinstance(a, int) else a for a in args])
    print(f"{label}: returned {ret}, errno {ctypes.get_errno() if ret < 0 else 0}", flush=True)
    return ret
'''


def attacker(body: str) -> str:
    return with_prelude(SYSCALL + textwrap.dedent(body))


MEMORY_CALLS = ("memfd_create", "memfd_secret", "shmget", "msgget", "semget", "mq_open")
PROCESS_CALLS = ("kill parent", "kill every process", "tgkill parent", "tkill parent", "rt_sigqueueinfo parent",
                 "prlimit64 parent", "setpriority parent", "pidfd_open parent", "pidfd_getfd",
                 "pidfd_send_signal", "kcmp", "process_madvise", "get_robust_list", "move_pages",
                 "migrate_pages")
KERNEL_CALLS = ("userfaultfd", "name_to_handle_at", "open_tree", "fanotify_init", "personality",
                "modify_ldt", "adjtimex", "clock_adjtime", "ioctl TIOCSTI", "ioctl TIOCLINUX",
                "clone thread into a new user namespace")
LEGIT_STEPS = ("threads", "numpy threads", "anonymous mmap", "file mmap", "signal to itself",
               "signal to its own thread", "raise_signal", "its own limits", "its own priority",
               "files", "pipes and poll", "ctypes callback")

ATTACKERS = {
    "a-io-uring": (HOSTILE / "io_uring_connect.py").read_text(),
    # Memory no limit counts, that may outlive the sandbox: what succeeds is removed at once.
    "a-memory": attacker("""
        MQ = "__MQ__"
        fd = call("memfd_create", 319, b"grader", 1)  # MFD_CLOEXEC
        if fd >= 0:
            os.write(fd, b"x" * (1 << 20))
            os.close(fd)
        fd = call("memfd_secret", 447, 0)
        if fd >= 0:
            os.close(fd)
        IPC_PRIVATE, IPC_CREAT, IPC_RMID = 0, 0o1000, 0
        shm = call("shmget", 29, IPC_PRIVATE, 1 << 20, IPC_CREAT | 0o600)
        if shm >= 0:
            call("shmctl", 31, shm, IPC_RMID, 0)
        msg = call("msgget", 68, IPC_PRIVATE, IPC_CREAT | 0o600)
        if msg >= 0:
            call("msgctl", 71, msg, IPC_RMID, 0)
        sem = call("semget", 64, IPC_PRIVATE, 1, IPC_CREAT | 0o600)
        if sem >= 0:
            call("semctl", 66, sem, 0, IPC_RMID, 0)
        mq = call("mq_open", 240, MQ.encode(), os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600, 0)
        if mq >= 0:
            os.close(mq)
            call("mq_unlink", 241, MQ.encode())

        def dot(a, b):
            return 0.0
    """),
    # Other processes: the zygote above (the same user when the grader is not root), every process.
    # Signal 0 and reads only, or a priority set to the value it has: nothing changes if a call succeeds.
    "a-other-processes": attacker("""
        parent = os.getppid()
        call("kill parent", 62, parent, 0)
        call("kill every process", 62, -1, 0)
        call("tgkill parent", 234, parent, parent, 0)
        call("tkill parent", 200, parent, 0)
        info = ctypes.create_string_buffer(128)
        ctypes.memmove(info, (ctypes.c_int * 3)(0, 0, -1), 12)  # si_signo 0, si_code SI_QUEUE
        call("rt_sigqueueinfo parent", 129, parent, 0, info)
        limits = ctypes.create_string_buffer(16)
        call("prlimit64 parent", 302, parent, 7, 0, limits)  # RLIMIT_NOFILE, read only
        ctypes.set_errno(0)
        libc.getpriority.restype = ctypes.c_int
        nice = libc.getpriority(0, parent)
        call("setpriority parent", 141, 0, parent, nice)  # PRIO_PROCESS, the value it has
        pidfd = call("pidfd_open parent", 434, parent, 0)
        stolen = call("pidfd_getfd", 438, pidfd, 0, 0)
        if stolen >= 0:
            os.close(stolen)
        call("pidfd_send_signal", 424, pidfd, 0, 0, 0)
        if pidfd >= 0:
            os.close(pidfd)
        me = os.getpid()
        call("kcmp", 312, me, me, 1, 0, 0)  # KCMP_VM: allowed by the kernel for itself
        call("process_madvise", 440, -1, 0, 0, 20, 0)  # MADV_COLD on no pidfd: EBADF from the kernel
        head, size = ctypes.c_void_p(), ctypes.c_size_t()
        call("get_robust_list", 274, 0, ctypes.byref(head), ctypes.byref(size))
        call("move_pages", 279, 0, 0, 0, 0, 0, 0)
        call("migrate_pages", 256, 0, 0, 0, 0)

        def dot(a, b):
            return 0.0
    """),
    "a-kernel": attacker("""
        import struct
        call("userfaultfd", 323, 1 | os.O_CLOEXEC)  # UFFD_USER_MODE_ONLY: allowed without privileges
        AT_FDCWD = -100
        handle = ctypes.create_string_buffer(8 + 128)
        struct.pack_into("I", handle, 0, 128)
        mount_id = ctypes.c_int()
        call("name_to_handle_at", 303, AT_FDCWD, b"/etc/passwd", handle, ctypes.byref(mount_id), 0)
        fd = call("open_by_handle_at", 304, AT_FDCWD, handle, os.O_RDONLY)
        if fd >= 0:
            os.close(fd)
        fd = call("open_tree", 428, AT_FDCWD, b"/", 0)
        if fd >= 0:
            os.close(fd)
        fd = call("fanotify_init", 300, 0x200, os.O_RDONLY)  # FAN_CLASS_NOTIF | FAN_REPORT_FID
        if fd >= 0:
            os.close(fd)
        old = call("personality", 135, 0x0400000)  # READ_IMPLIES_EXEC
        if old >= 0:
            libc.syscall(ctypes.c_long(135), ctypes.c_long(old))
        call("modify_ldt", 154, 0, ctypes.create_string_buffer(16), 16)  # read the LDT
        timex = ctypes.create_string_buffer(256)  # modes 0: a read
        call("adjtimex", 159, timex)
        call("clock_adjtime", 305, 0, timex)
        call("ioctl TIOCSTI", 16, 0, 0x5412, b"x")  # stdin is /dev/null: ENOTTY from the kernel
        call("ioctl TIOCLINUX", 16, 0, 0x541C, ctypes.create_string_buffer(8))
        CLONE_VM, CLONE_SIGHAND, CLONE_THREAD, CLONE_NEWUSER = 0x100, 0x800, 0x10000, 0x10000000
        call("clone thread into a new user namespace", 56, CLONE_VM | CLONE_SIGHAND | CLONE_THREAD | CLONE_NEWUSER,
             0, 0, 0, 0)  # EINVAL from the kernel

        def dot(a, b):
            return 0.0
    """),
    # What a student's code may do, all of it at import, then a correct function.
    "a-legit": with_prelude("""
        import mmap
        import resource
        import select
        import signal
        import tempfile
        import threading

        import numpy as np

        def done(step):
            step()
            return "ok"

        def threads():
            results = []
            workers = [threading.Thread(target=lambda i=i: results.append(sum(range(i * 1000)))) for i in range(4)]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            assert len(results) == 4

        def numpy_threads():
            m = np.random.default_rng(0).random((300, 300))
            assert np.allclose(m @ np.eye(300), m)

        def anonymous_mmap():
            with mmap.mmap(-1, 1 << 20) as m:
                m[:5] = b"hello"
                assert m[:5] == b"hello"

        def file_mmap():
            with open("mapped.bin", "wb+") as f:
                f.write(b"\\0" * 4096)
                f.flush()
                with mmap.mmap(f.fileno(), 4096) as m:
                    m[:3] = b"abc"
            with open("mapped.bin", "rb") as f:
                assert f.read(3) == b"abc"

        received = []
        signal.signal(signal.SIGUSR1, lambda signum, frame: received.append(signum))

        def to_itself():
            os.kill(os.getpid(), signal.SIGUSR1)
            assert received, "no signal arrived"

        def to_its_thread():
            received.clear()
            signal.pthread_kill(threading.get_ident(), signal.SIGUSR1)
            assert received, "no signal arrived"

        def raise_signal():
            received.clear()
            signal.raise_signal(signal.SIGUSR1)
            assert received, "no signal arrived"

        def own_limits():
            soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft - 1, hard))
            assert resource.prlimit(0, resource.RLIMIT_NOFILE)[0] == soft - 1

        def own_priority():
            os.setpriority(os.PRIO_PROCESS, 0, os.getpriority(os.PRIO_PROCESS, 0))

        def files():
            os.makedirs("folder/inner", exist_ok=True)
            with open("folder/inner/a.txt", "w") as f:
                f.write("text")
            os.replace("folder/inner/a.txt", "folder/b.txt")
            assert [e.name for e in os.scandir("folder") if e.is_file()] == ["b.txt"]
            os.unlink("folder/b.txt")
            with tempfile.TemporaryFile() as t:
                t.write(b"data")
                t.seek(0)
                assert t.read() == b"data"

        def pipes_and_poll():
            r, w = os.pipe()
            os.write(w, b"x")
            poller = select.poll()
            poller.register(r, select.POLLIN)
            assert poller.poll(1000)
            assert os.read(r, 1) == b"x"
            os.close(r)
            os.close(w)

        def ctypes_callback():
            import ctypes
            add_one = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int)(lambda x: x + 1)
            assert add_one(41) == 42

        for label, step in (("threads", threads), ("numpy threads", numpy_threads),
                            ("anonymous mmap", anonymous_mmap), ("file mmap", file_mmap),
                            ("signal to itself", to_itself), ("signal to its own thread", to_its_thread),
                            ("raise_signal", raise_signal), ("its own limits", own_limits),
                            ("its own priority", own_priority), ("files", files),
                            ("pipes and poll", pipes_and_poll), ("ctypes callback", ctypes_callback)):
            attempt(label, lambda step=step: done(step))
    """) + "\n" + CORRECT_DOT,
}


@pytest.fixture(scope="class")
def listeners():
    """A TCP listener on 127.0.0.1 and one on an abstract unix name, for the io_uring attacker."""
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        tcp.bind(("127.0.0.1", 0))
        unix.bind(f"\0grader-test-seccomp-{RUN_ID}")
        for server in (tcp, unix):
            server.listen(8)
            server.setblocking(False)
        yield tcp, unix
    finally:
        tcp.close()
        unix.close()


def _tokens(listeners) -> dict[str, str]:
    tcp, unix = listeners
    name = unix.getsockname()  # bytes: an abstract name
    return {"PORT": str(tcp.getsockname()[1]), "UNIX": name.decode() if isinstance(name, bytes) else name,
            "MQ": f"grader-test-seccomp-{RUN_ID}"}


class SeccompContract:
    """What the filter promises with or without root."""

    def test_io_uring_cannot_be_set_up_or_entered(self, batch: Batch):
        out = batch.stdout("a-io-uring")
        for call in ("io_uring_setup", "io_uring_enter", "io_uring_register"):
            assert f"{call}: {REFUSED}" in out, out

    def test_no_connection_arrives_through_io_uring(self, batch: Batch, listeners):
        ready, _, _ = select.select(list(listeners), [], [], 0.5)
        assert not ready, f"a connection arrived from the sandbox; the attacker said:\n{batch.stdout('a-io-uring')}"
        assert "CONNECTED" not in batch.stdout("a-io-uring")

    @pytest.mark.parametrize("call", MEMORY_CALLS)
    def test_no_memory_outside_the_limit(self, batch: Batch, call: str):
        assert f"{call}: {REFUSED}" in batch.stdout("a-memory"), batch.stdout("a-memory")

    @pytest.mark.parametrize("call", PROCESS_CALLS)
    def test_no_other_process_is_reached(self, batch: Batch, call: str):
        assert f"{call}: {REFUSED}" in batch.stdout("a-other-processes"), batch.stdout("a-other-processes")

    @pytest.mark.parametrize("call", KERNEL_CALLS)
    def test_kernel_interfaces_a_function_never_needs_are_refused(self, batch: Batch, call: str):
        assert f"{call}: {REFUSED}" in batch.stdout("a-kernel"), batch.stdout("a-kernel")

    def test_the_attackers_earn_no_point_for_a_value(self, batch: Batch):
        for sid in ATTACKERS:
            if sid != "a-legit":
                assert batch.value_points(sid) == 0, batch.ex(sid)

    def test_threads_mmap_signals_to_itself_and_files_keep_working(self, batch: Batch):
        out = batch.stdout("a-legit")
        for step in LEGIT_STEPS:
            assert f"{step}: ok" in out, out
        ex = batch.ex("a-legit")
        assert ex["status"] == "passed" and ex["score"] == ex["max_score"], ex

    def test_the_report_names_the_seccomp_layers(self, batch: Batch):
        layers = batch.doc["grader"]["sandbox"]
        for layer in ("seccomp-no-new-processes", "seccomp-no-sockets", "seccomp-no-other-processes",
                      "seccomp-no-uncounted-memory", "seccomp-small-kernel-surface"):
            assert layer in layers, layers


class TestSeccompAsRoot(BatchContract, SeccompContract):
    @pytest.fixture(scope="class")
    @classmethod
    def batch(cls, tmp_path_factory: pytest.TempPathFactory, listeners) -> Batch:
        folder = tmp_path_factory.mktemp("seccomp")
        return run_batch(folder, folder / "markers", ATTACKERS, **_tokens(listeners))


class TestSeccompUnprivileged(BatchContract, SeccompContract):
    """Graded by uid 65534: the sandbox, its zygote and the grader share a user, and without a user
    namespace there is no network namespace either: the filter alone keeps the student from the
    host's loopback and from the grader's processes."""

    @pytest.fixture(scope="class")
    @classmethod
    def batch(cls, listeners) -> Batch:
        folder = Path(tempfile.mkdtemp(prefix="grader-test-seccomp-"))
        try:
            yield run_batch(folder, folder / "markers", ATTACKERS, as_nobody=True, **_tokens(listeners))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
