"""The `grade` command end to end: exit codes, formats, files, one-line errors."""

from __future__ import annotations

import json
import os
import shutil
import stat
import threading

import jsonschema
import pytest

from conftest import (
    CORPUS,
    COSINE_POINTS,
    DOT_POINTS,
    EXAMPLES,
    EXERCISES,
    ROOT,
    by_id,
    grade,
    grade_json,
)

CORRECT = (CORPUS / "dot-product" / "correct_loop.py").read_text() + "\n" + (
    CORPUS / "cosine-similarity" / "correct_numpy.py").read_text()


def test_console_script_is_installed():
    assert shutil.which("grade") is not None


def test_check_exits_0_on_a_correct_file(write_submission):
    path = write_submission("good", CORRECT)
    proc = grade("check", str(path), "-e", "dot-product", "-e", "cosine-similarity")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    total = DOT_POINTS + COSINE_POINTS
    assert f"{total} / {total}" in proc.stdout


def test_check_exits_1_with_feedback_on_a_wrong_file():
    proc = grade("check", str(EXAMPLES / "carla"))
    assert proc.returncode == 1
    assert "elementwise-product" in proc.stdout
    assert "[0.08, 9.0]" in proc.stdout and "9.08" in proc.stdout


def test_empty_submissions_folder_is_a_one_line_error(tmp_path):
    proc = grade(str(tmp_path))
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert str(tmp_path) in proc.stderr and "no submissions found" in proc.stderr


def test_unknown_exercise_id_is_a_one_line_error():
    proc = grade(str(EXAMPLES), "-e", "dot-prodcut")
    assert proc.returncode == 2
    assert "unknown exercise id 'dot-prodcut'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_malformed_exercise_yaml_names_file_and_line(tmp_path, write_submission):
    ex_dir = tmp_path / "exercises"
    shutil.copytree(EXERCISES, ex_dir)
    (tmp_path / "solutions").symlink_to(ROOT / "solutions")
    (tmp_path / "checks").symlink_to(ROOT / "checks")
    text = (ex_dir / "dot-product.yaml").read_text().splitlines()
    # an argument list of 3 for dot(a, b) on the first case
    line_no = next(i for i, line in enumerate(text) if line.strip().startswith("args:")) + 1
    text[line_no - 1] = text[line_no - 1].replace("args: [", "args: [[1], ")
    (ex_dir / "dot-product.yaml").write_text("\n".join(text) + "\n")
    path = write_submission("x", CORRECT)
    proc = grade("check", str(path), "--exercises", str(ex_dir))
    assert proc.returncode == 2
    assert f"dot-product.yaml:{line_no}: cases[0].args: expected a list of at most 2 arguments" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    ex_dir = tmp_path / "exercises"
    ex_dir.mkdir()
    (ex_dir / "broken.yaml").write_text("id: broken\ntitle: [unclosed\nprompt: x\n")
    proc = grade("list", "--exercises", str(ex_dir))
    assert proc.returncode == 2
    assert "broken.yaml:" in proc.stderr and "invalid YAML" in proc.stderr
    assert proc.stderr.strip().count("\n") == 0


def test_list_shows_the_course():
    proc = grade("list")
    assert proc.returncode == 0
    assert "dot-product" in proc.stdout and "cosine_similarity(a, b)" in proc.stdout


def test_json_output_follows_the_documented_schema(tmp_path):
    doc = grade_json(str(EXAMPLES), "--timeout", "0.5")
    assert set(doc) == {"grader", "submissions"}
    assert "separate-process" in doc["grader"]["sandbox"]
    check = {"type": "object", "required": ["name", "status", "score", "max_score", "visibility", "message"],
             "properties": {"status": {"enum": ["passed", "failed", "error", "timeout"]},
                            "visibility": {"enum": ["visible", "hidden"]}}}
    schema = {"type": "object", "required": ["submissions"], "properties": {"submissions": {"type": "array", "items": {
        "type": "object", "required": ["id", "path", "score", "max_score", "exercises"],
        "properties": {"exercises": {"type": "array", "items": {
            "type": "object", "required": ["id", "status", "score", "max_score", "checks", "misconceptions", "feedback"],
            "properties": {"status": {"enum": ["passed", "failed", "error", "timeout", "missing"]},
                           "checks": {"type": "array", "items": check},
                           "misconceptions": {"type": "array", "items": {"type": "object", "required": ["id", "title", "evidence"]}}}}}}}}}}
    jsonschema.validate(doc, schema)
    for sub in doc["submissions"]:
        assert sub["score"] == pytest.approx(sum(e["score"] for e in sub["exercises"]))


def test_output_file_and_feedback_dir(tmp_path):
    out = tmp_path / "results.json"
    fb = tmp_path / "feedback"
    proc = grade(str(EXAMPLES), "--format", "json", "-o", str(out), "--feedback-dir", str(fb), "--timeout", "0.5")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    ids = {s["id"] for s in doc["submissions"]}
    assert {p.stem for p in fb.glob("*.md")} == ids
    carla = (fb / "carla.md").read_text()
    assert carla.startswith("# Feedback for carla") and "elementwise-product" in carla


def test_markdown_format_renders_one_section_per_student():
    proc = grade(str(EXAMPLES), "--format", "markdown", "--timeout", "0.5")
    assert proc.returncode == 0
    assert proc.stdout.count("# Feedback for ") == len(list(EXAMPLES.iterdir()))


def test_templates_dir_overrides_a_builtin_template(tmp_path):
    tdir = tmp_path / "templates"
    tdir.mkdir()
    (tdir / "submission.md.j2").write_text("CUSTOM {{ sub.id }} {{ sub.score }}\n")
    proc = grade("check", str(EXAMPLES / "ben"), "--templates", str(tdir), "-e", "dot-product", "-e", "cosine-similarity")
    assert proc.stdout.strip() == f"CUSTOM ben {DOT_POINTS + COSINE_POINTS}"


def test_default_command_takes_options_before_the_folder():
    proc = grade("--timeout", "0.5", "-e", "dot-product", str(EXAMPLES), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert {e["id"] for s in json.loads(proc.stdout)["submissions"] for e in s["exercises"]} == {"dot-product"}


def test_exercises_default_to_the_builtin_course_outside_a_project(tmp_path):
    proc = grade("list", cwd=tmp_path)
    assert proc.returncode == 0 and "cosine-similarity" in proc.stdout


def test_syntax_error_submission_gets_an_error_result_and_others_are_intact():
    doc = grade_json(str(EXAMPLES), "--timeout", "0.5")
    subs = by_id(doc)
    fatima = [e for e in subs["fatima"]["exercises"] if e["id"] in ("dot-product", "cosine-similarity")]
    assert {e["status"] for e in fatima} == {"error"}
    assert all("syntax error in similarity.py:" in e["message"] for e in fatima)
    assert subs["ben"]["score"] == subs["ben"]["max_score"]


def test_output_into_a_fifo_is_written_into_it_not_replaced(tmp_path):
    # -o /dev/null, -o >(cmd): a path that is not a regular file is written into; the atomic
    # replace of a regular file would put a file where the device or pipe was (as root, for
    # /dev/null, the machine's)
    fifo = tmp_path / "out"
    os.mkfifo(fifo)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()), daemon=True)
    reader.start()
    proc = grade("check", str(EXAMPLES / "ben"), "-e", "dot-product", "--format", "json", "-o", str(fifo))
    reader.join(60)
    assert proc.returncode == 0, proc.stderr
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert json.loads(received[0])["submissions"][0]["id"] == "ben"
