"""Numeric comparison of results (shape-aware, with tolerance) and their short printed form."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from .outcome import Crashed, Outcome, Raised, Returned, TimedOut
from .sandbox.encoding import Opaque


@dataclass(frozen=True)
class Tolerance:
    """How close a result must be: numpy.allclose's rtol and atol."""

    rtol: float = 1e-5
    atol: float = 1e-8


MAX_SHOWN = 8
_SCALARS = (int, float, np.float64, np.float32, np.int64, np.int32)
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_. ]")
_INERT = str.maketrans({"<": "\\x3c", ">": "\\x3e", "&": "\\x26", "`": "\\x60", "[": "\\x5b", "]": "\\x5d",
                        "*": "\\x2a", "_": "\\x5f", "|": "\\x7c", "\n": "\\n"})


def as_array(value: Any) -> np.ndarray | None:
    """A numeric array for numbers, numeric arrays and (nested) lists of numbers; else None."""
    if isinstance(value, (bool, np.bool_)):
        return np.asarray(value, dtype=float)
    if isinstance(value, (int, float, np.number)):
        try:
            return np.asarray(value, dtype=float if not isinstance(value, complex) else complex)
        except OverflowError:
            return np.asarray(float("inf"))
    if isinstance(value, np.ndarray):
        return value if value.dtype.kind in "biufc" else None
    if isinstance(value, (list, tuple)):
        if not _all_numbers(value, 0):
            return None
        try:
            a = np.asarray(value, dtype=float)
        except OverflowError:  # an integer beyond float's range: the infinity of its sign
            a = np.asarray(_infinite(value), dtype=float)
        except (ValueError, TypeError):
            return None
        return a
    return None


_NUMBER_TYPES = frozenset({int, float, bool, np.float64, np.float32, np.float16, np.int64, np.int32, np.int16,
                           np.int8, np.uint64, np.uint32, np.uint16, np.uint8})


def _infinite(value: Any) -> Any:
    """Nested numbers with every integer beyond float's range made the infinity of its sign."""
    if isinstance(value, (list, tuple)):
        return [_infinite(v) for v in value]
    return _float(value) if isinstance(value, int) else value


def _all_numbers(value: Any, depth: int) -> bool:
    if depth > 32:
        return False
    if isinstance(value, (list, tuple)):
        if _NUMBER_TYPES.issuperset(map(type, value)):
            return True  # a flat row of plain numbers, checked at C speed
        return all(_all_numbers(v, depth + 1) for v in value)
    if isinstance(value, np.ndarray):
        return value.dtype.kind in "biuf"
    return isinstance(value, (int, float, np.number))


def same_value(got: Any, expected: Any, tol: Tolerance) -> bool:
    """Equal within tolerance and of the same shape; nan matches nan (numpy.allclose semantics)."""
    if type(got) in _SCALARS and type(expected) in _SCALARS:  # the common case, without numpy's overhead
        gf, ef = _float(got), _float(expected)
        if gf == ef:
            return True
        if math.isnan(gf) or math.isnan(ef):
            return math.isnan(gf) and math.isnan(ef)
        return abs(gf - ef) <= tol.atol + tol.rtol * abs(ef)
    if (type(got) is np.ndarray and type(expected) is np.ndarray and got.dtype == _F8 and expected.dtype == _F8
            and got.shape == expected.shape and got.size <= 64):
        return _close_floats(got.ravel().tolist(), expected.ravel().tolist(), tol)  # small: no numpy call overhead
    g, e = as_array(got), as_array(expected)
    if g is None or e is None:
        if g is None and e is None:
            try:
                return bool(got == expected) and type(got) is type(expected)
            except Exception:
                return False
        return False
    if g.shape != e.shape:
        return False
    if g.dtype.kind == "c" or e.dtype.kind == "c":
        return bool(np.allclose(g, e, rtol=tol.rtol, atol=tol.atol, equal_nan=True))
    with np.errstate(all="ignore"):
        g, e = g.astype(float, copy=False), e.astype(float, copy=False)
        close = np.abs(g - e) <= tol.atol + tol.rtol * np.abs(e)
        if close.all():
            return True
        # the slow path only where it matters: equal infinities, nan against nan (allclose's rules)
        return bool(np.all(close | (g == e) | (np.isnan(g) & np.isnan(e))))


def _float(x: Any) -> float:
    """A number as a float; an integer beyond float's range is the infinity of its sign."""
    try:
        return float(x)
    except OverflowError:
        return math.inf if x > 0 else -math.inf


_F8 = np.dtype(np.float64)
_INFINITIES = (math.inf, -math.inf)


def _close_floats(got: list[float], expected: list[float], tol: Tolerance) -> bool:
    """numpy.allclose(got, expected, equal_nan=True) for two flat lists of floats."""
    atol, rtol = tol.atol, tol.rtol
    for g, e in zip(got, expected, strict=True):  # same shape: same length
        if g == e:
            continue
        if g != g or e != e:  # nan matches nan only
            if g == g or e == e:
                return False
            continue
        if g in _INFINITIES or e in _INFINITIES or not abs(g - e) <= atol + rtol * abs(e):
            return False  # an infinity is close to itself only
    return True


def same_outcome(student: Outcome, model: Outcome, tol: Tolerance, match: str = "value") -> bool:
    """Does the student's outcome agree with a model's (or the reference's)?"""
    if isinstance(model, Returned):
        if not isinstance(student, Returned):
            return False
        return True if match == "returns" else same_value(student.value, model.value, tol)
    if isinstance(model, Raised):
        return isinstance(student, Raised) and student.is_a(model.type)
    return False


