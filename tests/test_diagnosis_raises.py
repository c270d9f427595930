"""A raise, nan or any bare return that a student gives everywhere is no model's evidence.

Students are drawn: the reference (or a model) that raises an exception (the types the models
raise among them) on every call, on every call of one input form, or on a random subset of the
calls; and functions that return one constant. None of them may get a misconception's name
unless one of that misconception's models gives the student's outcome on every call (or the
student is that model with the raises on top). One batch goes through the real `grade` command.
"""

from __future__ import annotations

import builtins
import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.course import load_exercise
from grader.diagnosis import diagnose
from grader.exercise import Exercise
from grader.explain import agrees, input_forms
from grader.feedback import Feedback
from grader.outcome import Call, Outcome, Raised, Returned, run_trusted
from grader.sandbox.encoding import Opaque

from conftest import EXERCISES, by_id, exercise, grade_json

EXERCISE_IDS = sorted(p.stem for p in EXERCISES.glob("*.yaml")
                      if isinstance(load_exercise(p), Exercise) and load_exercise(p).misconceptions)


class CustomValueError(ValueError):
    """A student's own exception class, a ValueError."""


BUILTIN = (ValueError, TypeError, ZeroDivisionError, FloatingPointError, OverflowError, IndexError,
           AttributeError, KeyError, RuntimeError, AssertionError, np.linalg.LinAlgError, CustomValueError)


@functools.cache
def _exercise(ex_id: str) -> Exercise:
    ex = load_exercise(EXERCISES / f"{ex_id}.yaml")
    assert isinstance(ex, Exercise)
    return ex


@functools.cache
def _cases(ex_id: str) -> tuple[tuple[str, bool, tuple[Any, ...], dict[str, Any]], ...]:
    return tuple((c.name, c.visibility == "visible", tuple(args), kwargs)
                 for c in _exercise(ex_id).cases for args, kwargs in [c.build_arguments()])


@functools.cache
def _model_outcomes(ex_id: str) -> dict[tuple[str, str], list[Outcome]]:
    """Every model's outcome on every case, keyed (misconception id, model name)."""
    ex = _exercise(ex_id)
    models = ex.solution().models
    return {(m.id, name): [run_trusted(models[name], args, kwargs) for _, _, args, kwargs in _cases(ex_id)]
            for m in ex.misconceptions for name in m.models}


@functools.cache
def _raised_by_models(ex_id: str) -> tuple[type[Exception], ...]:
    """The exception types the exercise's models raise on its cases (builtins and numpy's)."""
    names = {o.type for outs in _model_outcomes(ex_id).values() for o in outs if isinstance(o, Raised)}
    known = {t.__name__: t for t in BUILTIN}
    found = (known.get(n, getattr(builtins, n, None)) for n in sorted(names))
    return tuple(t for t in found if isinstance(t, type) and issubclass(t, Exception))


def _recorded(ex_id: str, student: Callable[..., Any]) -> list[Call]:
    """The exercise's cases called on the student, recorded as the sandbox records them."""
    return [Call(name, visible, args, kwargs, run_trusted(student, args, kwargs), case=True)
            for name, visible, args, kwargs in _cases(ex_id)]


def _specific(ex_id: str, calls: list[Call]) -> list[str]:
    ex = _exercise(ex_id)
    named, _ = diagnose(ex, ex.solution(), calls, Feedback.shared())
    return [d.id for d in named if not d.generic]


def _genuine(ex_id: str, calls: list[Call]) -> set[str]:
    """The misconceptions one of whose models gives the student's outcome on every call."""
    tol = _exercise(ex_id).tolerance
    return {mid for (mid, _), outs in _model_outcomes(ex_id).items()
            if all(agrees(c.outcome, o, tol) for c, o in zip(calls, outs, strict=True))}


def _raises_of(outcomes: list[Outcome], reference: list[Outcome]) -> dict[int, Raised]:
    """The calls where the outcome is a raise and the reference's is not."""
    return {i: o for i, (o, r) in enumerate(zip(outcomes, reference, strict=True))
            if isinstance(o, Raised) and not isinstance(r, Raised)}


