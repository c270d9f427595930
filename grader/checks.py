"""The pytest plugin: YAML cases become pytest items; custom check modules get fixtures.

The grader runs one pytest session (in its own, trusted process) over many submissions: each
exercise file collects one node per submission and one item per case, custom check functions
are parametrized per submission, items are grouped per submission, and when a submission's last
item has run its results are diagnosed and handed to the caller. Results come from hooks.

A teacher can debug the hidden checks against one submission with plain pytest:
    pytest exercises/dot-product.yaml --submission examples/submissions/carla
"""

from __future__ import annotations

import copy
import dataclasses
import pickle
import time
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from .compare import (
    args_text,
    as_array,
    describe_type,
    first_difference,
    fmt,
    fmt_outcome,
    kind_of,
    same_value,
)
from .course import load_exercise
from .exercise import Case, Exercise, Solution, Tolerance
from .outcome import Call, Crashed, Outcome, Raised, Returned, TimedOut, run_trusted
from .results import CheckResult, ExerciseResult, SubmissionResult, unjudged
from .sandbox.host import HOST_LAYERS, Limits, Sandbox
from .sandbox.protocol import Encoded, Opaque, approx_bytes, identical, sent_as_is
from .submissions import Location, Submission, load_submission, locate
from .text import is_safe, safe_fields

SESSION_KEY = pytest.StashKey["GradingSession"]()
MUTATION_CHECK = "does not modify its arguments"
MAX_TIMEOUTS_PER_EXERCISE = 2  # later calls of the exercise are not run: a loop costs its own time only
SECOND_STRIKE = 0.2  # after a timeout, the exercise's other calls get this fraction of the timeout
MAX_CRASHES_PER_EXERCISE = 3
BATCH_ARGUMENT_BYTES = 16 * 1024 * 1024  # an exercise's case arguments travel together up to this size


# --------------------------------------------------------------------------- failures as values


