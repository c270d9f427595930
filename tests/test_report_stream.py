"""A class's report is written one spooled student at a time: what writing it holds in memory
does not grow with the class, in every format, and the output keeps its order and its totals."""

from __future__ import annotations

import json
import tracemalloc
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from grader.feedback import Feedback
from grader.report import RunReport
from grader.results import CheckResult, Diagnosis, ExerciseResult, SubmissionResult

FEEDBACK = Feedback()
CHECKS = 6


def _student(sid: str, failing: bool) -> SubmissionResult:
    status = "failed" if failing else "passed"
    checks = tuple(CheckResult(f"case {i}", status, 0.0 if failing else 1.0, 1.0, "visible",
                               f"dot(a = [{i}, 3], b = [0.4, 3]): expected 9.08, got [0.08, 9.0] " + "·" * 300
                               if failing else "") for i in range(CHECKS))
    diagnosis = (Diagnosis("elementwise-product", "Elementwise product", "every call", "You returned a * b. " * 40),)
    ex = ExerciseResult("dot-product", "Dot product", status, 0.0 if failing else CHECKS, CHECKS, checks,
                        diagnosis if failing else (), feedback="You returned a * b. " * 40 if failing else "")
    return SubmissionResult(sid, f"subs/{sid}", (ex,))


def _write(tmp_path: Path, fmt: str, n: int) -> tuple[int, str]:
    """The traced peak while writing the report of n students (every other one failing), and the report."""
    ids = [f"s{i:05d}" for i in range(n)]
    report = RunReport(ids, fmt, FEEDBACK)
    try:
        for i in reversed(range(n)):  # results arrive in any order
            report.add(i, _student(ids[i], failing=i % 2 == 0))
        out = tmp_path / f"{fmt}-{n}.out"
        with out.open("w", encoding="utf-8") as f:
            tracemalloc.start()
            try:
                report.write(f)
                peak = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
        return peak, out.read_text(encoding="utf-8")
    finally:
        report.close()


@pytest.mark.parametrize("fmt", ["text", "junit", "markdown", "json"])
def test_writing_the_report_holds_one_student_at_a_time(tmp_path: Path, fmt: str) -> None:
    small, _ = _write(tmp_path, fmt, 40)
    large, text = _write(tmp_path, fmt, 640)
    # sixteen times the students: one fragment at a time stays about flat, all of them would not
    assert large < 2 * small + 64_000, (small, large)

    if fmt == "text":
        lines = text.splitlines()
        first_details = next(i for i, line in enumerate(lines) if line.startswith("── "))
        summaries = [line.split()[0] for line in lines[:first_details] if line.strip()]
        assert summaries == [f"s{i:05d}" for i in range(640)]
        details = [line.split()[1] for line in lines[first_details:] if line.startswith("── ")]
        assert details == [f"s{i:05d}" for i in range(0, 640, 2)]  # the failing ones, in order
    elif fmt == "junit":
        root = ET.fromstring(text)
        assert [s.get("name") for s in root] == [f"s{i:05d}" for i in range(640)]
        assert (root.get("tests"), root.get("failures"), root.get("errors")) == (str(640 * CHECKS), str(320 * CHECKS), "0")
    elif fmt == "json":
        assert [s["id"] for s in json.loads(text)["submissions"]] == [f"s{i:05d}" for i in range(640)]
    else:
        assert text.index("s00000") < text.index("s00001") < text.index("s00639")
