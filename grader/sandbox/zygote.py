"""The zygote: a clean, warm process that forks one sandbox per submission.

Started as a fresh interpreter (never a fork of the grader), it imports numpy and the sandbox
runtime once and then waits on a Unix socket. A fork request carries no student data: only the
path of a folder the grader has prepared and the four pipe ends of the new sandbox (passed as
file descriptors). The child starts its own session, takes the pipes as its stdin/out/err and
protocol channel, enters the folder, applies its limits and serves calls. The zygote reports
each child's exit status back to the grader, which cannot wait for a process it did not fork.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import sys
from typing import Any

MAX_REQUEST = 65536


# What a student may reasonably import. Imported once here, so no sandbox pays for it, and so it
# stays importable after the uid drop (the interpreter may live in a home folder the sandbox's
# uid cannot read).
PRELOAD = ("abc", "array", "bisect", "cmath", "collections", "collections.abc", "contextlib", "copy", "csv",
           "dataclasses", "datetime", "decimal", "encodings.idna", "enum", "fractions", "functools", "glob",
           "hashlib", "heapq", "io", "itertools", "json", "math", "mmap", "numbers", "operator", "pathlib",
           "pprint", "random", "re", "statistics", "string", "struct", "textwrap", "time", "traceback", "types",
           "typing", "unittest", "warnings", "numpy.testing", "numpy", "numpy.linalg", "numpy.random", "numpy.fft", "numpy.polynomial",
           "numpy.ma", "numpy.char", "numpy.rec", "numpy.strings", "numpy.exceptions", "numpy.dtypes",
           "numpy.lib.stride_tricks")


def _preload() -> None:
    import importlib

    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    import numpy as np

    import grader.sandbox.isolation  # noqa: F401  (the layers, applied in each child)
    import grader.sandbox.worker  # noqa: F401  (the sandbox runtime itself)

    try:
        import pyseccomp  # noqa: F401
    except (ImportError, OSError):
        pass

    np.linalg.norm(np.ones(2))
    np.einsum("i,i->", np.ones(2), np.ones(2))
    np.random.default_rng(0)


def _child(request: dict[str, Any], fds: list[int], control: int, wakeup: int, wakeup_read: int) -> None:
    """In the forked child: become the sandbox. Never returns."""
    try:
        os.setsid()
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in (control, wakeup, wakeup_read):  # nothing of the zygote's may reach the student
            os.close(fd)
        req_r, resp_w, out_w, err_w = fds
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        for fd in (devnull, out_w, err_w):
            os.close(fd)
        from grader.sandbox.isolation import apply_isolation
        from grader.sandbox.worker import run_sandbox

        applied, missing, cwd = apply_isolation({**(request.get("isolation") or {}), "cwd": request["cwd"]})
        os.chdir(cwd or request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        os.environ.update({"HOME": os.getcwd(), "TMPDIR": os.getcwd()})
        run_sandbox(req_r, resp_w, request["limits"], (applied, missing))
    except BaseException:
        pass
    os._exit(0)


def _remove_folder(cwd: str) -> None:
    """Remove a dead sandbox's temporary folder (the grader prepared it; only such folders)."""
    folder = os.path.dirname(cwd)
    if cwd and os.path.basename(folder).startswith("grader-sandbox-"):
        shutil.rmtree(folder, ignore_errors=True)


def serve(control: int) -> None:
    sock = socket.socket(fileno=control)
    _preload()
    rd, wakeup = os.pipe()
    os.set_blocking(wakeup, False)
    signal.set_wakeup_fd(wakeup)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    children: dict[int, str] = {}  # pid -> working folder

    def reap() -> None:
        while children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            _remove_folder(children.pop(pid, ""))  # whatever became of the grader, nothing is left behind
            code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
            sock.send(json.dumps({"exited": pid, "code": code}).encode())

    while True:
        ready, _, _ = select.select([sock, rd], [], [])
        if rd in ready:
            try:
                os.read(rd, 4096)
            except BlockingIOError:
                pass
            reap()
        if sock not in ready:
            continue
        try:
            data, fds, _, _ = socket.recv_fds(sock, MAX_REQUEST, 4)
        except OSError:
            data = b""
        if not data:
            # the grader is gone (even by SIGKILL): so are its sandboxes and the zygote
            for pid in children:
                try:
                    os.killpg(pid, signal.SIGKILL)
                except OSError:
                    pass
            for pid, cwd in children.items():
                try:
                    os.waitpid(pid, 0)  # dead and reaped: its mounts are gone, its folder can go
                except ChildProcessError:
                    pass
                _remove_folder(cwd)
            return
        request = json.loads(data)
        if len(fds) != 4:
            for fd in fds:
                os.close(fd)
            sock.send(json.dumps({"error": "expected 4 descriptors"}).encode())
            continue
        pid = os.fork()
        if pid == 0:
            _child(request, fds, sock.fileno(), wakeup, rd)
        for fd in fds:
            os.close(fd)
        children[pid] = str(request.get("cwd", ""))
        sock.send(json.dumps({"forked": pid, "token": request.get("token")}).encode())
        reap()


if __name__ == "__main__":
    serve(int(sys.argv[1]))