def _raising_like(ex_id: str, calls: list[Call], base: str | None) -> set[str]:
    """The misconceptions one of whose models raises, on every call where it raises, what the
    student raises, where the student's other raises are the base model's: the student raises
    exactly where that model and the base do (as two mistakes at once would)."""
    ex = _exercise(ex_id)
    reference = [run_trusted(ex.solution().reference, args, kwargs) for _, _, args, kwargs in _cases(ex_id)]
    student = _raises_of([c.outcome for c in calls], reference)
    by_base = _raises_of(_model_outcomes(ex_id)[next((m.id, base) for m in ex.misconceptions if base in m.models)]
                         if base else reference, reference)
    like = set()
    for (mid, _), outs in _model_outcomes(ex_id).items():
        model = _raises_of(outs, reference)
        if model and all(i in student and (student[i].is_a(o.type) or o.is_a(student[i].type)) for i, o in model.items()) \
                and set(student) - set(model) <= set(by_base):
            like.add(mid)
    return like


def _record_raising(ex_id: str, base: Callable[..., Any], error: type[Exception],
                    picked: Callable[[int], bool]) -> list[Call]:
    """The recorded calls of `base` raising `error` on the picked cases (and only on those)."""
    calls = []
    for n, (name, visible, args, kwargs) in enumerate(_cases(ex_id)):
        outcome = (Raised(error.__name__, tuple(c.__name__ for c in error.__mro__), "not on this input")
                   if picked(n) else run_trusted(base, args, kwargs))
        calls.append(Call(name, visible, args, kwargs, outcome, case=True))
    return calls


@st.composite
def raising_students(draw: st.DrawFn) -> tuple[str, str | None, type[Exception], str, frozenset[int]]:
    """(exercise, base model or None for the reference, exception, how the calls were picked, the picked cases)."""
    ex_id = draw(st.sampled_from(EXERCISE_IDS))
    ex = _exercise(ex_id)
    models = [(m.id, name) for m in ex.misconceptions for name in m.models]
    base = draw(st.one_of(st.none(), st.sampled_from(models)))
    error = draw(st.sampled_from(BUILTIN + _raised_by_models(ex_id)))
    cases = _cases(ex_id)
    forms = [input_forms(Call("", True, args, kwargs, Raised("", (), ""))) for _, _, args, kwargs in cases]
    how = draw(st.sampled_from(["every call", "one input form", "a random subset"]))
    if how == "every call":
        picked = frozenset(range(len(cases)))
    elif how == "one input form":
        key, value = draw(st.sampled_from(sorted({kv for f in forms for kv in f.items()})))
        picked = frozenset(n for n, f in enumerate(forms) if f.get(key) == value)
        how = f"{key} {value}"
    else:
        picked = frozenset(draw(st.sets(st.integers(0, len(cases) - 1), min_size=1)))
    return ex_id, None if base is None else base[1], error, how, picked


FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(raising_students())
def test_a_student_that_raises_gets_no_name_a_model_does_not_genuinely_earn(drawn):
    """The reference or a model, raising on every call, one input form's calls or a random
    subset: named at most as its own model's misconception, one whose model it is, or one whose
    model raises exactly where the student raises and the base model does not."""
    ex_id, base_name, error, how, picked = drawn
    ex = _exercise(ex_id)
    sol = ex.solution()
    base = sol.reference if base_name is None else sol.models[base_name]
    calls = _record_raising(ex_id, base, error, picked.__contains__)
    allowed = _genuine(ex_id, calls) | _raising_like(ex_id, calls, base_name)
    if base_name is not None:
        allowed |= {m.id for m in ex.misconceptions if base_name in m.models}
    named = _specific(ex_id, calls)
    assert set(named) <= allowed, (ex_id, base_name, error.__name__, how, sorted(picked), named)
    if len(picked) == len(calls):
        assert named == [], (ex_id, base_name, error.__name__, named)


