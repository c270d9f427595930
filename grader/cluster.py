"""Grade a class on a Dask cluster: `grade SUBMISSIONS --scheduler ADDRESS` (or `local:N`).

The client ships the course once per worker (a worker plugin carrying the exercise, solution,
check and template files as bytes: workers need not share the client's filesystem) and each
chunk of submissions as data. A task grades its chunk in one pytest session, with the warm
sandbox pool of the worker process it runs in, and returns the results; the client hands each
to `on_result` as its chunk comes back (the gradebook is written there, so a killed batch
resumes as a local one does).

A worker that dies mid-task has its task run again elsewhere by the scheduler, up to its
`allowed-failures`; a chunk given up that way (KilledWorker) comes back one submission per
task, and a submission given up alone gets an `error` result saying that its grading process
died. Every submission is reported once.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import logging
import os
import re
import shutil
import signal
import socket
import tempfile
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask
from distributed import Client, Future, KilledWorker, LocalCluster, WorkerPlugin, as_completed

from .course import load_exercise
from .errors import GraderError
from .exercise import Exercise
from .feedback import Feedback
from .gradebook import grader_version
from .grading import Options, run_session
from .pool import _chunks, died_result
from .quiz import Quiz
from .results import SubmissionResult
from .sandbox.host import probe
from .sandbox.isolation import CONTAINING_LAYERS, UNSAFE_FLAG
from .submissions import Submission

LOCAL = re.compile(r"local:(\d+)")
ADDRESS = re.compile(r"([a-z]+://)?[^\s:/]+(:\d+)?")  # tcp://host:8786, host:8786, tls://host...
# A LocalCluster this command starts: a task whose worker dies runs once more elsewhere, and a
# worker holds only the task it runs (with the default saturation it also holds the next one,
# which would count as a suspect of its worker's death).
SCHEDULER_CONFIG = {"distributed.scheduler.allowed-failures": 1, "distributed.scheduler.worker-saturation": 1.0}
MAX_COURSE_BYTES = 64 << 20
COURSE = "course"
TEMPLATES = "templates"

# ---------------------------------------------------------------------------- in a Dask worker

_COURSES: dict[str, Path] = {}  # plugin name -> where its files were written in this worker
_STALE: list[Path] = []  # courses whose plugin was removed while a session graded from them
_ONE_SESSION = threading.Lock()  # a worker process runs one grading session at a time (its sandbox pool)
_FROZEN = False
_UNISOLATED: str | None = None  # why this worker's sandboxes cannot contain student code ("" if they can)


class CoursePlugin(WorkerPlugin):
    """Writes the course's files in each worker (those that join later too); removes them at teardown."""

    def __init__(self, name: str, files: dict[str, bytes]) -> None:
        self.name = name
        self.files = files

    def setup(self, worker: Any) -> None:
        folder = Path(tempfile.mkdtemp(prefix="grader-course-", dir=getattr(worker, "local_directory", None)))
        for rel, data in self.files.items():
            path = folder / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        _COURSES[self.name] = folder

    def teardown(self, worker: Any) -> None:
        folder = _COURSES.pop(self.name, None)
        if folder is None:
            return
        if _ONE_SESSION.acquire(blocking=False):
            try:
                shutil.rmtree(folder, ignore_errors=True)
            finally:
                _ONE_SESSION.release()
        else:
            _STALE.append(folder)  # a session grades from it now: removed when that session ends


def _refuse_unisolated(unsafe: bool) -> None:
    """As local grading does: no student code runs where a sandbox has neither its own uid nor its
    own filesystem, unless the teacher said so by name (found once per worker, by starting a sandbox)."""
    global _UNISOLATED
    if _UNISOLATED is None:
        layers, missing = probe()
        _UNISOLATED = "" if any(layer in layers for layer in CONTAINING_LAYERS) else (
            "; ".join(m for m in missing if m.startswith(("private-filesystem", "uid-drop"))) or "no namespaces")
    if _UNISOLATED and not unsafe:
        raise GraderError(f"the Dask worker on {socket.gethostname()} cannot isolate sandboxes ({_UNISOLATED}): run "
                          f"workers as root or where user namespaces are allowed; to grade anyway, pass {UNSAFE_FLAG}")


