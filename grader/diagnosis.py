"""Name the misconception behind a wrong answer, on evidence across the recorded calls.

Exercise-specific models come first (grader/explain.py): a model explains the student when the
student agrees with it on every recorded call where the model disagrees with the reference (at
least two such calls that tell it apart: a raise or nan/inf the student also gives where the
model returns is none); failing that, two models with calls of their own, or one model and a
generic cause for the calls it leaves (nan/inf, a raise on one input form, a small integer
dtype). Generic detectors (grader/templates/generic/) then look only at the calls nothing named
explains. When nothing explains a failure, the result is an observation, not a name.

Every text made here reaches students (explanation, evidence, observation). An explanation
quotes a visible call that shows the misconception; when only hidden checks show it, the text
names the hidden checks and says the idea without their inputs, expected values or the
student's results on them (templates get `hidden` true and placeholders for those values).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

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
from .exercise import Exercise, Misconception, Solution, Tolerance
from .explain import (
    COMPOSE,
    COMPOSER,
    MIN_EVIDENCE,
    Cause,
    Evidence,
    Share,
    explain,
    non_finite,
    oversized_int,
    small_int_dtype,
)
from .outcome import Call, Outcome, Raised, Returned, TimedOut, hidden_safe, run_trusted
from .results import Diagnosis
from .sandbox.encoding import Opaque

NOT_SHOWN = "(not shown: a hidden check)"
HIDDEN_ONLY_TEMPLATE = "hidden-only"  # generic/hidden-only.md.j2: an exercise's misconception shown only by hidden checks
# the detectors' template values that come from one call's results: placeholders when that call is hidden
HIDDEN_EXTRAS = frozenset({"got_shape", "expected_shape", "factor"})

GENERIC_TITLES = {
    "missing-return": "The function does not return its result",
    "wrong-type": "The result has the wrong type",
    "wrong-shape": "The result has the wrong shape",
    "transposed-output": "The result is transposed",
    "constant-factor": "Right up to a constant factor",
    "sign-flip": "The sign is flipped",
    "non-finite": "nan or inf where the answer is finite",
    "mutates-input": "The function modifies its arguments",
    "raises": "An exception on valid input",
    "timeout": "No answer in time",
    "integer-truncation": "Integer arithmetic truncates the result",
    "integer-wraparound": "A small integer dtype wraps around",
}


class Renderer(Protocol):
    """Renders explanations (grader.feedback.Feedback implements it)."""

    def misconception(self, source: str, context: dict[str, Any]) -> str: ...

    def generic(self, misconception_id: str, context: dict[str, Any]) -> str: ...


def context(ex: Exercise, ev: Evidence, model: Outcome | None = None, calls: int = 0) -> dict[str, Any]:
    """The feedback template context for one telling call (see docs/exercise-format.md)."""
    params = ex.function.params
    call = ev.call
    raw_args = {params[i] if i < len(params) else f"arg{i}": a for i, a in enumerate(call.args)}
    raw_args.update(call.kwargs)
    got = call.outcome.value if isinstance(call.outcome, Returned) else None
    expected = ev.reference.value if isinstance(ev.reference, Returned) else None
    model_value = model.value if isinstance(model, Returned) else None
    return {
        "hidden": False,
        "call": {"text": args_text(params, list(call.args), dict(call.kwargs)), "check": call.check, "visible": call.visible},
        "args": {k: fmt(v) for k, v in raw_args.items()},
        "got": fmt_outcome(call.outcome),
        "expected": fmt_outcome(ev.reference),
        "model": fmt_outcome(model) if model is not None else "",
        "raw": {"args": raw_args, "got": got, "expected": expected, "model": model_value},
        "calls": calls,
        "function": ex.function.name,
    }


def hidden_context(ex: Exercise, shown_by: list[Evidence]) -> dict[str, Any]:
    """The template context when only hidden checks show a mistake: the same names as context(),
    with placeholders where the inputs and values would be, and the hidden checks' names."""
    return {
        "hidden": True,
        "call": {"text": NOT_SHOWN, "check": shown_by[0].call.check, "visible": False},
        "args": {}, "got": NOT_SHOWN, "expected": NOT_SHOWN, "model": NOT_SHOWN,
        "raw": {"args": {}, "got": None, "expected": None, "model": None},
        "calls": len(shown_by),
        "checks": list(dict.fromkeys(e.call.check for e in shown_by)),
        "function": ex.function.name,
    }


