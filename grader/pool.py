"""Grade a batch in parallel: chunks of submissions go to grading worker processes started clean,
each running one pytest session per chunk (grading.run_session); results stream back as they finish.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from queue import Empty
from queue import Queue as LocalQueue
from typing import Any

from . import grading
from .errors import GraderError
from .exercise import Exercise, load_exercise
from .grading import Options, run_session
from .results import SubmissionResult
from .submissions import Submission

_RESULTS: Any = None  # in a grading worker: the queue each finished submission goes to
_BUSY = False  # in a grading worker: a chunk is being graded
_FROZEN = False  # in a grading worker: what outlives a session is frozen (gc.freeze)


def _init_worker(queue: Any) -> None:
    """A grading worker ignores Ctrl-C (the terminal sends it to the whole group); the grader
    stops it with SIGTERM, which ends the chunk in hand the way Ctrl-C would, sandboxes included."""
    global _RESULTS
    _RESULTS = queue
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_sigterm)
    queue.put(("worker", os.getpid()))


def _on_sigterm(signum: int, frame: Any) -> None:
    if grading._CLEANING:
        grading._STOP_REQUESTED = True  # never interrupt the stopping of sandboxes: it raises right after
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
