"""Two mistakes at once, and one mistake with a generic side concern, are named part by part.

Students are drawn: pairs of ideas from a softmax and an attention written from scratch (not
the models), single mistakes of the corpus (tests/submissions) with a side concern drawn on
top (a raise on list input, a small integer dtype that wraps around, pure-Python division by
zero on lists). Most are diagnosed in-process on the exercises' cases; one batch goes through
the real `grade` command.
"""

from __future__ import annotations

import functools
import importlib.util
import itertools
import re
import textwrap
from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.compare import same_value
from grader.course import load_exercise
from grader.diagnosis import diagnose
from grader.exercise import Exercise
from grader.feedback import Feedback
from grader.outcome import Call, Outcome, Raised, Returned, run_trusted
from grader.results import Diagnosis

from conftest import CORPUS, EXERCISES, by_id, exercise, grade_json

# A softmax and an attention written from scratch, with each catalogued idea as a switch.
SOFTMAX = '''
import numpy as np


def make(ideas):
    def softmax(x, axis=-1):
        x = np.asarray(x, dtype=float)
        ax = 0 if "wrong-axis" in ideas else -1 if "ignored-axis-argument" in ideas else axis
        if "missing-max-subtraction" in ideas or "missing-exp" in ideas:
            shifted = x
        else:
            shifted = x - np.max(x, axis=ax, keepdims=True)
        with np.errstate(all="ignore"):
            e = shifted if "missing-exp" in ideas else np.exp(shifted)
            if "missing-normalization" in ideas:
                return e
            total = np.sum(e) if "global-normalization" in ideas else np.sum(e, axis=ax, keepdims=True)
            if "log-softmax" in ideas:
                return shifted - np.log(total)
            return e / total
    return softmax
'''

ATTENTION = '''
import numpy as np


def make(ideas):
    def attention(Q, K, V, mask=None):
        Q, K, V = (np.asarray(a, dtype=float) for a in (Q, K, V))
        s = Q @ K.T
        if "missing-scale" not in ideas:
            s = s / np.sqrt(Q.shape[1])
        m = None if mask is None or "mask-ignored" in ideas else np.asarray(mask, dtype=bool)
        if m is not None and "inverted-mask" in ideas:
            m = ~m
        if m is not None and "mask-as-multiplier" in ideas:
            s = s * m
        elif m is not None and "mask-after-softmax" not in ideas:
            s = np.where(m, s, -np.inf)
        ax = 0 if "softmax-over-queries" in ideas else -1
        with np.errstate(all="ignore"):
            shifted = s if "no-max-shift" in ideas else s - np.max(s, axis=ax, keepdims=True)
            e = np.exp(shifted)
            w = e / e.sum(axis=ax, keepdims=True)
        if m is not None and "mask-after-softmax" in ideas:
            w = w * m
        return w if "returns-weights" in ideas else w @ V
    return attention
'''

# Pure Python, as many students write it: on lists a zero length raises ZeroDivisionError, on
# numpy arrays it gives nan; on int8 arrays the products wrap around (or the root of a wrapped,
# negative sum raises).
COSINE = '''
import math


def make(ideas):
    def cosine_similarity(a, b):
        if len(a) != len(b):
            raise ValueError("a and b must have the same length")
        dot = sum(x * y for x, y in zip(a, b))
        na = math.sqrt(sum(x * x for x in a))
        nb = math.sqrt(sum(y * y for y in b))
        if "zero-vector-nan" not in ideas and (na == 0 or nb == 0):
            return 0.0
        if "squared-norms" in ideas:
            return dot / (na ** 2 * nb ** 2)
        if "one-sided-normalization" in ideas:
            return dot / na
        if "wrong-operand-norm" in ideas:
            return dot / (nb * nb)
        if "l1-norms" in ideas:
            return dot / (sum(abs(x) for x in a) * sum(abs(y) for y in b))
        if "precedence-slip" in ideas:
            return dot / na * nb
        cos = dot / (na * nb)
        if "cosine-distance" in ideas:
            return 1.0 - cos
        return math.acos(max(-1.0, min(1.0, cos))) if "angle-instead-of-cosine" in ideas else cos
    return cosine_similarity
'''

BUILDERS = {"softmax": SOFTMAX, "attention": ATTENTION, "cosine-similarity": COSINE}
COSINE_IDEAS = ("squared-norms", "one-sided-normalization", "wrong-operand-norm", "l1-norms", "precedence-slip",
                "cosine-distance", "angle-instead-of-cosine")
