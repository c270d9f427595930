"""Starting sandboxes: forked from a warm zygote process, or as fresh interpreters where fork is
unavailable. This is the grader's side; the zygote itself is grader.sandbox.zygote and what runs
inside a sandbox is grader.sandbox.runtime.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from typing import Any

GRADER_PARENT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
# Environment variables kept for sandboxes: numpy threading and CPU-quirk settings only.
KEPT_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "LANG", "LC_ALL")
SINGLE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                 "NUMEXPR_NUM_THREADS": "1", "VECLIB_MAXIMUM_THREADS": "1"}


def sandbox_env() -> dict[str, str]:
    """The environment of the zygote and its sandboxes: nothing of the grader's but these."""
    env = {k: os.environ[k] for k in KEPT_ENV if k in os.environ}
    env.update(SINGLE_THREAD)  # before numpy is imported
    env["PATH"] = "/usr/bin:/bin"
    return env


def forkable() -> bool:
    """Whether sandboxes fork from a zygote here (Linux), rather than start fresh interpreters."""
    return (os.environ.get("GRADER_SANDBOX_START", "fork") == "fork" and hasattr(os, "fork")
            and hasattr(socket, "send_fds") and sys.platform.startswith("linux"))


def spawn() -> tuple[subprocess.Popen, socket.socket]:
    """Start a zygote (a fresh interpreter, never a fork of the grader). It loads numpy and the
    sandbox runtime, then waits for the grader's first message: `{"hide": [folders]}`."""
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    bootstrap = (f"import sys; sys.path.insert(0, {GRADER_PARENT!r}); "
                 "from grader.sandbox.zygote import serve; serve(int(sys.argv[1]))")
    try:
        proc = subprocess.Popen(
            [sys.executable, "-I", "-u", "-B", "-c", bootstrap, str(theirs.fileno())], cwd="/", env=sandbox_env(),
            stdin=subprocess.DEVNULL, pass_fds=(theirs.fileno(),), start_new_session=True, close_fds=True)
    except BaseException:
        mine.close()
        raise
    finally:
        theirs.close()
    return proc, mine


_EARLY: list[tuple[subprocess.Popen, socket.socket]] = []


def start_early() -> None:
    """Start this process's zygote now, before the command imports pytest, numpy and its
    exercises: both interpreters load at once (`grade check`, the student's wait). The sandbox
    host takes it over; if the command ends without a sandbox, it is stopped at exit."""
    if forkable() and not _EARLY:
        _EARLY.append(spawn())
        atexit.register(_stop_early)


def take_early() -> tuple[subprocess.Popen, socket.socket] | None:
    """The zygote start_early started, if it is still alive (a dead one is cleaned up)."""
    if not _EARLY:
        return None
    proc, sock = _EARLY.pop()
    if proc.poll() is None:
        return proc, sock
    sock.close()
    proc.wait()
    return None


def _stop_early() -> None:
    for proc, sock in _EARLY:
        sock.close()
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # its own group (it has no sandboxes yet): we started it
        except OSError:
            pass
        proc.wait()
    _EARLY.clear()


class Spawned:
    """A sandbox started as its own fresh interpreter (the fallback where fork is unavailable)."""

    def __init__(self, proc: subprocess.Popen, folder: str) -> None:
        self.proc = proc
        self.pid = proc.pid
        self.folder = folder

    def kill(self) -> None:
        try:
            os.killpg(self.pid, signal.SIGKILL)  # the group we created: the sandbox and any children
        except ProcessLookupError:
            pass
        self.proc.wait()  # reap it: we are its parent

    def release(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)  # dead and reaped: its mounts are gone too

    def wait(self, timeout: float) -> int | None:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None


class SpawnLauncher:
    name = "spawn"

    def start(self, base: str, env: dict[str, str], limits: dict[str, Any], isolation: dict[str, Any],
              fds: tuple[int, int, int, int]) -> Spawned:
        req_r, resp_w, out_w, err_w = fds
        folder = tempfile.mkdtemp(prefix="grader-sandbox-", dir=base)
        work = os.path.join(folder, "work")
        os.mkdir(work, 0o700)
        bootstrap = (f"import sys; sys.path.insert(0, {GRADER_PARENT!r}); "
                     "from grader.sandbox.runtime import main; main()")
        try:
            proc = subprocess.Popen(
                [sys.executable, "-I", "-u", "-B", "-c", bootstrap, str(req_r), str(resp_w), json.dumps(limits),
                 json.dumps(isolation)],
                cwd=work, env=env, stdin=subprocess.DEVNULL, stdout=out_w, stderr=err_w,
                pass_fds=(req_r, resp_w), start_new_session=True, close_fds=True)
        except OSError:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return Spawned(proc, folder)