def _where(ex: Exercise, e: Evidence) -> str:
    """The call in evidence text: its arguments if visible, else only the hidden check's name."""
    if e.call.visible:
        return f"for {args_text(ex.function.params, list(e.call.args), dict(e.call.kwargs))}"
    return f"on the hidden check '{e.call.check}'"


def _kind(value: Any) -> str:
    """What kind of value, without its size or shape (those follow from a hidden call's inputs)."""
    if isinstance(value, (bool, np.bool_)):
        return "a boolean"
    a = as_array(value)
    if a is not None and a.ndim == 0:
        return "a number"
    if isinstance(value, np.ndarray):
        return "a numpy array"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__}"
    if isinstance(value, Opaque):  # its class name is the student's to choose: it could carry the inputs
        return "an object"
    return describe_type(value)  # None, a string: no size in the words


def _type_words(e: Evidence, value: Any) -> str:
    return describe_type(value) if e.call.visible else _kind(value)


def diagnose(ex: Exercise, solution: Solution, calls: list[Call],
             render: Renderer) -> tuple[list[Diagnosis], str]:
    """Return the misconceptions named (specific first, then generic) and an observation."""
    tol = ex.tolerance
    evidence = [Evidence(i, c, _trusted(ex, "", solution.reference, c)) for i, c in enumerate(calls)]
    # visible calls first, so explanations use the numbers the student can see
    telling_order = sorted(evidence, key=lambda e: (not e.call.visible, e.index))
    by_index = {e.index: e for e in evidence}

    composer = solution.models.get(COMPOSER)
    composed: dict[str, Callable[..., Any] | None] = {}

    def model(name: str) -> Callable[..., Any] | None:
        """A model by name; `a__b` is the solution's function of that name, else its compose(a, b)."""
        if name in solution.models:
            return solution.models[name]
        if name not in composed:
            first, _, second = name.partition(COMPOSE)
            composed[name] = composer(first, second) if composer is not None and second else None
        return composed[name]

    def run(name: str, e: Evidence) -> Outcome:
        return _trusted(ex, name, model(name), e.call)  # type: ignore[arg-type]

    def declared(a: str, b: str) -> str | None:
        return next((n for n in (f"{a}{COMPOSE}{b}", f"{b}{COMPOSE}{a}") if model(n) is not None), None)

    found = explain(ex.misconceptions, telling_order, run, tol, declared)
    pair = [s.misconception.id for s in found.shares] if len(found.shares) == 2 else []
    order = {m.id: n for n, m in enumerate(ex.misconceptions)}
    named = [_name_share(ex, s, by_index, render, [p for p in pair if p != s.misconception.id])
             for s in sorted(found.shares, key=lambda s: order[s.misconception.id])]
    for cause in found.causes:
        shown_by = [by_index[i] for i in cause.calls]
        named.append(_name_cause(ex, cause, sorted(shown_by, key=lambda e: (not e.call.visible, e.index)), render))
    explained = found.covered()
    rest = [e for e in telling_order if e.index not in explained]
    named += _generic(ex, rest, evidence, tol, render, specific_named=bool(named))
    observation = "" if named else _observation(ex, telling_order, tol)
    return named, observation


def _name_share(ex: Exercise, share: Share, by_index: dict[int, Evidence], render: Renderer,
                partner: list[str]) -> Diagnosis:
    """A misconception named for the calls its model explains, quoting the first visible one."""
    m = share.misconception
    shown_by = [by_index[i] for i in share.calls]
    quotable = [by_index[i] for i in share.plain] or shown_by
    first = next((e for e in quotable if e.call.visible), quotable[0])
    if partner:
        evidence_text = (f"shows the mistake of `{share.profile.model}` on {len(shown_by)} calls where it differs from "
                         f"the reference ({partner[0]} is the other mistake at work); ")
    else:
        evidence_text = f"agrees with `{share.profile.model}` on {len(shown_by)} calls where it differs from the reference; "
    if first.call.visible:
        ctx = context(ex, first, share.outcomes[first.index], len(shown_by))
        evidence_text += f"for {ctx['call']['text']} it returned {ctx['got']} (expected {ctx['expected']})"
        explanation = render.misconception(m.feedback, ctx)
    else:  # no visible call shows it: the exercise's text would quote a hidden call
        ctx = hidden_context(ex, quotable)
        evidence_text += "shown by hidden checks (" + ", ".join(ctx["checks"]) + ")"
        explanation = render.generic(HIDDEN_ONLY_TEMPLATE, {**ctx, "title": m.title})
    return Diagnosis(m.id, m.title, evidence_text, explanation)