AXIS = ("wrong-axis", "ignored-axis-argument")
SOFTMAX_IDEAS = (*AXIS, "missing-max-subtraction", "missing-exp", "missing-normalization",
                 "global-normalization", "log-softmax")
ATTENTION_STEPS = {"scale": ("missing-scale",), "axis": ("softmax-over-queries",), "output": ("returns-weights",),
                   "mask": ("mask-after-softmax", "mask-ignored", "inverted-mask", "mask-as-multiplier")}
ATTENTION_IDEAS = tuple(i for ideas in ATTENTION_STEPS.values() for i in ideas)


def _both_shown(ex_id: str, a: str, b: str) -> bool:
    """Pairs whose two parts the cases show (with the composition the solution declares)."""
    if ex_id == "cosine-similarity":  # Python's min and max turn the angle's nan into a number
        return "zero-vector-nan" in (a, b) and "angle-instead-of-cosine" not in (a, b)
    if ex_id == "attention":
        step = {i: s for s, ideas in ATTENTION_STEPS.items() for i in ideas}
        return step[a] != step[b]
    pair = {a, b}
    return len(pair & set(AXIS)) == 1 or pair == {"missing-max-subtraction", "global-normalization"}


PAIRS = [("softmax", a, b) for a, b in itertools.combinations(SOFTMAX_IDEAS, 2)]
PAIRS += [("attention", a, b) for a, b in itertools.combinations(ATTENTION_IDEAS, 2)]
PAIRS += [("cosine-similarity", a, b) for a, b in itertools.combinations((*COSINE_IDEAS, "zero-vector-nan"), 2)]
SHOWN = [p for p in PAIRS if _both_shown(*p)]


def _builder(ex_id: str) -> Callable[[frozenset[str]], Callable[..., Any]]:
    namespace: dict[str, Any] = {}
    exec(compile(BUILDERS[ex_id], f"<{ex_id} builder>", "exec"), namespace)
    return namespace["make"]


# --------------------------------------------------------------------------- side concerns


def raises_on_lists(f: Callable[..., Any]) -> Callable[..., Any]:
    """Accepts numpy arrays only (calls a method lists do not have)."""
    def student(*args: Any, **kwargs: Any) -> Any:
        if any(isinstance(a, list) for a in args):
            raise AttributeError("'list' object has no attribute 'shape'")
        return f(*args, **kwargs)
    return student


def wraps_small_ints(f: Callable[..., Any]) -> Callable[..., Any]:
    """Computes in the input's own small integer dtype, so results beyond int8 wrap around."""
    def student(*args: Any, **kwargs: Any) -> Any:
        out = f(*args, **kwargs)
        if any(isinstance(a, np.ndarray) and a.dtype.kind in "iu" and a.dtype.itemsize < 8 for a in args):
            return (np.asarray(out, dtype=float) + 128) % 256 - 128
        return out
    return student


def python_division(f: Callable[..., Any]) -> Callable[..., Any]:
    """Plain Python on lists: where numpy gives nan or inf, Python's division raises."""
    def student(*args: Any, **kwargs: Any) -> Any:
        out = f(*args, **kwargs)
        if any(isinstance(a, list) for a in args):
            with np.errstate(all="ignore"):
                a = np.asarray(out, dtype=float) if out is not None else np.zeros(1)
            if not np.all(np.isfinite(a)):
                raise ZeroDivisionError("float division by zero")
        return out
    return student


SIDE_CONCERNS = {"raises": raises_on_lists, "integer-wraparound": wraps_small_ints, "python-division": python_division}


# --------------------------------------------------------------------------- in-process diagnosis


def _exercise(ex_id: str) -> Exercise:
    ex = load_exercise(EXERCISES / f"{ex_id}.yaml")
    assert isinstance(ex, Exercise)
    return ex


def _calls(ex: Exercise, student: Callable[..., Any]) -> list[Call]:
    """Every case of the exercise, called on the student as the sandbox records it."""
    calls = []
    for case in ex.cases:
        args, kwargs = case.build_arguments()
        calls.append(Call(case.name, case.visibility == "visible", tuple(args), kwargs,
                          run_trusted(student, tuple(args), kwargs), case=True))
    return calls


def diagnosed(ex_id: str, student: Callable[..., Any]) -> list[Diagnosis]:
    ex = _exercise(ex_id)
    named, _ = diagnose(ex, ex.solution(), _calls(ex, student), Feedback.shared())
    return named


