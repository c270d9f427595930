"""The sandbox process: the only place student code runs.

Forked from the zygote (grader.sandbox.zygote), or started as a fresh interpreter where fork is
unavailable (grader.sandbox.launch); never a fork of the grader, so it holds no references,
checks or other students' work. It applies its limits, imports the student's module from its
working directory and answers calls over two pipes. Nothing it sends is trusted: the grader decodes and judges every reply.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import os
import resource
import signal
import sys
import time
import traceback
from types import FrameType
from typing import Any

from grader.sandbox.encoding import approx_bytes, changes, snapshot
from grader.sandbox.isolation import enter_sandbox
from grader.sandbox.preload import preload
from grader.sandbox.protocol import FrameReader, pack, read_files, unpack_request, write_all


def apply_limits(limits: dict[str, Any]) -> list[str]:
    """Resource limits for this process and its children; returns the layers applied."""
    applied = ["resource-limits"]

    def setlimit(which: int, value: int) -> None:
        soft, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(which, (value, value if hard == resource.RLIM_INFINITY else hard))

    if limits.get("memory_mb"):
        setlimit(resource.RLIMIT_AS, int(limits["memory_mb"]) * 1024 * 1024)
    if limits.get("cpu_seconds"):
        cpu = int(limits["cpu_seconds"])
        soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1 if hard == resource.RLIM_INFINITY else hard))
    setlimit(resource.RLIMIT_FSIZE, int(limits.get("file_mb", 16)) * 1024 * 1024)
    setlimit(resource.RLIMIT_NOFILE, int(limits.get("open_files", 64)))
    setlimit(resource.RLIMIT_CORE, 0)
    try:
        os.nice(10)  # a looping student yields the CPU to the grader and the other sandboxes
    except OSError:
        pass
    return applied


def isolate_path(root: str | None) -> None:
    """Only the standard library, installed packages and the submission (`root`, when given) are
    importable. A zygote does this once for its sandboxes (each then only puts its own folder first)."""
    keep = [p for p in sys.path if p and ("site-packages" in p or p.startswith(sys.base_prefix) or p.startswith(sys.prefix))]
    sys.path[:] = [root, *keep] if root else keep
    for name in [m for m in sys.modules if m == "grader" or m.startswith("grader.")]:
        if name not in ("grader.sandbox.runtime", "grader.sandbox.protocol", "grader.sandbox.encoding", "grader.sandbox",
                        "grader"):
            del sys.modules[name]


def _where(tb: Any, root: str) -> str:
    """The innermost frame of the student's own code, as 'file.py:12 in name'.

    Walks the frames without reading source lines: a RecursionError carries a million of them.
    """
    where = ""
    for frame, lineno in traceback.walk_tb(tb):
        filename = frame.f_code.co_filename
        if filename.startswith(root + os.sep):
            where = f"{os.path.relpath(filename, root)}:{lineno} in {frame.f_code.co_name}"
    return where


def _describe(exc: BaseException, root: str) -> dict[str, Any]:
    try:
        message = str(exc)[:2000]
    except BaseException:
        message = "(the exception's message could not be shown)"
    mro = [str(c.__name__)[:100] for c in type(exc).__mro__[:20]]
    return {"type": str(type(exc).__name__)[:100], "mro": mro, "message": message,
            "where": _where(exc.__traceback__, root)[:300]}


def serve(req_fd: int, resp_fd: int, root: str, layers: tuple[list[str], list[str]] = ([], [])) -> None:
    modules: dict[str, Any] = {}
    requests = FrameReader(req_fd)

    def reply(message: dict[str, Any]) -> None:
        try:
            data = pack(message)
        except BaseException as e:  # a result that cannot even be encoded
            data = pack({"op": "raised", "error": {"type": "EncodeError", "mro": ["EncodeError"],
                                                   "message": f"the result could not be sent: {type(e).__name__}", "where": ""}})
        write_all(resp_fd, data)

    reply({"op": "ready", "pid": os.getpid(), "layers": layers[0], "missing": layers[1]})
    while True:
        try:
            head, body = requests.read_frame()
        except EOFError:
            return
        msg = unpack_request(head, body)
        op = msg.get("op")
        if op == "exit":
            return
        if op == "load":
            name, file = msg["module"], msg["file"]
            try:
                path = os.path.join(root, file)
                spec = importlib.util.spec_from_file_location(name, path)
                assert spec is not None, "a .py file has a loader"
                module = importlib.util.module_from_spec(spec)
                with open(path, "rb") as source:  # compiled straight away: no bytecode cache can exist here
                    code = compile(source.read(), path, "exec", dont_inherit=True)
                sys.modules[name] = module
                exec(code, module.__dict__)
                modules[file] = module
                reply({"op": "loaded"})
            except BaseException as e:  # SystemExit and KeyboardInterrupt at import too
                sys.modules.pop(name, None)
                reply({"op": "raised", "error": _describe(e, root)})
            continue
        if op in ("batch", "call"):
            loaded = modules.get(msg["file"])
            func = getattr(loaded, msg["function"], None) if loaded is not None else None
            if not callable(func):
                reply({"op": "raised", "error": {"type": "AttributeError", "mro": ["AttributeError"],
                                                 "message": f"no callable {msg['function']} after import", "where": ""}})
                continue
            if op == "batch":
                reply(run_batch(func, msg["payload"], float(msg.get("limit") or 1.0), root))
                continue
            args, kwargs = msg["payload"]
            before = (snapshot(args), snapshot(kwargs))
            try:
                result = func(*args, **kwargs)
            except BaseException as e:
                reply({"op": "raised", "error": _describe(e, root), "payload": [None, *changes(args, kwargs, before)]})
                continue
            # only the arguments the call changed travel back: the grader judges those itself
            reply({"op": "returned", "payload": [result, *changes(args, kwargs, before)]})
            continue
        reply({"op": "raised", "error": {"type": "ProtocolError", "mro": [], "message": f"unknown op {op!r}", "where": ""}})


class _Stop(BaseException):
    """Raised by the batch's alarm wherever the sandbox is when its time is up."""