def _name_cause(ex: Exercise, cause: Cause, shown_by: list[Evidence], render: Renderer) -> Diagnosis:
    """The generic cause of the calls the named misconception does not explain."""
    e = shown_by[0]
    n = f"{len(shown_by)} call{'s' if len(shown_by) != 1 else ''}"
    if cause.id == "raises" and isinstance(e.student, Raised):
        error = e.student if e.call.visible else replace(e.student, message="")  # its message may quote the inputs
        return _name_generic(ex, {}, render, "raises", shown_by,
                             f"raised {error.describe()} {cause.where if e.call.visible else 'on one input form'} ({n}) {_where(ex, e)}", error=error)
    if cause.id == "non-finite":
        got = _overflow_words(e.student) if e.call.visible else "nan or inf"
        return _name_generic(ex, {}, render, "non-finite", shown_by,
                             f"returned {got} where the answer is finite ({n}) {_where(ex, e)}",
                             **({"got": got} if e.call.visible else {}))
    dtype = small_int_dtype(e.call) or "integer"
    ctx = context(ex, e) if e.call.visible else hidden_context(ex, shown_by)
    ctx["dtype"] = dtype if e.call.visible else NOT_SHOWN
    where = cause.where if e.call.visible else "on a small integer dtype"
    evidence_text = f"wrong only {where}, where integer arithmetic wraps around ({n})"
    return Diagnosis(cause.id, GENERIC_TITLES[cause.id], evidence_text,
                     render.generic("integer-wraparound", ctx), generic=True)


def _name_generic(ex: Exercise, own: dict[str, Misconception], render: Renderer, gid: str,
                  shown_by: list[Evidence], evidence: str, **extra: Any) -> Diagnosis:
    """Name the generic mistake `gid`, explained with the first of the calls that show it (visible ones first)."""
    ev = shown_by[0]
    if ev.call.visible:
        ctx = context(ex, ev)
    else:  # only hidden calls show it: values that come from them are placeholders
        ctx = hidden_context(ex, [e for e in shown_by if not e.call.visible])
        extra = {k: NOT_SHOWN if k in HIDDEN_EXTRAS else v for k, v in extra.items()}
    ctx.update(extra)
    ctx["evidence"] = evidence
    if gid in own:  # the exercise words this generic mistake itself: its text takes precedence
        m = own[gid]
        text = (render.misconception(m.feedback, ctx) if ev.call.visible
                else render.generic(HIDDEN_ONLY_TEMPLATE, {**ctx, "title": m.title}))
        return Diagnosis(gid, m.title, evidence, text)
    return Diagnosis(gid, GENERIC_TITLES[gid], evidence, render.generic(gid, ctx), generic=True)


_TRUSTED: dict[tuple[Path, str, str], Outcome] = {}


def _trusted(ex: Exercise, name: str, func: Callable[..., Any], call: Call) -> Outcome:
    """A reference or model outcome; a YAML case's is the same for every submission, so computed once."""
    if not call.case:
        out = run_trusted(func, call.args, call.kwargs)
        return out if call.visible else hidden_safe(out)  # as the student's outcome was kept
    key = (ex.source_path, name, call.check)
    if key not in _TRUSTED:
        out = run_trusted(func, call.args, call.kwargs)
        _TRUSTED[key] = out if call.visible else hidden_safe(out)
    return _TRUSTED[key]


# --------------------------------------------------------------------------- generic detectors


