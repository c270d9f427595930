"""Every misconception of the shipped slice is named, through the real `grade` command,
for a submission written in a different style from the model; correct ones get full marks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from grader.course import load_exercise

from conftest import CORPUS, EXERCISES, by_id, exercise, grade_json, misconception_ids

EXERCISE_IDS = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())


def _files(ex_id: str, sub: str = "") -> list[Path]:
    return sorted((CORPUS / ex_id / sub).glob("*.py"))


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """The whole corpus in one batch (each file a student, graded on every exercise, of which it
    implements one); returns results keyed 'exercise/name'."""
    folder = tmp_path_factory.mktemp("corpus")
    for ex_id in EXERCISE_IDS:
        for f in _files(ex_id) + _files(ex_id, "generic"):
            prefix = "generic." if f.parent.name == "generic" else ""
            shutil.copy(f, folder / f"{ex_id}.{prefix}{f.stem}.py")
    selected = [arg for ex_id in EXERCISE_IDS for arg in ("-e", ex_id)]
    doc = grade_json(str(folder), *selected, "--timeout", "0.5", "--jobs", "2")
    return {sid.replace(".", "/", 1): sub for sid, sub in by_id(doc).items()}


SPECIFIC = [(ex, f.stem) for ex in EXERCISE_IDS for f in _files(ex) if not f.stem.startswith("correct")]
CORRECT = [(ex, f.stem) for ex in EXERCISE_IDS for f in _files(ex) if f.stem.startswith("correct")]
GENERIC = [(ex, f.stem) for ex in EXERCISE_IDS for f in _files(ex, "generic")]


@pytest.mark.parametrize(("ex_id", "mistake"), SPECIFIC, ids=[f"{e}:{m}" for e, m in SPECIFIC])
def test_each_catalogued_mistake_is_named_as_itself_and_nothing_else(graded, ex_id, mistake):
    sub = graded[f"{ex_id}/{mistake}"]
    result = exercise(sub, ex_id)
    assert result["status"] != "passed"
    assert result["score"] < result["max_score"]
    catalogue = {m.id for m in load_exercise(EXERCISES / f"{ex_id}.yaml").misconceptions}
    specific = [m for m in misconception_ids(sub, ex_id) if m in catalogue]
    assert specific == [mistake], result["misconceptions"]
    assert mistake in result["feedback"]


@pytest.mark.parametrize(("ex_id", "style"), CORRECT, ids=[f"{e}:{s}" for e, s in CORRECT])
def test_correct_submissions_in_every_style_get_full_marks(graded, ex_id, style):
    sub = graded[f"{ex_id}/{style}"]
    result = exercise(sub, ex_id)
    assert result["status"] == "passed", [c for c in result["checks"] if c["status"] != "passed"]
    assert result["score"] == result["max_score"] > 0
    assert result["misconceptions"] == []


@pytest.mark.parametrize(("ex_id", "mistake"), GENERIC, ids=[f"{e}:{m}" for e, m in GENERIC])
def test_generic_mistakes_are_named_without_per_exercise_code(graded, ex_id, mistake):
    sub = graded[f"{ex_id}/generic.{mistake}"]
    assert mistake in misconception_ids(sub, ex_id), exercise(sub, ex_id)["misconceptions"]


def test_mutating_submission_never_gets_full_marks(graded):
    result = exercise(graded["dot-product/generic.mutates-input"], "dot-product")
    mutation = next(c for c in result["checks"] if c["name"] == "does not modify its arguments")
    assert mutation["status"] == "failed" and "`a`" in mutation["message"]
    assert result["score"] < result["max_score"]


def test_a_timeout_is_reported_as_status_and_misconception(graded):
    result = exercise(graded["dot-product/generic.timeout"], "dot-product")
    assert result["status"] == "timeout"
    assert {c["status"] for c in result["checks"]} >= {"timeout"}