class CheckFailure(Exception):
    """The student's code did not do what the check expects (not a bug in the check)."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class StudentRaised(CheckFailure):
    def __init__(self, raised: Raised, call_text: str = "") -> None:
        where = f" for {call_text}" if call_text else ""
        super().__init__("error", f"raised {raised.describe()}{where}")
        self.raised = raised


def assert_close(got: Any, expected: Any, what: str = "the result", tolerance: Tolerance | None = None) -> None:
    """Fail the check with a message that shows both values, if they differ."""
    tol = tolerance or Tolerance()
    if not same_value(got, expected, tol):
        diff = first_difference(got, expected, tol)
        raise CheckFailure("failed", f"{what}: expected {fmt(expected)}, got {fmt(got)}" + (f"; {diff}" if diff else ""))


# --------------------------------------------------------------------------- runs


class ExerciseRun:
    """One exercise of one submission during the session: its calls and check results."""

    def __init__(self, submission: SubmissionRun, exercise: Exercise, location: Location) -> None:
        self.submission = submission
        self.exercise = exercise
        self.location = location
        self.calls: list[Call] = []
        self.results: dict[str, CheckResult] = {}
        self.load_problem: str | None = None
        self.timeouts = 0
        self.crashes: list[Crashed] = []
        self.prefetched: dict[str, tuple[Outcome, Any]] = {}
        self.prefetch_tried = False
        self.cases_ran = False  # its YAML cases item ran (in grading, the mutation check is judged at the end)
        # custom checks' calls answered ahead, by their exact arguments (see Batch), and the calls
        # each custom check made, kept until it passes (then they become its script)
        self.speculated: dict[bytes, list[tuple[Outcome, Any]]] = {}
        self.recording: dict[str, list[tuple[bytes, list, dict]] | None] = {}
        self.answered: set[str] = set()  # custom checks that have had a value back from the student

    def _ready(self) -> Sandbox | Outcome:
        """The loaded sandbox, or the outcome every call gets instead (a load failure raises)."""
        loc = self.location
        if self.timeouts >= MAX_TIMEOUTS_PER_EXERCISE:
            return TimedOut(self.submission.limits.call_timeout)
        if len(self.crashes) >= MAX_CRASHES_PER_EXERCISE:
            return Crashed(f"not run after {len(self.crashes)} crashes: {self.crashes[0].reason}")
        sandbox = self.submission.sandbox()
        if sandbox.gave_up is not None:
            return sandbox.gave_up
        if time.monotonic() >= sandbox.deadline:
            return TimedOut(self.submission.limits.submission_timeout)  # the submission's whole budget is spent
        loaded = sandbox.load(loc.file, loc.module)
        if sandbox.gave_up is not None:
            return sandbox.gave_up
        if not isinstance(loaded, Returned):
            if isinstance(loaded, Raised) and loaded.where:
                loaded = dataclasses.replace(loaded, where=self.submission.submission.place(loaded.where))
            self.load_problem = _load_message(loc.origin or loc.file, loaded)
            raise CheckFailure("timeout" if isinstance(loaded, TimedOut) else "error", self.load_problem)
        return sandbox

    def call(self, args: tuple | list, kwargs: dict, check: str, visible: bool, fresh: bool = False) -> Outcome:
        """Call the student's function in the sandbox and record the call.

        `fresh` arguments belong to nobody else (a case's are shared read-only and a sandbox
        only ever gets a serialized copy), so they need no defensive copy for the record.
        """
        if fresh and check in self.prefetched:  # only a YAML case (fresh arguments) has a prefetched answer
            outcome, after = self.prefetched.pop(check)
            return self._record(args, kwargs, check, visible, outcome, after, case=True)
        if not fresh:
            sent_args, sent_kwargs = copy.deepcopy(list(args)), copy.deepcopy(dict(kwargs))
            key = self._remember(check, sent_args, sent_kwargs)
            answered = self.speculated.get(key) if key is not None else None
            if answered and self.timeouts < MAX_TIMEOUTS_PER_EXERCISE and len(self.crashes) < MAX_CRASHES_PER_EXERCISE:
                # the same call, with the same arguments, was made in the exercise's batch
                outcome, after = answered.pop(0)
                return self._record(sent_args, sent_kwargs, check, visible, outcome, after)
        sandbox = self._ready()
        if not isinstance(sandbox, Sandbox):
            return sandbox
        if fresh:
            sent_args, sent_kwargs = list(args), dict(kwargs)
        loc = self.location
        # A function that looped once gets a short fuse: a loop everywhere costs about one timeout,
        # while one that loops on a single input still answers its other cases in microseconds.
        limit = self.submission.limits.call_timeout
        timeout = max(0.05, limit * SECOND_STRIKE) if self.timeouts else limit
        outcome, after = sandbox.call(loc.file, loc.module, self.exercise.function.name, tuple(args), kwargs, timeout)
        return self._record(sent_args, sent_kwargs, check, visible, outcome, after, case=fresh)

    def prefetch(self, batch: Batch) -> None:
        """Send the exercise's batch to the sandbox in one request: the YAML cases' calls (items
        then take their outcome) and the custom checks' scripted calls (see Batch)."""
        sandbox = self._ready()
        if not isinstance(sandbox, Sandbox):
            return
        loc = self.location
        replies = sandbox.call_batch(loc.file, loc.module, self.exercise.function.name, batch.payload, len(batch.slots))
        for (case, key), reply in zip(batch.slots, replies, strict=False):
            # a timeout or crash ends the batch: later calls run one by one
            if case is not None:
                self.prefetched[case] = reply
            else:
                self.speculated.setdefault(key, []).append(reply)

    def _remember(self, check: str, args: list, kwargs: dict) -> bytes | None:
        """The call's exact identity (None if it has none), noted for the check's script until it has one."""
        key = call_key(args, kwargs)
        if _prepared(self.exercise).scripts.get(check) is None and check not in self.answered:
            # Only calls made before the check saw any of the student's results: later arguments may
            # be made from them, and a script carries them into every later student's sandbox.
            calls = self.recording.setdefault(check, [])
            if calls is not None:
                self.recording[check] = None if key is None else [*calls, (key, args, kwargs)]
        return key

    def check_done(self, check: str, passed: bool) -> None:
        """A custom check that passed with calls of exact identity leaves them as its script."""
        calls = self.recording.pop(check, None)
        if passed and calls:
            _prepared(self.exercise).add_script(check, calls)

    def _record(self, sent_args: list | tuple, sent_kwargs: dict, check: str, visible: bool,
                outcome: Outcome, after: Any, case: bool = False) -> Outcome:
        mutated: tuple[str, ...] = ()
        if after:  # the arguments the sandbox says the call changed, with their values after it: judged here
            c_args, c_kwargs = after
            params = self.exercise.function.params
            mutated = tuple(params[i] if i < len(params) else f"arg{i}" for i in sorted(c_args)
                            if 0 <= i < len(sent_args) and not identical(sent_args[i], c_args[i]))
            mutated += tuple(k for k in sent_kwargs if k in c_kwargs and not identical(sent_kwargs[k], c_kwargs[k]))
        if isinstance(outcome, Raised) and outcome.where:  # a notebook's module: the cell and line
            outcome = dataclasses.replace(outcome, where=self.submission.submission.place(outcome.where))
        if isinstance(outcome, TimedOut):
            self.timeouts += 1
        elif isinstance(outcome, Crashed):
            self.crashes.append(outcome)
        kept = outcome
        if isinstance(outcome, Returned):
            size = approx_bytes(outcome.value)
            if self.submission.retained + size > RETAINED_BYTES:  # judged, not kept for the diagnosis
                kept = Returned(Opaque("result not kept", f"about {size >> 20} MB, over the submission's budget"))
            else:
                self.submission.retained += size
        self.calls.append(Call(check, visible, tuple(sent_args), dict(sent_kwargs), kept, mutated, case))
        if not case:
            self.answered.add(check)
        return outcome