_ALARMED = [False]
_DUE = [0.0]  # the batch's end, in this process's CPU time (time.process_time)
BATCH_BYTES = 16 * 1024 * 1024  # results held for one reply; past this the rest of a batch is sent call by call


def _alarm(signum: int, frame: Any) -> None:
    # The kernel's profiling timer can ring early by the process's exact CPU clock (seen under
    # heavy contention: a tenth early); the call's time is judged by that clock (`ran`), so an
    # early ring waits for the next one, 20 ms of CPU later.
    if time.process_time() < _DUE[0]:
        return
    _ALARMED[0] = True
    raise _Stop


def run_batch(func: Any, calls: list, limit: float, root: str) -> dict[str, Any]:
    """Several calls, one reply: each call's outcome and the arguments it changed.

    The whole batch gets `limit` seconds of this process's CPU time (a sandbox kept off the CPU by
    the rest of the machine loses nothing): an alarm in this process stops it where it is, and
    goes on ringing every few milliseconds, so code that catches it once is stopped anyway; a
    call during which it rang has no result, whatever it returned. The reply says at which call
    the batch stopped and how long that call had run, so the grader can tell a call that loops
    from a batch that was merely slow; calls after a stop are made one by one. Code that
    swallows the alarm for good meets the grader's wall-clock kill. A batch whose results grow
    past BATCH_BYTES stops too (each call alone has the whole budget of a message).

    The reply is compact: `kinds` has a letter a call (r returned, x raised), errors are in
    `errors`, and the payload is the changes that happened followed by one value a call.
    """
    kinds: list[str] = []
    values: list[Any] = []
    errors: dict[str, Any] = {}
    changed: dict[int, list[Any]] = {}
    stopped: int | None = None
    ran = 0.0
    held = 0
    _ALARMED[0] = False
    _DUE[0] = time.process_time() + limit
    previous = signal.signal(signal.SIGPROF, _alarm)
    try:
        began = time.process_time()
        try:
            signal.setitimer(signal.ITIMER_PROF, max(limit, 0.001), 0.02)
            for args, kwargs in calls:
                began = time.process_time()
                before = (snapshot(args), snapshot(kwargs))
                try:
                    value, kind, error = func(*args, **kwargs), "r", None
                except _Stop:
                    raise
                except BaseException as e:
                    value, kind, error = None, "x", _describe(e, root)
                if _ALARMED[0]:
                    raise _Stop  # the alarm rang during the call and was caught: the call has no result
                change = changes(args, kwargs, before)
                weight = approx_bytes(value)
                if kinds and held + weight > BATCH_BYTES:
                    stopped = len(kinds)  # this call runs again on its own, with a message's whole budget
                    break
                held += weight
                if error is not None:
                    errors[str(len(kinds))] = error
                if change[0] or change[1]:
                    changed[len(kinds)] = change
                values.append(value)
                kinds.append(kind)
            signal.setitimer(signal.ITIMER_PROF, 0)
        except _Stop:
            signal.setitimer(signal.ITIMER_PROF, 0)
            stopped, ran = len(kinds), time.process_time() - began
    except _Stop:  # the alarm rang again before it was cancelled
        if stopped is None and len(kinds) < len(calls):
            stopped, ran = len(kinds), time.process_time() - began
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)
    return {"op": "batched", "stopped": stopped, "ran": ran, "kinds": "".join(kinds), "errors": errors,
            "payload": [changed, *values]}


