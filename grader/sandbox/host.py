"""The grader's side of a sandbox: start a clean sandbox process, send calls, enforce time, kill, restart."""

from __future__ import annotations

import os
import select
import signal
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..outcome import Crashed, Outcome, Raised, Returned, TimedOut
from ..text import safe
from . import launch
from .encoding import MAX_BODY, MAX_HEAD, Encoded, ProtocolError
from .isolation import privileged
from .protocol import HEADER_SIZE, FrameReader, pack, pack_files, parse_header, unpack

MAX_RESTARTS = 10  # per submission; each restart costs a fresh interpreter
# Layers the grader itself applies around every sandbox; the sandbox reports the ones it applies
# to itself (resource limits, namespaces, uid drop, seccomp) in its first message.
HOST_LAYERS = ["separate-process", "clean-start", "no-pickle-ipc", "wall-clock-timeout",
               "process-group-kill", "scrubbed-environment", "private-temp-cwd", "output-capture"]
# A call's timeout is CPU time, the sandbox's own: a sandbox kept waiting for a core by the rest of
# the machine gets the time it was owed (see Sandbox._more_time), up to this many times the timeout
# of wall clock. Per-call granularity of the kernel's accounting: one or two clock ticks.
FAIR_WALL_FACTOR = 20
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
CPU_TICK_SLACK = 2.5 / _CLOCK_TICKS
SANDBOX_UID_BASE = 61000  # as root, sandboxes run as SANDBOX_UID_BASE + (grading process id % 4000)


@dataclass(frozen=True)
class Limits:
    call_timeout: float = 2.0  # seconds of the sandbox's CPU time per call (see Sandbox._more_time)
    submission_timeout: float = 60.0  # seconds of wall clock for all calls of one submission
    memory_mb: int = 1024
    output_bytes: int = 8192  # kept per stream; the rest is counted and dropped
    startup_timeout: float = 20.0
    hide: tuple[str, ...] = ()  # folders a sandbox must not see (exercises, solutions, submissions ...)
    packages: tuple[str, ...] = ()  # what students may import beyond the standard library and numpy


def _sandbox_base(hide: tuple[str, ...]) -> str:
    """Where sandbox folders go: the temp folder, unless it lies in a folder sandboxes must not see."""
    def hidden(path: str) -> bool:
        real = os.path.realpath(path) + os.sep
        return any(real.startswith(os.path.realpath(h) + os.sep) for h in hide)

    for base in (tempfile.gettempdir(), "/tmp", "/var/tmp", "/dev/shm"):
        if os.path.isdir(base) and not hidden(base):
            return base
    return tempfile.gettempdir()  # the sandbox will report the folder it could not hide


def sandbox_uid() -> int | None:
    """The unprivileged uid for this grading process's sandboxes (root only)."""
    return SANDBOX_UID_BASE + os.getpid() % 4000 if privileged() else None


def sandbox_layers() -> list[str]:
    """The layers a sandbox gets on this machine, found by starting one (see `grade doctor`)."""
    return probe()[0]


def probe(limits: Limits | None = None) -> tuple[list[str], list[str]]:
    """Start a sandbox with nothing in it; return the layers it applied and those it could not."""
    with Sandbox({}, limits or Limits()) as sb:
        failed = sb._start()
        if failed is not None:
            return list(HOST_LAYERS), [f"sandbox: {failed.reason}" if isinstance(failed, Crashed) else "sandbox: no answer"]
        return [*HOST_LAYERS, *sb.layers], list(sb.missing)


class _Drain(threading.Thread):
    """Reads a student's stdout or stderr pipe, keeping only the first bytes."""

    def __init__(self, fd: int, keep: int) -> None:
        super().__init__(daemon=True)
        self.fd, self.keep = fd, keep
        self.head = bytearray()
        self.total = 0

    def run(self) -> None:
        try:
            while chunk := os.read(self.fd, 65536):
                self.total += len(chunk)
                if len(self.head) < self.keep:
                    self.head += chunk[: self.keep - len(self.head)]
        except OSError:
            pass
        finally:
            os.close(self.fd)

    def text(self) -> str:
        out = safe(self.head.decode("utf-8", "replace"))
        if self.total > len(self.head):
            out += f"\n… [{self.total - len(self.head)} more bytes not shown]"
        return out