def _load_message(file: str, outcome: Outcome) -> str:
    if isinstance(outcome, Raised):
        if outcome.is_a("SystemExit"):
            return f"importing {file} called sys.exit() ({outcome.where or file})"
        return f"importing {file} failed: {outcome.describe()}"
    if isinstance(outcome, TimedOut):
        return f"importing {file} did not finish within {outcome.seconds:g} s"
    if isinstance(outcome, Crashed):
        return f"importing {file} failed: {outcome.reason}"
    return f"importing {file} failed"


# Bytes of a submission's results the grader keeps for the diagnosis (the rest is judged and let go):
# a submission returning a 30 MB array from every call must not hold gigabytes of the grader's memory.
RETAINED_BYTES = 64 << 20


class SubmissionRun:
    def __init__(self, submission: Submission, exercises: list[Exercise], limits: Limits) -> None:
        self.submission = submission
        self.limits = limits
        self.retained = 0  # bytes of results kept in its calls (see RETAINED_BYTES)
        self._sandbox: Sandbox | None = None
        self.started: float | None = None  # perf_counter at its first check
        self.runs: dict[str, ExerciseRun] = {}
        self.locations: dict[str, Location] = {}
        wanted = frozenset(ex.function.name for ex in exercises if ex.kind == "code")
        for ex in exercises:
            if ex.kind != "code":
                continue
            loc = locate(submission, ex, wanted)
            self.locations[ex.id] = loc
            if loc.status == "found":
                self.runs[ex.id] = ExerciseRun(self, ex, loc)

    def sandbox(self) -> Sandbox:
        if self._sandbox is None:
            self._sandbox = Sandbox(self.submission.file_map(), self.limits)
            # every module the checks will need, imported with one request
            self._sandbox.load_many([(r.location.file, r.location.module) for r in self.runs.values()])
        return self._sandbox

    def kill(self) -> None:
        """End the sandbox now; close() then collects what it printed."""
        if self._sandbox is not None:
            self._sandbox.kill()

    def close(self) -> tuple[str, str, tuple[str, ...]]:
        """Stop the sandbox; its captured output and the isolation layers it had."""
        if self._sandbox is None:
            return "", "", ()
        self._sandbox.close()
        sb = self._sandbox
        return sb.stdout, sb.stderr, (tuple(HOST_LAYERS) + tuple(sb.layers)) if sb.layers else ()


class StudentFunction:
    """The `student` fixture: calls go to the sandbox and are recorded for diagnosis."""

    def __init__(self, run: ExerciseRun, check: str, visible: bool) -> None:
        self._run, self._check, self._visible = run, check, visible
        self.__name__ = run.exercise.function.name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        outcome = self._run.call(args, kwargs, self._check, self._visible)
        if isinstance(outcome, Returned):
            return outcome.value
        text = args_text(self._run.exercise.function.params, args, kwargs)
        if isinstance(outcome, Raised):
            raise StudentRaised(outcome, text)
        if isinstance(outcome, TimedOut):
            raise CheckFailure("timeout", f"no answer within {outcome.seconds:g} s for {text}")
        raise CheckFailure("error", f"{outcome.reason} for {text}")


# --------------------------------------------------------------------------- the session plugin


class Batch:
    """An exercise's calls for one request, encoded once for every sandbox of a process.

    First the YAML cases, then the calls its custom checks made against a submission that passed
    them (their scripts). A custom check's arguments usually come from its seeded generator, the
    same for every submission: its calls can then be answered in the batch, and a check whose
    call has exactly the same arguments (the same encoding: types, values, bits) takes that
    answer instead of a round trip of its own. A call with other arguments (say, made from the
    student's own earlier result) runs as usual. `slots` says, per call, which case it answers
    (case name, None) or which call (None, call key).
    """

    __slots__ = ("payload", "slots")

    def __init__(self, payload: Encoded, slots: list[tuple[str | None, bytes | None]]) -> None:
        self.payload = payload
        self.slots = slots


MAX_SCRIPTED_CALLS = 200  # per exercise: custom checks' calls made ahead in its batch


def call_key(args: list, kwargs: dict) -> bytes | None:
    """A call's exact identity: its arguments pickled (types, values, bits, dtypes and shapes), so
    equal keys mean equal arguments and the sandbox gets the same encoding of them; None where the
    encoding is a note two different values could share (see protocol.sent_as_is)."""
    if not (sent_as_is(args) and sent_as_is(kwargs)):
        return None
    try:
        return pickle.dumps((args, kwargs), protocol=4)
    except Exception:  # noqa: BLE001  (no key: the call just makes its own round trip)
        return None