def _specific(named: list[Diagnosis]) -> list[str]:
    return [d.id for d in named if not d.generic]


def _corpus_student(ex_id: str, stem: str) -> Callable[..., Any]:
    path = CORPUS / ex_id / f"{stem}.py"
    spec = importlib.util.spec_from_file_location(f"corpus_{ex_id}_{stem}".replace("-", "_"), path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, _exercise(ex_id).function.name)


def _same(a: Outcome, b: Outcome) -> bool:
    if isinstance(a, Returned) and isinstance(b, Returned):
        return same_value(a.value, b.value, _exercise_tol)
    return isinstance(a, Raised) and isinstance(b, Raised) and a.type == b.type


_exercise_tol = _exercise("dot-product").tolerance
SINGLES = [(p.parent.name, p.stem) for p in sorted(CORPUS.glob("*/*.py"))
           if not p.stem.startswith("correct") and p.parent.name != "attention"
           and p.stem != "mutates-input"]  # its mistake shows in the mutation check, not in the values
CORRECT = [(p.parent.name, p.stem) for p in sorted(CORPUS.glob("*/correct*.py"))]
EVIDENCE = re.compile(r"on (\d+) calls")

FAST = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _earned(d: Diagnosis) -> int:
    match = EVIDENCE.search(d.evidence)
    return int(match.group(1)) if match else 0


@FAST
@given(st.sampled_from(PAIRS))
def test_two_mistakes_at_once_name_both_parts_each_on_its_own_calls_and_nothing_else(pair):
    ex_id, a, b = pair
    named = diagnosed(ex_id, _builder(ex_id)(frozenset({a, b})))
    specific = _specific(named)
    assert set(specific) <= {a, b}, named
    if pair in SHOWN:
        assert sorted(specific) == sorted([a, b]), named
        for d in named:
            if not d.generic:
                assert _earned(d) >= 2, d.evidence
                assert d.explanation and "feedback template error" not in d.explanation


@FAST
@given(st.sampled_from([("softmax", i) for i in SOFTMAX_IDEAS] + [("attention", i) for i in ATTENTION_IDEAS]
                       + [("cosine-similarity", i) for i in (*COSINE_IDEAS, "zero-vector-nan")]))
def test_one_mistake_written_from_scratch_gets_exactly_its_name(single):
    """...and the pure-Python cosine, whose loops wrap around on int8 input, that beside it."""
    ex_id, idea = single
    named = diagnosed(ex_id, _builder(ex_id)(frozenset({idea})))
    side = ["integer-wraparound"] if ex_id == "cosine-similarity" else []
    assert [d.id for d in named] == [idea, *side], named


MODELS = [(ex_id, m.id, name) for ex_id in sorted(p.name for p in CORPUS.iterdir() if p.is_dir())
          for m in _exercise(ex_id).misconceptions if m.id != "mutates-input" for name in m.models]


@FAST
@given(st.sampled_from(MODELS), st.sampled_from(sorted(SIDE_CONCERNS)))
def test_a_side_concern_does_not_hide_or_veto_the_mistake(single, concern):
    """A model as the student, with a side concern on top: the mistake keeps its name whenever
    two calls still show it, and the side concern is named beside it."""
    ex_id, mistake, model = single
    ex = _exercise(ex_id)
    plain = ex.solution().models[model]
    student = SIDE_CONCERNS[concern](plain)
    before, after = _calls(ex, plain), _calls(ex, student)
    reference = [run_trusted(ex.solution().reference, c.args, c.kwargs) for c in before]
    changed = {i for i, (p, s) in enumerate(zip(before, after, strict=True)) if not _same(p.outcome, s.outcome)}
    shows = {i for i, (p, r) in enumerate(zip(before, reference, strict=True)) if not _same(p.outcome, r)}
    named = diagnosed(ex_id, student)
    assert set(_specific(named)) <= {mistake}, named
    if concern == "python-division":  # nan/inf and ZeroDivisionError are one outcome for models
        assert [d.id for d in named] == [mistake], named
    elif len(shows - changed) >= 2:
        assert _specific(named) == [mistake], named
        if changed:
            assert concern in [d.id for d in named], named


@FAST
@given(st.sampled_from(SINGLES), st.sampled_from(sorted(SIDE_CONCERNS)))
def test_a_mistake_written_in_another_style_with_a_side_concern_gets_no_other_name(single, concern):
    ex_id, mistake = single
    named = diagnosed(ex_id, SIDE_CONCERNS[concern](_corpus_student(ex_id, mistake)))
    assert set(_specific(named)) <= {mistake}, named