ALWAYS_AVAILABLE = frozenset({"numpy", "__future__"})  # beside the standard library and the student's own modules


class CoursePackages:
    """The packages a student may import: the standard library, numpy, their own modules and
    those the course's exercises declare. Another package, even one installed here, would be a
    grade that depends on the machine (the course platform installs the declared ones only), so
    the student's own code gets "`name` is not available in this course" for it. Imports made by
    an allowed package itself (its dependencies) are not judged. A convenience for the student,
    not a wall: the sandbox's other layers are what contain their code."""

    def __init__(self, root: str, packages: Any) -> None:
        self.root = root + os.sep
        self.allowed = ALWAYS_AVAILABLE | frozenset(str(p) for p in packages) | frozenset(sys.stdlib_module_names)

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        if path is not None or fullname in self.allowed or not self._from_student():
            return None
        if importlib.machinery.PathFinder.find_spec(fullname, [self.root.rstrip(os.sep)]) is not None:
            return None  # one of the student's own modules
        raise ModuleNotFoundError(f"`{fullname}` is not available in this course", name=fullname)

    def _from_student(self) -> bool:
        """Is the import statement running in the student's own code (not in a package's)?"""
        frame: FrameType | None = sys._getframe(2)
        while frame is not None:
            file = frame.f_code.co_filename
            if not (file.startswith("<frozen importlib") or file.startswith(_IMPORTLIB)):
                return file.startswith(self.root)
            frame = frame.f_back
        return False


_IMPORTLIB = os.path.dirname(importlib.__file__) + os.sep


def run_sandbox(req_fd: int, resp_fd: int, limits: dict[str, Any],
                layers: tuple[list[str], list[str]] = ([], []), path_isolated: bool = False) -> None:
    """Limit this process, then serve calls from the working directory. Never returns."""
    root = os.path.realpath(os.getcwd())
    applied = apply_limits(limits)
    if path_isolated:  # by the zygote: only this sandbox's own folder is missing
        sys.path.insert(0, root)
    else:
        isolate_path(root)
    sys.argv = ["submission"]
    sys.setrecursionlimit(3000)
    sys.meta_path.insert(0, CoursePackages(root, limits.get("packages") or ()))
    serve(req_fd, resp_fd, root, (layers[0] + applied, layers[1]))
    # Leftover non-daemon threads of the student must not keep the sandbox alive.
    os._exit(0)


def start_failed(resp_fd: int, error: BaseException) -> None:
    """Tell the grader that the sandbox could not be set up, and why (no student code ran yet)."""
    try:
        write_all(resp_fd, pack({"op": "startfailed", "reason": f"{type(error).__name__}: {error}"[:300]}))
    except OSError:
        pass


def main() -> None:
    """A sandbox started as its own interpreter (where the zygote cannot fork)."""
    preload()  # before the uid drop: the interpreter's own files may not be readable after it
    req_fd, resp_fd = int(sys.argv[1]), int(sys.argv[2])
    try:
        applied, missing, cwd = enter_sandbox({**json.loads(sys.argv[4]), "cwd": os.getcwd()}, read_files(req_fd))
    except Exception as e:
        start_failed(resp_fd, e)
        raise SystemExit(1) from None
    os.environ.update({"HOME": cwd, "TMPDIR": cwd})
    run_sandbox(req_fd, resp_fd, json.loads(sys.argv[3]), (applied, missing))


if __name__ == "__main__":
    main()
