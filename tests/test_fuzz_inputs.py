"""Hostile and malformed teacher and student inputs, fuzzed: every one is a one-line error that names
the file, never a traceback and never a wrong load."""

from __future__ import annotations

import math
import textwrap

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from grader.course import load_exercise
from grader.errors import ExerciseError
from grader.feedback import Feedback
from grader.quiz import grade_quiz

from conftest import EXERCISES

BASE = yaml.safe_load((EXERCISES / "dot-product.yaml").read_text())
QUIZ = load_exercise(EXERCISES / "similarity-quiz.yaml")

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=True),
                    st.text(max_size=20))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                      max_leaves=12)
KEYS = list(BASE) + ["cases[0]", "cases[0].args", "cases[0].points", "misconceptions[0].model", "function.name"]


def _mutate(data: dict, key: str, value: object) -> dict:
    import copy

    out = copy.deepcopy(data)
    if key.startswith("cases[0]") and out.get("cases"):
        if key == "cases[0]":
            out["cases"][0] = value
        else:
            out["cases"][0][key.split(".", 1)[1]] = value
    elif key == "misconceptions[0].model":
        out["misconceptions"][0]["model"] = value
    elif key == "function.name":
        out["function"]["name"] = value
    else:
        out[key] = value
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(KEYS), value=values)
@example(key="function", value={"\n": None})  # a key with a line break once split the message
@example(key="cases[0]", value={"x\u2028y": 1})
def test_a_wrong_value_anywhere_is_an_exercise_error_naming_the_file(tmp_path_factory, key, value):
    folder = tmp_path_factory.mktemp("ex")
    (folder / "sol.py").write_text((EXERCISES.parent / "solutions" / "dot_product.py").read_text())
    data = _mutate(BASE, key, value)
    data["solution"] = "sol.py"
    path = folder / "fuzz.yaml"
    try:
        path.write_text(yaml.safe_dump(data, allow_unicode=True))
    except (ValueError, yaml.YAMLError):
        return  # not representable as YAML: nothing to load
    try:
        load_exercise(path)
    except ExerciseError as e:
        assert str(e).startswith(str(path)) and "\n" not in str(e)


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=300))
def test_arbitrary_text_as_an_exercise_file_never_crashes_the_loader(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("ex") / "junk.yaml"
    path.write_text(text)
    try:
        load_exercise(path)
    except ExerciseError as e:
        assert "junk.yaml" in str(e)


@settings(max_examples=150, deadline=None)
@given(answers=values)
def test_any_answers_file_is_graded_or_reported_never_a_crash(answers):
    try:
        text = yaml.safe_dump({"similarity-quiz": answers})
    except (ValueError, yaml.YAMLError):
        return
    result = grade_quiz(QUIZ, "fuzz", text, Feedback())
    assert 0 <= result.score <= result.max_score
    assert result.status in ("passed", "failed", "error", "missing")


def test_a_huge_exercise_file_is_refused_by_size(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_text("id: huge\n" + "# padding\n" * 200_000)
    try:
        load_exercise(path)
    except ExerciseError as e:
        assert "huge.yaml" in str(e) and "bytes; at most" in str(e)
    else:
        raise AssertionError("a 2 MB exercise file was accepted")


def test_a_non_utf8_exercise_file_names_the_byte(tmp_path):
    path = tmp_path / "latin.yaml"
    path.write_bytes(textwrap.dedent("id: caf\xe9\n").encode("latin-1"))
    try:
        load_exercise(path)
    except ExerciseError as e:
        assert str(e) == f"{path}: not UTF-8 text (byte 7)"


_FLOATS = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=64),
                    st.sampled_from([0.0, -0.0, 1.0, 1.00001, 0.99999, 1e-9, 5e-9, math.inf, -math.inf, math.nan]))


@given(got=st.lists(_FLOATS, min_size=1, max_size=70), expected=st.lists(_FLOATS, min_size=1, max_size=70),
       rtol=st.sampled_from([0.0, 1e-5, 0.1]), atol=st.sampled_from([0.0, 1e-8, 0.5]), near=st.booleans())
def test_result_comparison_agrees_with_numpy_allclose(got, expected, rtol, atol, near):
    # small float arrays are compared without numpy (faster); the verdict must be allclose's
    import numpy as np

    from grader.compare import same_value
    from grader.exercise import Tolerance

    e = np.array(expected, dtype=float)
    g = (e + 1e-7 * np.arange(len(e))) if near else np.resize(np.array(got, dtype=float), e.shape)
    with np.errstate(all="ignore"):
        want = bool(np.allclose(g, e, rtol=rtol, atol=atol, equal_nan=True))
        assert same_value(g, e, Tolerance(rtol=rtol, atol=atol)) is want
