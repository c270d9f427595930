"""The quiz: per-student numbers, choice explanations, numeric answers diagnosed with the exercises' models."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from grader.course import load_exercise
from grader.errors import ExerciseError

from conftest import EXAMPLES, EXERCISES, by_id, exercise, grade, grade_json

QUIZ = load_exercise(EXERCISES / "similarity-quiz.yaml")


def _answers(student: str, **overrides) -> str:
    v = QUIZ.draw(student)
    answers = {"matmul-of-vectors": int(np.dot(v["a"], v["b"])), "seed-dot-product": 9.04, "seed-pair": "c-and-d",
               "cosine-of-identical": 1, "normalising": ["unit-length", "dot-is-cosine", "same-ranking"],
               "why-not-subtract": "one-number", "qk-transpose": "all-pairs", "why-scale": "variance",
               "cosine-distance": 2, "one-dimension": "one"}
    answers.update({k.replace("_", "-"): val for k, val in overrides.items()})
    return yaml.safe_dump({"similarity-quiz": answers})


def _grade(tmp_path, student: str, text: str | bytes) -> dict:
    folder = tmp_path / "subs" / student
    folder.mkdir(parents=True)
    (folder / "answers.yaml").write_bytes(text if isinstance(text, bytes) else text.encode())
    return exercise(by_id(grade_json(str(tmp_path / "subs"), "-e", "similarity-quiz"))[student], "similarity-quiz")


def test_draws_are_reproducible_per_student_and_differ_between_students():
    assert QUIZ.draw("carla") == QUIZ.draw("carla")
    draws = {tuple(QUIZ.draw(s)["a"]) + tuple(QUIZ.draw(s)["b"]) for s in ("ada", "ben", "carla", "dev", "eli")}
    assert len(draws) >= 4


def test_correct_answers_get_full_marks(tmp_path):
    result = _grade(tmp_path, "kim", _answers("kim"))
    assert result["status"] == "passed" and result["score"] == result["max_score"] == QUIZ.points


def test_a_neighbours_answer_to_a_drawn_question_is_wrong(tmp_path):
    v = QUIZ.draw("ada")
    mine = QUIZ.draw("kim")
    assert np.dot(v["a"], v["b"]) != np.dot(mine["a"], mine["b"])
    result = _grade(tmp_path, "kim", _answers("kim", matmul_of_vectors=int(np.dot(v["a"], v["b"]))))
    assert next(c for c in result["checks"] if c["name"] == "matmul-of-vectors")["status"] == "failed"


def test_elementwise_answer_to_a_at_b_is_diagnosed_with_the_dot_product_models(tmp_path):
    v = QUIZ.draw("kim")
    result = _grade(tmp_path, "kim", _answers("kim", matmul_of_vectors=[x * y for x, y in zip(v["a"], v["b"], strict=True)]))
    assert [m["id"] for m in result["misconceptions"]] == ["elementwise-product"]
    assert "the elementwise product" in result["feedback"]


def test_wrong_choice_carries_its_own_explanation_and_misconception(tmp_path):
    result = _grade(tmp_path, "kim", _answers("kim", seed_pair="a-and-b"))
    check = next(c for c in result["checks"] if c["name"] == "seed-pair")
    assert check["status"] == "failed" and "‖a‖‖b‖ cos θ" in check["message"]
    assert [m["id"] for m in result["misconceptions"]] == ["unnormalized-dot"]


def test_multiple_choice_gives_partial_credit(tmp_path):
    result = _grade(tmp_path, "kim", _answers("kim", normalising=["unit-length", "dot-is-cosine"]))
    check = next(c for c in result["checks"] if c["name"] == "normalising")
    assert check["score"] == pytest.approx(2 * 2 / 3) and "also true" in check["message"]


def test_malformed_answers_file_is_an_error_naming_file_and_line(tmp_path):
    result = _grade(tmp_path, "kim", "similarity-quiz:\n  seed-pair: [unclosed\n")
    assert result["status"] == "error" and "answers.yaml:" in result["message"] and "invalid YAML" in result["message"]


def test_alias_bomb_in_answers_is_refused(tmp_path):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n" for p, c in zip("abcdefg", "bcdefgh", strict=True))
    result = _grade(tmp_path, "kim", bomb)
    assert result["status"] == "error" and "alias bomb" in result["message"]


def test_non_utf8_answers_are_reported_as_missing_text(tmp_path):
    result = _grade(tmp_path, "kim", b"similarity-quiz:\n  seed-pair: \xff\n")
    assert result["status"] == "missing" and "answers.yaml" in result["message"]


def test_example_class_quiz_names_the_seed_misconceptions():
    subs = by_id(grade_json(str(EXAMPLES), "-e", "similarity-quiz"))
    assert exercise(subs["ada"], "similarity-quiz")["status"] == "passed"
    assert "elementwise-product" in [m["id"] for m in exercise(subs["carla"], "similarity-quiz")["misconceptions"]]
    assert "unnormalized-dot" in [m["id"] for m in exercise(subs["dev"], "similarity-quiz")["misconceptions"]]
    assert exercise(subs["gus"], "similarity-quiz")["status"] == "missing"


def test_grade_quiz_prints_the_students_own_numbers():
    proc = grade("quiz", "similarity-quiz", "--student", "carla")
    assert proc.returncode == 0
    v = QUIZ.draw("carla")
    assert f"np.array({v['a']})".replace(" ", "") in proc.stdout.replace(" ", "")


def test_single_choice_with_two_correct_choices_is_refused(tmp_path):
    text = (EXERCISES / "similarity-quiz.yaml").read_text().replace(
        "        text: a and b, because 9.08 > 9.04\n", "        text: a and b, because 9.08 > 9.04\n        correct: true\n")
    (tmp_path / "exercises").mkdir()
    for name in ("dot-product.yaml", "cosine-similarity.yaml"):
        (tmp_path / "exercises" / name).write_text((EXERCISES / name).read_text())
    for folder in ("solutions", "checks"):
        (tmp_path / folder).symlink_to(EXERCISES.parent / folder)
    path = tmp_path / "exercises" / "similarity-quiz.yaml"
    path.write_text(text)
    with pytest.raises(ExerciseError, match=r"similarity-quiz.yaml:\d+: questions\[2\].choices: a single-choice question needs exactly one correct choice, got 2"):
        load_exercise(path)
