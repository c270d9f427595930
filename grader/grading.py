"""Grade a batch: pytest sessions over the submissions, in parallel worker processes.

Each grading worker (a trusted process) runs one pytest session over a chunk of submissions;
each submission's code runs in its own sandbox process started clean.
"""

from __future__ import annotations

import dataclasses
import gc
import glob
import multiprocessing
import os
import shlex
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from queue import Empty
from queue import Queue as LocalQueue
from typing import Any

import pytest

from . import checks
from .checks import SESSION_KEY, GradingSession, SubmissionRun, build_exercise_result
from .diagnosis import diagnose
from .errors import GraderError
from .exercise import Exercise, load_exercise
from .feedback import Feedback
from .hidden import hidden_paths
from .quiz import grade_quiz
from .results import ExerciseResult, SubmissionResult
from .sandbox.host import Limits, prewarm
from .submissions import Submission


@dataclass(frozen=True)
class Options:
    limits: Limits = Limits()
    jobs: int = 1
    templates: Path | None = None


class _SessionPlugin:
    """Puts the grading session where items and fixtures find it."""

    def __init__(self, session: GradingSession) -> None:
        self.session = session

    @pytest.hookimpl(tryfirst=True)
    def pytest_configure(self, config: pytest.Config) -> None:
        config.stash[SESSION_KEY] = self.session


@contextmanager
def _no_autoload() -> Iterator[None]:
    # The grader's own session needs no third-party plugins (they cost start-up time).
    old = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        yield
    finally:
        if old is None:
            del os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"]
        else:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = old


SESSION_INI = Path(__file__).with_name("pytest-session.ini")


def _only_files(paths: Iterable[Path]) -> str:
    """`python_files` naming exactly the check modules. A pattern that took every file (*.py) had
    pytest rewrite the asserts of every module imported during the session, the standard library's
    included (pdb, by pytest itself): each then kept the session's configuration, and with it the
    session's submissions, alive for the life of the process."""
    return " ".join(shlex.quote(glob.escape(p.name)) for p in paths)


def run_session(exercises: list[Exercise], submissions: list[Submission], options: Options,
                on_result: Callable[[SubmissionResult], None] | None = None) -> list[SubmissionResult]:
    """One pytest session over the submissions; results stream to `on_result` as each finishes."""
    options = dataclasses.replace(options, limits=dataclasses.replace(
        options.limits, hide=tuple(sorted(set(options.limits.hide) | set(hidden_paths(exercises, submissions))))))
    code = [ex for ex in exercises if ex.kind == "code"]
    if code:
        prewarm(options.limits)  # the zygote starts while pytest starts
    feedback = Feedback.shared(options.templates)
    session = GradingSession(exercises, submissions, options.limits, on_result,
                             finish=lambda run, exs: finish_submission(run, exs, feedback), fast=True)
    if not code:  # quizzes only: nothing runs in a sandbox, nothing for pytest to collect
        return session.finish_all()
    args = [str(ex.source_path) for ex in code]
    args += [str(ex.checks_path) for ex in code if ex.checks_path]
    rootdir = os.path.commonpath([os.path.dirname(a) for a in args])
    args += ["-c", str(SESSION_INI), "--rootdir", rootdir, "--noconftest", "--import-mode=importlib",
             "-p", "no:cacheprovider", "-p", "no:terminal", "-p", "no:capture", "-p", "no:logging",
             "-p", "no:faulthandler", "-p", "no:unraisableexception", "-p", "no:threadexception", "-p", "no:warnings",
             "-o", "python_files=" + _only_files(ex.checks_path for ex in code if ex.checks_path),
             "-W", "ignore::pytest.PytestAssertRewriteWarning"]
    with _no_autoload():
        try:
            exit_code = pytest.main(args, plugins=[_SessionPlugin(session), session, checks])
        finally:
            try:
                results = _finish_uninterrupted(session)
            finally:
                _forget_check_modules(code)
    if exit_code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED, pytest.ExitCode.NO_TESTS_COLLECTED):
        if exit_code == pytest.ExitCode.INTERRUPTED:
            raise KeyboardInterrupt
        raise GraderError(f"the checks could not run (pytest exit code {int(exit_code)}); run `pytest {args[0]} --submission PATH` to see why")
    return results


