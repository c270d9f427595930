"""Hostile submissions: code written to break out of the sandbox, starve the grader or cheat.

Each class grades one small class of attackers plus a correct neighbour, `bob`, through the real
`grade` command (one run per class, shared by its tests), and asserts what must hold afterwards:

- the batch exits 0 in bounded time and the grader prints no traceback;
- bob keeps full marks and every file of the class folder is byte-for-byte what it was, with no
  file added;
- no marker file appears under tmp_path (the attackers are told where to write them);
- each attacker ends with a clear status and message, and earns no point for a wrong value.

Where an attack could succeed without leaving a file behind (a forked child, a shell), the
attacker's child prints a token built at run time, so the source never contains it: the
captured stdout shows whether anything ran. A sandbox hole found by an attack would be a strict xfail
(strict) test with the reason, never a weaker assertion.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import CORPUS, DOT_POINTS, ROOT, by_id, exercise, grade

pytestmark = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0,
    reason="the hostile corpus needs every isolation layer, which needs root (see `grade doctor`)")

HOSTILE = Path(__file__).resolve().parent / "hostile"
CORRECT_DOT = (CORPUS / "dot-product" / "correct_loop.py").read_text()
GRADE_ARGS = ("-e", "dot-product", "--timeout", "0.5", "--jobs", "1", "--format", "json")
MUTATION_CHECK = "does not modify its arguments"  # the one point a constant answer can earn
SOLUTION_LINE = "def elementwise_product"  # from solutions/dot_product.py
CHECKS_LINE = "def test_scale_invariance"  # from checks/cosine_similarity.py
NEIGHBOUR_LINE = "a and b must have the same length"  # from bob's file
SECRET = f"grader-secret-{os.getpid()}-{time.time_ns()}"  # in the grader's environment, never a sandbox's

# Prefix of most attackers: run a step, print what happened, never stop at a refusal.
PRELUDE = '''
import os, sys

def attempt(label, step):
    try:
        result = step()
    except BaseException as e:
        result = f"refused ({type(e).__name__}: {e})"
    print(f"{label}: {result}", flush=True)
'''


def with_prelude(source: str) -> str:
    return PRELUDE + textwrap.dedent(source)


@dataclass
class Batch:
    proc: subprocess.CompletedProcess
    doc: dict
    elapsed: float
    subs: Path
    markers: Path
    before: dict[str, bytes]

    def sub(self, sid: str) -> dict:
        return by_id(self.doc)[sid]

    def ex(self, sid: str) -> dict:
        return exercise(self.sub(sid), "dot-product")

    def stdout(self, sid: str) -> str:
        return self.sub(sid)["output"]["stdout"]

    def stderr(self, sid: str) -> str:
        return self.sub(sid)["output"]["stderr"]

    def value_points(self, sid: str) -> float:
        """Points earned by checks of values (every check but the mutation check)."""
        return sum(c["score"] for c in self.ex(sid)["checks"] if c["name"] != MUTATION_CHECK)

    def messages(self, sid: str) -> str:
        ex = self.ex(sid)
        return "\n".join([ex.get("message") or "", *(c.get("message") or "" for c in ex["checks"])])


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def run_batch(folder: Path, markers: Path, attackers: dict[str, str], exposed: bool = False,
              as_nobody: bool = False, **tokens: str) -> Batch:
    """Write bob and the attackers into folder/subs, grade them, return the result and the snapshot.

    `tokens` replace the string literals "__NAME__" in the sources (paths, ports) with values.
    Attackers are named `a-...`, so they run before bob. `exposed`: the class folder and bob.py
    are world-writable, so that only the sandbox's private filesystem protects them.
    """
    subs = folder / "subs"
    subs.mkdir()
    markers.mkdir(exist_ok=True)
    (subs / "bob.py").write_text(CORRECT_DOT)
    if exposed:
        subs.chmod(0o777)
        (subs / "bob.py").chmod(0o666)
    for name, source in attackers.items():
        source = textwrap.dedent(source)
        for key, value in {"MARKERS": str(markers), **tokens}.items():
            source = source.replace(f'"__{key}__"', repr(value))
        (subs / f"{name}.py").write_text(source)
    before = _snapshot(subs)
    started = time.monotonic()
    if as_nobody:  # graded by an unprivileged user: its sandboxes isolate themselves in user namespaces
        nobody, env, python = _as_nobody()
        (folder / "sandboxes").mkdir()
        for path in [folder, markers, *folder.rglob("*")]:
            path.chmod(0o777 if path.is_dir() else 0o666)
        proc = subprocess.run([*nobody, python, "-m", "grader", str(subs), *GRADE_ARGS], cwd=ROOT, text=True,
                              env={**env, "TMPDIR": str(folder / "sandboxes"), "GRADER_NO_DB": "1",
                                   "GRADER_TEST_SECRET": SECRET},
                              capture_output=True, timeout=300)
    else:
        proc = grade(str(subs), *GRADE_ARGS, timeout=300, env={"GRADER_TEST_SECRET": SECRET})
    elapsed = time.monotonic() - started
    try:
        doc = json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"grade printed no JSON (exit {proc.returncode}); stderr:\n{proc.stderr[-3000:]}")
    return Batch(proc, doc, elapsed, subs, markers, before)


def test_the_lines_the_attacks_look_for_are_where_they_are_said_to_be():
    assert SOLUTION_LINE in (ROOT / "solutions" / "dot_product.py").read_text()
    assert CHECKS_LINE in (ROOT / "checks" / "cosine_similarity.py").read_text()
    assert NEIGHBOUR_LINE in CORRECT_DOT


class BatchContract:
    """What every hostile batch must leave intact (inherited by each Test class)."""

    TIME_BOUND = 60.0  # seconds for the whole batch: generous, the point is that it ends

    def test_the_batch_exits_0_without_a_traceback(self, batch: Batch):
        assert batch.proc.returncode == 0, batch.proc.stderr[-3000:]
        assert "Traceback" not in batch.proc.stderr, batch.proc.stderr[-3000:]

    def test_the_batch_finishes_in_bounded_time(self, batch: Batch):
        assert batch.elapsed < self.TIME_BOUND

    def test_the_neighbour_keeps_full_marks(self, batch: Batch):
        bob = batch.ex("bob")
        assert bob["status"] == "passed" and bob["score"] == bob["max_score"], bob

    def test_every_file_of_the_class_is_untouched(self, batch: Batch):
        assert _snapshot(batch.subs) == batch.before

    def test_no_marker_file_appears(self, batch: Batch):
        assert list(batch.markers.rglob("*")) == []
        planted = [p for p in batch.subs.parent.rglob("*") if "marker" in p.name and p != batch.markers]
        assert planted == []

    def test_every_attacker_has_a_result(self, batch: Batch):
        ids = [s["id"] for s in batch.doc["submissions"]]
        assert ids == sorted(ids) and "bob" in ids and len(ids) == len(batch.before)
        for sid in ids:
            ex = batch.ex(sid)
            assert ex["status"] in ("passed", "failed", "error", "timeout"), sid
            if ex["status"] != "passed":  # a clear message says why
                assert batch.messages(sid).strip(), ex


# ------------------------------------------------------------------------------------------------
# Resources: memory, recursion, output, signals, threads, huge results


RESOURCE_ATTACKERS = {
    "a-thread-flood": """
        import threading
        threading.stack_size(65536)  # small stacks: the address-space limit alone would allow hundreds
        done, started = threading.Event(), 0
        try:
            for _ in range(200):
                threading.Thread(target=done.wait, daemon=True).start()
                started += 1
        except RuntimeError:
            pass
        print("THREADS", started, flush=True)
        done.set()

        def dot(a, b):
            return 0.0
    """,
    "a-bytearray-bomb": """
        def dot(a, b):
            block = bytearray(8 * 1024**3)
            return float(len(block))
    """,
    "a-list-bomb": """
        def dot(a, b):
            blocks = []
            while True:
                blocks.append([1.0] * 1_000_000)
    """,
    "a-recursion-python": """
        import sys
        sys.setrecursionlimit(10**6)

        def down(n):
            return down(n + 1) + 1

        def dot(a, b):
            return float(down(0))
    """,
    "a-recursion-c-stack": """
        import sys
        sys.setrecursionlimit(10**6)

        class Deep:  # repr -> __repr__ -> repr ...: each level is a C frame too
            def __repr__(self):
                return repr(self)

        def dot(a, b):
            return float(len(repr(Deep())))
    """,
    "a-huge-result": """
        import numpy as np

        def dot(a, b):
            return np.zeros(10**8)
    """,
    "a-ignores-sigterm": """
        import signal
        for name in ("SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGXCPU"):
            signal.signal(getattr(signal, name), signal.SIG_IGN)

        def dot(a, b):
            while True:
                pass
    """,
    "a-leftover-thread": """
        import threading, time

        def forever():
            while True:
                time.sleep(0.01)

        threading.Thread(target=forever, daemon=False).start()

        def dot(a, b):
            if len(a) != len(b):
                raise ValueError("lengths differ")
            return float(sum(float(x) * float(y) for x, y in zip(a, b)))
    """,
    "a-output-flood": """
        import os, sys
        chunk_out, chunk_err = "o" * (1 << 20), "e" * (1 << 20)
        for _ in range(50):  # 50 MB on each stream
            sys.stdout.write(chunk_out)
            sys.stderr.write(chunk_err)
        sys.stdout.flush()
        sys.stderr.flush()

        def dot(a, b):
            if len(a) != len(b):
                raise ValueError("lengths differ")
            return float(sum(float(x) * float(y) for x, y in zip(a, b)))
    """,
    "a-os-exit-at-import": """
        import os
        os._exit(0)

        def dot(a, b):
            return 0.0
    """,
}


class TestResourceAttacks(BatchContract):
    TIME_BOUND = 60.0

    @pytest.fixture(scope="class")
    @classmethod
    def batch(cls, tmp_path_factory: pytest.TempPathFactory) -> Batch:
        folder = tmp_path_factory.mktemp("resources")
        return run_batch(folder, folder / "markers", RESOURCE_ATTACKERS)

    def test_threads_are_limited(self, batch: Batch):
        out = batch.stdout("a-thread-flood")
        assert out.startswith("THREADS "), out
        assert 0 < int(out.split()[1]) < 64, out  # a few dozen: what numpy needs and far from the pid table

    @pytest.mark.parametrize("sid", ["a-bytearray-bomb", "a-list-bomb"])
    def test_a_memory_bomb_ends_in_a_memory_error_or_a_kill(self, batch: Batch, sid: str):
        ex = batch.ex(sid)
        assert ex["score"] == 0 and ex["status"] in ("failed", "error", "timeout"), ex
        assert any(word in batch.messages(sid) for word in ("MemoryError", "killed", "no answer within")), batch.messages(sid)

    @pytest.mark.parametrize("sid", ["a-recursion-python", "a-recursion-c-stack"])
    def test_deep_recursion_ends_as_an_error_a_crash_or_a_timeout(self, batch: Batch, sid: str):
        ex = batch.ex(sid)
        assert ex["score"] == 0 and ex["status"] in ("failed", "error", "timeout"), ex
        assert any(word in batch.messages(sid) for word in ("no answer within", "RecursionError", "segmentation fault", "crashed", "killed")), batch.messages(sid)

    def test_a_result_of_10_to_the_8_elements_is_refused_not_received(self, batch: Batch):
        ex = batch.ex("a-huge-result")
        assert ex["status"] in ("failed", "error") and batch.value_points("a-huge-result") == 0, ex
        messages = batch.messages("a-huge-result")
        assert any(word in messages for word in ("MemoryError", "too large", "more data than allowed", "100000000")), messages

    def test_ignoring_sigterm_does_not_outlive_the_timeout(self, batch: Batch):
        ex = batch.ex("a-ignores-sigterm")
        assert ex["status"] == "timeout" and ex["score"] == 0, ex
        assert "no answer within 0.5 s" in batch.messages("a-ignores-sigterm")

    def test_a_leftover_non_daemon_thread_does_not_keep_the_submission_alive(self, batch: Batch):
        ex = batch.ex("a-leftover-thread")
        assert ex["status"] == "passed" and ex["score"] == ex["max_score"], ex

    def test_50_mb_of_output_on_each_stream_is_truncated(self, batch: Batch):
        out, err = batch.stdout("a-output-flood"), batch.stderr("a-output-flood")
        assert 0 < len(out) < 20_000 and "more bytes not shown" in out
        assert 0 < len(err) < 20_000 and "more bytes not shown" in err
        assert len(batch.proc.stdout) < 1_000_000, "the flood reached the grader's own output"
        ex = batch.ex("a-output-flood")
        assert ex["status"] == "passed" and ex["score"] == ex["max_score"], ex

    def test_os_exit_at_import_is_an_error(self, batch: Batch):
        ex = batch.ex("a-os-exit-at-import")
        assert ex["status"] == "error" and ex["score"] == 0, ex
        assert "exited with status 0" in batch.messages("a-os-exit-at-import")


@pytest.fixture(scope="class")
def nobody_folder():
    """A folder an unprivileged user can use (pytest's tmp_path is root's alone)."""
    folder = Path(tempfile.mkdtemp(prefix="grader-test-nobody-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class TestResourceAttacksUnprivileged(TestResourceAttacks):
    """The same attacks graded by an unprivileged user: limits, timeouts and output caps need no root."""

    @pytest.fixture(scope="class")
    @classmethod
    def batch(cls, nobody_folder: Path) -> Batch:
        return run_batch(nobody_folder, nobody_folder / "markers", RESOURCE_ATTACKERS, as_nobody=True)


# ------------------------------------------------------------------------------------------------
# Escapes: new processes, the network, the neighbour's files, the course, inherited descriptors


ESCAPE_ATTACKERS = {
    # first of the class in the zygote it shares with everyone after it: what it changes in the
    # root they all see, or in the zygote, would reach them (a FIFO as /dev/null hangs the next one)
    "a-shared-root": with_prelude("""
        import fcntl, signal
        attempt("write /persist", lambda: open("/persist", "w").write("left behind"))
        attempt("make /proc", lambda: os.mkdir("/proc"))
        attempt("move /dev", lambda: os.rename("/dev", "/dev.old"))
        attempt("fifo as /dev/null", lambda: (os.unlink("/dev/null"), os.mkfifo("/dev/null")))
        attempt("move the Python views", lambda: os.rename("/.python-under-tmp", "/.moved"))
        attempt("replace /lib", lambda: (os.unlink("/lib"), os.symlink("/tmp", "/lib")))
        r, w = os.pipe()
        attempt("SIGIO owner", lambda: fcntl.fcntl(r, fcntl.F_SETOWN, 1))
        attempt("SIGIO signal", lambda: fcntl.fcntl(r, 10, signal.SIGINT))

        def dot(a, b):
            return 0.0
    """),
    "z-after-shared-root": with_prelude("""
        attempt("read /persist", lambda: open("/persist").read())
        attempt("/dev/null is a device", lambda: os.path.exists("/dev/null") and not os.path.isfile("/dev/null"))

        def dot(a, b):
            return 0.0
    """),
    "a-fork-loop": with_prelude("""
        MARKERS = "__MARKERS__"
        for i in range(20):  # bounded: a fork bomb is out of scope for a test suite
            try:
                pid = os.fork()
            except OSError as e:
                print(f"fork {i}: refused ({type(e).__name__}: {e})", flush=True)
                continue
            if pid == 0:
                try:
                    print("CHILD-" + "RAN", flush=True)
                    open(os.path.join(MARKERS, f"marker-fork-{i}"), "w").close()
                finally:
                    os._exit(0)
            print(f"fork {i}: started {pid}", flush=True)

        def dot(a, b):
            return 0.0
    """),
    "a-raw-clone": with_prelude("""
        import ctypes
        MARKERS = "__MARKERS__"
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long

        def raw(label, *args):
            ret = libc.syscall(*[ctypes.c_long(a) for a in args])
            if ret == 0:  # the child of a fork-like call that went through
                print("CHILD-" + "RAN", flush=True)
                open(os.path.join(MARKERS, f"marker-{label}"), "w").close()
                os._exit(0)
            return f"returned {ret}, errno {ctypes.get_errno()}"

        SIGCHLD = 17
        attempt("syscall fork", lambda: raw("fork", 57))
        attempt("syscall vfork", lambda: raw("vfork", 58))
        attempt("syscall clone(SIGCHLD)", lambda: raw("clone", 56, SIGCHLD, 0, 0, 0, 0))
        attempt("syscall clone3", lambda: raw("clone3", 435, 0, 0))
        attempt("syscall x32 fork", lambda: raw("x32-fork", 0x40000000 | 57))

        def dot(a, b):
            return 0.0
    """),
    "a-i386-fork": with_prelude("""
        import ctypes
        MARKERS = "__MARKERS__"
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mmap.restype = ctypes.c_void_p
        libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
        # mov eax, 2 (fork in the i386 table); int 0x80; ret
        code = bytes([0xB8, 0x02, 0x00, 0x00, 0x00, 0xCD, 0x80, 0xC3])
        page = libc.mmap(None, 4096, 7, 0x22, -1, 0)  # read|write|exec, private|anonymous
        print(f"executable page: {page is not None and page != ctypes.c_void_p(-1).value}", flush=True)
        ctypes.memmove(page, code, len(code))
        fork32 = ctypes.CFUNCTYPE(ctypes.c_int)(page)
        print("calling fork through int 0x80", flush=True)
        ret = fork32()
        if ret == 0:
            print("CHILD-" + "RAN", flush=True)
            open(os.path.join(MARKERS, "marker-i386"), "w").close()
            os._exit(0)
        print(f"int 0x80 fork returned {ret}", flush=True)

        def dot(a, b):
            return 0.0
    """),
    "a-shell": with_prelude("""
        import subprocess
        MARKERS = "__MARKERS__"
        command = "echo SHELL-$((1+1))RAN; touch " + os.path.join(MARKERS, "marker-shell")
        attempt("os.system", lambda: os.system(command))
        attempt("os.popen", lambda: os.popen(command).read())
        attempt("subprocess.run", lambda: subprocess.run(["/bin/sh", "-c", command], timeout=2).returncode)
        attempt("os.posix_spawn", lambda: os.posix_spawn("/bin/sh", ["sh", "-c", command], {}))
        attempt("os.execv", lambda: os.execv("/bin/sh", ["sh", "-c", command]))  # last: it would replace us

        def dot(a, b):
            return 0.0
    """),
    "a-neighbour-write": with_prelude("""
        BOB = "__BOB__"
        SUBS = os.path.dirname(BOB)
        attempt("list the class", lambda: sorted(os.listdir(SUBS)))
        attempt("read bob", lambda: open(BOB).read())
        attempt("overwrite bob", lambda: open(BOB, "w").write("def dot(a, b):\\n    return 0.0\\n"))
        attempt("append to bob", lambda: open(BOB, "a").write("\\nraise SystemExit\\n"))
        attempt("chmod bob", lambda: os.chmod(BOB, 0))
        attempt("rename bob", lambda: os.rename(BOB, BOB + ".marker"))
        attempt("remove bob", lambda: os.remove(BOB))
        attempt("plant a student", lambda: open(os.path.join(SUBS, "zz-marker.py"), "w").write("def dot(a, b): return 1.0\\n"))
        attempt("symlink bob", lambda: os.symlink("/etc/passwd", os.path.join(SUBS, "zz-marker-link.py")))

        def dot(a, b):
            return 0.0
    """),
    "a-network": with_prelude("""
        import socket
        PORT = int("__PORT__")
        attempt("tcp connect", lambda: socket.create_connection(("127.0.0.1", PORT), timeout=1) and "CONNECTED")
        attempt("udp send", lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("127.0.0.1", PORT)))
        attempt("unix socket", lambda: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))

        def dot(a, b):
            return 0.0
    """),
    "a-leftover-files": with_prelude("""
        NAME = "__LEFTOVER__"
        for folder in ("/tmp", "/var/tmp", "/dev/shm"):
            attempt(f"leave a file in {folder}", lambda folder=folder: open(os.path.join(folder, NAME), "w").write("x"))

        def dot(a, b):
            return 0.0
    """),
    "a-process-secrets": with_prelude("""
        import signal
        attempt("list /proc", lambda: len(os.listdir("/proc")))
        attempt("parent environ", lambda: open(f"/proc/{os.getppid()}/environ", "rb").read())
        attempt("parent memory", lambda: open(f"/proc/{os.getppid()}/mem", "rb").read(16))
        found = []
        for pid in range(1, 400):  # bounded: the first processes of whatever namespace it is in
            for what in ("environ", "cmdline"):
                try:
                    found.append(open(f"/proc/{pid}/{what}", "rb").read().decode("utf-8", "replace"))
                except OSError:
                    pass
        print("PROC", len(found), " ".join(found)[:20000], flush=True)
        attempt("see any process", lambda: os.kill(-1, 0))
        attempt("stop the parent", lambda: os.kill(os.getppid(), signal.SIGSTOP))
        attempt("kill the parent", lambda: os.kill(os.getppid(), signal.SIGKILL))

        def dot(a, b):
            return 0.0
    """),
    "a-working-folder": """
        import os
        print("CWD", os.getcwd(), "HOLDS", sorted(os.listdir(".")))

        def dot(a, b):
            return 0.0
    """,
    "a-system-files": with_prelude("""
        attempt("passwd", lambda: "root entry " + str(any(line.startswith("root:") for line in open("/etc/passwd"))))

        def dot(a, b):
            return 0.0
    """),
    "a-course-search": (HOSTILE / "course_search.py").read_text(),
    "a-git-course": (HOSTILE / "git_course.py").read_text(),
    "a-descriptors": """
        import os, stat
        for fd in range(256):  # no /proc in the sandbox: probe every low descriptor
            try:
                mode = os.fstat(fd).st_mode
            except OSError:
                continue
            kind = "pipe" if stat.S_ISFIFO(mode) else "char" if stat.S_ISCHR(mode) else "socket" if stat.S_ISSOCK(mode) else "other"
            print(f"FD {fd} {kind}")

        def dot(a, b):
            return 0.0
    """,
}


LEFTOVER_FOLDERS = ("/tmp", "/var/tmp", "/dev/shm")
LEFTOVER_NAME = f"grader-hostile-marker-{os.getpid()}-{time.time_ns()}"


def _readable_by_others(path: Path) -> bool:
    folders = list(reversed(path.parents))
    return all(p.stat().st_mode & stat.S_IXOTH for p in folders) and bool(path.stat().st_mode & stat.S_IROTH)


def _course_in_git(root: Path) -> bool:
    """The attack's precondition, checked the same way on the trusted side: HEAD -> commit -> tree
    -> solutions/ -> dot_product.py, every object loose and readable by any user."""
    git = root / ".git"

    def body(sha: str) -> bytes:
        path = git / "objects" / sha[:2] / sha[2:]
        if not (path.is_file() and _readable_by_others(path)):
            raise FileNotFoundError(path)
        return zlib.decompress(path.read_bytes()).partition(b"\0")[2]

    def entries(tree: bytes) -> dict[str, str]:
        out = {}
        while tree:
            head, _, rest = tree.partition(b"\0")
            out[head.split(b" ", 1)[1].decode()] = rest[:20].hex()
            tree = rest[20:]
        return out

    try:
        head = (git / "HEAD").read_text().strip()
        if head.startswith("ref: "):
            head = (git / head[5:]).read_text().strip()
        top = entries(body(body(head).split(b"\n")[0].split()[1].decode()))
        blob = body(entries(body(top["solutions"]))["dot_product.py"])
        return SOLUTION_LINE.encode() in blob
    except (OSError, KeyError, IndexError, ValueError, zlib.error):
        return False


@pytest.fixture(scope="class")
def listener():
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.setblocking(False)
    yield server
    server.close()


class ProcessAndNetworkContract:
    """No new process and no connection: seccomp's part, which holds with or without root."""

    def test_a_bounded_fork_loop_creates_no_process(self, batch: Batch):
        out = batch.stdout("a-fork-loop")
        assert "CHILD-RAN" not in out
        assert out.count("refused") == 20, out

    def test_raw_fork_and_clone_syscalls_create_no_process(self, batch: Batch):
        out = batch.stdout("a-raw-clone")
        assert "CHILD-RAN" not in out
        for call in ("fork", "vfork", "clone(SIGCHLD)", "clone3"):
            assert f"syscall {call}: returned -1" in out, out
        # a syscall number of the x32 ABI is a foreign architecture for the filter: killed (SIGSYS)
        assert "syscall x32 fork: returned -1" in out or "SIGSYS" in batch.messages("a-raw-clone"), out
        assert batch.ex("a-raw-clone")["score"] <= 1.0

    def test_a_fork_through_the_i386_syscall_table_creates_no_process(self, batch: Batch):
        out = batch.stdout("a-i386-fork")
        assert "CHILD-RAN" not in out
        assert "calling fork through int 0x80" in out, out
        ex = batch.ex("a-i386-fork")
        assert ex["score"] == 0 and ex["status"] == "error", ex
        assert "SIGSYS" in batch.messages("a-i386-fork") or "int 0x80 fork returned -" in out, batch.messages("a-i386-fork")

    def test_no_shell_or_program_runs(self, batch: Batch):
        out = batch.stdout("a-shell")
        assert "SHELL-2RAN" not in out
        for how in ("os.popen", "subprocess.run", "os.posix_spawn", "os.execv"):
            assert f"{how}: refused" in out, out
        assert "os.system: " in out and "os.system: 0" not in out, out

    def test_no_connection_reaches_a_port_on_the_host(self, batch: Batch, listener: socket.socket):
        ready, _, _ = select.select([listener], [], [], 0.5)
        assert not ready, "a connection arrived from the sandbox"
        out = batch.stdout("a-network")
        assert "CONNECTED" not in out
        assert "tcp connect: refused" in out and "udp send: refused" in out, out