class Sandbox:
    """One submission's sandbox: a process serving calls into the student's modules.

    Files arrive as data and are written into a fresh temporary folder that becomes the
    sandbox process's working directory and import root. If the process dies or times out, the next
    request starts a new one (at most MAX_RESTARTS times).
    """

    def __init__(self, files: Mapping[str, bytes], limits: Limits) -> None:
        self.files = dict(files)
        self.limits = limits
        self.proc: launch.Spawned | launch.Forked | None = None
        self.killed = False  # self.proc was sent its SIGKILL (see kill)
        self.loaded: dict[str, Outcome] = {}
        self.failed_loads: dict[str, Outcome] = {}  # imports that did not finish in time
        self.restarts = -1
        self.deadline = time.monotonic() + limits.submission_timeout
        self.drains: list[_Drain] = []
        self.outputs: list[tuple[str, str]] = []
        self.gave_up: Crashed | None = None
        self.layers: list[str] = []
        self.missing: list[str] = []
        self.stat: int | None = None  # the sandbox's /proc/PID/stat, open while it runs
        self.extended = 0.0  # wall-clock seconds added to the submission's budget (see _receive)

    # -------------------------------------------------------------- lifecycle

    def _start(self) -> TimedOut | Crashed | None:
        try:
            return self._launch()
        except BaseException:  # interrupted half-way (Ctrl-C): leave no process and no folder behind
            self._stop()
            raise

    def _launch(self) -> TimedOut | Crashed | None:
        self.restarts += 1
        if self.restarts > MAX_RESTARTS:
            self.gave_up = Crashed(f"not run: the sandbox had crashed or timed out {MAX_RESTARTS} times already")
            return self.gave_up
        uid = sandbox_uid()
        isolation = {"hide": list(self.limits.hide), "uid": uid}
        env = launch.sandbox_env()
        remaining = max(1.0, self.deadline - time.monotonic())
        limits = {"memory_mb": self.limits.memory_mb, "cpu_seconds": int(remaining) + 2,
                  "packages": list(self.limits.packages)}
        req_r, req_w = os.pipe()
        resp_r, resp_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        self.killed = False
        try:
            self.proc = launch.launcher().start(_sandbox_base(self.limits.hide), env, limits, isolation,
                                         (req_r, resp_w, out_w, err_w))
        except OSError as e:
            for fd in (req_w, resp_r, out_r, err_r):
                os.close(fd)
            return Crashed(f"the sandbox could not be started ({e})")
        finally:
            for fd in (req_r, resp_w, out_w, err_w):
                os.close(fd)
        try:
            self.stat = os.open(f"/proc/{self.proc.pid}/stat", os.O_RDONLY)
        except OSError:  # no /proc (macOS): timeouts are wall-clock only
            self.stat = None
        self.req, self.resp = req_w, resp_r
        self.inbox = FrameReader(resp_r)
        self.drains = [_Drain(out_r, self.limits.output_bytes), _Drain(err_r, self.limits.output_bytes)]
        for d in self.drains:
            d.start()
        # The files go straight to the sandbox, which writes them in its own private folder.
        failed = self._write(pack_files(self.files), min(self.limits.startup_timeout, remaining))
        if failed is not None:
            return failed
        reply = self._receive(min(self.limits.startup_timeout, remaining))
        if not isinstance(reply, dict) or reply.get("op") != "ready":
            if isinstance(reply, (Crashed, TimedOut)):
                return reply
            self._stop()
            reason = safe(reply.get("reason", ""), 300) if reply.get("op") == "startfailed" else ""
            return Crashed(f"the sandbox could not be set up ({reason})" if reason else "the sandbox did not start")
        layers, missing = reply.get("layers"), reply.get("missing")  # said before student code ran
        self.layers = [safe(x, 80) for x in layers[:40]] if isinstance(layers, list) else []
        self.missing = [safe(x, 300) for x in missing[:40]] if isinstance(missing, list) else []
        self.loaded = dict(self.failed_loads)
        return None

    def kill(self) -> None:
        """Start the sandbox's end without waiting for it (close() collects its output): it tears
        down its memory while the grader scores the submission. Once: its pid is not ours to
        signal again after the zygote has reaped it."""
        if self.proc is not None and not self.killed:
            self.killed = True
            self.proc.kill()

    def _stop(self) -> None:
        """Kill the sandbox's group and remove its folder; safe to call at any point, more than once."""
        proc, self.proc = self.proc, None
        if self.stat is not None:
            os.close(self.stat)
            self.stat = None
        if proc is not None:
            if not self.killed:
                proc.kill()  # SIGKILL to the whole group; its output pipes close as it dies
            self.killed = False
            for fd in (self.req, self.resp):
                try:
                    os.close(fd)
                except OSError:
                    pass
            for d in self.drains:
                d.join(timeout=1)
            self.outputs.append((self.drains[0].text(), self.drains[1].text()))
            proc.release()

    def close(self) -> None:
        self._stop()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def stdout(self) -> str:
        return "".join(o for o, _ in self.outputs if o) + (self.drains[0].text() if self.proc and self.drains else "")

    @property
    def stderr(self) -> str:
        return "".join(e for _, e in self.outputs if e) + (self.drains[1].text() if self.proc and self.drains else "")

    # -------------------------------------------------------------- requests

    def load(self, file: str, module: str) -> Outcome:
        """Import a student module (once per sandbox process); Returned(None) when it imported."""
        if self.proc is None:
            failed = self._start()
            if failed:
                return failed
        if file in self.loaded:
            return self.loaded[file]
        self.load_many([(file, module)])
        return self.loaded[file]

    def load_many(self, modules: list[tuple[str, str]]) -> None:
        """Import several student modules with one write: the requests queue in the pipe and
        the sandbox answers them in order, each within its own time (a module that loops or
        crashes stops the rest, which are imported one by one when asked for)."""
        if self.proc is None and self._start():
            return
        wanted = list(dict.fromkeys((f, m) for f, m in modules if f not in self.loaded))
        if not wanted:
            return
        failed = self._write(b"".join(pack({"op": "load", "module": m, "file": f}) for f, m in wanted),
                             self.limits.call_timeout * 5)
        if failed is not None:
            self.loaded[wanted[0][0]] = failed
            return
        for file, _ in wanted:
            reply = self._receive(self.limits.call_timeout * 5)
            self.loaded[file] = reply if not isinstance(reply, dict) else (
                Returned(None) if reply.get("op") == "loaded" else _raised(reply))
            if isinstance(reply, TimedOut):
                self.failed_loads[file] = reply  # it would loop again: not retried after a restart
            if self.proc is None:
                return  # stopped (a timeout) or dead: the rest are imported when asked for

    def call(self, file: str, module: str, function: str, args: tuple, kwargs: Mapping[str, Any],
             timeout: float | None = None) -> tuple[Outcome, Any]:
        """Call the student's function. Returns the outcome and the arguments as they were after the call."""
        loaded = self.load(file, module)
        if not isinstance(loaded, Returned):
            return loaded, None
        reply = self._request({"op": "call", "file": file, "function": function, "payload": [list(args), dict(kwargs)]},
                              timeout or self.limits.call_timeout)
        return _call_outcome(reply)

    def call_batch(self, file: str, module: str, function: str, calls: Encoded, count: int) -> list[tuple[Outcome, Any]]:
        """Several calls in one request and one reply (a YAML exercise's cases).

        The sandbox gives the whole batch `call_timeout` seconds of its CPU time by its own alarm and says where
        it stopped. A call stopped after running the full timeout has timed out; the calls after
        a stop, or after a crash, are not answered, and the caller runs them one by one. Code
        that swallows the alarm meets the wall-clock kill a little later.
        """
        loaded = self.load(file, module)
        if not isinstance(loaded, Returned) or self.proc is None:
            return []
        limit = self.limits.call_timeout
        reply = self._request({"op": "batch", "file": file, "function": function, "limit": limit, "payload": calls},
                              2 * limit + 0.1, pickled=True)
        if isinstance(reply, (TimedOut, Crashed)):
            return []  # killed or dead: nothing answered; the calls run one by one in a new sandbox
        if reply.get("op") != "batched":
            error = reply.get("error")
            missing = reply.get("op") == "raised" and isinstance(error, dict) and error.get("type") == "AttributeError"
            return [_call_outcome(reply)] if missing else []  # no such function; anything else: one by one
        out = _batch_outcomes(reply, count)
        stopped, ran = reply.get("stopped"), reply.get("ran")
        if stopped == len(out) and stopped < count and isinstance(ran, (int, float)) and ran >= 0.95 * limit:
            out.append((TimedOut(limit), None))  # this call alone ran for the whole timeout
        return out

    def _write(self, data: bytes, timeout: float) -> TimedOut | Crashed | None:
        """Send a frame. A sandbox that does not take it within `timeout` (it stopped reading its
        requests: a student can do that) is stopped, and one that died says so; None when sent."""
        deadline = time.monotonic() + min(timeout, max(0.0, self.deadline - time.monotonic()))
        view = memoryview(data)
        os.set_blocking(self.req, False)
        try:
            while view:
                try:
                    view = view[os.write(self.req, view):]
                    continue
                except BlockingIOError:
                    pass
                wait = deadline - time.monotonic()
                if wait <= 0 or not select.select([], [self.req], [], wait)[1]:
                    self._stop()
                    return TimedOut(timeout)
        except OSError:  # the read end is gone: the sandbox died
            return self._died()
        finally:
            if self.proc is not None:
                os.set_blocking(self.req, True)
        return None

    def _request(self, message: dict[str, Any], timeout: float, pickled: bool = False) -> dict[str, Any] | TimedOut | Crashed:
        if self.proc is None:
            failed = self._start()
            if failed:
                return failed
        failed = self._write(pack(message, pickled), timeout)
        return failed if failed is not None else self._receive(timeout)

    def _receive(self, timeout: float) -> dict[str, Any] | TimedOut | Crashed:
        """The sandbox's next reply, if it comes within `timeout` seconds of the sandbox's own CPU
        time (see _more_time) and within the submission's budget; else the sandbox is stopped."""
        start = time.monotonic()
        deadline = min(start + timeout, self.deadline)
        cpu0 = self._usage()

        def take(n: int) -> bytes | bytearray:
            nonlocal deadline
            while True:
                try:
                    return self._read(n, deadline)
                except TimeoutError:
                    more = self._more_time(cpu0, timeout, start)
                    now = time.monotonic()
                    if more <= 0:
                        raise
                    if now + more > self.deadline and self.extended < self.limits.submission_timeout:
                        # the wait was the machine's, not the student's: the submission's own budget
                        # moves too (at most once over: a sandbox that lowers its own priority gains
                        # wall-clock time only, never CPU)
                        grant = min(now + more - self.deadline, self.limits.submission_timeout - self.extended)
                        self.deadline += grant
                        self.extended += grant
                    if now >= self.deadline:
                        raise
                    deadline = min(now + more, self.deadline)

        try:
            head = take(HEADER_SIZE)
            hlen, blen = parse_header(head)
            if hlen > MAX_HEAD or blen > MAX_BODY:  # refused before a byte more is read
                self._stop()
                return Crashed("the sandbox sent more data than allowed")
            frame_head = take(hlen)
            body = take(blen)
            return unpack(frame_head, body)
        except TimeoutError:
            self._stop()
            if deadline >= self.deadline or time.monotonic() >= self.deadline:
                return TimedOut(self.limits.submission_timeout)
            return TimedOut(timeout)
        except EOFError:
            return self._died()
        except ProtocolError as e:
            self._stop()
            return Crashed(f"the sandbox sent an invalid reply ({e})")
        except Exception as e:  # anything else a forged reply can provoke in decoding
            self._stop()
            return Crashed(f"the sandbox sent an invalid reply ({type(e).__name__})")

    def _read(self, n: int, deadline: float) -> bytes | bytearray:
        # read ahead: pipelined replies often arrive together and then cost no system call
        return self.inbox.take(n, deadline)

    def _usage(self) -> tuple[float, bytes] | None:
        """The sandbox's CPU seconds so far (all its threads) and its scheduler state, from the
        kernel (/proc/PID/stat): nothing the student's code can forge. None where unavailable."""
        if self.stat is None:
            return None
        try:
            data = os.pread(self.stat, 1024, 0)
            fields = data[data.rindex(b")") + 2:].split()
            return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS, fields[0]
        except (OSError, ValueError, IndexError):  # it has exited
            return None

    def _more_time(self, cpu0: tuple[float, bytes] | None, timeout: float, start: float) -> float:
        """How much longer to wait for a sandbox whose wall-clock time is up: the CPU time it was
        due and did not get, if it is still runnable (`R`) and so was kept waiting by the rest of
        the machine (other grading lanes, a teacher's other programs), not by its own code. A
        sandbox that loops has had its time; one that sleeps or waits is not runnable. Either way
        it ends at FAIR_WALL_FACTOR times the timeout, whatever it is doing."""
        now = self._usage()
        if cpu0 is None or now is None or now[1] != b"R":
            return 0.0
        owed = timeout - (now[0] - cpu0[0])
        left = start + FAIR_WALL_FACTOR * timeout - time.monotonic()
        if owed <= CPU_TICK_SLACK or left <= 0:
            return 0.0
        return min(owed, left)

    def _died(self) -> Crashed:
        code = self.proc.wait(2) if self.proc is not None else None
        self._stop()
        return Crashed(describe_exit(code, self.limits))