def _perturbed(reference: Callable[..., Any], how: str, amount: float) -> Callable[..., Any]:
    """The reference with a mistake no model has: a factor, an offset, or only on 2-D input."""
    def student(*args: Any, **kwargs: Any) -> Any:
        out = np.asarray(reference(*args, **kwargs), dtype=float)
        if how == "offset":
            return out + amount
        if how == "factor on 2-D input" and np.ndim(args[0]) != 2:
            return out
        return out * (1 + amount)
    return student


@FAST
@given(st.sampled_from(sorted(p.name for p in CORPUS.iterdir() if p.is_dir())),
       st.sampled_from(["offset", "factor", "factor on 2-D input"]),
       st.floats(0.01, 0.3))
def test_a_mistake_outside_the_catalogue_gets_no_catalogued_name(ex_id, how, amount):
    ex = _exercise(ex_id)
    named = diagnosed(ex_id, _perturbed(ex.solution().reference, how, amount))
    assert _specific(named) == [], named


@FAST
@given(st.sampled_from(CORRECT), st.sampled_from(["raises", "integer-wraparound"]))
def test_a_correct_function_with_a_side_concern_gets_no_misconception(correct, concern):
    ex_id, style = correct
    named = diagnosed(ex_id, SIDE_CONCERNS[concern](_corpus_student(ex_id, style)))
    assert _specific(named) == [], named


def test_softmax_over_the_wrong_axis_without_a_max_shift_overflows_and_is_named_both():
    named = diagnosed("softmax", _builder("softmax")(frozenset({"wrong-axis", "missing-max-subtraction"})))
    assert [d.id for d in named] == ["wrong-axis", "missing-max-subtraction"]
    assert "`wrong_axis`" in named[0].evidence and "missing_max_subtraction" in named[1].evidence


def test_an_attention_without_a_max_shift_is_named_with_the_overflow_beside_it():
    named = diagnosed("attention", _builder("attention")(frozenset({"missing-scale", "no-max-shift"})))
    assert [d.id for d in named] == ["missing-scale", "non-finite"], named
    assert named[1].generic


# --------------------------------------------------------------------------- through `grade`


@settings(max_examples=1, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(SHOWN), min_size=8, max_size=8, unique=True))
def test_graded_compound_students_get_both_names_in_their_feedback(tmp_path_factory, drawn):
    folder = tmp_path_factory.mktemp("compound")
    for n, (ex_id, a, b) in enumerate(drawn):
        name = ex_id.replace("-", "_")
        source = BUILDERS[ex_id] + f"\n\n{name} = make({sorted([a, b])!r})\n"
        (folder / f"s{n}.py").write_text(textwrap.dedent(source))
    selected = [arg for ex_id in sorted({d[0] for d in drawn}) for arg in ("-e", ex_id)]
    doc = by_id(grade_json(str(folder), *selected, "--jobs", "2"))
    for n, (ex_id, a, b) in enumerate(drawn):
        result = exercise(doc[f"s{n}"], ex_id)
        assert result["score"] < result["max_score"]
        ids = [m["id"] for m in result["misconceptions"]]
        assert sorted(i for i in ids if i in (a, b)) == sorted([a, b]), (a, b, result["misconceptions"])
        assert set(ids) <= {a, b, "non-finite", "integer-wraparound"}, result["misconceptions"]
        for m in result["misconceptions"]:
            assert m["evidence"] and m["explanation"]
            assert f"`{m['id']}`" in result["feedback"] or m["title"] in result["feedback"]


def test_the_attention_steps_the_compositions_change_are_those_of_the_models():
    """compose(a, b) changes the reference's steps as a and b do: with one change, the model itself."""
    ex = _exercise("attention")
    sol = ex.solution()
    changes = sol.reference.__globals__["_CHANGES"]
    pipeline = sol.reference.__globals__["_pipeline"]
    for name, change in changes.items():
        for case in ex.cases:
            args, kwargs = case.build_arguments()
            one = run_trusted(functools.partial(pipeline, **change), tuple(args), kwargs)
            assert _same(one, run_trusted(sol.models[name], tuple(args), kwargs)), (name, case.name)
    assert sol.models["compose"]("missing_scale", "mask_ignored") is not None
    assert sol.models["compose"]("mask_ignored", "inverted_mask") is None  # one step changed twice