class TestEscapeAttacks(BatchContract, ProcessAndNetworkContract):
    TIME_BOUND = 60.0

    @pytest.fixture(scope="class")
    @classmethod
    def batch(cls, tmp_path_factory: pytest.TempPathFactory, listener: socket.socket):
        # The class folder is reachable by any user (a folder in /tmp; the class folder and bob.py
        # world-writable): only the private filesystem can keep the attackers out of it.
        markers = tmp_path_factory.mktemp("escape-markers")
        folder = Path(tempfile.mkdtemp(prefix="grader-hostile-"))
        try:
            folder.chmod(0o755)
            yield run_batch(folder, markers, ESCAPE_ATTACKERS, exposed=True,
                            PORT=str(listener.getsockname()[1]), BOB=str(folder / "subs" / "bob.py"),
                            LEFTOVER=LEFTOVER_NAME)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            for shared in LEFTOVER_FOLDERS:  # what a-leftover-files managed to leave behind
                (Path(shared) / LEFTOVER_NAME).unlink(missing_ok=True)

    def test_the_neighbours_file_can_be_neither_read_nor_written(self, batch: Batch):
        out = batch.stdout("a-neighbour-write")
        assert NEIGHBOUR_LINE not in out
        for what in ("read bob", "overwrite bob", "append to bob", "chmod bob", "rename bob", "remove bob",
                     "plant a student", "symlink bob"):
            assert f"{what}: refused" in out, out

    def test_the_sandbox_leaves_no_file_outside_its_own_folder(self, batch: Batch):
        left = [folder for folder in LEFTOVER_FOLDERS if (Path(folder) / LEFTOVER_NAME).exists()]
        assert left == [], f"{LEFTOVER_NAME} left in {left}; the attacker said:\n{batch.stdout('a-leftover-files')}"

    def test_nothing_a_sandbox_does_to_the_shared_root_reaches_the_next(self, batch: Batch):
        out = batch.stdout("a-shared-root")
        for what in ("write /persist", "make /proc", "move /dev", "fifo as /dev/null", "move the Python views",
                     "replace /lib", "SIGIO owner", "SIGIO signal"):
            assert f"{what}: refused" in out, out
        after = batch.stdout("z-after-shared-root")
        assert "read /persist: refused" in after and "/dev/null is a device: True" in after, after

    def test_the_working_folder_holds_the_submission_alone(self, batch: Batch):
        out = batch.stdout("a-working-folder")
        assert "HOLDS ['a-working-folder.py']" in out, out
        assert out.startswith("CWD /tmp/work "), out  # a private root: its own /tmp/work, on no disk

    def test_no_process_of_the_grader_can_be_seen_read_or_signalled(self, batch: Batch):
        out = batch.stdout("a-process-secrets")
        assert "kill the parent: " in out, out  # the attack ran to the end
        assert SECRET not in out, "the grader's environment reached a sandbox"
        assert "list /proc: refused" in out and out.count("PROC 0 ") == 1, out
        assert "see any process: refused" in out, out  # none, or none it may signal

    def test_system_files_stay_readable(self, batch: Batch):
        assert "passwd: root entry True" in batch.stdout("a-system-files")

    def test_the_solutions_cannot_be_found_by_searching(self, batch: Batch):
        out = batch.stdout("a-course-search")
        assert out.startswith("SEARCHED"), out  # the attack ran to the end
        assert SOLUTION_LINE not in out, out
        assert f"FOUND {ROOT / 'solutions'}" not in out, out

    def test_the_custom_checks_cannot_be_found_by_searching(self, batch: Batch):
        out = batch.stdout("a-course-search")
        assert CHECKS_LINE not in out and f"FOUND {ROOT / 'checks'}" not in out, out

    def test_the_course_cannot_be_read_from_the_repository(self, batch: Batch):
        if not _course_in_git(ROOT):
            pytest.skip("the grader does not run from a git checkout readable by other users")
        out = batch.stdout("a-git-course")
        assert SOLUTION_LINE not in out, out
        assert out.startswith("GIT refused"), out

    def test_the_sandbox_inherits_only_its_own_descriptors(self, batch: Batch):
        fds = [line.split()[1:] for line in batch.stdout("a-descriptors").splitlines() if line.startswith("FD ")]
        assert [fd for fd, _ in fds][:3] == ["0", "1", "2"], fds
        assert len(fds) == 5, f"expected stdin, stdout, stderr and the two protocol pipes, got {fds}"


