"""Shared helpers: run the real `grade` command and read its JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings

from grader.course import load_exercise

# The fuzz tests explore new inputs on every developer's run; CI (.ci/run sets the profile)
# replays a fixed sequence, so that a landing never depends on the luck of a draw. Inputs that
# once broke something are pinned with @example in the tests themselves.
settings.register_profile("ci", derandomize=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = ROOT / "exercises"
EXAMPLES = ROOT / "examples" / "submissions"
CORPUS = Path(__file__).resolve().parent / "submissions"


def course_points(exercise_id: str) -> float:
    """The points of one exercise of the shipped course (its cases change; tests read them here)."""
    return float(load_exercise(EXERCISES / f"{exercise_id}.yaml").points)


DOT_POINTS = course_points("dot-product")
COSINE_POINTS = course_points("cosine-similarity")


def grade(*args: str, cwd: Path | None = None, timeout: float = 240,
          env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run the installed `grade` command (as `python -m grader`, the same entry point); `env` adds
    to this process's environment."""
    env = {**os.environ, **(env or {})}
    env.pop("PYTEST_ADDOPTS", None)
    env.setdefault("GRADER_NO_DB", "1")  # hermetic: a test that wants a gradebook passes --db
    return subprocess.run([sys.executable, "-m", "grader", *args], cwd=cwd or ROOT, capture_output=True,
                          text=True, timeout=timeout, env=env)


def grade_json(*args: str, cwd: Path | None = None) -> dict:
    proc = grade(*args, "--format", "json", cwd=cwd)
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)


def by_id(document: dict) -> dict[str, dict]:
    return {s["id"]: s for s in document["submissions"]}


def exercise(sub: dict, ex_id: str) -> dict:
    return next(e for e in sub["exercises"] if e["id"] == ex_id)


def misconception_ids(sub: dict, ex_id: str) -> list[str]:
    return [m["id"] for m in exercise(sub, ex_id)["misconceptions"]]


@pytest.fixture
def write_submission(tmp_path: Path):
    """Write a one-file submission `<name>.py` (or a folder) under tmp_path/subs."""
    subs = tmp_path / "subs"
    subs.mkdir()

    def write(name: str, source: str, folder: bool = False, file: str = "similarity.py") -> Path:
        if folder:
            (subs / name).mkdir(exist_ok=True)
            path = subs / name / file
        else:
            path = subs / f"{name}.py"
        path.write_text(source)
        return path

    write.root = subs  # type: ignore[attr-defined]
    return write