def grade_chunk(course: str, exercise_files: list[str], submissions: list[Submission], options: Options,
                version: str, unsafe: bool = False) -> list[SubmissionResult]:
    """A task: grade a chunk of submissions against the course the plugin `course` wrote here."""
    mine = grader_version()
    if mine != version:
        raise GraderError(f"the Dask worker on {socket.gethostname()} runs grader {mine}, the client {version}: "
                          "install the same grader on every worker")
    with _ONE_SESSION:
        try:
            folder = _COURSES.get(course)
            if folder is None:
                raise GraderError(f"a Dask worker has no copy of the course ({course}): its plugin did not run "
                                  "there, or the batch has ended")
            exercises = [load_exercise(folder / COURSE / rel) for rel in exercise_files]
            templates = folder / TEMPLATES
            options = dataclasses.replace(options, jobs=1, templates=templates if templates.is_dir() else None)
            _refuse_unisolated(unsafe)
            results = run_session(exercises, submissions, options)
        finally:
            while _STALE:
                shutil.rmtree(_STALE.pop(), ignore_errors=True)
        global _FROZEN
        if not _FROZEN:  # what outlives the first session lives as long as the worker: out of the collector's walks
            _FROZEN = True
            gc.collect()
            gc.freeze()
    return results


# ---------------------------------------------------------------------------- in the client


@dataclass(frozen=True)
class CourseFiles:
    """The files a worker needs to grade: the course (relative to their common folder) and the templates."""

    files: dict[str, bytes]
    exercises: list[str]  # each exercise's file, relative to the course's folder

    @property
    def key(self) -> str:
        h = hashlib.sha256()
        for rel in sorted(self.files):
            h.update(rel.encode() + b"\0" + self.files[rel] + b"\0")
        return h.hexdigest()[:16]


def _course_folders(exercises: list[Exercise | Quiz]) -> set[Path]:
    """The folders of every file an exercise loads: its YAML's (a quiz reads its siblings), the
    solution's and the checks' (they may import their neighbours), for linked exercises too."""
    folders: set[Path] = set()
    code: list[Exercise] = []
    for ex in exercises:
        folders.add(ex.source_path.parent)
        if isinstance(ex, Quiz):
            code += ex.linked.values()
        else:
            code.append(ex)
    for ex in code:
        folders.add(ex.source_path.parent)
        folders.add(ex.solution_path.parent)
        if ex.checks_path is not None:
            folders.add(ex.checks_path.parent)
    return {f.resolve() for f in folders}


def _files_under(folder: Path) -> Iterator[Path]:
    for d, dirs, names in os.walk(folder):
        dirs[:] = sorted(x for x in dirs if x != "__pycache__" and not x.startswith("."))
        for name in sorted(names):
            path = Path(d, name)
            if path.is_file() and not name.endswith((".pyc", ".pyo")):
                yield path


def pack_course(exercises: list[Exercise | Quiz], templates: Path | None) -> CourseFiles:
    """Read the course (and the teacher's templates) into bytes, laid out as on this machine."""
    folders = _course_folders(exercises)
    root = Path(os.path.commonpath([str(f) for f in folders]))
    files: dict[str, bytes] = {}
    size = 0
    sources = [(f, f"{COURSE}/{f.relative_to(root)}") for folder in sorted(folders) for f in _files_under(folder)]
    if templates is not None:
        sources += [(f, f"{TEMPLATES}/{f.relative_to(templates)}") for f in _files_under(templates)]
    for path, rel in sources:
        try:
            data = path.read_bytes()
        except OSError as e:
            raise GraderError(f"{path}: cannot read it to send to the Dask workers ({e.strerror})") from None
        size += len(data)
        if size > MAX_COURSE_BYTES:
            raise GraderError(f"{path.parent}: the course folders hold more than {MAX_COURSE_BYTES >> 20} MB; "
                              "keep only the course's files beside its exercises, solutions and checks")
        files[rel] = data
    return CourseFiles(files, [str(ex.source_path.resolve().relative_to(root)) for ex in exercises])


def check_scheduler(scheduler: str) -> None:
    """Refuse, before anything starts, a --scheduler that is neither local:N nor an address."""
    local = LOCAL.fullmatch(scheduler)
    if local is not None and not 1 <= int(local.group(1)) <= 256:
        raise GraderError(f"--scheduler {scheduler}: expected local:N with N from 1 to 256 workers")
    if local is None and not ADDRESS.fullmatch(scheduler):
        raise GraderError(f"--scheduler {scheduler}: expected a scheduler's address (tcp://host:8786) or local:N")


def local_cluster(workers: int, env: dict[str, str] | None = None) -> LocalCluster:
    """N worker processes on this machine (with `env` added to their environment), one grading
    thread each, whose scheduler runs a task again once if its worker dies, and gives a worker no
    task beyond the one it runs (a death is then the fault of that task alone)."""
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None  # the workers inherit it
    try:
        with dask.config.set(SCHEDULER_CONFIG):
            return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                                silence_logs=logging.CRITICAL, env=env or {})
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