def kind_of(value: Any) -> str:
    """'number', 'array' (any numeric container), 'none', or a type description."""
    if value is None:
        return "none"
    a = as_array(value)
    if a is not None:
        return "number" if a.ndim == 0 else "array"
    if isinstance(value, Opaque):
        return value.type_name
    return type(value).__name__


def describe_type(value: Any) -> str:
    """How a student would say what they returned: 'a list of 2 numbers', 'None', ..."""
    if value is None:
        return "None"
    if isinstance(value, Opaque):
        name = value.type_name
        if name.startswith("oversized "):
            return f"an {name} value ({value.text}), too large to grade"
        if name == "int":  # an integer too large to cross the sandbox: beyond a float's range
            return f"{value.text}, too large for a float"
        return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name} object"
    if isinstance(value, bool):
        return "a boolean"
    a = as_array(value)
    if a is not None and a.ndim == 0:
        return "a number"
    if isinstance(value, np.ndarray):
        return f"a numpy array of shape {tuple(value.shape)}"
    if isinstance(value, (list, tuple)):
        word = "list" if isinstance(value, list) else "tuple"
        if a is not None and a.ndim == 1:
            return f"a {word} of {len(value)} number{'s' if len(value) != 1 else ''}"
        if a is not None:
            return f"a nested {word} of shape {a.shape}"
        return f"a {word} of {len(value)} items"
    if isinstance(value, str):
        return "a string"
    return f"a {type(value).__name__}"


def fmt(value: Any) -> str:
    """Short, readable form of a value: 9.08, [0.08, 9.0], [[1.0, 2.0], …] (shape (5, 5))."""
    if isinstance(value, Opaque):
        return f"<{_SAFE_NAME.sub('?', value.type_name)[:60]}>"
    if value is None:
        return "None"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, str):
        # student text: a Python repr with markup characters escaped, inert in Markdown and HTML
        text = repr(value[:60] + ("…" if len(value) > 60 else ""))
        return text.translate(_INERT)
    if isinstance(value, (list, tuple)) and 0 < len(value) <= MAX_SHOWN and all(
            isinstance(v, (int, float, np.number)) for v in value):
        return "[" + ", ".join(_num(v) for v in value) + "]"  # 3 stays 3, as the student wrote it
    a = as_array(value)
    if a is None:
        return f"<{type(value).__name__}>"
    if not isinstance(value, np.ndarray):
        try:  # keep the student's ints and booleans as they are, rather than as floats
            raw = np.asarray(value)
            if raw.dtype.kind in "biu" and raw.shape == a.shape:
                a = raw
        except (ValueError, TypeError, OverflowError):
            pass
    if a.ndim == 0:
        return _num(a[()])
    text = _fmt_nested(a, 0)
    if a.size > MAX_SHOWN or a.ndim > 1 and a.size > 4:
        text += f" (shape {tuple(a.shape)})" if not (a.ndim == 1 and a.size <= MAX_SHOWN) else ""
    return text


def _fmt_nested(a: np.ndarray, depth: int) -> str:
    if a.ndim == 1:
        items = [_num(x) for x in a[:MAX_SHOWN]]
        if a.shape[0] > MAX_SHOWN:
            items[-1:] = ["…", _num(a[-1])]
        return "[" + ", ".join(items) + "]"
    rows = [_fmt_nested(r, depth + 1) for r in a[:4]]
    if a.shape[0] > 4:
        rows.append("…")
    return "[" + ", ".join(rows) + "]"


def _num(x: Any) -> str:
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (complex, np.complexfloating)):
        return str(complex(x))
    if isinstance(x, (int, np.integer)) and not isinstance(x, bool):
        return str(int(x))
    f = float(x)
    if math.isnan(f) or math.isinf(f):
        return str(f)
    if f == 0:
        return "0.0"
    if abs(f) >= 1e6 or abs(f) < 1e-4:
        return f"{f:.4g}"
    r = round(f, 4)
    return repr(r if r != 0 else f)


def fmt_outcome(outcome: Outcome) -> str:
    if isinstance(outcome, Returned):
        return fmt(outcome.value)
    if isinstance(outcome, Raised):
        return f"raised {outcome.type}" + (f": {outcome.message[:120]}" if outcome.message else "")
    if isinstance(outcome, TimedOut):
        return f"no answer within {outcome.seconds:g} s"
    if isinstance(outcome, Crashed):
        return outcome.reason
    return "?"


def first_difference(got: Any, expected: Any, tol: Tolerance) -> str:
    """Where two arrays of the same shape first differ, e.g. 'at [1]: expected 3.0, got 2.0'."""
    g, e = as_array(got), as_array(expected)
    if g is None or e is None or g.shape != e.shape or g.ndim == 0:
        return ""
    with np.errstate(all="ignore"):
        close = np.isclose(g.astype(float), e.astype(float), rtol=tol.rtol, atol=tol.atol, equal_nan=True)
    bad = np.argwhere(~close)
    if not len(bad):
        return ""
    idx = tuple(int(i) for i in bad[0])
    return f"first difference at {list(idx)}: expected {_num(e[idx])}, got {_num(g[idx])}"


def args_text(params: tuple[str, ...], args: list | tuple, kwargs: dict) -> str:
    """A call's arguments as feedback shows them: `a = [0.2, 3], b = [0.4, 3]`."""
    parts = [f"{params[i] if i < len(params) else f'arg{i}'} = {fmt(a)}" for i, a in enumerate(args)]
    parts += [f"{k} = {fmt(v)}" for k, v in kwargs.items()]
    return ", ".join(parts)
