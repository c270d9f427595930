"""Generic mutants prove the cases: `grade validate` fails an exercise whose cases let one through."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from grader.course import load_exercise
from grader.exercise import Exercise
from grader.mutant_runtime import load
from grader.mutants import CLASSES, Mutant, mutants
from grader.probes import Prover

from conftest import EXERCISES, ROOT, grade

CODE = [ex for ex in (load_exercise(p) for p in sorted(EXERCISES.glob("*.yaml"))) if isinstance(ex, Exercise)]
MUTANTS = {ex.id: mutants(ex) for ex in CODE}
PROVERS = {ex.id: Prover(ex) for ex in CODE}
BY_ID = {ex.id: ex for ex in CODE}
# (exercise, mutant, the cases that catch it), for every mutant the shipped cases catch while
# leaving other cases standing
CAUGHT = [(ex.id, m, cases) for ex in CODE for m in MUTANTS[ex.id]
          if (cases := PROVERS[ex.id].caught_by(m)) and len(cases) < len(ex.cases)]


def test_every_class_has_mutants_in_the_shipped_course():
    found = {m.kind for ms in MUTANTS.values() for m in ms}
    assert found == set(CLASSES)


def test_mutant_names_are_unique_per_exercise_and_sources_run_without_the_graders_future_flags():
    for ex in CODE:
        names = [m.name for m in MUTANTS[ex.id]]
        assert len(names) == len(set(names)), ex.id
        for m in MUTANTS[ex.id]:
            assert callable(load(m.source, ex.function.name)), m.name


class _FromSource(Prover):
    """Judges a mutant by its source, as the sandbox runs it."""

    def function(self, mutant):
        return load(mutant.source, self.ex.function.name)


def test_a_wrapper_behaves_alike_in_this_process_and_as_the_source_the_sandbox_runs():
    for ex in CODE:
        prover, shipped = PROVERS[ex.id], _FromSource(ex)
        for m in MUTANTS[ex.id]:
            if m.spec is not None:
                assert prover.caught_by(m) == shipped.caught_by(m), (ex.id, m.name)


def test_every_non_equivalent_mutant_of_the_shipped_course_is_caught_by_its_cases():
    for ex in CODE:
        prover = PROVERS[ex.id]
        escaped = [m.name for m in MUTANTS[ex.id] if CLASSES[m.kind].required and not prover.caught_by(m)
                   and prover.distinguishing_input(m)]
        assert escaped == [], ex.id


def test_a_stalling_loop_is_caught_by_the_zero_inside_a_vector():
    prover = PROVERS["dot-product"]
    stall = next(m for m in MUTANTS["dot-product"] if m.name == "zero-stall(a)")
    assert prover.caught_by(stall) == ["zeros inside both vectors"]
    func = load(stall.source, "dot")
    with pytest.raises(RuntimeError):
        func([1.0, 0.0, 2.0], [1.0, 1.0, 1.0])
    assert func([0.0, 0.0], [1.0, 2.0]) == 0.0  # an all-zero vector has no zero beside a non-zero one


def test_integer_accumulation_wraps_like_numpy_int8():
    dot = load(next(m for m in MUTANTS["dot-product"] if m.name == "integer-result(arrays)").source, "dot")
    a, b = np.array([100, -90, 120], np.int8), np.array([110, 100, -127], np.int8)
    assert dot(a, b) == np.int8(np.int64(-13240).astype(np.int8)) != -13240
    assert dot([1.5, 2.0], [2.0, 1.0]) == 5.0  # float input: untouched


def test_a_mutant_no_input_tells_apart_is_possibly_equivalent_not_a_hole():
    for ex_id in ("dot-product", "cosine-similarity"):
        float32 = next(m for m in MUTANTS[ex_id] if m.kind == "float32")
        assert PROVERS[ex_id].caught_by(float32) == []
        assert PROVERS[ex_id].distinguishing_input(float32) is None
    # probabilities are positive: the absolute value of softmax's result changes nothing
    positive = next(m for m in MUTANTS["softmax"] if m.name == "abs(result)")
    assert PROVERS["softmax"].caught_by(positive) == [] and PROVERS["softmax"].distinguishing_input(positive) is None


LOOP_SOLUTION = '''\
def total(xs):
    s = 0.0
    for i in range(len(xs)):
        s += xs[i]
    return s


def dot(a, b):
    if len(a) != len(b):
        raise ValueError("lengths differ")
    t, i = 0.0, 0
    while i < len(a):
        t += float(a[i]) * float(b[i])
        i += 1
    return t
'''


def _loop_exercise(tmp_path: Path, name: str, signature: str, cases: str) -> Exercise:
    (tmp_path / "sol.py").write_text(LOOP_SOLUTION)
    (tmp_path / f"{name}.yaml").write_text(
        f"id: {name}\ntitle: T\nprompt: P.\nfunction: {{name: {name}, module: m.py, signature: \"{signature}\"}}\n"
        f"solution: sol.py\ncases:\n{cases}")
    return load_exercise(tmp_path / f"{name}.yaml")


def test_a_loop_in_the_reference_gives_a_loop_one_short(tmp_path):
    ex = _loop_exercise(tmp_path, "total", "total(xs)", "  - {name: three, args: [[1.0, 2.0, 3.0]]}\n")
    short = [m for m in mutants(ex) if m.kind == "dropped-last" and m.detail == "range one short"]
    assert len(short) == 1 and "range(len(xs) - 1)" in short[0].source
    assert Prover(ex).caught_by(short[0]) == ["three"]


def test_a_while_loop_that_stalls_on_zero_or_drops_its_float_conversions_needs_its_own_cases(tmp_path):
    plain = "  - {name: plain, args: [[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]]}\n"
    ex = _loop_exercise(tmp_path, "dot", "dot(a, b)", plain)
    loop = {m.detail: m for m in mutants(ex) if m.spec is None}
    stall = loop["the loop never advances past a zero element"]
    ints = loop["all 2 float conversions dropped (computes in the input's dtype)"]
    prover = Prover(ex)
    assert prover.caught_by(stall) == prover.caught_by(ints) == []
    assert prover.distinguishing_input(stall) is not None and prover.distinguishing_input(ints) is not None
    richer = plain + ("  - {name: a zero inside, args: [[1.0, 0.0, 2.0], [3.0, 4.0, 5.0]]}\n"
                      "  - {name: int8, args: [{array: {values: [100, 90], dtype: int8}}, "
                      "{array: {values: [100, -90], dtype: int8}}]}\n")
    ex = _loop_exercise(tmp_path, "dot", "dot(a, b)", richer)
    assert Prover(ex).caught_by(stall) == ["a zero inside"] and Prover(ex).caught_by(ints) == ["int8"]


def test_an_optional_parameter_whose_default_is_no_literal_is_left_alone(tmp_path):
    ex = _loop_exercise(tmp_path, "total", "total(xs, start=ZERO)", "  - {name: three, args: [[1.0, 2.0, 3.0]]}\n")
    assert not [m for m in mutants(ex) if m.kind == "ignored-argument"]
    ex = _loop_exercise(tmp_path, "total", "total(xs, start=0.0)", "  - {name: three, args: [[1.0, 2.0, 3.0]]}\n")
    assert [m.name for m in mutants(ex) if m.kind == "ignored-argument"] == ["ignores(start)"]


def test_a_mutant_whose_loop_never_ends_is_stopped_and_counts_as_caught(tmp_path):
    ex = _loop_exercise(tmp_path, "total", "total(xs)", "  - {name: three, args: [[1.0, 2.0, 3.0]]}\n")
    forever = Mutant("zero-stall", "forever", "never returns", "-", "def total(xs):\n    while True:\n        pass\n")
    assert Prover(ex).caught_by(forever) == ["three"]


def _course_without(tmp_path: Path, ex: Exercise, removed: list[str]) -> Path:
    """A copy of the exercise's YAML without the named cases and without custom checks (so only
    cases can catch a mutant), beside copies of the course's solutions."""
    shutil.copytree(ROOT / "solutions", tmp_path / "solutions", ignore=shutil.ignore_patterns("__pycache__"))
    data = yaml.safe_load(ex.source_path.read_text())
    data["cases"] = [c for c in data["cases"] if c["name"] not in removed]
    data.pop("checks", None)
    data.pop("points", None)
    (tmp_path / "exercises").mkdir()
    path = tmp_path / "exercises" / ex.source_path.name
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return path


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(CAUGHT))
def test_removing_the_cases_that_catch_a_mutant_fails_validation(tmp_path_factory, drawn):
    ex_id, mutant, cases = drawn
    path = _course_without(tmp_path_factory.mktemp("course"), BY_ID[ex_id], cases)
    # a mutant that acts only on what the removed cases held (a length no other case has) is no
    # longer told apart from the reference by any input the rest of the cases suggest
    assume(CLASSES[mutant.kind].required and Prover(load_exercise(path)).distinguishing_input(mutant) is not None)
    proc = grade("validate", str(path))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"no case catches '{CLASSES[mutant.kind].title}' (mutant {mutant.name}: " in proc.stdout, proc.stdout


def test_validate_names_the_file_the_class_and_the_case_it_needs(tmp_path):
    ex = BY_ID["dot-product"]
    path = _course_without(tmp_path, ex, ["zeros inside both vectors"])
    proc = grade("validate", str(path))
    assert proc.returncode == 1
    line = next(x for x in proc.stdout.splitlines() if "zero-stall(a)" in x)
    assert line.startswith(f"{path}:")
    assert "no case catches 'loop stalls on a zero element'" in line
    assert "add a case with a zero inside `a`, beside non-zero elements" in line
    assert "; it fails dot(a=" in line
