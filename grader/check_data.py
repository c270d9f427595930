"""The numbers a failing visible check keeps for its picture (see grader.pictures).

`check_data` keeps the numbers of the call that shows the failure: its arguments, the
reference's result and the student's (arrays of at most MAX_KEPT elements; larger ones keep
their text and shape only). Hidden checks keep nothing.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from .compare import Tolerance, args_text, as_array, fmt, fmt_outcome, same_value
from .exercise import Exercise
from .outcome import Call, Outcome, Returned, run_trusted
from .results import CheckResult
from .text import safe

NON_FINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}  # how kept numbers name them (null: nan)
MAX_KEPT = 400  # elements of one array kept with a check (results are stored in the gradebook)
TEXT_LIMIT = 300  # characters of a value's text kept


def kept(value: Any) -> dict[str, Any]:
    """A value as a check keeps it: its text, and its shape and numbers when it is a small real array."""
    out: dict[str, Any] = {"text": safe(fmt(value), TEXT_LIMIT)}
    a = as_array(value)
    if a is None or a.dtype.kind == "c":
        return out
    out["shape"] = list(a.shape)
    if a.size <= MAX_KEPT:
        with np.errstate(all="ignore"):
            f = a.astype(float)
        # strict JSON has no nan or inf: a number that is not finite is kept as its name, a string
        if f.ndim:
            held = f.astype(object)
            bad = ~np.isfinite(f)
            held[bad] = [_non_finite_name(x) for x in f[bad]]
            out["values"] = held.tolist()
        else:
            out["values"] = float(f) if math.isfinite(float(f)) else _non_finite_name(float(f))
        if _integers(value, a):
            out["integers"] = True
    return out


def _non_finite_name(x: float) -> str:
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


def _integers(value: Any, a: np.ndarray) -> bool:
    if a.dtype.kind in "iu":
        return True
    if isinstance(value, (list, tuple)) and a.dtype.kind == "f":
        try:
            return np.asarray(value).dtype.kind in "iu"
        except (ValueError, TypeError, OverflowError):
            return False
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _outcome(outcome: Outcome) -> dict[str, Any]:
    if isinstance(outcome, Returned):
        return kept(outcome.value)
    return {"text": safe(fmt_outcome(outcome), TEXT_LIMIT), "raised": True}


def check_data(ex: Exercise, calls: Sequence[Call], checks: Iterable[CheckResult]) -> tuple[CheckResult, ...]:
    """The checks, each failing visible one with the numbers of the call that shows its failure."""
    out = []
    reference = None
    for c in checks:
        mine = [call for call in calls if call.check == c.name and call.visible]
        if c.status == "passed" or c.visibility != "visible" or not mine:
            out.append(c)
            continue
        if reference is None:
            reference = ex.solution().reference
        shown = None
        for call in mine:  # the first call whose result is wrong
            expected = run_trusted(reference, call.args, call.kwargs)
            got = call.outcome
            if not (isinstance(got, Returned) and isinstance(expected, Returned)
                    and same_value(got.value, expected.value, ex.tolerance)):
                shown = (call, expected)
                break
        if shown is None:
            out.append(c)
            continue
        call, expected = shown
        params = ex.function.params
        names = [params[i] if i < len(params) else f"arg{i}" for i in range(len(call.args))]
        args = [[n, kept(v)] for n, v in zip(names, call.args, strict=True)]
        args += [[k, kept(v)] for k, v in call.kwargs.items()]
        data = {"call": safe(f"{ex.function.name}({args_text(params, list(call.args), dict(call.kwargs))})", TEXT_LIMIT),
                "args": args, "expected": _outcome(expected), "got": _outcome(call.outcome),
                "tolerance": [ex.tolerance.rtol, ex.tolerance.atol]}
        out.append(dataclasses.replace(c, data=data))
    return tuple(out)


def values(kept_value: Mapping[str, Any] | None) -> np.ndarray | None:
    """The kept numbers as an array (inf, -inf and nan where they were; null, as older results
    keep a number that is not finite, is nan), or None."""
    if not kept_value or "values" not in kept_value:
        return None
    try:
        a = np.asarray(kept_value["values"], dtype=object)
        a = np.vectorize(_number, otypes=[float])(a) if a.size else a.astype(float)
    except (TypeError, ValueError, KeyError):
        return None
    return a if list(a.shape) == list(kept_value.get("shape", a.shape)) else None


def _number(x: Any) -> float:
    if x is None:
        return math.nan
    if isinstance(x, str):
        return NON_FINITE[x]
    return float(x)


def first_difference(got: np.ndarray | None, expected: np.ndarray | None, tol: Tolerance) -> tuple[int, ...] | None:
    """The index of the first element where two arrays of one shape differ."""
    if got is None or expected is None or got.shape != expected.shape or got.ndim == 0:
        return None
    with np.errstate(all="ignore"):
        bad = np.argwhere(~np.isclose(got, expected, rtol=tol.rtol, atol=tol.atol))
    return tuple(int(i) for i in bad[0]) if len(bad) else None
