"""Grade a batch in parallel: chunks of submissions go to grading worker processes started clean,
each running one pytest session per chunk (grading.run_session); results stream back as they finish.

A worker that dies (killed by a student's code, the OOM killer or a person) costs the class
nothing: the submissions it had in hand without a result are graded again on a fresh worker, one
at a time, and one that was in hand when MAX_DEATHS workers died gets an `error` result saying so.
"""

from __future__ import annotations

import dataclasses
import gc
import multiprocessing
import os
import pickle
import signal
import threading
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from multiprocessing.connection import Connection, wait
from queue import Empty
from queue import Queue as LocalQueue
from typing import Any

from . import grading, results
from .course import load_exercise
from .errors import GraderError
from .exercise import Exercise
from .feedback import Feedback
from .grading import Options, run_session
from .quiz import Quiz
from .results import SubmissionResult
from .scoring import _render_exercise, build_exercise_result
from .submissions import Location, Submission

_RESULTS: Connection | None = None  # in a grading worker: where each finished submission goes
_BUSY = False  # in a grading worker: a chunk is being graded
_FROZEN = False  # in a grading worker: what outlives a session is frozen (gc.freeze)
_STOPPING = False  # in a grading worker: a chunk was interrupted; what it finishes now is partial


def _init_worker(results: Connection) -> None:
    """A grading worker ignores Ctrl-C (the terminal sends it to the whole group); the grader
    stops it with SIGTERM, which ends the chunk in hand the way Ctrl-C would, sandboxes included."""
    global _RESULTS
    _RESULTS = results
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_sigterm)


def _on_sigterm(signum: int, frame: Any) -> None:
    global _STOPPING
    if grading._CLEANING:
        grading._STOP_REQUESTED = True  # never interrupt the stopping of sandboxes: it raises right after
        return
    if _BUSY:
        _STOPPING = True
        raise KeyboardInterrupt  # unwinds the pytest session: every sandbox is stopped and removed
    from .sandbox.launch import shutdown

    shutdown()
    os._exit(0)


def _send(result: SubmissionResult) -> None:
    """Send one finished submission to the grader; not one whose grading was cut short."""
    global _STOPPING
    if _STOPPING or _RESULTS is None:
        return
    try:
        _RESULTS.send(result)
    except OSError:  # the grader is gone: stop grading, sandboxes included
        _STOPPING = True
        raise KeyboardInterrupt from None


def _grade_chunk(exercise_paths: list[str], submissions: list[Submission], options: Options) -> int:
    global _BUSY
    exercises = [load_exercise(p) for p in exercise_paths]
    _BUSY = True
    try:
        run_session(exercises, submissions, options, on_result=_send)
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


def _portable(error: Exception) -> Exception:
    """The error as it can cross to the grader: itself if it survives pickling, else its traceback as text."""
    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:  # noqa: BLE001  (any error of pickling or of rebuilding)
        text = "".join(traceback.format_exception(error))
        return GraderError(str(error)) if isinstance(error, GraderError) else RuntimeError(f"in a grading worker:\n{text}")


_READY, _CHUNK_DONE, _FAILED = "ready", "chunk done", "failed"  # what a worker says besides results


def _worker(exercise_paths: list[str], options: Options, tasks: Connection, results: Connection) -> None:
    """A grading worker: says it is ready, then grades each chunk it is sent until it is sent None."""
    _init_worker(results)
    try:
        results.send(_READY)
        while (chunk := tasks.recv()) is not None:
            try:
                _grade_chunk(exercise_paths, chunk, options)
            except KeyboardInterrupt:
                return
            except Exception as e:  # noqa: BLE001  (the grader raises it and stops the class)
                results.send((_FAILED, _portable(e)))
                continue
            results.send(_CHUNK_DONE)
    except (EOFError, OSError):  # the grader is gone
        return


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


MAX_DEATHS = 2  # a submission in hand when this many grading workers died is not graded again
MAX_IDLE_DEATHS = 3  # workers in a row that die with nothing in hand before the grader gives up
WORKER_DIED = (results.WORKER_DIED + ", {n} times (its code may stop or kill the grader's processes): "
               "it could not be graded")