class _Prepared:
    """What grading an exercise needs from the trusted side, the same for every submission."""

    def __init__(self, exercise: Exercise) -> None:
        self.exercise = exercise  # held, so that its id is not reused while this entry lives
        self.expected: dict[str, tuple[Outcome, list, dict]] = {}  # case name -> reference outcome, args, kwargs
        self.scripts: dict[str, list[tuple[bytes, list, dict]]] = {}  # custom check -> its calls (key, args, kwargs)
        self.batch: Batch | None = None
        self.batch_scripts = -1  # how many scripts the batch holds (-1: not built yet)

    def add_script(self, check: str, calls: list[tuple[bytes, list, dict]]) -> None:
        if check not in self.scripts and sum(map(len, self.scripts.values())) + len(calls) <= MAX_SCRIPTED_CALLS:
            self.scripts[check] = calls


def _too_big(payload: Encoded) -> bool:
    return sum(len(b) for b in payload.buffers) > BATCH_ARGUMENT_BYTES or '{"toolarge":' in payload.json


_PREPARED: dict[int, _Prepared] = {}  # per process: exercises are loaded once per process (load_exercise)


def _prepared(ex: Exercise) -> _Prepared:
    made = _PREPARED.get(id(ex))
    if made is None or made.exercise is not ex:
        made = _PREPARED[id(ex)] = _Prepared(ex)
    return made


