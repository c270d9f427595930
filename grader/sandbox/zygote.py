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

from . import isolation, protocol, runtime
from .preload import preload

MAX_REQUEST = 65536


def _child(request: dict[str, Any], fds: list[int], cwd: str, control: int, wakeup: int, wakeup_read: int) -> None:
    """In the forked child: become the sandbox. Never returns."""
    try:
        os.setsid()
        signal.set_wakeup_fd(-1)
        for sig in range(1, signal.NSIG):  # the sandbox starts with every signal as a process starts
            if sig not in (signal.SIGKILL, signal.SIGSTOP, signal.SIGINT):
                try:
                    signal.signal(sig, signal.SIG_DFL)
                except (OSError, ValueError):
                    pass
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # as Python sets it at start-up
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        for fd in (control, wakeup, wakeup_read):  # nothing of the zygote's may reach the student
            os.close(fd)
        req_r, resp_w, out_w, err_w = fds
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        for fd in (devnull, out_w, err_w):
            os.close(fd)
        files = protocol.read_files(req_r)  # from the grader, straight through the pipe: never through the zygote
        try:
            applied, missing, _ = isolation.enter_sandbox({**(request.get("isolation") or {}), "cwd": cwd}, files)
        except Exception as e:  # before any student code: say why, so the grader can tell the teacher
            runtime.start_failed(resp_w, e)
            raise
        if os.environ != request["env"]:  # the zygote started with the sandboxes' environment
            os.environ.clear()
            os.environ.update(request["env"])
        os.environ.update({"HOME": os.getcwd(), "TMPDIR": os.getcwd()})
        runtime.run_sandbox(req_r, resp_w, request["limits"], (applied, missing), path_isolated=True)
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
    if isolation.zygote_has_private_root():
        return ""
    base = request.get("base") or tempfile.gettempdir()
    folder = tempfile.mkdtemp(prefix="grader-sandbox-", dir=base)
    os.mkdir(os.path.join(folder, "work"), 0o700)
    return os.path.join(folder, "work")


def serve(control: int) -> None:
    sock = socket.socket(fileno=control)
    preload()
    # The folders to hide come in the grader's first message: it may start the zygote before it
    # knows them (the interpreter and numpy load meanwhile).
    try:
        first = sock.recv(MAX_REQUEST)
    except OSError:
        first = b""
    if not first:
        return  # the grader is gone before it needed a sandbox
    hide = json.loads(first)["hide"]
    applied, _ = isolation.isolate_zygote(hide)  # the namespaces and the new root, once for all its sandboxes
    if "pid-namespace" in applied:
        _first_process(sock)
    # Nothing but its own children's ends concerns the zygote: a sandbox that gets a signal through
    # to it (SIGIO to a descriptor's owner, say) finds it ignored. The grader ends it by its socket.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2,
                signal.SIGIO, signal.SIGALRM, signal.SIGVTALRM, signal.SIGPROF, signal.SIGWINCH, signal.SIGURG):
        signal.signal(sig, signal.SIG_IGN)
    # Once for all its sandboxes too: what a sandbox may import (the grader's own modules are
    # forgotten, the sandbox runtime excepted; `grader.sandbox` keeps the parts this module uses
    # as attributes, so the sandboxes need no import to reach them). A sandbox that did this
    # itself would touch every module's name, copying their pages.
    runtime.isolate_path(None)
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

    watched: list[socket.socket | int] = [sock, rd]
    while True:
        ready, _, _ = select.select(watched, [], [])
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
            _send_forked(sock, pid, request.get("token"))
        except OSError:
            pass  # the grader is gone: the loop above sees it and cleans up
        reap()


def _first_process(sock: socket.socket) -> None:
    """Fork the zygote proper as the first process (pid 1) of its own pid namespace and return
    in it. This process, the one the grader started, waits for it and exits with it."""
    pid = os.fork()
    if pid == 0:
        return
    sock.close()  # the zygote proper holds the grader's socket now
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    os._exit(code if code >= 0 else 128 - code)


def _send_forked(sock: socket.socket, pid: int, token: Any) -> None:
    """Tell the grader a sandbox was forked, with a pidfd for it: in a pid namespace of its own, the
    zygote's pids are not the grader's, and the grader reads its own from the pidfd."""
    message = json.dumps({"forked": pid, "token": token}).encode()
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        sock.send(message)
        return
    try:
        socket.send_fds(sock, [message], [pidfd])
    finally:
        os.close(pidfd)


if __name__ == "__main__":
    serve(int(sys.argv[1]))