def _forget_check_modules(exercises: list[Exercise]) -> None:
    """Drop the check modules the session imported. Each was loaded by the session's assertion
    rewriter, which holds the session's configuration and with it every node and submission of
    the session: kept in sys.modules, they kept a grading worker's first session alive for good
    (its memory, and a walk over all of it in every full garbage collection). The next session
    imports them afresh."""
    files = {str(ex.checks_path) for ex in exercises if ex.checks_path}
    for name, module in list(sys.modules.items()):
        try:  # a module's own __getattr__ is never called: only what it holds
            file = vars(module).get("__file__")
            if not (isinstance(file, str) and file in files):
                continue
            del sys.modules[name]
            parent, _, attr = name.rpartition(".")  # pytest made it an attribute of its package too
            package = sys.modules.get(parent)
            if package is not None and vars(package).get(attr) is module:
                delattr(package, attr)
        except (TypeError, KeyError, AttributeError):  # an odd entry (not a module): left alone
            continue


def _finish_uninterrupted(session: GradingSession) -> list[SubmissionResult]:
    """Grade what is left and stop every sandbox, with a stop request (SIGTERM) held until done."""
    global _CLEANING, _STOP_REQUESTED
    _CLEANING = True
    try:
        return session.finish_all()
    finally:
        _CLEANING = False
        if _STOP_REQUESTED:
            _STOP_REQUESTED = False
            raise KeyboardInterrupt


def finish_submission(run: SubmissionRun, exercises: list[Exercise], feedback: Feedback) -> SubmissionResult:
    """Scores, diagnosis (only where something failed) and feedback for one submission."""
    started = run.started if run.started is not None else time.perf_counter()
    run.kill()  # the sandbox's teardown overlaps the scoring; close() below collects its output
    out = []
    for ex in exercises:
        if ex.kind == "quiz":
            result = grade_quiz(ex, run.submission.id, run.submission.answers_text(ex.answers_file), feedback)
            out.append(dataclasses.replace(result, feedback=_render_exercise(feedback, result, "answers")))
            continue
        ex_run = run.runs.get(ex.id)
        result = build_exercise_result(ex_run, ex, run.locations[ex.id])
        if ex_run is not None and result.status != "passed":
            named, observation = diagnose(ex, ex.solution(), ex_run.calls, feedback)
            result = dataclasses.replace(result, misconceptions=tuple(named), observation=observation)
        result = dataclasses.replace(result, feedback=_render_exercise(feedback, result, ex.function.name))
        out.append(result)
    sub = run.submission
    stdout, stderr, layers = run.close()
    return SubmissionResult(sub.id, str(sub.path), tuple(out), stdout=stdout, stderr=stderr,
                            warnings=sub.problems, seconds=time.perf_counter() - started, sandbox=layers,
                            meta=sub.meta)


def _render_exercise(feedback: Feedback, result: ExerciseResult, function: str) -> str:
    # a passed exercise renders the same text for most of a class: rendered once
    key = ("exercise", result, function) if result.status == "passed" else None
    if key is not None:
        text = feedback.memo.get(key)  # one lookup: hashing a result walks all its checks
        if text is not None:
            return text
    ctx = {f.name: getattr(result, f.name) for f in dataclasses.fields(result)}
    ctx["function"] = function
    text = feedback.render("exercise.md.j2", ex=ctx).strip()
    if key is not None:
        if len(feedback.memo) >= 512:
            feedback.memo.clear()
        feedback.memo[key] = text
    return text


# --------------------------------------------------------------------------- parallel


_RESULTS: Any = None  # in a grading worker: the queue each finished submission goes to
_BUSY = False  # in a grading worker: a chunk is being graded
_FROZEN = False  # in a grading worker: what outlives a session is frozen (gc.freeze)
_CLEANING = False  # in a grading worker: sandboxes are being stopped; a stop request waits for that
_STOP_REQUESTED = False


def _init_worker(queue: Any) -> None:
    """A grading worker ignores Ctrl-C (the terminal sends it to the whole group); the grader
    stops it with SIGTERM, which ends the chunk in hand the way Ctrl-C would, sandboxes included."""
    global _RESULTS
    _RESULTS = queue
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_sigterm)
    queue.put(("worker", os.getpid()))


def _on_sigterm(signum: int, frame: Any) -> None:
    global _STOP_REQUESTED
    if _CLEANING:
        _STOP_REQUESTED = True  # never interrupt the stopping of sandboxes: it raises right after
        return
    if _BUSY:
        raise KeyboardInterrupt  # unwinds the pytest session: every sandbox is stopped and removed
    from .sandbox.host import shutdown

    shutdown()
    os._exit(0)