class GradingSession:
    """Plugin object for one pytest session over many submissions."""

    def __init__(self, exercises: list[Exercise], submissions: list[Submission], limits: Limits,
                 on_result: Callable[[SubmissionResult], None] | None = None,
                 finish: Callable[[SubmissionRun, list[Exercise]], SubmissionResult] | None = None,
                 fast: bool = False) -> None:
        self.fast = fast
        self.exercises = exercises  # quizzes too: they are graded when a submission finishes
        code = [ex for ex in exercises if ex.kind == "code"]
        self.by_path = {ex.source_path: ex for ex in code}
        self.by_checks = {ex.checks_path: ex for ex in code if ex.checks_path}
        self.solutions: dict[str, Solution] = {ex.id: ex.solution() for ex in code}
        self.limits = limits
        self.runs = {s.id: SubmissionRun(s, exercises, limits) for s in submissions}
        self.order = [s.id for s in submissions]
        self.on_result = on_result
        self.finish_submission = finish or _default_finish
        self.finished: dict[str, SubmissionResult] = {}

    def expected(self, ex: Exercise, case: Case) -> tuple[Outcome, list, dict]:
        """The reference's outcome and the case's arguments, built once per process (a grading
        worker's sessions share them).

        Sharing the argument objects between submissions is safe: a sandbox receives a serialized
        copy, and the trusted side (references, models) works on deep copies.
        """
        made = _prepared(ex)
        if case.name not in made.expected:
            args, kwargs = case.build_arguments()
            made.expected[case.name] = (run_trusted(self.solutions[ex.id].reference, tuple(args), kwargs), args, kwargs)
        return made.expected[case.name]

    def batch(self, ex: Exercise) -> Batch | None:
        """All the exercise's cases and scripted calls as one request (see Batch); None when even
        the cases are too big to travel together (they then go one by one)."""
        made = _prepared(ex)
        if made.batch_scripts != len(made.scripts):
            calls, slots = [], []
            for case in ex.cases:
                _, args, kwargs = self.expected(ex, case)
                calls.append([list(args), dict(kwargs)])
                slots.append((case.name, None))
            cases = len(calls)
            for script in made.scripts.values():
                for key, args, kwargs in script:
                    calls.append([args, kwargs])
                    slots.append((None, key))
            payload = Encoded(calls)
            if _too_big(payload) and len(calls) > cases:  # the cases alone, then
                calls, slots = calls[:cases], slots[:cases]
                payload = Encoded(calls)
            made.batch = None if _too_big(payload) else Batch(payload, slots)
            made.batch_scripts = len(made.scripts)
        return made.batch

    def runs_for(self, ex: Exercise) -> Iterator[ExerciseRun]:
        for sid in self.order:
            run = self.runs[sid].runs.get(ex.id)
            if run is not None:
                yield run

    # ---------------------------------------------------------------- hooks

    @pytest.hookimpl(tryfirst=True)
    def pytest_collect_file(self, file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
        ex = self.by_path.get(file_path.resolve())
        if ex is not None:
            return ExerciseFile.from_parent(parent, path=file_path, exercise=ex)
        return None

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        ex = self.by_checks.get(Path(metafunc.definition.path).resolve())
        if ex is None or "grader_run" not in metafunc.fixturenames:
            return
        runs = list(self.runs_for(ex))
        metafunc.parametrize("grader_run", runs, ids=[r.submission.submission.id for r in runs], indirect=True)

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        position = {sid: i for i, sid in enumerate(self.order)}
        ex_index = {ex.id: i for i, ex in enumerate(self.exercises)}
        keep = []
        for n, item in enumerate(items):
            run = _item_run(item)
            if run is None:
                continue
            kind = 2 if isinstance(item, MutationItem) else (0 if isinstance(item, (CaseItem, CasesItem)) else 1)
            item.stash[_SORT] = (position[run.submission.submission.id], ex_index[run.exercise.id], kind, n)
            keep.append(item)
        keep.sort(key=lambda it: it.stash[_SORT])
        items[:] = keep

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo) -> Any:
        report = yield
        run = _item_run(item)
        if run is None or call.when == "teardown" or (call.when == "setup" and report.passed):
            return report
        self._record(item, run, None if report.passed else call.excinfo, failed=not report.passed)
        return report

    @pytest.hookimpl(tryfirst=True, specname="pytest_runtest_makereport")
    def pytest_runtest_makereport_lean(self, item: pytest.Item, call: pytest.CallInfo) -> pytest.TestReport | None:
        """In grading, a failed check's report carries our one-line message, not a formatted traceback.

        Formatting pytest's traceback (with source) costs tens of milliseconds per failure and is
        never shown: the message comes from the exception (see _failure).
        """
        if not self.fast or _item_run(item) is None:
            return None
        excinfo = call.excinfo
        if excinfo is not None and excinfo.errisinstance(pytest.skip.Exception):
            return None
        outcome = "passed" if excinfo is None else "failed"
        longrepr = None if excinfo is None else f"{excinfo.typename}: {excinfo.value}"[:2000]
        return pytest.TestReport(item.nodeid, item.location, {}, outcome, longrepr, call.when,
                                 duration=call.duration, start=call.start, stop=call.stop)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
        """Grading's own fast path for YAML cases: run the item and record its result, no report objects.

        pytest's full protocol (setup, call, teardown, three reports) costs more than the call into
        the sandbox; custom checks, which may use fixtures, keep it. Teacher mode keeps it for all.
        """
        if not self.fast:
            return None
        run = _item_run(item)
        if isinstance(item, CasesItem):
            item.runtest()  # records each case itself
            return True
        if isinstance(item, (CaseItem, MutationItem)):
            runtest: Callable[[], Any] = item.runtest
        elif (run is not None and isinstance(item, pytest.Function) and FAST_CLOSURE.issuperset(item.fixturenames)
              and FAST_FIXTURES.issuperset(_argnames(item.obj))):
            # A custom check that asks only for the grader's own fixtures: called directly with them
            # (pytest's setup and teardown cost more than the check); any other fixture takes the full protocol.
            obj = item.obj
            runtest = lambda: obj(**{name: _fixture_value(name, item, run) for name in _argnames(obj)})  # noqa: E731
        else:
            return None
        try:
            runtest()
            excinfo = None
        except Exception:
            excinfo = pytest.ExceptionInfo.from_current()
        self._record(item, run, excinfo, failed=excinfo is not None)
        return True

    def _record(self, item: pytest.Item, run: ExerciseRun, excinfo: pytest.ExceptionInfo | None, failed: bool) -> None:
        visibility, points = _item_meta(item)
        name = _check_name(item)
        run.check_done(name, passed=not failed)
        if not failed:
            result = CheckResult(name, "passed", points, points, visibility)
        else:
            status, message = _failure(excinfo, run)
            result = CheckResult(name, status, 0.0, points, visibility, message)
        run.results[name] = result

    @pytest.hookimpl(wrapper=True, specname="pytest_runtest_protocol")
    def pytest_runtest_protocol_around(self, item: pytest.Item, nextitem: pytest.Item | None) -> Any:
        run = _item_run(item)
        if run is not None and run.submission.started is None:
            run.submission.started = time.perf_counter()
        result = yield
        following = _item_run(nextitem) if nextitem is not None else None
        if run is not None and (following is None or following.submission is not run.submission):
            self.finish(run.submission.submission.id)
        return result

    def finish(self, sid: str) -> SubmissionResult:
        if sid in self.finished:
            return self.finished[sid]
        run = self.runs[sid]
        if self.fast:  # the mutation check judges every call the exercise made: after its last item
            for ex_run in run.runs.values():
                if ex_run.cases_ran and MUTATION_CHECK not in ex_run.results:
                    ex_run.results[MUTATION_CHECK] = mutation_result(ex_run)
        result = _safe_result(self._finish_guarded(run))
        for ex_run in run.runs.values():  # the calls served the diagnosis; do not keep them for the session
            ex_run.calls = []
            ex_run.prefetched = {}
            ex_run.speculated = {}
            ex_run.recording = {}
            ex_run.answered = set()
        self.finished[sid] = result
        if self.on_result is not None:
            self.on_result(result)
        return result

    def _finish_guarded(self, run: SubmissionRun) -> SubmissionResult:
        """The submission's result; if the grader's own code fails on it, a result that says so
        for each exercise (the rest of the session goes on)."""
        try:
            return self.finish_submission(run, self.exercises)
        except Exception as e:  # noqa: BLE001  (the boundary: one submission, never the class)
            try:
                stdout, stderr, layers = run.close()
            except Exception:  # noqa: BLE001
                stdout, stderr, layers = "", "", ()
            sub = run.submission
            exercises = tuple(unjudged(ex.id, ex.title, ex.points, e) for ex in self.exercises)
            return SubmissionResult(sub.id, str(sub.path), exercises, stdout=stdout, stderr=stderr,
                                    warnings=sub.problems, sandbox=layers, meta=sub.meta)

    def finish_all(self) -> list[SubmissionResult]:
        """Results in submission order; grades those that had no items; closes every sandbox."""
        try:
            for sid in self.order:
                self.finish(sid)
        finally:
            for run in self.runs.values():
                run.close()
        return [self.finished[sid] for sid in self.order]