CONSTANTS = (float("nan"), float("inf"), -float("inf"), None, 0, 0.0, 1.0, -1, 10**4000, "0", [0.0], (0.0, 0.0),
             np.zeros(3), np.full((2, 2), np.nan))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(EXERCISE_IDS), st.sampled_from(range(len(CONSTANTS))))
def test_a_function_that_returns_one_constant_gets_no_misconception(ex_id, which):
    value = CONSTANTS[which]
    calls = _recorded(ex_id, lambda *args, **kwargs: value)
    assert _specific(ex_id, calls) == [], (ex_id, value)


@pytest.mark.parametrize("ex_id", EXERCISE_IDS)
def test_an_integer_too_large_to_cross_the_boundary_is_an_overflow(ex_id):
    """10**4000 arrives as a note, not a value: named nan/inf (what a float makes of it), not a wrong type."""
    huge = Opaque("int", "an integer of 13288 bits")
    calls = [Call(name, visible, args, kwargs, Returned(huge), case=True) for name, visible, args, kwargs in _cases(ex_id)]
    ex = _exercise(ex_id)
    named, _ = diagnose(ex, ex.solution(), calls, Feedback.shared())
    ids = [d.id for d in named]
    assert "non-finite" in ids and "wrong-type" not in ids, named
    assert [d.id for d in named if not d.generic] == [], named
    first = next(d for d in named if d.id == "non-finite")
    assert "an integer of 13288 bits" in first.evidence or "hidden" in first.evidence, first.evidence


@pytest.mark.parametrize("ex_id", EXERCISE_IDS)
def test_a_model_is_still_named_when_it_raises_where_the_student_does(ex_id):
    """Each model as the student is named as its misconception, raise-only evidence included."""
    ex = _exercise(ex_id)
    sol = ex.solution()
    for m in ex.misconceptions:
        if m.id == "mutates-input":
            continue
        for name in m.models:
            calls = _recorded(ex_id, sol.models[name])
            assert m.id in _specific(ex_id, calls), (ex_id, name)


def test_graded_students_that_always_raise_get_no_misconception(tmp_path):
    """Through `grade`: functions that raise what the models raise on every call, or return one
    number (10**4000 among them), get only generic names."""
    folder = tmp_path / "subs"
    folder.mkdir()
    students = {"l2_value": ("l2_normalize", "ValueError"), "l2_zero": ("l2_normalize", "ZeroDivisionError"),
                "sim_value": ("similarity_matrix", "ValueError"), "softmax_zero": ("softmax", "ZeroDivisionError"),
                "dot_const": ("dot", None), "dot_huge": ("dot", None)}
    for sid, (function, error) in students.items():
        body = f"raise {error}('no')" if error else "return 10**4000" if sid == "dot_huge" else "return 0"
        (folder / f"{sid}.py").write_text(f"def {function}(*args, **kwargs):\n    {body}\n")
    selected = ["-e", "l2-normalize", "-e", "similarity-matrix", "-e", "softmax", "-e", "dot-product"]
    doc = by_id(grade_json(str(folder), *selected, "--jobs", "2"))
    ex_of = {"l2_normalize": "l2-normalize", "similarity_matrix": "similarity-matrix", "softmax": "softmax",
             "dot": "dot-product"}
    for sid, (function, error) in students.items():
        result = exercise(doc[sid], ex_of[function])
        assert result["score"] < result["max_score"]
        catalogue = {m.id for m in _exercise(ex_of[function]).misconceptions}
        ids = [m["id"] for m in result["misconceptions"]]
        assert not set(ids) & catalogue, (sid, result["misconceptions"])
        if error:
            assert "raises" in ids, (sid, result["misconceptions"])
    huge = exercise(doc["dot_huge"], "dot-product")["misconceptions"]
    assert [m["id"] for m in huge] == ["non-finite"] and "13288 bits" in huge[0]["evidence"], huge