class IgnoreInterrupt(WorkerPlugin):
    """In a worker of a LocalCluster this command started (one the nanny started again too):
    Ctrl-C, which the terminal sends to the whole group, is for the command; it stops the workers."""

    name = "grader-ignore-interrupt"

    def setup(self, worker: Any) -> None:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextmanager
def connect(scheduler: str) -> Iterator[Client]:
    """A client of the scheduler at ADDRESS, or of a LocalCluster of N worker processes (`local:N`)."""
    check_scheduler(scheduler)
    local = LOCAL.fullmatch(scheduler)
    if local is not None:
        cluster = local_cluster(int(local.group(1)))
        try:
            with Client(cluster) as client:
                client.register_plugin(IgnoreInterrupt())
                yield client
        finally:
            cluster.close()
        return
    try:
        client = Client(scheduler, timeout=20)
    except (OSError, TimeoutError, ValueError) as e:
        raise GraderError(f"--scheduler {scheduler}: cannot reach a Dask scheduler there ({type(e).__name__}: {e}); "
                          "expected ADDRESS (tcp://host:8786) or local:N") from None
    with client:
        yield client


def grade_on_cluster(exercises: list[Exercise | Quiz], submissions: list[Submission], options: Options,
                     scheduler: str, on_result: Callable[[SubmissionResult], None], unsafe: bool = False) -> None:
    """Grade every submission on the cluster; each result goes to `on_result` once, as its chunk ends.
    A worker grades only where its sandboxes are isolated, unless `unsafe`."""
    with connect(scheduler) as client:
        try:
            client.wait_for_workers(1, timeout=60)
        except TimeoutError:
            raise GraderError(f"--scheduler {scheduler}: the scheduler has no workers (start some with "
                              "`dask worker ADDRESS --nthreads 1`)") from None
        workers = len(client.scheduler_info(n_workers=-1)["workers"])
        course = pack_course(exercises, options.templates)
        name = f"grader-course-{course.key}-{uuid.uuid4().hex[:8]}"
        client.register_plugin(CoursePlugin(name, course.files), name=name)
        try:
            _run(client, name, course, exercises, submissions, dataclasses.replace(options, templates=None),
                 workers, on_result, Feedback.shared(options.templates), unsafe)
        finally:
            client.unregister_worker_plugin(name)


def _run(client: Client, course: str, files: CourseFiles, exercises: list[Exercise | Quiz],
         submissions: list[Submission], options: Options, workers: int,
         on_result: Callable[[SubmissionResult], None], feedback: Feedback, unsafe: bool) -> None:
    """Keep a few chunks per worker in flight; a chunk killed with its workers comes back one by one."""
    version = grader_version()
    allowed = int(client.run_on_scheduler(_allowed_failures))
    todo: deque[list[Submission]] = deque(_chunks(submissions, workers))
    finished: set[str] = set()
    in_flight: dict[Future, list[Submission]] = {}
    deaths: dict[str, int] = {}
    run = uuid.uuid4().hex[:8]
    counter = 0
    pending = as_completed()

    def submit() -> None:
        nonlocal counter
        while todo and len(in_flight) < 2 * workers:
            chunk = todo.popleft()
            counter += 1
            future = client.submit(grade_chunk, course, files.exercises, chunk, options, version, unsafe,
                                   key=f"grade-{run}-{counter}", pure=False)
            in_flight[future] = chunk
            pending.add(future)

    try:
        submit()
        for future in pending:
            chunk = in_flight.pop(future)
            if future.status == "finished":
                for result in future.result():
                    if result.path not in finished:
                        finished.add(result.path)
                        on_result(result)
            else:
                error = future.exception()
                if not isinstance(error, KilledWorker):
                    raise error
                left = [s for s in chunk if str(s.path) not in finished]
                for sub in left:
                    deaths[str(sub.path)] = deaths.get(str(sub.path), 0) + allowed + 1
                if len(left) > 1:  # each alone: the next deaths are its own
                    todo.extendleft([s] for s in reversed(left))
                else:
                    for sub in left:
                        finished.add(str(sub.path))
                        on_result(died_result(sub, exercises, deaths[str(sub.path)], feedback))
            future.release()
            submit()
    finally:
        if in_flight:
            client.cancel(list(in_flight))


def _allowed_failures(dask_scheduler: Any) -> int:
    return int(dask_scheduler.allowed_failures)