def prewarm(limits: Limits) -> None:
    """Start this process's zygote now, so its interpreter and numpy load while the caller sets up."""
    lau = launch.launcher()
    if isinstance(lau, launch.ZygoteLauncher):
        with lau.lock:
            lau._ensure(list(limits.hide))


def _call_outcome(reply: dict[str, Any] | Outcome) -> tuple[Outcome, Any]:
    if not isinstance(reply, dict):
        return reply, None
    payload = reply.get("payload")
    after = None
    if isinstance(payload, list) and len(payload) == 3:
        after = _changes(payload[1], payload[2])
        if reply.get("op") == "returned":
            return Returned(payload[0]), after
    if reply.get("op") == "raised":
        return _raised(reply), after
    return Crashed("the sandbox sent a malformed reply"), None


def _batch_outcomes(reply: dict[str, Any], count: int) -> list[tuple[Outcome, Any]]:
    """The outcomes in a batch reply (see runtime.run_batch); a malformed reply answers nothing."""
    kinds, errors, payload = reply.get("kinds"), reply.get("errors"), reply.get("payload")
    if not (isinstance(kinds, str) and len(kinds) <= count and isinstance(errors, dict)
            and isinstance(payload, list) and len(payload) == len(kinds) + 1):
        return []
    changed, values = payload[0], payload[1:]
    if not isinstance(changed, dict):
        return []
    out: list[tuple[Outcome, Any]] = []
    for i, kind in enumerate(kinds):
        change = changed.get(i)
        after = _changes(*change) if isinstance(change, list) and len(change) == 2 else ({}, {})
        if kind == "r":
            out.append((Returned(values[i]), after))
        elif kind == "x":
            out.append((_raised({"error": errors.get(str(i))}), after))
        else:
            out.append((Crashed("the sandbox sent a malformed reply"), None))
            break
    return out