class Forked:
    """A sandbox forked by the zygote: the grader kills its group and asks the zygote for its status.

    `pid` is the sandbox's pid as the grader sees it; `zygote_pid`, as its zygote does (they differ
    when the zygote has a pid namespace of its own)."""

    def __init__(self, zygote: ZygoteLauncher, zygote_pid: int, pid: int) -> None:
        self.zygote = zygote
        self.zygote_pid = zygote_pid
        self.pid = pid
        self.code: int | None = None

    def kill(self) -> None:
        try:
            os.killpg(self.pid, signal.SIGKILL)  # the child called setsid(): its group is its pid
        except (ProcessLookupError, PermissionError):
            pass

    def release(self) -> None:
        if self.code is None:
            self.zygote.forget(self.zygote_pid)  # the zygote reaps it; nobody needs its status now

    def wait(self, timeout: float) -> int | None:
        if self.code is None:
            self.code = self.zygote.exit_code(self.zygote_pid, timeout)
        return self.code


class ZygoteLauncher:
    """Forks sandboxes from a warm, clean zygote process (one per grading process)."""

    name = "fork"

    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.exits: dict[int, int] = {}
        self.forgotten: set[int] = set()
        self.forked: dict[int, tuple[int, int] | str] = {}  # token -> (zygote's pid, ours) or an error
        self.token = 0
        self.proc: subprocess.Popen | None = None
        self.sock: socket.socket | None = None

    def _ensure(self, hide: list[str]) -> socket.socket:
        if self.sock is not None and self.proc is not None and self.proc.poll() is None:
            return self.sock
        # the one the command started before it imported the rest, else a new one
        self.proc, mine = take_early() or spawn()
        try:
            mine.send(json.dumps({"hide": hide}).encode())
        except OSError:
            pass  # it died: the reader below sees the closed socket
        self.sock = mine
        threading.Thread(target=self._read, args=(mine,), daemon=True).start()
        return mine

    def _read(self, sock: socket.socket) -> None:
        while True:
            try:
                data, fds, _, _ = socket.recv_fds(sock, 65536, 1)
            except OSError:
                data, fds = b"", []
            own_pid = _pidfd_pid(fds[0]) if fds else None
            for fd in fds:
                os.close(fd)
            if not data:
                with self.lock:
                    self.sock = None
                    self.lock.notify_all()
                return
            message = json.loads(data)
            with self.lock:
                if "exited" in message:
                    pid = int(message["exited"])
                    if pid in self.forgotten:
                        self.forgotten.discard(pid)
                    else:
                        self.exits[pid] = int(message["code"])
                elif "forked" in message:
                    pid = int(message["forked"])
                    self.forked[int(message["token"])] = (pid, own_pid or pid)
                elif "error" in message and message.get("token") is not None:
                    self.forked[int(message["token"])] = str(message["error"])
                self.lock.notify_all()

    def start(self, base: str, env: dict[str, str], limits: dict[str, Any], isolation: dict[str, Any],
              fds: tuple[int, int, int, int]) -> Forked:
        with self.lock:
            sock = self._ensure(list(isolation.get("hide", [])))
            self.token += 1
            token = self.token
            request = {"base": base, "env": env, "limits": limits, "isolation": isolation, "token": token}
            socket.send_fds(sock, [json.dumps(request).encode()], list(fds))
            if not self.lock.wait_for(lambda: token in self.forked or self.sock is None, timeout=10):
                raise OSError("the zygote did not answer")
            if token not in self.forked:
                raise OSError("the zygote exited")
            forked = self.forked.pop(token)
            if isinstance(forked, str):
                raise OSError(forked)
            return Forked(self, *forked)

    def forget(self, pid: int) -> None:
        with self.lock:
            if self.exits.pop(pid, None) is None:
                self.forgotten.add(pid)

    def exit_code(self, pid: int, timeout: float) -> int | None:
        with self.lock:
            self.lock.wait_for(lambda: pid in self.exits or self.sock is None, timeout=timeout)
            return self.exits.pop(pid, None)

    def close(self) -> None:
        """Stop the zygote: closing its socket makes it kill and clean up its sandboxes, then exit."""
        sock, self.sock = self.sock, None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        if self.proc is not None:
            try:
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait()
            self.proc = None


_LAUNCHER: SpawnLauncher | ZygoteLauncher | None = None


def shutdown() -> None:
    """Stop this process's zygote (and with it any sandbox still running)."""
    if isinstance(_LAUNCHER, ZygoteLauncher):
        _LAUNCHER.close()


def launcher() -> SpawnLauncher | ZygoteLauncher:
    """The zygote where the platform can fork (Linux), else a fresh interpreter per sandbox."""
    global _LAUNCHER
    if _LAUNCHER is None:
        if forkable():
            _LAUNCHER = ZygoteLauncher()
            atexit.register(_LAUNCHER.close)
        else:
            if os.environ.get("GRADER_SANDBOX_START", "fork") == "fork":
                print("grader: fork is unavailable here; each sandbox starts a fresh interpreter (slower)", file=sys.stderr)
            _LAUNCHER = SpawnLauncher()
    return _LAUNCHER


def _pidfd_pid(fd: int) -> int | None:
    """The pid, in this process's pid namespace, of the process a pidfd refers to (the kernel
    writes it in the descriptor's fdinfo); None if it cannot be read or the process is gone."""
    try:
        with open(f"/proc/self/fdinfo/{fd}", "rb") as f:
            for line in f:
                if line.startswith(b"Pid:"):
                    pid = int(line.split()[1])
                    return pid if pid > 0 else None
    except (OSError, ValueError, IndexError):
        pass
    return None