def _grade_chunk(exercise_paths: list[str], submissions: list[Submission], options: Options) -> int:
    global _BUSY
    exercises = [load_exercise(p) for p in exercise_paths]
    _BUSY = True
    try:
        run_session(exercises, submissions, options, on_result=_RESULTS.put)
    finally:
        _BUSY = False
    global _FROZEN
    if not _FROZEN:
        # What the first session leaves alive (modules, pytest's plugins, exercises, per-process
        # caches) lives as long as the worker: kept out of the collector's walks. A session's
        # nodes are cyclic garbage, found only by full collections, which then walk just that.
        _FROZEN = True
        gc.collect()
        gc.freeze()
    return len(submissions)


MAX_CHUNK = 128
MIN_CHUNK = 4


def _chunks(submissions: list[Submission], jobs: int) -> list[list[Submission]]:
    """Chunks that shrink as the class is handed out: each pytest session has a start-up cost
    (big chunks pay it rarely), and the workers should finish together (the last chunks are small).
    Each is half of what is left per worker, at most MAX_CHUNK and, in a big class, at least
    MIN_CHUNK (a small class goes one submission at a time: every worker gets some)."""
    floor = MIN_CHUNK if len(submissions) >= 8 * jobs * MIN_CHUNK else 1
    chunks, i = [], 0
    while i < len(submissions):
        size = max(floor, min(MAX_CHUNK, (len(submissions) - i) // (jobs * 2)))
        chunks.append(submissions[i:i + size])
        i += size
    return chunks


class _DrainFailed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def grade(exercises: list[Exercise], submissions: list[Submission], options: Options,
          on_result: Callable[[SubmissionResult], None] | None = None, keep: bool = True) -> list[SubmissionResult]:
    """Grade every submission; with jobs > 1, chunks go to worker processes started clean.

    Results stream to `on_result` one by one as submissions finish (from any worker); with
    keep=False they are not also collected, so a class of thousands costs no more memory than
    a class of ten.
    """
    if options.jobs <= 1 or len(submissions) <= 1:
        results = run_session(exercises, submissions, options, on_result)
        return results if keep else []
    jobs = min(options.jobs, len(submissions))
    chunks = _chunks(submissions, jobs)
    ex_paths = [str(ex.source_path) for ex in exercises]
    results: dict[str, SubmissionResult] = {}
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    received = 0
    workers: list[int] = []
    # A thread takes the results off the workers' queue as they come, whatever the main thread is
    # doing (writing the gradebook, or stopping after Ctrl-C): a worker cannot exit before what
    # it queued is in the pipe, and a full pipe nobody read held it, and the grader waiting for
    # it, for ever.
    arrived: LocalQueue[Any] = LocalQueue()
    draining = threading.Event()
    draining.set()

    def drain() -> None:
        while draining.is_set():
            try:
                arrived.put(queue.get(timeout=0.1))
            except Empty:
                continue
            except BaseException as e:  # noqa: BLE001  (the main thread reports it and stops)
                arrived.put(_DrainFailed(e))
                return

    drainer = threading.Thread(target=drain, name="grader-results", daemon=True)
    drainer.start()

    def take(block_for: float) -> bool:
        nonlocal received
        try:
            r = arrived.get(timeout=block_for)
        except Empty:
            return False
        if isinstance(r, _DrainFailed):
            raise GraderError(f"the results of the grading workers could not be read ({type(r.error).__name__}: "
                              f"{r.error}); every submission graded so far is kept: run the same command again")
        if isinstance(r, tuple):  # ("worker", pid): a worker has started
            workers.append(r[1])
            return True
        received += 1
        if keep:
            results[r.path] = r
        if on_result is not None:
            on_result(r)
        return True

    try:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_init_worker, initargs=(queue,)) as pool:
            # submissions travel as data (grouped LMS downloads and zips have no single path to re-read)
            pending: set[Future] = {pool.submit(_grade_chunk, ex_paths, chunk, options) for chunk in chunks}
            try:
                while pending:
                    take(0.05)
                    done = {f for f in pending if f.done()}
                    for fut in done:
                        fut.result()  # a worker's error surfaces here
                    pending -= done
            except BaseException:
                for fut in pending:
                    fut.cancel()
                for pid in workers:  # our own workers, by pid: they stop their sandboxes and exit
                    try:
                        os.kill(pid, signal.SIGTERM)
                    except ProcessLookupError:
                        pass
                raise
        while received < len(submissions) and take(2.0):
            pass  # the last results may still be in the queue's pipe
    except BrokenProcessPool as e:
        raise GraderError(f"a grading worker died ({e}); every submission graded so far is kept: "
                          "run the same command again to grade the rest") from None
    finally:
        draining.clear()
        drainer.join(1)
    return [results[str(s.path)] for s in submissions] if keep else []
