"""What the example class shows through the real `grade` command."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import EXAMPLES, ROOT, by_id, exercise, grade, grade_json, misconception_ids


def test_example_class_names_each_students_mistake():
    doc = grade_json(str(EXAMPLES))
    subs = by_id(doc)
    assert misconception_ids(subs["carla"], "dot-product")[0] == "elementwise-product"
    assert misconception_ids(subs["dev"], "cosine-similarity")[0] == "unnormalized-dot"
    assert misconception_ids(subs["eli"], "dot-product")[0] == "missing-return"
    assert misconception_ids(subs["zoe"], "cosine-similarity")[0] == "zero-vector-nan"
    assert exercise(subs["hana"], "dot-product")["status"] == "missing"
    assert "dot_product" in exercise(subs["hana"], "dot-product")["message"]
    assert exercise(subs["gus"], "cosine-similarity")["status"] == "timeout"
    for correct in ("ada", "ben"):
        assert subs[correct]["score"] == subs[correct]["max_score"]
        assert all(not e["misconceptions"] for e in subs[correct]["exercises"])


def test_text_output_names_the_misconceptions_and_uses_the_seed_numbers():
    proc = grade(str(EXAMPLES))
    assert proc.returncode == 0
    assert "elementwise-product" in proc.stdout and "unnormalized-dot" in proc.stdout
    assert "you returned [0.08, 9.0]" in proc.stdout and "9.08" in proc.stdout
    assert "grading 9 submissions" in proc.stderr  # the progress bar goes to stderr


def test_teacher_can_run_the_hidden_checks_with_plain_pytest(tmp_path):
    (tmp_path / "none.ini").write_text("[pytest]\n")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", str(ROOT / "exercises" / "dot-product.yaml"),
         "--submission", str(EXAMPLES / "carla"), "-p", "no:cacheprovider", "-q", "--rootdir", str(tmp_path),
         "-c", str(tmp_path / "none.ini")],
        capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "12 failed, 5 passed" in proc.stdout
    assert "expected 9.08, got [0.08, 9.0]" in proc.stdout


def test_a_json_document_on_stdout_parses_with_stderr_merged_in(tmp_path):
    """A harness or a terminal may merge stderr into stdout: a run that prints its JSON there
    prints nothing else, graded fresh and kept from its gradebook; with stderr apart, the
    progress and the note on kept results go there."""
    db = tmp_path / "gradebook.sqlite"
    env = {**os.environ}
    env.pop("GRADER_NO_DB", None)
    for _ in ("graded", "kept"):
        proc = subprocess.run([sys.executable, "-m", "grader", str(EXAMPLES), "--format", "json", "--db", str(db)],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=240,
                              env=env)
        assert proc.returncode == 0, proc.stdout[-2000:]
        assert len(json.loads(proc.stdout)["submissions"]) == 9
    apart = grade(str(EXAMPLES), "--format", "json", "--db", str(db))
    assert "9 submissions unchanged" in apart.stderr and "grading 0 submissions" in apart.stderr
    assert len(json.loads(apart.stdout)["submissions"]) == 9