def _generic(ex: Exercise, rest: list[Evidence], all_ev: list[Evidence], tol: Tolerance,
             render: Renderer, specific_named: bool) -> list[Diagnosis]:
    found: list[Diagnosis] = []

    own = {m.id: m for m in ex.misconceptions}

    def add(gid: str, shown_by: list[Evidence], evidence: str, **extra: Any) -> None:
        found.append(_name_generic(ex, own, render, gid, shown_by, evidence, **extra))

    timeouts = [e for e in rest if isinstance(e.student, TimedOut)]
    if timeouts:
        e = timeouts[0]
        seconds = e.student.seconds if isinstance(e.student, TimedOut) else 0.0
        add("timeout", timeouts, f"no answer within {seconds:g} s {_where(ex, e)}"
            + (f" ({len(timeouts)} calls)" if len(timeouts) > 1 else ""))
    raising = [e for e in rest if isinstance(e.student, Raised) and isinstance(e.reference, Returned)]
    if raising and isinstance(raising[0].student, Raised):
        e = raising[0]
        error = raising[0].student
        if not e.call.visible:
            error = replace(error, message="")  # its message may quote the inputs
        add("raises", raising, f"raised {error.describe()} {_where(ex, e)}", error=error)
    mutating = sorted((e for e in all_ev if e.call.mutated), key=lambda e: (not e.call.visible, e.index))
    if mutating:
        e = mutating[0]
        add("mutates-input", mutating, f"modified {', '.join(e.call.mutated)} when called {_where(ex, e)}",
            names=list(e.call.mutated))

    wrong = [e for e in rest if isinstance(e.student, Returned) and isinstance(e.reference, Returned)
             and not same_value(e.student.value, e.reference.value, tol)]
    if not wrong:
        return found
    small = [e for e in wrong if small_int_dtype(e.call)]
    rest_wrong = [e for e in wrong if not small_int_dtype(e.call)]
    if small and not rest_wrong and not specific_named:  # right on every call but those
        cause = Cause("integer-wraparound", tuple(e.index for e in small),
                      (("dtype", "/".join(sorted({small_int_dtype(e.call) or "" for e in small}))),))
        found.append(_name_cause(ex, cause, small, render))
        return found
    # a small integer dtype's calls must not veto what every other call shows (and those of them it fits)
    fitting = [e for e in small if _detect([*rest_wrong, e], tol)]
    rest_wrong += fitting
    small = [e for e in small if e not in fitting]
    for calls, side in ((wrong, []), (rest_wrong, small)) if small and rest_wrong else ((wrong, []),):
        hit = _detect(calls, tol)
        if hit is not None and side and hit[0] == "integer-truncation" and all(
                not np.any(as_array(_values(e)[0])) for e in calls):
            hit = None  # zeros everywhere else: too little to set the small integer calls aside for
        if hit is not None:
            gid, evidence, extra = hit
            at = extra.pop("at", calls[0])
            if gid == "non-finite" and at.call.visible:
                evidence += f" (input: {args_text(ex.function.params, at.call.args, dict(at.call.kwargs))})"
            add(gid, [at, *(e for e in calls if e is not at)], evidence, **extra)
            finite = [e for e in calls if gid == "non-finite" and not non_finite(e.student)]
            then = _detect(finite, tol) if finite else None  # what the finite wrong calls show beside
            if then is not None and then[0] != "non-finite":
                gid, evidence, extra = then
                at = extra.pop("at", finite[0])
                add(gid, [at, *(e for e in finite if e is not at)], evidence, **extra)
            if side:
                cause = Cause("integer-wraparound", tuple(e.index for e in side),
                              (("dtype", "/".join(sorted({small_int_dtype(e.call) or "" for e in side}))),))
                found.append(_name_cause(ex, cause, side, render))
            break
    return found


def _detect(wrong: list[Evidence], tol: Tolerance) -> tuple | None:
    """The first generic detector that explains every one of the wrong calls."""
    for detect in (_missing_return, _non_finite, _wrong_type, _transposed, _wrong_shape, _factor, _truncation):
        hit = detect(wrong, tol)
        if hit is not None:
            return hit
    return None


def _values(e: Evidence) -> tuple[Any, Any]:
    return e.student.value, e.reference.value  # type: ignore[union-attr]


def _missing_return(wrong: list[Evidence], tol: Tolerance) -> tuple | None:
    if len(wrong) >= MIN_EVIDENCE and all(_values(e)[0] is None for e in wrong):
        return "missing-return", f"returned None on {len(wrong)} calls", {}
    return None


def _overflow_words(outcome: Outcome) -> str:
    """The student's result in evidence text; an integer beyond a float's range said as such."""
    if isinstance(outcome, Returned) and oversized_int(outcome.value):
        return f"{outcome.value.text}, beyond a float's range (inf)"
    return fmt_outcome(outcome)