_SORT = pytest.StashKey[tuple]()
_RUN = pytest.StashKey[ExerciseRun]()


def _item_run(item: pytest.Item | None) -> ExerciseRun | None:
    if item is None:
        return None
    if _RUN in item.stash:
        return item.stash[_RUN]
    callspec = getattr(item, "callspec", None)
    if callspec is not None and isinstance(callspec.params.get("grader_run"), ExerciseRun):
        item.stash[_RUN] = callspec.params["grader_run"]
        return item.stash[_RUN]
    return None


def _item_meta(item: pytest.Item) -> tuple[str, float]:
    if isinstance(item, CaseItem):
        return item.case.visibility, item.case.points
    if isinstance(item, MutationItem):
        return "visible", item.run.exercise.mutation_points
    points = item.get_closest_marker("points")
    vis = item.get_closest_marker("visibility")
    return (vis.args[0] if vis else "hidden"), float(points.args[0]) if points else 1.0


def _check_name(item: pytest.Item) -> str:
    if isinstance(item, (CaseItem, MutationItem)):
        return item.check_name
    fn = getattr(item, "originalname", item.name)
    doc = (getattr(item, "obj", None).__doc__ or "").strip().splitlines()
    return doc[0].rstrip(".") if doc else fn


def _failure(excinfo: pytest.ExceptionInfo | None, run: ExerciseRun) -> tuple[str, str]:
    if excinfo is None:
        return "error", "the check did not run"
    return failure_of(excinfo.value)


def failure_of(e: BaseException) -> tuple[str, str]:
    """A failed check's status and one-line message, from what it raised."""
    if isinstance(e, CheckFailure):
        return e.status, e.message
    if isinstance(e, AssertionError):
        text = str(e).split("\nassert ")[0].strip() or "an assertion failed"
        return "failed", text
    return "error", f"the check itself failed ({type(e).__name__}: {e}); this is a bug in the exercise, not in your code"


def _safe_result(result: SubmissionResult) -> SubmissionResult:
    """Every text of the result made safe (see text.safe) but its path, which callers match on.
    Text from a sandbox is made safe where it arrives: this is the last look, walked in full only
    when something in it is not safe."""
    texts = [result.id, result.stdout, result.stderr, *result.warnings, *(str(v) for _, v in result.meta)]
    for ex in result.exercises:
        texts += [ex.file or "", ex.message, ex.observation, ex.feedback, *(c.message for c in ex.checks),
                  *(m.evidence + m.explanation for m in ex.misconceptions)]
    if is_safe("\n".join(texts)):
        return result
    return dataclasses.replace(safe_fields(dataclasses.replace(result, path="")), path=result.path)


def _default_finish(run: SubmissionRun, exercises: list[Exercise]) -> SubmissionResult:
    from .feedback import Feedback
    from .grading import finish_submission

    return finish_submission(run, exercises, Feedback())


# --------------------------------------------------------------------------- collection


