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
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from . import plugin
from .errors import GraderError
from .exercise import Exercise
from .feedback import Feedback
from .hidden import hidden_paths
from .plugin import SESSION_KEY, GradingSession
from .quiz import Quiz
from .results import SubmissionResult
from .sandbox.host import Limits, prewarm
from .scoring import finish_submission
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


def course_packages(exercises: Sequence[Exercise | Quiz]) -> tuple[str, ...]:
    """The import names of the third-party packages the exercises let students use."""
    return tuple(sorted({p.name for ex in exercises if isinstance(ex, Exercise) for p in ex.packages}))


def _only_files(paths: Iterable[Path]) -> str:
    """`python_files` naming exactly the check modules: pytest rewrites the asserts of those alone.
    (A module whose asserts pytest rewrote keeps the session's configuration, and with it every
    submission of the session, alive for the life of the process.)"""
    return " ".join(shlex.quote(glob.escape(p.name)) for p in paths)


def run_session(exercises: Sequence[Exercise | Quiz], submissions: list[Submission], options: Options,
                on_result: Callable[[SubmissionResult], None] | None = None) -> list[SubmissionResult]:
    """One pytest session over the submissions; results stream to `on_result` as each finishes."""
    options = dataclasses.replace(options, limits=dataclasses.replace(
        options.limits, hide=tuple(sorted(set(options.limits.hide) | set(hidden_paths(exercises, submissions)))),
        packages=course_packages(exercises)))
    code = [ex for ex in exercises if isinstance(ex, Exercise)]
    if code:
        prewarm(options.limits)  # the zygote starts while pytest starts
    feedback = Feedback.shared(options.templates)
    session = GradingSession(exercises, submissions, options.limits, on_result,
                             finish=lambda run, exs: finish_submission(run, exs, feedback), lean=True)
    if not code:  # quizzes only: nothing runs in a sandbox, nothing for pytest to collect
        return session.finish_all()
    args = [str(ex.source_path) for ex in code]
    args += [str(ex.checks_path) for ex in code if ex.checks_path]
    rootdir = os.path.commonpath([os.path.dirname(a) for a in args])
    args += ["-c", str(SESSION_INI), "--rootdir", rootdir, "--confcutdir", rootdir, "--noconftest", "--import-mode=importlib",
             "-p", "no:cacheprovider", "-p", "no:terminal", "-p", "no:capture", "-p", "no:logging",
             "-p", "no:faulthandler", "-p", "no:unraisableexception", "-p", "no:threadexception", "-p", "no:warnings",
             "-o", "python_files=" + _only_files(ex.checks_path for ex in code if ex.checks_path),
             "-W", "ignore::pytest.PytestAssertRewriteWarning"]
    with _no_autoload():
        try:
            exit_code = pytest.main(args, plugins=[_SessionPlugin(session), session, plugin])
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