def _non_finite(wrong: list[Evidence], tol: Tolerance) -> tuple | None:
    """nan or inf (or an integer beyond a float's range) where the answer is finite."""
    for e in wrong:
        s, r = (as_array(v) for v in _values(e))
        if r is None or not np.all(np.isfinite(r)):
            continue
        if oversized_int(_values(e)[0]) or s is not None and s.dtype.kind in "fc" and not np.all(np.isfinite(s)):
            got = _overflow_words(e.student) if e.call.visible else "nan or inf"
            return "non-finite", f"returned {got} where the answer is finite", {"at": e, **({"got": got} if e.call.visible else {})}
    return None


def _wrong_type(wrong: list[Evidence], tol: Tolerance) -> tuple | None:
    if len(wrong) < MIN_EVIDENCE:
        return None
    pairs = [(kind_of(s), kind_of(r)) for s, r in map(_values, wrong)]
    if all(sk != rk and sk != "none" for sk, rk in pairs):
        s, r = _values(wrong[0])
        got, want = _type_words(wrong[0], s), _type_words(wrong[0], r)
        return "wrong-type", f"returned {got} where {want} is due", {"got_type": got, "expected_type": want}
    return None


def _shapes(e: Evidence) -> tuple[tuple, tuple] | None:
    s, r = (as_array(v) for v in _values(e))
    if s is None or r is None:
        return None
    return s.shape, r.shape


def _transposed(wrong: list[Evidence], tol: Tolerance) -> tuple | None:
    if len(wrong) < MIN_EVIDENCE:
        return None
    for e in wrong:
        s, r = (as_array(v) for v in _values(e))
        if s is None or r is None or r.ndim != 2 or not same_value(s, r.T, tol):
            return None
    got, due = _shapes(wrong[0]) or ((), ())
    shapes = f": shape {got} where {due} is due" if wrong[0].call.visible else f" on {len(wrong)} calls"
    return "transposed-output", f"returned the transpose{shapes}", {"got_shape": got, "expected_shape": due}


def _wrong_shape(wrong: list[Evidence], tol: Tolerance) -> tuple | None:
    if len(wrong) < MIN_EVIDENCE:
        return None
    shapes = [_shapes(e) for e in wrong]
    if all(sh is not None and sh[0] != sh[1] and len(sh[1]) > 0 and len(sh[0]) > 0 for sh in shapes):
        got, want = shapes[0] or ((), ())
        text = f"returned shape {got} where {want} is due" if wrong[0].call.visible else f"returned the wrong shape on {len(wrong)} calls"
        return "wrong-shape", text, {"got_shape": got, "expected_shape": want}
    return None


def _feature_dim(e: Evidence) -> int | None:
    """d: the size of the last axis of the first array argument (d_k for attention)."""
    for a in e.call.args:
        arr = as_array(a)
        if arr is not None and arr.ndim >= 1:
            return int(arr.shape[-1])
    return None


SYMBOLIC_FACTORS: tuple[tuple[str, Callable[[int], float]], ...] = (
    ("√d_k", lambda d: math.sqrt(d)), ("1/√d_k", lambda d: 1 / math.sqrt(d)),
    ("d_k", lambda d: float(d)), ("1/d_k", lambda d: 1 / d),
)


