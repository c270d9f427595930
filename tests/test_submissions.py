"""Submissions on disk and how a function is found in them, without importing anything."""

from __future__ import annotations

import pytest

from grader.classes import discover
from grader.course import load_exercise
from grader.errors import SubmissionError
from grader.submissions import load_submission, locate

from conftest import EXERCISES, by_id, exercise, grade_json

DOT = load_exercise(EXERCISES / "dot-product.yaml")


def test_each_subfolder_and_py_file_is_one_submission(tmp_path):
    (tmp_path / "ada").mkdir()
    (tmp_path / "ada" / "similarity.py").write_text("def dot(a, b): return 0\n")
    (tmp_path / "bob.py").write_text("def dot(a, b): return 0\n")
    (tmp_path / "notes.txt").write_text("not a submission")
    (tmp_path / ".hidden").mkdir()
    assert [s.id for s in discover(tmp_path)] == ["ada", "bob"]


def test_empty_folder_is_an_error(tmp_path):
    with pytest.raises(SubmissionError, match="no submissions found"):
        discover(tmp_path)


def test_preferred_module_wins_over_sorted_order(tmp_path):
    (tmp_path / "a_helpers.py").write_text("def dot(a, b): return 1\n")
    (tmp_path / "similarity.py").write_text("def dot(a, b): return 2\n")
    assert locate(load_submission(tmp_path), DOT).file == "similarity.py"


def test_otherwise_the_first_file_in_sorted_order(tmp_path):
    (tmp_path / "b.py").write_text("def dot(a, b): return 1\n")
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.py").write_text("def dot(a, b): return 1\n")
    assert locate(load_submission(tmp_path), DOT).file == "b.py"


def test_wrong_name_is_missing_with_a_rename_hint(tmp_path):
    (tmp_path / "similarity.py").write_text("def dot_product(a, b):\n    return 0\n")
    loc = locate(load_submission(tmp_path), DOT)
    assert loc.status == "missing"
    assert loc.problem == "no function `dot` in similarity.py; found `dot_product` — rename it?"


def test_syntax_error_is_reported_with_file_and_line(tmp_path):
    (tmp_path / "similarity.py").write_text("def dot(a, b):\n    return (a\n")
    loc = locate(load_submission(tmp_path), DOT)
    assert loc.status == "error" and loc.problem.startswith("syntax error in similarity.py:2")


def test_binary_and_non_utf8_files_are_named(tmp_path):
    (tmp_path / "similarity.py").write_bytes(b"\x00\x01\x02")
    (tmp_path / "other.py").write_bytes(b"x = '\xff'\n")
    sub = load_submission(tmp_path)
    problems = {f.path: f.problem for f in sub.files}
    assert problems["similarity.py"] == "similarity.py: is a binary file, not Python source"
    assert problems["other.py"] == "other.py:1: not UTF-8 text (save the file as UTF-8)"


def test_symlinks_out_of_a_submission_are_not_followed(tmp_path):
    secret = tmp_path / "secret.py"
    secret.write_text("def dot(a, b): return 1\n")
    sub = tmp_path / "subs" / "eve"
    sub.mkdir(parents=True)
    (sub / "similarity.py").symlink_to(secret)
    assert load_submission(sub).files == ()


def test_last_definition_wins_and_helper_modules_import(tmp_path):
    stu = tmp_path / "subs" / "kim"
    stu.mkdir(parents=True)
    (stu / "helpers.py").write_text("def total(xs):\n    return sum(xs)\n")
    (stu / "similarity.py").write_text(
        "from helpers import total\n"
        "def dot(a, b):\n    return 0.0\n"
        "def dot(a, b):\n"
        "    if len(a) != len(b):\n        raise ValueError('lengths')\n"
        "    return float(total(float(x) * float(y) for x, y in zip(a, b)))\n")
    doc = grade_json(str(tmp_path / "subs"), "-e", "dot-product")
    result = exercise(by_id(doc)["kim"], "dot-product")
    assert result["status"] == "passed" and result["file"] == "similarity.py"


def test_two_entries_of_one_student_are_refused_by_name(tmp_path):
    """bob.py and bob/ are both `bob`: one result would overwrite the other; the teacher is told."""
    (tmp_path / "bob.py").write_text("def dot(a, b):\n    return 0.0\n")
    (tmp_path / "bob").mkdir()
    (tmp_path / "bob" / "similarity.py").write_text("def dot(a, b):\n    return 0.0\n")
    (tmp_path / "carla.py").write_text("def dot(a, b):\n    return 0.0\n")
    with pytest.raises(SubmissionError) as refused:
        discover(tmp_path)
    assert str(refused.value) == (f"{tmp_path}: bob and bob.py are all the submission of `bob`; "
                                  "keep one of them, or rename the others")


def test_a_moodle_file_name_cannot_pose_as_another_participant(tmp_path):
    """What follows Moodle's `_<id>_assignsubmission_file_` is the student's own file name: one that
    holds another such part is still its uploader's."""
    source = "def dot(a, b):\n    return 0.0\n"
    (tmp_path / "Bob Jones_222_assignsubmission_file_similarity.py").write_text(source)
    (tmp_path / "Eve Smith_111_assignsubmission_file_Bob Jones_222_assignsubmission_file_x.py").write_text(source)
    found = {s.id: dict(s.meta) for s in discover(tmp_path)}
    assert [(m["name"], m["lms_id"]) for m in found.values()] == [("Bob Jones", "222"), ("Eve Smith", "111")]