class Ledger:
    """What is left to hand out, what is finished, and how often each submission was in hand when
    its worker died. A chunk whose worker died comes back one submission at a time, each graded
    with nothing else in hand, so that the next death names its cause; a submission in hand at
    MAX_DEATHS deaths is given up."""

    def __init__(self, chunks: Iterable[list[Submission]]) -> None:
        self.todo: deque[list[Submission]] = deque(chunks)
        self.finished: set[str] = set()
        self.deaths: dict[str, int] = {}

    def hand_out(self, in_hand: list[list[Submission]]) -> list[Submission] | None:
        """The next chunk for an idle worker, given the chunks the others have in hand; None if
        nothing is to be handed out now. A retry is graded with nothing else in hand: a death
        while it runs is then its own."""
        if any(self.retry(c) for c in in_hand):
            return None
        while self.todo:
            chunk = [s for s in self.todo[0] if str(s.path) not in self.finished]
            if chunk and in_hand and self.retry(chunk):
                return None
            self.todo.popleft()
            if chunk:
                return chunk
        return None

    def retry(self, chunk: list[Submission]) -> bool:
        """Whether the chunk is graded again after a death (it is then graded with nothing else in hand)."""
        return any(str(s.path) in self.deaths for s in chunk)

    def finish(self, path: str) -> bool:
        """Record a result; False if this submission already has one (it is not reported twice)."""
        if path in self.finished:
            return False
        self.finished.add(path)
        return True

    def died(self, chunk: list[Submission]) -> list[Submission]:
        """The worker grading `chunk` died: what it left unfinished goes back one at a time, ahead of
        the rest; returns those given up (each then needs its `error` result, see `finish`)."""
        left = [s for s in chunk if str(s.path) not in self.finished]
        given_up = []
        for s in reversed(left):
            n = self.deaths[str(s.path)] = self.deaths.get(str(s.path), 0) + 1
            if n >= MAX_DEATHS:
                given_up.append(s)
            else:
                self.todo.appendleft([s])
        return given_up[::-1]


def died_result(sub: Submission, exercises: Sequence[Exercise | Quiz], deaths: int, feedback: Feedback) -> SubmissionResult:
    """The result of a submission that could not be graded because its grading workers died."""
    location = Location(None, None, WORKER_DIED.format(n=deaths), "error")
    out = []
    for ex in exercises:
        result = build_exercise_result(None, ex, location)
        function = "answers" if isinstance(ex, Quiz) else ex.function.name
        out.append(dataclasses.replace(result, feedback=_render_exercise(feedback, result, function)))
    return SubmissionResult(sub.id, str(sub.path), tuple(out), warnings=sub.problems, meta=sub.meta)


class _Worker:
    """One grading worker process, the pipes to it, and the chunk it has in hand."""

    def __init__(self, ctx: Any, exercise_paths: list[str], options: Options) -> None:
        self.results, results_end = ctx.Pipe(duplex=False)
        tasks_end, self.tasks = ctx.Pipe(duplex=False)
        self.process = ctx.Process(target=_worker, args=(exercise_paths, options, tasks_end, results_end),
                                   name="grader-worker")
        try:
            self.process.start()
        except OSError as e:
            self.close()
            raise GraderError(f"a grading worker could not be started ({e}); try --jobs 1") from None
        finally:
            results_end.close()  # the worker's ends: a dead worker's results pipe then ends
            tasks_end.close()
        self.ready = False
        self.chunk: list[Submission] | None = None
        self.gone = False  # set by the results thread: everything the worker sent has been read

    def give(self, chunk: list[Submission]) -> None:
        self.chunk = chunk
        try:
            self.tasks.send(chunk)
        except OSError:
            pass  # it died: the results thread reports it, and the chunk is handed out again

    def close(self) -> None:
        self.results.close()
        self.tasks.close()


_GONE = "gone"


