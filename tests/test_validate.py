"""`grade validate` proves exercises, and fails precisely on broken ones."""

from __future__ import annotations

import textwrap
from pathlib import Path

from conftest import EXERCISES, grade

EXERCISE = """\
id: double
title: Double
prompt: Return 2·x.
function: {name: double, module: m.py, signature: "double(x)"}
solution: sol.py
cases:
  - {name: three, args: [3], visibility: visible}
  - {name: minus one, args: [-1]}
  - {name: a half, args: [0.5]}
misconceptions:
  - id: triple
    title: Tripled
    model: triple
    feedback: "For {{ call.text }} you returned {{ got }}, not {{ expected }}."
  - id: add-two
    title: Added two
    model: add_two
    feedback: "For {{ call.text }} you returned {{ got }}."
"""

SOLUTION = """\
def double(x):
    return 2 * x

def triple(x):
    return 3 * x

def add_two(x):
    return x + 2
"""


def _exercise(tmp_path: Path, solution: str = SOLUTION, yaml_text: str = EXERCISE) -> Path:
    (tmp_path / "sol.py").write_text(textwrap.dedent(solution))
    (tmp_path / "double.yaml").write_text(yaml_text)
    return tmp_path


def test_shipped_exercises_validate():
    proc = grade("validate", str(EXERCISES), timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "dot-product" in proc.stdout and "cosine-similarity" in proc.stdout


def test_a_sound_exercise_validates(tmp_path):
    proc = grade("validate", str(_exercise(tmp_path)))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip() == "1 exercises valid: double"


def test_a_model_equal_to_the_reference_fails_validation(tmp_path):
    proc = grade("validate", str(_exercise(tmp_path, SOLUTION.replace("return 3 * x", "return x * 2"))))
    assert proc.returncode == 1
    assert "double.yaml:11: misconceptions[0]: model `triple` of 'triple' passes every check" in proc.stdout


def test_two_models_no_case_tells_apart_fail_validation(tmp_path):
    # two models with the same behaviour on every case: the diagnosis cannot choose
    same = SOLUTION.replace("return x + 2", "return 3 * x")
    proc = grade("validate", str(_exercise(tmp_path, same)))
    assert proc.returncode == 1
    assert "model `add_two` of 'add-two' is diagnosed as triple, add-two (no case tells it apart from triple)" in proc.stdout
    assert "model `triple` of 'triple' is diagnosed as triple, add-two" in proc.stdout


def test_a_reference_failing_its_case_and_a_broken_template_are_reported(tmp_path):
    yaml_text = EXERCISE.replace("{{ got }}.\"", "{{ no_such_variable }}.\"").replace(
        "  - {name: a half, args: [0.5]}", "  - {name: a half, args: [0.5]}\n  - {name: must raise, args: [1], raises: ValueError}")
    proc = grade("validate", str(_exercise(tmp_path, yaml_text=yaml_text)))
    assert proc.returncode == 1
    assert "solution: the reference does not pass its own checks" in proc.stdout and "'must raise'" in proc.stdout
    assert "misconceptions[1].feedback: feedback template error: UndefinedError" in proc.stdout


def test_schema_errors_are_listed_with_file_and_line(tmp_path):
    proc = grade("validate", str(_exercise(tmp_path, yaml_text=EXERCISE.replace("args: [-1]", "args: -1"))))
    assert proc.returncode == 1
    assert "double.yaml:8: cases[1].args: expected a list of arguments" in proc.stdout
