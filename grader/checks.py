"""What a course's check module imports: assert a result is close, fail with a message.

A custom check (`checks/*.py` beside the exercises) is a pytest test function that asks for the
fixtures `student` (the student's function, run in the sandbox), `reference`, `tolerance` and
`rng`; grader.plugin provides them. Failing with CheckFailure (or a plain assert) gives the
student a one-line message instead of a traceback.
"""

from __future__ import annotations

from typing import Any

from .compare import Tolerance, describe_type, first_difference, fmt, same_value
from .outcome import Raised

__all__ = ["CheckFailure", "StudentRaised", "Tolerance", "assert_close", "describe_type"]


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
