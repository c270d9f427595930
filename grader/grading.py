"""Grade submissions in one pytest session: the checks, then scores, diagnosis and feedback.

Each grading worker (a trusted process) runs one pytest session over a chunk of submissions;
each submission's code runs in its own sandbox process started clean.
"""

from __future__ import annotations

import dataclasses
import glob
import os
import shlex
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from . import checks
from .checks import SESSION_KEY, GradingSession, SubmissionRun, build_exercise_result
from .diagnosis import diagnose
from .errors import GraderError
from .exercise import Exercise
from .feedback import Feedback, md_escape
from .hidden import hidden_paths
from .quiz import grade_quiz
from .results import ExerciseResult, SubmissionResult, describe_error, unjudged
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


def course_packages(exercises: list[Exercise]) -> tuple[str, ...]:
    """The import names of the third-party packages the exercises let students use."""
    return tuple(sorted({p.name for ex in exercises if isinstance(ex, Exercise) for p in ex.packages}))


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
        options.limits, hide=tuple(sorted(set(options.limits.hide) | set(hidden_paths(exercises, submissions)))),
        packages=course_packages(exercises)))
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


_CLEANING = False  # in a grading worker: sandboxes are being stopped; a stop request waits for that
_STOP_REQUESTED = False


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
    out = [_judge(run, ex, feedback) for ex in exercises]
    sub = run.submission
    stdout, stderr, layers = run.close()
    return SubmissionResult(sub.id, str(sub.path), tuple(out), stdout=stdout, stderr=stderr,
                            warnings=sub.problems, seconds=time.perf_counter() - started, sandbox=layers,
                            meta=sub.meta)


def _judge(run: SubmissionRun, ex: Exercise, feedback: Feedback) -> ExerciseResult:
    """One exercise's result. Whatever the submission sent, a failure of the grader's own code
    here (comparing, diagnosing, rendering) stays this exercise's: the checks' scores stand when
    only the diagnosis failed, anything earlier makes the exercise an error that says why."""
    try:
        if ex.kind == "quiz":
            result = grade_quiz(ex, run.submission.id, run.submission.answers_text(ex.answers_file), feedback)
            return dataclasses.replace(result, feedback=_render_exercise(feedback, result, "answers"))
        ex_run = run.runs.get(ex.id)
        result = build_exercise_result(ex_run, ex, run.locations[ex.id])
    except Exception as e:  # noqa: BLE001  (the boundary: one exercise, never the class)
        return _unjudged(ex, e, feedback)
    if ex_run is not None and result.status != "passed":
        try:
            named, observation = diagnose(ex, ex.solution(), ex_run.calls, feedback)
        except Exception as e:  # noqa: BLE001
            named, observation = [], f"The grader could not diagnose this result ({describe_error(e)})."
        result = dataclasses.replace(result, misconceptions=tuple(named), observation=observation)
    try:
        return dataclasses.replace(result, feedback=_render_exercise(feedback, result, ex.function.name))
    except Exception as e:  # noqa: BLE001
        return _unjudged(ex, e, feedback)


def _unjudged(ex: Exercise, e: BaseException, feedback: Feedback) -> ExerciseResult:
    result = unjudged(ex.id, ex.title, ex.points, e)
    try:
        text = _render_exercise(feedback, result, ex.function.name if ex.kind == "code" else "answers")
    except Exception:  # noqa: BLE001  (the templates themselves fail: the message alone)
        text = f"**{md_escape(ex.title)}**: {md_escape(result.message)}"
    return dataclasses.replace(result, feedback=text)


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