def _changes(c_args: Any, c_kwargs: Any) -> tuple[dict[int, Any], dict[str, Any]]:
    """The arguments a call changed, as the sandbox said: {position: value}, {name: value}."""
    return ({i: v for i, v in c_args.items() if type(i) is int} if isinstance(c_args, dict) else {},
            {k: v for k, v in c_kwargs.items() if type(k) is str} if isinstance(c_kwargs, dict) else {})


def describe_exit(code: int | None, limits: Limits) -> str:
    if code is None:
        return "the sandbox stopped answering"
    if code < 0:
        sig = -code
        if sig == signal.SIGSEGV:
            return "the process crashed with a segmentation fault (signal 11)"
        if sig == signal.SIGXCPU:
            return "the process used up its CPU time and was stopped"
        if sig == signal.SIGKILL:
            return f"the process was killed (signal 9), probably for using more than {limits.memory_mb} MB"
        if sig == signal.SIGXFSZ:
            return "the process wrote a file larger than allowed"
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        return f"the process was killed by {name}"
    return f"the process exited with status {code} in the middle of a call (os._exit or a crash)"


def _raised(reply: dict[str, Any]) -> Raised:
    e = reply.get("error")
    e = e if isinstance(e, dict) else {}  # whatever a hostile sandbox sent, only strings are taken from it
    mro = e.get("mro")
    if not isinstance(mro, list):
        mro = []
    return Raised(safe(e.get("type", "Exception"), 100), tuple(safe(m, 100) for m in mro[:20]),
                  safe(e.get("message", ""), 2000), safe(e.get("where", ""), 300))
