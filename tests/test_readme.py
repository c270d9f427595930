"""The README's promises: its first code block, and its complete examples, which must validate."""

from __future__ import annotations

import re

from conftest import ROOT, grade

README = (ROOT / "README.md").read_text()


def test_readme_starts_with_the_two_setup_commands():
    block = re.search(r"```[a-z]*\n(.*?)```", README, re.S).group(1).strip().splitlines()
    assert len(block) == 2
    assert block[0].startswith("pip install -e .") and "grade examples/submissions" in block[0]
    assert "pytest" in block[1] and "[test]" in block[1]


def _files() -> dict[str, str]:
    return dict(re.findall(r"<!-- file: (\S+) -->\n```[a-z]*\n(.*?)```", README, re.S))


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
