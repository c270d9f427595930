"""The zygote: a clean, warm process that forks one sandbox per submission.

Started as a fresh interpreter (never a fork of the grader), it imports numpy and the sandbox
runtime once, enters its own network and mount namespaces and a new root holding only the
system and Python folders (as root; see isolation.isolate_zygote), and then waits on a Unix
socket. A fork request carries no student data: only the limits and the four pipe ends of the
new sandbox (passed as file descriptors). The child starts its own session, takes the pipes as
its stdin/out/err and protocol channel, reads the submission's files from the grader through
its pipe, makes its own /tmp, applies its limits and serves calls. The zygote reports each
child's exit status back to the grader, which cannot wait for a process it did not fork.
"""

from __future__ import annotations

import gc
import json
import os
import select
import shutil
import signal
import socket
import sys
import tempfile
from typing import Any

MAX_REQUEST = 65536


# What a student may reasonably import. Imported once here, so no sandbox pays for it, and so it
# stays importable after the uid drop (the interpreter may live in a home folder the sandbox's
# uid cannot read). Not numpy.testing, numpy.ma, numpy.polynomial or unittest: a solution rarely
# imports them, and they are a quarter of the zygote's private memory, which every sandbox pays
# for in its fork and its exit (a sandbox that wants one imports it itself).
PRELOAD = ("abc", "array", "bisect", "cmath", "collections", "collections.abc", "contextlib", "copy", "csv",
           "dataclasses", "datetime", "decimal", "encodings.idna", "enum", "fractions", "functools", "glob",
           "hashlib", "heapq", "io", "itertools", "json", "math", "mmap", "numbers", "operator", "pathlib",
           "pprint", "random", "re", "statistics", "string", "struct", "textwrap", "time", "traceback", "types",
           "typing", "warnings", "numpy", "numpy.linalg", "numpy.random", "numpy.fft",
           "numpy.char", "numpy.rec", "numpy.strings", "numpy.exceptions", "numpy.dtypes",
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


def _child(request: dict[str, Any], fds: list[int], cwd: str, control: int, wakeup: int, wakeup_read: int) -> None:
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
        from grader.sandbox import (  # bound by serve(): no import runs here
            isolation,
            protocol,
            worker,
        )

        files = protocol.read_files(req_r)  # from the grader, straight through the pipe: never through the zygote
        try:
            applied, missing, _ = isolation.enter_sandbox({**(request.get("isolation") or {}), "cwd": cwd}, files)
        except Exception as e:  # before any student code: say why, so the grader can tell the teacher
            worker.start_failed(resp_w, e)
            raise
        if os.environ != request["env"]:  # the zygote started with the sandboxes' environment
            os.environ.clear()
            os.environ.update(request["env"])
        os.environ.update({"HOME": os.getcwd(), "TMPDIR": os.getcwd()})
        worker.run_sandbox(req_r, resp_w, request["limits"], (applied, missing), path_isolated=True)
    except BaseException:
        pass
    os._exit(0)


def _remove_folder(cwd: str) -> None:
    """Remove a dead sandbox's temporary folder (the grader prepared it; only such folders)."""
    folder = os.path.dirname(cwd)
    if cwd and os.path.basename(folder).startswith("grader-sandbox-"):
        shutil.rmtree(folder, ignore_errors=True)


def _workdir(request: dict[str, Any]) -> str:
    """Without a private root (not root), a sandbox works in a folder on disk, removed when it is reaped."""
    from grader.sandbox import isolation

    if isolation.zygote_has_private_root():
        return ""
    base = request.get("base") or tempfile.gettempdir()
    folder = tempfile.mkdtemp(prefix="grader-sandbox-", dir=base)
    os.mkdir(os.path.join(folder, "work"), 0o700)
    return os.path.join(folder, "work")


def serve(control: int, hide: list[str]) -> None:
    sock = socket.socket(fileno=control)
    _preload()
    from grader.sandbox import isolation, worker

    isolation.isolate_zygote(hide)  # the namespaces and the new root, once for all its sandboxes
    # Once for all its sandboxes too: what a sandbox may import (the grader's own modules are
    # forgotten, the sandbox runtime excepted; `grader.sandbox` keeps the parts this module uses
    # as attributes, so the sandboxes need no import to reach them). A sandbox that did this
    # itself would touch every module's name, copying their pages.
    worker.isolate_path(None)
    # Everything loaded so far is shared with every sandbox, copy-on-write: keep the collector from
    # walking it (a walk writes to every object, which copies its page in each process).
    gc.collect()
    gc.freeze()
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
            try:
                sock.send(json.dumps({"exited": pid, "code": code}).encode())
            except OSError:
                return  # the grader is gone: the loop below sees it and cleans up

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
            sock.send(json.dumps({"error": "expected 4 descriptors", "token": request.get("token")}).encode())
            continue
        reap()  # the sandboxes that are already dead: their folders go before a new one starts
        try:
            cwd = _workdir(request)
        except OSError as e:
            for fd in fds:
                os.close(fd)
            sock.send(json.dumps({"error": f"no working folder ({e.strerror})", "token": request.get("token")}).encode())
            continue
        pid = os.fork()
        if pid == 0:
            _child(request, fds, cwd, sock.fileno(), wakeup, rd)
        for fd in fds:
            os.close(fd)
        children[pid] = cwd
        try:
            sock.send(json.dumps({"forked": pid, "token": request.get("token")}).encode())
        except OSError:
            pass  # the grader is gone: the loop above sees it and cleans up
        reap()


if __name__ == "__main__":
    serve(int(sys.argv[1]), json.loads(sys.argv[2]))
