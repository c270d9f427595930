"""The gradebook: one transaction per submission, unchanged submissions skipped, history kept,
and a batch killed halfway (SIGKILL or Ctrl-C) loses nobody and grades nobody twice."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import CORPUS, ROOT, grade

CORRECT = (CORPUS / "dot-product" / "correct_loop.py").read_text()
SLOW = "import time\ntime.sleep(0.6)\n" + CORRECT  # each student takes a while: the kill lands mid-batch


def _class(tmp_path: Path, n: int, source: str) -> Path:
    subs = tmp_path / "subs"
    subs.mkdir()
    for i in range(n):
        (subs / f"s{i:02d}.py").write_text(source)
    return subs


def _rows(db: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(db) as con:
        return con.execute("SELECT student, COUNT(*) FROM submissions GROUP BY student ORDER BY student").fetchall()


def _count(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=5) as con:
            return con.execute("SELECT COUNT(*) FROM submissions").fetchone()[0]
    except sqlite3.OperationalError:
        return 0  # the tables do not exist yet


def test_unchanged_submissions_are_skipped_changed_ones_regraded_history_kept(tmp_path):
    subs = _class(tmp_path, 3, CORRECT)
    db = tmp_path / "gb.sqlite"
    first = grade(str(subs), "-e", "dot-product", "--db", str(db), "--jobs", "1")
    assert first.returncode == 0 and _count(db) == 3
    assert oct(db.stat().st_mode & 0o777) == "0o600"

    again = grade(str(subs), "-e", "dot-product", "--db", str(db), "--jobs", "1")
    assert "3 submissions unchanged" in again.stderr and _count(db) == 3
    assert again.stdout == first.stdout  # the stored results render the same

    (subs / "s01.py").write_text(CORRECT.replace("return", "return 2 *", 1))
    changed = grade(str(subs), "-e", "dot-product", "--db", str(db), "--jobs", "1")
    assert "2 submissions unchanged" in changed.stderr
    assert _rows(db) == [("s00", 1), ("s01", 2), ("s02", 1)]

    forced = grade(str(subs), "-e", "dot-product", "--db", str(db), "--regrade", "--jobs", "1")
    assert forced.returncode == 0 and _count(db) == 7

    table = grade("results", "--db", str(db))
    lines = table.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["s00", "s01", "s02"]
    assert "14.00 / 14" in lines[0] and "14.00 / 14" not in lines[1]  # the latest result of s01


def _start(tmp_path: Path, subs: Path, db: Path) -> subprocess.Popen:
    sandboxes = tmp_path / "sandboxes"
    sandboxes.mkdir(exist_ok=True)
    env = dict(os.environ, TMPDIR=str(sandboxes))
    env.pop("GRADER_NO_DB", None)
    return subprocess.Popen([sys.executable, "-m", "grader", str(subs), "-e", "dot-product", "--db", str(db),
                             "--jobs", "2"], cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_rows(db: Path, proc: subprocess.Popen, at_least: int, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while _count(db) < at_least:
        assert proc.poll() is None, "the batch ended before it could be interrupted"
        assert time.monotonic() < deadline, "no progress"
        time.sleep(0.05)


def test_a_batch_killed_with_sigkill_resumes_without_duplicates_or_losses(tmp_path):
    subs = _class(tmp_path, 14, SLOW)
    db = tmp_path / "db" / "gb.sqlite"
    proc = _start(tmp_path, subs, db)
    try:
        _wait_for_rows(db, proc, 3)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the group this test started: the grader and its workers
        proc.communicate()
    graded_before = _count(db)
    assert 3 <= graded_before < 14

    rerun = grade(str(subs), "-e", "dot-product", "--db", str(db), "--jobs", "2")
    assert rerun.returncode == 0, rerun.stderr
    assert f"{graded_before} submissions unchanged" in rerun.stderr
    rows = _rows(db)
    assert len(rows) == 14 and all(n == 1 for _, n in rows), rows


# each result carries 16 KB of captured output: a few fill the pipe its worker sends results through
NOISY_SLOW = "import sys\nprint('o' * 9000)\nprint('e' * 9000, file=sys.stderr)\n" + SLOW


@pytest.mark.parametrize("source", [SLOW, NOISY_SLOW], ids=["quiet", "noisy"])
def test_ctrl_c_stops_cleanly_keeps_what_is_graded_and_leaves_no_sandbox(tmp_path, source):
    subs = _class(tmp_path, 14, source)
    db = tmp_path / "db" / "gb.sqlite"
    proc = _start(tmp_path, subs, db)
    try:
        _wait_for_rows(db, proc, 2)
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal sends the foreground group on Ctrl-C
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 130
    assert "interrupted" in err and "Traceback" not in err
    kept = _count(db)
    assert 2 <= kept < 14
    left = [p.name for p in (tmp_path / "sandboxes").iterdir() if p.name.startswith("grader-sandbox-")]
    assert left == [], "a sandbox outlived Ctrl-C"


@pytest.mark.parametrize("content", [b"not a database at all, just text", b"SQLite format 3\0garbage"])
def test_a_corrupt_gradebook_is_a_one_line_error(tmp_path, content):
    subs = _class(tmp_path, 1, CORRECT)
    db = tmp_path / "gb.sqlite"
    db.write_bytes(content * 100)
    proc = grade(str(subs), "-e", "dot-product", "--db", str(db))
    assert proc.returncode == 2
    assert "gb.sqlite: not a usable gradebook" in proc.stderr and proc.stderr.strip().count("\n") == 0


def test_a_result_the_grader_failed_to_judge_is_graded_again(tmp_path):
    """An exercise the grader could not judge (its own failure, or its worker's death) is not a
    final grade: the next run grades the submission again; a student's own error is kept."""
    from grader.gradebook import Gradebook
    from grader.results import UNJUDGED, WORKER_DIED, ExerciseResult, SubmissionResult
    from grader.submissions import load_submission

    path = tmp_path / "subs" / "ann.py"
    path.parent.mkdir()
    path.write_text("def dot(a, b):\n    return 0.0\n")
    sub = load_submission(path)
    book = Gradebook(tmp_path / "book.sqlite")
    book.start_run([], path.parent)
    for message, kept in ((f"{UNJUDGED}: OverflowError", False), (f"{WORKER_DIED}, 2 times", False),
                          ("importing ann.py failed: NameError", True)):
        ex = ExerciseResult("dot-product", "Dot product", "error", 0.0, 14.0, message=message)
        book.record(sub, SubmissionResult(sub.id, str(sub.path), (ex,)))
        assert (book.unchanged(sub) is not None) is kept, message
    book.close()