class ExerciseFile(pytest.File):
    def __init__(self, *, exercise: Exercise, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.exercise = exercise

    def collect(self) -> Iterator[pytest.Node]:
        session: GradingSession = self.config.stash[SESSION_KEY]
        for run in session.runs_for(self.exercise):
            if session.fast:
                # grading: one item a submission runs its cases (each still has its own result); the
                # mutation check is judged when the submission finishes (GradingSession.finish).
                # pytest's per-node work (a collector, two items) cost more than the cases.
                item = CasesItem.from_parent(self, name=run.submission.submission.id, run=run)
                item.stash[_RUN] = run
                yield item
            else:
                yield SubmissionCases.from_parent(self, name=run.submission.submission.id, run=run)


class SubmissionCases(pytest.Collector):
    def __init__(self, *, run: ExerciseRun, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.run = run

    def collect(self) -> Iterator[pytest.Item]:
        """A teacher's pytest run: an item per case, and the mutation check."""
        for case in self.run.exercise.cases:
            item = CaseItem.from_parent(self, name=case.name, case=case, run=self.run)
            item.stash[_RUN] = self.run
            yield item
        item = MutationItem.from_parent(self, name=MUTATION_CHECK, run=self.run)
        item.stash[_RUN] = self.run
        yield item


class CaseItem(pytest.Item):
    def __init__(self, *, case: Case, run: ExerciseRun, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case
        self.run = run
        self.check_name = case.name

    def runtest(self) -> None:
        run_case(self.config.stash[SESSION_KEY], self.run, self.case)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CheckFailure):
            return excinfo.value.message
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.case.line, f"{self.run.exercise.id}[{self.parent.name}]: {self.case.name}"


def run_case(session: GradingSession, run: ExerciseRun, case: Case) -> None:
    """One YAML case: the student's outcome (pipelined with the exercise's other cases), judged."""
    ex = run.exercise
    expected, args, kwargs = session.expected(ex, case)
    if not run.prefetch_tried:
        run.prefetch_tried = True
        batch = session.batch(ex)
        if batch is not None:
            run.prefetch(batch)
    got = run.call(args, kwargs, case.name, case.visibility == "visible", fresh=True)
    judge(got, expected, case, ex, lambda: args_text(ex.function.params, args, kwargs))


class CasesItem(pytest.Item):
    """All YAML cases of one exercise for one submission, in a batch: pytest's per-item work
    (a node, a protocol) would cost more than the cases themselves. Each case's result is
    recorded as its own check, exactly as a CaseItem's would be."""

    def __init__(self, *, run: ExerciseRun, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.run = run

    def runtest(self) -> None:
        session: GradingSession = self.config.stash[SESSION_KEY]
        self.run.cases_ran = True
        for case in self.run.exercise.cases:
            try:
                run_case(session, self.run, case)
                self.run.results[case.name] = CheckResult(case.name, "passed", case.points, case.points, case.visibility)
            except Exception as e:  # noqa: BLE001  (a check's own bug is reported as such, per case)
                status, message = failure_of(e)
                self.run.results[case.name] = CheckResult(case.name, status, 0.0, case.points, case.visibility, message)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"{self.run.exercise.id}[{self.run.submission.submission.id}]: cases"


def judge(got: Outcome, expected: Outcome, case: Case, ex: Exercise, text: Callable[[], str]) -> None:
    """Pass silently or raise CheckFailure saying what was expected and what came back."""
    if case.raises:
        if isinstance(got, Raised) and got.is_a(case.raises):
            return
    elif isinstance(got, Returned) and isinstance(expected, Returned) and same_value(got.value, expected.value, ex.tolerance):
        return
    call = f"{ex.function.name}({text()})"  # formatted only when something is wrong
    if case.raises:
        if isinstance(got, Returned):
            raise CheckFailure("failed", f"{call} should raise {case.raises}, but it returned {fmt(got.value)}")
    elif isinstance(got, Returned):
        if isinstance(expected, Returned):
            e, g = expected.value, got.value
            message = f"{call}: expected {fmt(e)}, got {fmt(g)}"
            if kind_of(g) != kind_of(e):
                message += f" ({describe_type(g)} where {describe_type(e)} is due)"
            else:
                gs, es = as_array(g), as_array(e)
                if gs is not None and es is not None and gs.shape != es.shape:
                    message += f" (shape {gs.shape} where {es.shape} is due)"
            diff = first_difference(g, e, ex.tolerance)
            raise CheckFailure("failed", message + (f"; {diff}" if diff else ""))
        raise CheckFailure("failed", f"{call}: the reference raised {fmt_outcome(expected)}; the check is broken")
    if isinstance(got, Raised):
        want = f"expected {case.raises}" if case.raises else "expected a result"
        raise CheckFailure("error" if not case.raises else "failed", f"{call} raised {got.describe()}; {want}")
    if isinstance(got, TimedOut):
        raise CheckFailure("timeout", f"{call} gave no answer within {got.seconds:g} s")
    raise CheckFailure("error", f"{call}: {fmt_outcome(got)}")


def check_mutation(run: ExerciseRun) -> None:
    """The mutation check: raise CheckFailure if a call changed its arguments (or none returned)."""
    calls = run.calls
    for c in calls:
        if c.mutated:
            names = ", ".join(f"`{n}`" for n in c.mutated)
            raise CheckFailure("failed", f"modified its argument {names} in the call {run.exercise.function.name}({args_text(run.exercise.function.params, c.args, dict(c.kwargs))})")
    if not any(isinstance(c.outcome, Returned) for c in calls):
        raise CheckFailure("failed", "could not be checked: no call returned normally")


def mutation_result(run: ExerciseRun) -> CheckResult:
    """The mutation check's result, as its item would record it."""
    points = run.exercise.mutation_points
    try:
        check_mutation(run)
    except Exception as e:  # noqa: BLE001  (as an item's failure would be reported)
        status, message = failure_of(e)
        return CheckResult(MUTATION_CHECK, status, 0.0, points, "visible", message)
    return CheckResult(MUTATION_CHECK, "passed", points, points, "visible")


class MutationItem(pytest.Item):
    def __init__(self, *, run: ExerciseRun, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.run = run
        self.check_name = MUTATION_CHECK

    def runtest(self) -> None:
        check_mutation(self.run)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CheckFailure):
            return excinfo.value.message
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"{self.run.exercise.id}[{self.parent.name}]: {MUTATION_CHECK}"


# --------------------------------------------------------------------------- fixtures and options


FAST_FIXTURES = frozenset({"grader_run", "student", "reference", "rng", "tolerance"})
FAST_CLOSURE = FAST_FIXTURES | {"request"}  # what they need themselves
# weakly: a check module's functions must not outlive its session (see grading.run_session)
_ARGNAMES: weakref.WeakKeyDictionary[Any, tuple[str, ...]] = weakref.WeakKeyDictionary()


def _argnames(func: Callable[..., Any]) -> tuple[str, ...]:
    try:
        return _ARGNAMES[func]
    except (KeyError, TypeError):
        import inspect

        names = tuple(inspect.signature(func).parameters)
    try:
        _ARGNAMES[func] = names
    except TypeError:  # not weakly referenceable: not cached
        pass
    return names


def _fixture_value(name: str, item: pytest.Function, run: ExerciseRun) -> Any:
    """What the fixture of that name gives a custom check (see the fixtures below)."""
    if name == "student":
        vis = item.get_closest_marker("visibility")
        return StudentFunction(run, _check_name(item), bool(vis and vis.args[0] == "visible"))
    if name == "reference":
        return run.exercise.solution().reference
    if name == "tolerance":
        return run.exercise.tolerance
    if name == "rng":
        return check_rng(run.exercise.id, item.originalname)
    return run


def check_rng(exercise_id: str, check: str) -> np.random.Generator:
    """A generator seeded by exercise and check, the same for every submission."""
    import zlib

    return np.random.default_rng(zlib.crc32(f"{exercise_id}/{check}".encode()))


@pytest.fixture
def grader_run(request: pytest.FixtureRequest) -> ExerciseRun:
    param = getattr(request, "param", None)
    if not isinstance(param, ExerciseRun):
        pytest.skip("not part of a grading session (run through `grade`, or pytest --submission)")
    return param


@pytest.fixture
def student(grader_run: ExerciseRun, request: pytest.FixtureRequest) -> StudentFunction:
    """The student's function; every call runs in the sandbox and is recorded."""
    return _fixture_value("student", request.node, grader_run)


@pytest.fixture
def reference(grader_run: ExerciseRun, request: pytest.FixtureRequest) -> Callable[..., Any]:
    """The trusted reference implementation of the exercise."""
    return _fixture_value("reference", request.node, grader_run)


@pytest.fixture
def tolerance(grader_run: ExerciseRun, request: pytest.FixtureRequest) -> Tolerance:
    """The exercise's tolerance, for assert_close."""
    return _fixture_value("tolerance", request.node, grader_run)


@pytest.fixture
def rng(grader_run: ExerciseRun, request: pytest.FixtureRequest) -> np.random.Generator:
    """A generator seeded by exercise and check, the same for every submission."""
    return _fixture_value("rng", request.node, grader_run)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("grader")
    group.addoption("--submission", dest="grader_submission", default=None,
                    help="grade this submission (folder or .py) against the exercise YAML files given")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "points(n): points a custom check is worth (default 1)")
    config.addinivalue_line("markers", "visibility(v): visible or hidden (default hidden)")
    path = config.getoption("grader_submission", None)
    if path and SESSION_KEY not in config.stash:
        exercises = [load_exercise(a) for a in config.args if a.endswith((".yaml", ".yml"))]
        session = GradingSession(exercises, [load_submission(path)], Limits())
        config.stash[SESSION_KEY] = session
        config.pluginmanager.register(session, "grader-session")
        config.args.extend(str(ex.checks_path) for ex in exercises if ex.checks_path)


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(SESSION_KEY, None)
    if session is not None and config.getoption("grader_submission", None):
        session.finish_all()


def build_exercise_result(run: ExerciseRun | None, ex: Exercise, location: Location) -> ExerciseResult:
    """Checks to scores and a status (diagnosis and feedback are added by the caller)."""
    if run is None:
        status = location.status if location.status in ("missing", "error") else "missing"
        return ExerciseResult(ex.id, ex.title, status, 0.0, ex.points, message=location.problem or "")
    checks = tuple(run.results.values())
    score = round(sum(c.score for c in checks), 6)
    max_score = round(sum(c.max_score for c in checks), 6)
    if run.load_problem:
        status = "timeout" if "did not finish" in run.load_problem else "error"
    elif all(c.status == "passed" for c in checks):
        status = "passed"
    elif any(c.status == "timeout" for c in checks):
        status = "timeout"
    else:
        status = "failed"
    return ExerciseResult(ex.id, ex.title, status, score, max_score, checks, file=location.origin or location.file,
                          message=run.load_problem or "")