class TestEscapeAttacksUnprivileged(TestEscapeAttacks):
    """The same escapes graded by an unprivileged user: its sandboxes make their own user, mount,
    network and pid namespaces, so what holds as root holds without it."""

    @pytest.fixture(scope="class")
    @classmethod
    def batch(cls, nobody_folder: Path, listener: socket.socket):
        try:
            yield run_batch(nobody_folder, nobody_folder / "markers", ESCAPE_ATTACKERS, exposed=True, as_nobody=True,
                            PORT=str(listener.getsockname()[1]), BOB=str(nobody_folder / "subs" / "bob.py"),
                            LEFTOVER=LEFTOVER_NAME)
        finally:
            for shared in LEFTOVER_FOLDERS:
                (Path(shared) / LEFTOVER_NAME).unlink(missing_ok=True)


# ------------------------------------------------------------------------------------------------
# Cheating: patched builtins, lying return values, scans of the sandbox for expected values


SCORING_ATTACKERS = {
    "a-patched-builtins": """
        import builtins
        builtins.len = lambda x: 2  # breaks the sandbox's own replies too
        builtins.float = lambda *args: 9.08
        builtins.isinstance = lambda *args: True

        def dot(a, b):
            return -1.0
    """,
    "a-patched-numeric-builtins": """
        import builtins, math
        import numpy as np
        # what a comparison made next to the student's code would rely on (not float or len:
        # patching those breaks the sandbox's own replies, see a-patched-builtins)
        builtins.abs = lambda x: 0.0
        builtins.round = lambda *args, **kwargs: 9.08
        math.isclose = lambda *args, **kwargs: True
        np.array_equal = np.array_equiv = lambda *args, **kwargs: True

        def dot(a, b):
            return -1.0
    """,
    "a-always-equal-ndarray": """
        import numpy as np

        class AlwaysEqual(np.ndarray):
            def __eq__(self, other):
                return True

            def __ne__(self, other):
                return False

            __hash__ = None

            def __float__(self):
                return 9.08

        def dot(a, b):
            return np.asarray(-1.0).view(AlwaysEqual)
    """,
    "a-lying-object": """
        import numpy as np

        class Liar:
            def __eq__(self, other):
                return True

            def __ne__(self, other):
                return False

            def __hash__(self):
                return 0

            def __float__(self):
                return -1.0

            def __array__(self, dtype=None, copy=None):
                return np.asarray(-1.0)

            def __repr__(self):
                return "9.08"

        def dot(a, b):
            return Liar()
    """,
    "a-raising-object": """
        class Bomb:
            def _explode(self, *args, **kwargs):
                raise RuntimeError("boom")

            __eq__ = __ne__ = __lt__ = __gt__ = __float__ = __int__ = __index__ = _explode
            __array__ = __len__ = __iter__ = __bool__ = __repr__ = __str__ = __hash__ = _explode

            def __getattr__(self, name):
                raise RuntimeError(name)

        def dot(a, b):
            return Bomb()
    """,
    "a-lying-float": """
        class LyingFloat(float):
            def __eq__(self, other):
                return True

            def __ne__(self, other):
                return False

            __hash__ = float.__hash__

            def __sub__(self, other):
                return 0.0

            __rsub__ = __sub__

            def __abs__(self):
                return 0.0

        def dot(a, b):
            return LyingFloat(-1.0)
    """,
    "a-memory-scan": """
        import gc, inspect, sys, types

        REFERENCE_NAMES = {"elementwise_product", "sum_of_vectors", "reference", "solution"}
        found = []
        print("modules: " + ", ".join(m for m in sys.modules if "solution" in m or "check" in m), flush=True)

        def mine(obj):
            # the scanner's own constants and the standard library's classes are not the grader's
            consts, codes = [], [f.__code__ for f in (scan, dot, mine)]
            while codes:  # nested code objects (the generator expressions) have constants too
                code = codes.pop()
                consts.append(code.co_consts)
                codes += [c for c in code.co_consts if isinstance(c, types.CodeType)]
            return any(obj is c for c in consts) or (isinstance(obj, dict) and str(obj.get("__module__", "")).startswith(
                ("unittest", "collections", "typing", "numpy")))

        def scan(a, b):
            for info in inspect.stack(0):
                for name, value in info.frame.f_locals.items():
                    if name in ("expected", "want", "reference", "solution"):
                        found.append(("frame", info.function, name, repr(value)[:60]))
            for obj in gc.get_objects():
                if mine(obj):
                    continue
                if isinstance(obj, types.FunctionType) and obj.__name__ in REFERENCE_NAMES:
                    found.append(("function", obj.__module__, obj.__name__))
                elif isinstance(obj, dict) and "expected" in obj:
                    found.append(("dict", repr(obj)[:60]))
                elif isinstance(obj, (list, tuple)) and len(obj) < 100:
                    if any(type(x) is float and abs(x - 9.08) < 1e-9 for x in obj):
                        found.append(("9.08 in", type(obj).__name__, repr(obj)[:60]))

        def dot(a, b):
            if not found:
                scan(a, b)
                print(f"scan found {len(found)}: {found[:10]}", flush=True)
                for item in found:
                    if item[0] == "function":
                        print("REFERENCE-" + "FOUND", item, flush=True)
            numbers = [float(x) for item in found for x in [item[-1]] if isinstance(x, str) and x.replace(".", "", 1).isdigit()]
            return numbers[0] if numbers else 0.0
    """,
}


