"""The documents' promises: the README's first code block and its size (a front door), the
teaching guide's complete examples, which must validate, and the platforms guide's Canvas round
trip, run word for word; every document they link to exists."""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import zipfile

from test_exports_import import canvas_import_problems

from conftest import CORPUS, ROOT, grade

README = (ROOT / "README.md").read_text()
TEACHING = (ROOT / "docs" / "teaching.md").read_text()  # the complete exercise and quiz examples
PLATFORMS = (ROOT / "docs" / "platforms.md").read_text()  # the Canvas round trip


def test_readme_starts_with_the_two_setup_commands():
    block = re.search(r"```[a-z]*\n(.*?)```", README, re.S).group(1).strip().splitlines()
    assert len(block) == 2
    assert block[0].startswith("pip install -e .") and "grade examples/submissions" in block[0]
    assert "pytest" in block[1] and "[test]" in block[1]


def _files() -> dict[str, str]:
    return dict(re.findall(r"<!-- file: (\S+) -->\n```[a-z]*\n(.*?)```", TEACHING, re.S))


def test_the_complete_exercise_and_quiz_examples_validate(tmp_path):
    files = _files()
    assert {"exercises/manhattan-distance.yaml", "exercises/distance-quiz.yaml", "answers.yaml"} <= set(files)
    for name, text in files.items():
        if name != "answers.yaml":
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / name).write_text(text)
    proc = grade("validate", str(tmp_path / "exercises"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 exercises valid: distance-quiz, manhattan-distance" in proc.stdout


def test_the_example_answers_are_graded_with_the_named_misconception(tmp_path):
    files = _files()
    for name, text in files.items():
        target = tmp_path / ("subs/ada/answers.yaml" if name == "answers.yaml" else name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    proc = grade("check", str(tmp_path / "subs" / "ada"), "--exercises", str(tmp_path / "exercises"),
                 "-e", "distance-quiz", "--format", "json")
    assert proc.returncode == 1
    assert '"id": "euclidean-instead"' in proc.stdout


def test_the_canvas_round_trip_runs_word_for_word(tmp_path):
    """The README's Canvas round trip, run as written on a Canvas download and a gradebook export:
    the CSV it writes is one Canvas's importer takes, every student matched by their Canvas ID."""
    commands = re.search(r"<!-- round trip: canvas -->\n```sh\n(.*?)```", PLATFORMS, re.S).group(1)
    assert "grade export" in commands and "--roster roster.csv" in commands
    right = (CORPUS / "dot-product" / "correct_loop.py").read_text()
    wrong = (CORPUS / "dot-product" / "elementwise-product.py").read_text()
    with zipfile.ZipFile(tmp_path / "submissions.zip", "w") as zf:  # as Canvas names the files
        zf.writestr("doejane_5551_90001_similarity.py", right)
        zf.writestr("leeann_LATE_6662_90002_similarity.py", wrong)
        zf.writestr("parkkim_7773_90003_similarity.py", right)
    (tmp_path / "roster.csv").write_text(
        "\ufeffStudent,ID,SIS User ID,SIS Login ID,Section,Quiz 1 (1200),Homework 1 (1234),Current Score\n"
        "    Points Possible,,,,,5.00,100.00,(read only)\n"
        '"Doe, Jane",5551,S001,jdoe,Sec A,4,,\n"Lee, Ann",6662,S002,alee,Sec A,5,,\n'
        '"Park, Kim",7773,S003,kpark,Sec B,,,\n"Student, Test",9999,,,Sec A,,,\n')
    env = {k: v for k, v in os.environ.items() if k not in ("GRADER_NO_DB", "PYTEST_ADDOPTS")}
    run = subprocess.run(["bash", "-e", "-c", commands], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    text = (tmp_path / "grades.csv").read_text()
    assert canvas_import_problems(text, {"5551", "6662", "7773", "9999"}) == []
    table = list(csv.reader(io.StringIO(text, newline="")))
    assert table[0][5:] == ["Homework 1 (1234)"] and table[1][5:] == ["100"]
    plain = grade("export", "hw1", "--format", "csv", cwd=tmp_path)
    totals = {r["student"]: float(r["score"]) / float(r["max_score"]) for r in csv.DictReader(io.StringIO(plain.stdout))}
    scores = {row[1]: float(row[5]) for row in table[2:]}
    assert scores == {"5551": round(100 * totals["doejane_5551"], 2), "6662": round(100 * totals["leeann_6662"], 2),
                      "7773": round(100 * totals["parkkim_7773"], 2)}
    assert scores["5551"] > scores["6662"]


def test_the_readme_is_a_front_door_and_every_link_it_gives_exists():
    assert len(README.encode()) <= 12_000, f"README.md is {len(README.encode())} bytes"
    for document in (README, TEACHING, PLATFORMS):
        for target in re.findall(r"\]\(([^)#:]+)\)", document):
            base = ROOT if document is README else ROOT / "docs"
            assert (base / target).resolve().exists(), target

