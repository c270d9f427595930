"""Judging one call: the student's outcome against the reference's, and the mutation check."""

from __future__ import annotations

from collections.abc import Callable

from .checks import CheckFailure
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
from .exercise import Case, Exercise
from .outcome import Call, Outcome, Raised, Returned, TimedOut
from .results import CheckResult

MUTATION_CHECK = "does not modify its arguments"


def failure_of(e: BaseException) -> tuple[str, str]:
    """A failed check's status and one-line message, from what it raised."""
    if isinstance(e, CheckFailure):
        return e.status, e.message
    if isinstance(e, AssertionError):
        text = str(e).split("\nassert ")[0].strip() or "an assertion failed"
        return "failed", text
    return "error", f"the check itself failed ({type(e).__name__}: {e}); this is a bug in the exercise, not in your code"


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


def check_mutation(ex: Exercise, calls: list[Call]) -> None:
    """The mutation check: raise CheckFailure if a call changed its arguments (or none returned)."""
    for c in calls:
        if c.mutated:
            names = ", ".join(f"`{n}`" for n in c.mutated)
            raise CheckFailure("failed", f"modified its argument {names} in the call {ex.function.name}({args_text(ex.function.params, c.args, dict(c.kwargs))})")
    if not any(isinstance(c.outcome, Returned) for c in calls):
        raise CheckFailure("failed", "could not be checked: no call returned normally")


def mutation_result(ex: Exercise, calls: list[Call]) -> CheckResult:
    """The mutation check's result, as its item would record it."""
    points = ex.mutation_points
    try:
        check_mutation(ex, calls)
    except Exception as e:  # noqa: BLE001  (as an item's failure would be reported)
        status, message = failure_of(e)
        return CheckResult(MUTATION_CHECK, status, 0.0, points, "visible", message)
    return CheckResult(MUTATION_CHECK, "passed", points, points, "visible")