class TestScoringAttacks(BatchContract):
    TIME_BOUND = 60.0

    @pytest.fixture(scope="class")
    @classmethod
    def batch(cls, tmp_path_factory: pytest.TempPathFactory) -> Batch:
        folder = tmp_path_factory.mktemp("scoring")
        return run_batch(folder, folder / "markers", SCORING_ATTACKERS)

    @pytest.mark.parametrize("sid", sorted(SCORING_ATTACKERS))
    def test_no_point_for_a_wrong_value(self, batch: Batch, sid: str):
        ex = batch.ex(sid)
        assert ex["status"] in ("failed", "error"), ex
        assert batch.value_points(sid) == 0, [(c["name"], c["status"]) for c in ex["checks"] if c["score"]]
        assert ex["score"] <= 1.0, ex  # at most the mutation point: the arguments came back unchanged

    @pytest.mark.parametrize(("sid", "seen"), [
        ("a-patched-numeric-builtins", "got -1.0"),
        ("a-always-equal-ndarray", "got -1.0"),
        ("a-lying-float", "got -1.0"),
        ("a-lying-object", "got <Liar>"),
        ("a-raising-object", "got <Bomb>"),
        ("a-patched-builtins", "importing a-patched-builtins.py failed"),  # its own sandbox broke
    ])
    def test_the_value_is_judged_as_what_it_is(self, batch: Batch, sid: str, seen: str):
        assert seen in batch.messages(sid), batch.messages(sid)

    def test_a_memory_scan_finds_no_reference_and_no_expected_value(self, batch: Batch):
        out = batch.stdout("a-memory-scan")
        assert "scan found 0: []" in out, out
        assert "REFERENCE-FOUND" not in out and SOLUTION_LINE not in out, out