class _DrainFailed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def grade(exercises: Sequence[Exercise | Quiz], submissions: list[Submission], options: Options,
          on_result: Callable[[SubmissionResult], None] | None = None, keep: bool = True) -> list[SubmissionResult]:
    """Grade every submission; with jobs > 1, chunks go to worker processes started clean.

    Results stream to `on_result` one by one as submissions finish (from any worker), each once;
    with keep=False they are not also collected, so a class of thousands costs no more memory than
    a class of ten. A worker that dies is replaced, and what it had in hand is graded again (see Ledger).
    """
    if options.jobs <= 1 or len(submissions) <= 1:
        graded = run_session(exercises, submissions, options, on_result)
        return graded if keep else []
    jobs = min(options.jobs, len(submissions))
    ledger = Ledger(_chunks(submissions, jobs))
    total = len({str(s.path) for s in submissions})
    ex_paths = [str(ex.source_path) for ex in exercises]
    results: dict[str, SubmissionResult] = {}
    ctx = multiprocessing.get_context("spawn")
    workers: list[_Worker] = []
    watched = threading.Lock()
    # A thread takes the results off the workers' pipes as they come, whatever the main thread is
    # doing (writing the gradebook, or stopping after Ctrl-C): a worker blocks on a full pipe
    # nobody reads, and the grader waiting for it would wait for ever. It reads a worker's pipe
    # to its end before it says the worker is gone, so nothing the worker sent is lost.
    arrived: LocalQueue[Any] = LocalQueue()
    draining = threading.Event()
    draining.set()

    def drain() -> None:
        try:
            while draining.is_set():
                with watched:
                    ends: dict[Any, _Worker] = {}
                    for w in workers:
                        if not w.gone:
                            ends[w.results] = ends[w.process.sentinel] = w
                for end in wait(list(ends), timeout=0.1):
                    w = ends[end]
                    if w.gone:
                        continue
                    try:
                        if end != w.process.sentinel:  # its results pipe
                            arrived.put((w, w.results.recv()))
                            continue
                        while w.results.poll():  # it exited: what it sent before is still in the pipe
                            arrived.put((w, w.results.recv()))
                    except (EOFError, OSError):
                        pass  # the pipe ended (or ended mid-message: the worker was killed writing it)
                    w.gone = True
                    arrived.put((w, _GONE))
        except BaseException as e:  # noqa: BLE001  (the main thread reports it and stops)
            arrived.put(_DrainFailed(e))

    def start() -> None:
        w = _Worker(ctx, ex_paths, options)
        with watched:
            workers.append(w)

    def deliver(result: SubmissionResult) -> None:
        if keep:
            results[result.path] = result
        if on_result is not None:
            on_result(result)

    idle_deaths = 0  # workers in a row that died with nothing in hand

    def take(block_for: float) -> None:
        nonlocal idle_deaths
        try:
            item = arrived.get(timeout=block_for)
        except Empty:
            return
        if isinstance(item, _DrainFailed):
            raise GraderError(f"the results of the grading workers could not be read ({type(item.error).__name__}: "
                              f"{item.error}); every submission graded so far is kept: run the same command again")
        w, message = item
        if isinstance(message, SubmissionResult):
            if ledger.finish(message.path):
                idle_deaths = 0
                deliver(message)
        elif message == _READY:
            w.ready = True
        elif message == _CHUNK_DONE:
            unfinished = [str(s.path) for s in w.chunk or () if str(s.path) not in ledger.finished]
            if unfinished:
                raise GraderError(f"a grading worker finished a chunk without a result for {unfinished[0]}")
            w.chunk = None
        elif isinstance(message, tuple) and message[0] == _FAILED:
            raise message[1]  # a worker's error surfaces here
        elif message == _GONE:
            with watched:
                workers.remove(w)
            w.process.join(5)
            w.close()
            if w.chunk is None:
                idle_deaths += 1
                if idle_deaths >= MAX_IDLE_DEATHS:
                    raise GraderError(f"grading workers keep ending before they grade anything (exit code "
                                      f"{w.process.exitcode}); every submission graded so far is kept")
            for sub in ledger.died(w.chunk or []):
                ledger.finish(str(sub.path))
                deliver(died_result(sub, exercises, ledger.deaths[str(sub.path)], Feedback.shared(options.templates)))

    drainer = threading.Thread(target=drain, name="grader-results", daemon=True)
    drainer.start()
    try:
        try:
            for _ in range(jobs):
                start()
            while len(ledger.finished) < total:
                take(0.05)
                for w in workers:
                    if w.ready and w.chunk is None and not w.gone:
                        chunk = ledger.hand_out([v.chunk for v in workers if v.chunk is not None])
                        if chunk is None:
                            break
                        w.give(chunk)  # submissions travel as data (zips have no single path to re-read)
                if ledger.todo and len(workers) < jobs:
                    start()  # in place of one that died
        except BaseException:
            for w in workers:  # our own workers, by pid: they stop their sandboxes and exit
                if w.process.exitcode is None:
                    try:
                        os.kill(w.process.pid, signal.SIGTERM)
                    except ProcessLookupError:
                        pass
            raise
        finally:
            for w in workers:
                try:
                    w.tasks.send(None)
                except OSError:
                    pass
            for w in workers:
                w.process.join(60)
                if w.process.exitcode is None:
                    w.process.kill()
                    w.process.join()
    finally:
        draining.clear()
        drainer.join(1)
        for w in workers:
            w.close()
    return [results[str(s.path)] for s in submissions] if keep else []