def _factor(wrong: list[Evidence], tol: Tolerance) -> tuple | None:
    """One factor k with student = k · answer on every wrong call: a constant, or √d_k, d_k, ..."""
    if len(wrong) < MIN_EVIDENCE:
        return None
    ks = []
    for e in wrong:
        s, r = (as_array(v) for v in _values(e))
        if s is None or r is None or s.shape != r.shape or s.dtype.kind == "c" or r.dtype.kind == "c":
            return None
        s, r = s.astype(float), r.astype(float)
        if not (np.all(np.isfinite(s)) and np.all(np.isfinite(r))):
            return None
        denom = float(np.dot(r.ravel(), r.ravel()))
        if denom == 0:
            return None
        k = float(np.dot(s.ravel(), r.ravel())) / denom
        if not np.allclose(s, k * r, rtol=max(tol.rtol, 1e-6), atol=tol.atol):
            return None
        ks.append(k)
    k0 = ks[0]
    if abs(k0 - 1) < 1e-6 or any(abs(k) < 1e-12 for k in ks):
        return None  # all zeros is not a "factor": integer truncation and missing returns explain it better
    if all(math.isclose(k, k0, rel_tol=1e-5) for k in ks):
        if math.isclose(k0, -1, rel_tol=1e-6):
            return "sign-flip", f"returned the negative of the right answer on {len(ks)} calls", {"factor": -1.0, "factor_name": "−1"}
        name = name_factor(k0)
        return "constant-factor", f"off by a factor of {name} on {len(ks)} calls", {"factor": k0, "factor_name": name}
    dims = [d for d in map(_feature_dim, wrong) if d is not None]
    if len(dims) == len(wrong) and len(set(dims)) > 1:
        for name, f in SYMBOLIC_FACTORS:
            for sign in (1, -1):
                if all(math.isclose(k, sign * f(d), rel_tol=1e-5) for k, d in zip(ks, dims, strict=True)):
                    label = name if sign > 0 else f"−{name}"
                    example = f", e.g. {fmt(ks[0])} for d_k = {dims[0]}" if wrong[0].call.visible else ""
                    return "constant-factor", (f"off by a factor of {label} (d_k = size of the last axis) on {len(ks)} calls"
                                               f"{example}"), {"factor": ks[0], "factor_name": label}
    return None


def name_factor(k: float, dims: tuple[int, ...] = ()) -> str:
    """Name a factor: 2, 1/2, √8, 1/d_k ... ; else its value."""
    candidates: list[tuple[float, str]] = []
    for n in sorted({2, 3, 4, *dims}):
        candidates += [(n, str(n)), (1 / n, f"1/{n}"), (math.sqrt(n), f"√{n}"), (1 / math.sqrt(n), f"1/√{n}")]
    for d in dims:
        candidates += [(math.sqrt(d), "√d_k"), (1 / math.sqrt(d), "1/√d_k"), (d, "d_k"), (1 / d, "1/d_k")]
    for value, name in candidates:
        if math.isclose(abs(k), value, rel_tol=1e-6):
            return name if k > 0 else f"−{name}"
    return fmt(k)


def _truncation(wrong: list[Evidence], tol: Tolerance) -> tuple | None:
    """Whole numbers where the answer has a fraction, each within what truncating the terms loses."""
    if len(wrong) < MIN_EVIDENCE:
        return None
    for e in wrong:
        s, r = (as_array(v) for v in _values(e))
        if s is None or r is None or s.shape != r.shape or r.dtype.kind == "c" or s.dtype.kind == "c":
            return None
        s, r = s.astype(float), r.astype(float)
        if not (np.all(np.isfinite(s)) and np.all(np.isfinite(r))):
            return None
        if not np.all(s == np.round(s)) or np.all(r == np.round(r)):
            return None
        # truncating each of k terms loses less than 1 per term
        terms = sum(np.size(a) for a in e.call.args if as_array(a) is not None) + 1
        if np.any(np.abs(s - r) >= terms):
            return None
    return "integer-truncation", f"returned whole numbers where the answer has a fraction ({len(wrong)} calls)", {}


def _observation(ex: Exercise, order: list[Evidence], tol: Tolerance) -> str:
    """What was seen on the first failing call, when no misconception explains it."""
    for e in order:
        s, r = e.student, e.reference
        if isinstance(s, Returned) and isinstance(r, Returned) and same_value(s.value, r.value, tol):
            continue
        if isinstance(s, Raised) and isinstance(r, Raised) and s.is_a(r.type):
            continue
        if not e.call.visible:  # not its inputs, its answer, nor what the student's function gave on it
            if isinstance(s, Returned):
                got = _kind(s.value)
            elif isinstance(s, Raised):
                got = f"the exception {s.type}"
            else:
                got = fmt_outcome(s)
            return f"a hidden check ({e.call.check}) failed: your function gave {got} and that is not the expected result"
        text = f"for {args_text(ex.function.params, e.call.args, dict(e.call.kwargs))}: expected {fmt_outcome(r)}, got {fmt_outcome(s)}"
        if isinstance(s, Returned) and isinstance(r, Returned):
            diff = first_difference(s.value, r.value, tol)
            if diff:
                text += f"; {diff}"
        return text
    return ""