# ------------------------------------------------------------------------------------------------
# The trusted side's cost: a reply the sandbox writes itself, past the protocol's item limit


FORGED_REPLY = """
    import os, struct, sys

    ITEMS = int("__ITEMS__")

    def dot(a, b):
        if list(a) != [0.2, 3] or list(b) != [0.4, 3]:
            return 0.0
        frame = sys._getframe(1)  # the worker's serve loop holds the reply pipe
        while frame is not None and "resp_fd" not in frame.f_locals:
            frame = frame.f_back
        fd = frame.f_locals["resp_fd"]
        # a well-formed frame, written directly: the result is ITEMS empty lists, more than the
        # sandbox's own encoder would ever send (protocol.MAX_ITEMS)
        head = b'{"op":"returned","payload":[[' + b"[]," * (ITEMS - 1) + b'[]],[[0.2,3],[0.4,3]],{"dict":[]}]}'
        data = memoryview(struct.pack("!II", len(head), 0) + head)
        while data:
            data = data[os.write(fd, data):]
        print(f"forged a reply of {len(head) >> 20} MB", flush=True)
        os._exit(0)
"""


def _grade_within(subs: Path, deadline: float, *args: str) -> subprocess.CompletedProcess | None:
    """`grade` as conftest runs it, but in its own process group, killed (by that group's id) at the
    deadline: returns None then. The zygote and its sandboxes go when the grader goes."""
    env = dict(os.environ)
    env.pop("PYTEST_ADDOPTS", None)
    cmd = [sys.executable, "-m", "grader", str(subs), *args]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=deadline)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the group this test started, by its id
        proc.communicate()
        return None
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def test_a_forged_reply_over_the_item_limit_is_refused_cheaply(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "bob.py").write_text(CORRECT_DOT)
    (subs / "a-forged-reply.py").write_text(textwrap.dedent(FORGED_REPLY).replace('"__ITEMS__"', repr("2100000")))
    before = _snapshot(subs)
    proc = _grade_within(subs, 10.0, *GRADE_ARGS)
    assert proc is not None, "the grader was still busy with one forged reply after 10 s (killed)"
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    subs_by_id = by_id(json.loads(proc.stdout))
    bob = exercise(subs_by_id["bob"], "dot-product")
    assert bob["status"] == "passed" and bob["score"] == bob["max_score"], bob
    forged = exercise(subs_by_id["a-forged-reply"], "dot-product")
    assert sum(c["score"] for c in forged["checks"] if c["name"] != MUTATION_CHECK) == 0, forged
    assert _snapshot(subs) == before


