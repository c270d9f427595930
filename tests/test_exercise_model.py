"""Exercise YAML: the shipped course loads and validates; malformed files fail with file:line."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import jsonschema
import pytest
import yaml

from grader.course import load_exercise, load_exercises
from grader.errors import ExerciseError, GraderError

from conftest import EXERCISES, ROOT

SCHEMAS = {kind: json.loads((ROOT / "grader" / "schema" / f"{kind}.schema.json").read_text()) for kind in ("exercise", "quiz")}
SHIPPED = sorted(EXERCISES.glob("*.yaml"))
CODE = [p for p in SHIPPED if yaml.safe_load(p.read_text()).get("kind") != "quiz"]


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_exercise_validates_against_the_json_schema(path):
    data = yaml.safe_load(path.read_text())
    jsonschema.validate(data, SCHEMAS["quiz" if data.get("kind") == "quiz" else "exercise"])


@pytest.mark.parametrize("path", CODE, ids=[p.stem for p in CODE])
def test_shipped_exercise_has_solution_prompt_and_hidden_and_visible_cases(path):
    ex = load_exercise(path)
    assert ex.solution_path.is_file() and ex.prompt.strip()
    assert {c.visibility for c in ex.cases} == {"visible", "hidden"}
    assert ex.solution().reference is not None
    assert ex.id == path.stem


def test_seed_numbers_are_in_the_dot_product_cases():
    ex = load_exercise(EXERCISES / "dot-product.yaml")
    ref = ex.solution().reference
    args = [c.build_arguments()[0] for c in ex.cases]
    assert [[0.2, 3], [0.4, 3]] in args and [[0.2, 3], [0.2, 3]] in args
    assert ref([0.2, 3], [0.4, 3]) == pytest.approx(9.08)
    assert ref([0.2, 3], [0.2, 3]) == pytest.approx(9.04)


def test_generated_arguments_are_reproducible_per_case():
    ex = load_exercise(EXERCISES / "dot-product.yaml")
    case = next(c for c in ex.cases if isinstance(c.args[0], dict))
    first, again = case.build_arguments()[0], case.build_arguments()[0]
    assert all((a == b).all() if hasattr(a, "all") else a == b for a, b in zip(first, again, strict=True))


MINIMAL = """\
id: tiny
title: Tiny
prompt: Add one.
function: {name: inc, module: m.py, signature: "inc(x)"}
solution: sol.py
cases:
  - name: one
    args: [1]
"""


def _write(tmp_path: Path, text: str, solution: str = "def inc(x):\n    return x + 1\n") -> Path:
    (tmp_path / "sol.py").write_text(solution)
    path = tmp_path / "tiny.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_minimal_exercise_loads_with_defaults(tmp_path):
    ex = load_exercise(_write(tmp_path, MINIMAL))
    assert ex.points == 2 and ex.cases[0].visibility == "hidden" and ex.tolerance.rtol == 1e-5


@pytest.mark.parametrize(("replace", "by", "expected"), [
    ("    args: [1]", "    args: [1, 2]", "tiny.yaml:8: cases[0].args: expected a list of at most 1 arguments for inc(x), got 2"),
    ("    args: [1]", "    args: 1", "tiny.yaml:8: cases[0].args: expected a list of arguments, got a number (1)"),
    ("id: tiny", "id: Tiny_One", "tiny.yaml:1: id: 'Tiny_One' is not kebab-case"),
    ("    args: [1]", "    args: [1]\n    visibility: secret", "tiny.yaml:9: cases[0].visibility: expected one of visible, hidden, got 'secret'"),
    ("    args: [1]", "    args: [{normal: {shape: [3], mu: 1}}]", "tiny.yaml:8: cases[0].args[0].normal.mu: unknown key; expected one of shape, mean, std"),
    ("solution: sol.py", "solution: nope.py", "tiny.yaml:5: solution: no such file"),
    ("prompt: Add one.\n", "", "tiny.yaml: (top level): missing required key 'prompt'"),
    ("cases:", "points: 7\ncases:", "tiny.yaml:6: points: is 7 but the cases (1)"),
    ("title: Tiny", "title: [unclosed", "tiny.yaml:3: invalid YAML"),
])
def test_malformed_exercise_errors_name_file_line_and_key(tmp_path, replace, by, expected):
    path = _write(tmp_path, MINIMAL.replace(replace, by))
    with pytest.raises(ExerciseError) as err:
        load_exercise(path)
    assert expected in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_model_function_names_the_line(tmp_path):
    text = MINIMAL + "misconceptions:\n  - id: off-by-one\n    title: T\n    model: inc_twice\n    feedback: x\n"
    with pytest.raises(ExerciseError, match=r"tiny.yaml:12: misconceptions\[0\].model: no function 'inc_twice' in sol.py"):
        load_exercise(_write(tmp_path, text))


def test_alias_bomb_is_refused(tmp_path):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n" for p, c in zip("abcdefg", "bcdefgh", strict=True))
    path = tmp_path / "bomb.yaml"
    path.write_text(bomb)
    with pytest.raises(ExerciseError, match="alias bomb"):
        load_exercise(path)


def test_unknown_exercise_id_lists_the_known_ones():
    known = ", ".join(sorted(p.stem for p in SHIPPED))
    with pytest.raises(GraderError, match=f"unknown exercise id 'nope'; known: {known}"):
        load_exercises(EXERCISES, ("nope",))


def test_duplicate_ids_across_files_are_refused(tmp_path):
    _write(tmp_path, MINIMAL)
    (tmp_path / "copy.yaml").write_text(MINIMAL)
    with pytest.raises(ExerciseError, match="'tiny' is also the id of"):
        load_exercises(tmp_path)
