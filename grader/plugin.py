"""The pytest plugin: YAML cases become pytest items; custom check modules get fixtures.

The grader runs one pytest session (in its own, trusted process) over many submissions: each
exercise file collects one node per submission and one item per case, custom check functions
are parametrized per submission, items are grouped per submission, and when a submission's last
item has run it is scored (grader.scoring) and handed to the caller. Results come from hooks.

A teacher can debug the hidden checks against one submission with plain pytest:
    pytest exercises/dot-product.yaml --submission examples/submissions/carla
"""

from __future__ import annotations

import inspect
import time
import weakref
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pytest

from .checks import CheckFailure
from .compare import Tolerance, args_text
from .course import load_exercise
from .exercise import Case, Exercise, Solution
from .feedback import Feedback
from .judging import MUTATION_CHECK, check_mutation, failure_of, judge, mutation_result
from .outcome import Outcome, run_trusted
from .quiz import Quiz
from .results import CheckResult, SubmissionResult
from .runs import Batch, ExerciseRun, StudentFunction, SubmissionRun, prepared, too_big
from .sandbox.encoding import Encoded
from .sandbox.host import Limits
from .scoring import finish_submission, safe_result, unjudged_submission
from .submissions import Submission, load_submission

if TYPE_CHECKING:  # what Item.repr_failure may return; pytest exports no public name for it
    from _pytest._code.code import TerminalRepr

SESSION_KEY = pytest.StashKey["GradingSession"]()


class GradingSession:
    """Plugin object for one pytest session over many submissions.

    `lean`: the grader's own session (grading.run_session). A submission's YAML cases run as one
    item, reports carry a one-line message instead of a traceback, custom checks that ask only
    for the grader's fixtures are called directly, and the mutation check is judged when the
    submission finishes. Otherwise (a teacher's `pytest --submission`) every case is a pytest
    item of its own with pytest's full protocol, for debugging the checks.
    """

    def __init__(self, exercises: Sequence[Exercise | Quiz], submissions: list[Submission], limits: Limits,
                 on_result: Callable[[SubmissionResult], None] | None = None,
                 finish: Callable[[SubmissionRun, Sequence[Exercise | Quiz]], SubmissionResult] | None = None,
                 lean: bool = False) -> None:
        self.lean = lean
        self.exercises = exercises  # quizzes too: they are graded when a submission finishes
        code = [ex for ex in exercises if isinstance(ex, Exercise)]
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
        made = prepared(ex)
        if case.name not in made.expected:
            args, kwargs = case.build_arguments()
            made.expected[case.name] = (run_trusted(self.solutions[ex.id].reference, tuple(args), kwargs), args, kwargs)
        return made.expected[case.name]

    def batch(self, ex: Exercise) -> Batch | None:
        """All the exercise's cases and scripted calls as one request (see Batch); None when even
        the cases are too big to travel together (they then go one by one)."""
        made = prepared(ex)
        if made.batch_scripts != len(made.scripts):
            calls: list[list[Any]] = []
            slots: list[tuple[str | None, bytes | None]] = []
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
            if too_big(payload) and len(calls) > cases:  # the cases alone, then
                calls, slots = calls[:cases], slots[:cases]
                payload = Encoded(calls)
            made.batch = None if too_big(payload) else Batch(payload, slots)
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
        if not self.lean or _item_run(item) is None:
            return None
        excinfo = call.excinfo
        if excinfo is not None and excinfo.errisinstance(pytest.skip.Exception):
            return None
        outcome: Literal["passed", "failed"] = "passed" if excinfo is None else "failed"
        assert call.when != "collect", "a runtest phase"
        longrepr = None if excinfo is None else f"{excinfo.typename}: {excinfo.value}"[:2000]
        return pytest.TestReport(item.nodeid, item.location, {}, outcome, longrepr, call.when,
                                 duration=call.duration, start=call.start, stop=call.stop)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
        """The lean session's path for YAML cases: run the item and record its result, no report objects.

        pytest's full protocol (setup, call, teardown, three reports) costs more than the call into
        the sandbox; custom checks, which may use fixtures, keep it. Teacher mode keeps it for all.
        """
        if not self.lean:
            return None
        run = _item_run(item)
        if isinstance(item, CasesItem):
            item.runtest()  # records each case itself
            return True
        if run is None:  # not a check of a submission
            return None
        if isinstance(item, (CaseItem, MutationItem)):
            runtest: Callable[[], Any] = item.runtest
        elif (isinstance(item, pytest.Function) and FAST_CLOSURE.issuperset(item.fixturenames)
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
        if self.lean:  # the mutation check judges every call the exercise made: after its last item
            for ex_run in run.runs.values():
                if ex_run.cases_ran and MUTATION_CHECK not in ex_run.results:
                    ex_run.results[MUTATION_CHECK] = mutation_result(ex_run.exercise, ex_run.calls)
        result = safe_result(self._finish_guarded(run))
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
            return unjudged_submission(run, self.exercises, e)

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


def _default_finish(run: SubmissionRun, exercises: Sequence[Exercise | Quiz]) -> SubmissionResult:
    return finish_submission(run, exercises, Feedback())


# --------------------------------------------------------------------------- collection


class ExerciseFile(pytest.File):
    def __init__(self, *, exercise: Exercise, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.exercise = exercise

    def collect(self) -> Iterator[pytest.Item | pytest.Collector]:
        session: GradingSession = self.config.stash[SESSION_KEY]
        for run in session.runs_for(self.exercise):
            if session.lean:
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
        mutation = MutationItem.from_parent(self, name=MUTATION_CHECK, run=self.run)
        mutation.stash[_RUN] = self.run
        yield mutation


class CaseItem(pytest.Item):
    def __init__(self, *, case: Case, run: ExerciseRun, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case
        self.run = run
        self.check_name = case.name

    def runtest(self) -> None:
        run_case(self.config.stash[SESSION_KEY], self.run, self.case)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str | TerminalRepr:
        if isinstance(excinfo.value, CheckFailure):
            return excinfo.value.message
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.case.line, f"{self.run.exercise.id}[{self.run.submission.submission.id}]: {self.case.name}"


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


class MutationItem(pytest.Item):
    def __init__(self, *, run: ExerciseRun, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.run = run
        self.check_name = MUTATION_CHECK

    def runtest(self) -> None:
        check_mutation(self.run.exercise, self.run.calls)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str | TerminalRepr:
        if isinstance(excinfo.value, CheckFailure):
            return excinfo.value.message
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"{self.run.exercise.id}[{self.run.submission.submission.id}]: {MUTATION_CHECK}"


# --------------------------------------------------------------------------- fixtures and options


FAST_FIXTURES = frozenset({"grader_run", "student", "reference", "rng", "tolerance"})
FAST_CLOSURE = FAST_FIXTURES | {"request"}  # what they need themselves
# weakly: a check module's functions must not outlive its session (see grading.run_session)
_ARGNAMES: weakref.WeakKeyDictionary[Any, tuple[str, ...]] = weakref.WeakKeyDictionary()


def _argnames(func: Callable[..., Any]) -> tuple[str, ...]:
    try:
        return _ARGNAMES[func]
    except (KeyError, TypeError):
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
        config.args.extend(str(ex.checks_path) for ex in exercises if isinstance(ex, Exercise) and ex.checks_path)


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(SESSION_KEY, None)
    if session is not None and config.getoption("grader_submission", None):
        session.finish_all()