# ------------------------------------------------------------------------------------------------
# grade doctor


def test_doctor_as_root_lists_every_isolation_layer():
    proc = grade("doctor")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    active = {line[2:].strip() for line in proc.stdout.splitlines() if line.startswith("✓ ")}
    for layer in ("network-namespace", "private-filesystem", "uid-drop"):
        assert layer in active, proc.stdout
    assert any(layer.startswith("seccomp") for layer in active), proc.stdout
    assert "✗" not in proc.stdout and "Traceback" not in proc.stderr


def _as_nobody() -> tuple[list[str], dict[str, str], str]:
    """setpriv to uid 65534 and an interpreter that user can execute, or skip."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("setpriv (util-linux) is not installed")
    if os.geteuid() != 0:
        pytest.skip("only root can run a command as another user")
    nobody = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
    env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "LANG": "C.UTF-8"}
    # CI makes one (.ci/run): this venv's interpreter may live in root's home
    python = os.environ.get("GRADER_TEST_USER_PYTHON", sys.executable)
    # setpriv itself may still exec a path the user cannot reach (it holds root's capabilities
    # until the exec), but the grader starts its zygote as that user: probe from a shell.
    probe = subprocess.run([*nobody, "/bin/sh", "-c", 'exec "$0" -I -c "import grader, numpy"', python],
                           env=env, capture_output=True, text=True, timeout=60, cwd="/")
    if probe.returncode != 0:
        pytest.skip(f"user 65534 cannot run the grader with {python} (it resolves to "
                    f"{os.path.realpath(python)}): {probe.stderr.strip()[:300]}")
    return nobody, env, python


def test_doctor_as_an_unprivileged_user_lists_the_namespaces_it_makes_itself():
    nobody, env, python = _as_nobody()
    proc = subprocess.run([*nobody, python, "-m", "grader", "doctor"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    active = {line[2:].strip() for line in proc.stdout.splitlines() if line.startswith("✓ ")}
    for layer in ("user-namespace", "network-namespace", "private-filesystem", "pid-namespace", "no-capabilities",
                  "seccomp-no-new-processes"):
        assert layer in active, proc.stdout
    assert "✗" not in proc.stdout and "not root" in proc.stdout, proc.stdout


# Runs a command as uid 65534 inside a user namespace that may make no user namespace of its own:
# a machine where unprivileged user namespaces are turned off, for this command alone.
WITHOUT_USER_NAMESPACES = r"""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
ready_r, ready_w = os.pipe()
go_r, go_w = os.pipe()
pid = os.fork()
if pid == 0:
    if libc.unshare(0x10000000) != 0:  # CLONE_NEWUSER
        os._exit(90)
    os.write(ready_w, b"1")
    os.read(go_r, 1)
    with open("/proc/sys/user/max_user_namespaces", "w") as f:
        f.write("0")
    os.setgroups([])
    os.setresgid(65534, 65534, 65534)
    os.setresuid(65534, 65534, 65534)
    os.execv(sys.argv[1], sys.argv[1:])
os.read(ready_r, 1)
for name in ("uid_map", "gid_map"):
    with open(f"/proc/{pid}/{name}", "w") as f:
        f.write("0 0 1\n65534 65534 1\n")
os.write(go_w, b"1")
sys.exit(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
"""


def _without_user_namespaces(python: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-c", WITHOUT_USER_NAMESPACES, python, "-m", "grader", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)
    if proc.returncode == 90:
        pytest.skip("this machine cannot make a user namespace to turn user namespaces off in")
    return proc


def test_without_user_namespaces_the_grader_refuses_unless_told_the_risk():
    _, env, python = _as_nobody()
    with tempfile.TemporaryDirectory(prefix="grader-test-nobody-") as shared:
        work = Path(shared)
        (work / "class").mkdir()
        (work / "class" / "bob.py").write_text(CORRECT_DOT)
        for path in [work, *work.rglob("*")]:
            path.chmod(0o777 if path.is_dir() else 0o666)
        env = {**env, "TMPDIR": str(work), "GRADER_NO_DB": "1"}
        doctor = _without_user_namespaces(python, "doctor", env=env)
        assert doctor.returncode == 1 and "✗ private-filesystem: user namespaces are unavailable" in doctor.stdout, \
            doctor.stdout + doctor.stderr
        refused = _without_user_namespaces(python, str(work / "class"), "-e", "dot-product", env=env)
        assert refused.returncode == 2 and refused.stdout == "", refused.stderr
        assert refused.stderr.startswith("grade: error: sandboxes cannot be isolated on this machine"), refused.stderr
        assert "--unsafe-no-isolation" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
        told = _without_user_namespaces(python, str(work / "class"), "-e", "dot-product", "--unsafe-no-isolation",
                                        "--format", "json", env=env)
        assert told.returncode == 0, told.stderr
        assert "student code runs as your user, unisolated" in told.stderr
        assert by_id(json.loads(told.stdout))["bob"]["score"] == DOT_POINTS


def test_an_unprivileged_user_grades_a_class_and_leaves_no_sandbox_folder():
    nobody, env, python = _as_nobody()
    with tempfile.TemporaryDirectory(prefix="grader-test-nobody-") as shared:  # pytest's tmp_path is root's alone
        work = Path(shared)
        shutil.copytree(ROOT / "examples" / "submissions", work / "class")
        (work / "sandboxes").mkdir()
        for path in [work, *work.rglob("*")]:
            path.chmod(0o777 if path.is_dir() else 0o666)
        _grade_as(nobody, {**env, "TMPDIR": str(work / "sandboxes")}, python, work)


def _grade_as(nobody: list[str], env: dict[str, str], python: str, work: Path) -> None:
    proc = subprocess.run([*nobody, python, "-m", "grader", str(work / "class"), "--no-db", "--format", "json",
                           "-e", "dot-product", "--jobs", "2"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode in (0, 1), proc.stderr
    doc = json.loads(proc.stdout)
    named = {m["id"] for s in doc["submissions"] for e in s["exercises"] for m in e["misconceptions"]}
    assert "elementwise-product" in named, named  # graded for real, through the sandbox
    assert list((work / "sandboxes").iterdir()) == []  # each sandbox's folder went with it


@pytest.mark.parametrize("drop, graded", [("-sys_admin", True), ("-all", False)])
def test_root_in_a_container_grades_by_what_its_capabilities_allow(tmp_path, drop, graded):
    """Root without CAP_SYS_ADMIN (a container's default) still gives sandboxes a uid of their own
    and grades; root without any capability can neither drop to another uid nor map a user
    namespace, and refuses in one line, as a user without namespaces does."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("setpriv (util-linux) is not installed")
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "bob.py").write_text(CORRECT_DOT)
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    proc = subprocess.run([setpriv, f"--bounding-set={drop}", f"--inh-caps={drop}", sys.executable, "-m", "grader",
                           str(subs), "-e", "dot-product", "--format", "json", "--no-db"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    if graded:
        assert proc.returncode == 0, proc.stderr
        bob = by_id(json.loads(proc.stdout))["bob"]
        assert bob["score"] == DOT_POINTS and "uid-drop" in bob["sandbox"], bob["sandbox"]
    else:
        assert proc.returncode == 2 and proc.stdout == "", proc.stderr
        assert proc.stderr.startswith("grade: error: sandboxes cannot be isolated on this machine"), proc.stderr
