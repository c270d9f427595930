"""The gradebook: one transaction per submission, unchanged submissions skipped, history kept,
and a batch killed halfway (SIGKILL or Ctrl-C) loses nobody and grades nobody twice."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.gradebook import SCHEMA_VERSION, Gradebook
from grader.results import CheckResult, Diagnosis, ExerciseResult, SubmissionResult
from grader.submissions import load_submission

from conftest import CORPUS, DOT_POINTS, ROOT, grade

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
    full = f"{DOT_POINTS:.2f} / {DOT_POINTS:g}"
    assert full in lines[0] and full not in lines[1]  # the latest result of s01

    with Gradebook(db) as book:  # every run of s01 in history, its latest one in full
        runs = book.history("s01")
        latest = {row.student: row for row in book.latest()}["s01"]
    assert [(a.score, [e.status for e in a.exercises]) for a in runs] == [
        (runs[0].max_score, ["passed"]), (latest.score, ["failed"]), (latest.score, ["failed"])]
    assert runs[0].exercises[0].checks == "p" * len(latest.result.exercises[0].checks)
    assert runs[-1].exercises[0].checks != runs[0].exercises[0].checks


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
    assert not [p for p in (tmp_path / "sandboxes").iterdir() if p.name.startswith("grader-report-")], \
        "the killed run left its report's spool behind"

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
    from grader.results import UNJUDGED, WORKER_DIED

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


# A gradebook of the first schema (each run's full result JSON in `submissions`, checks and
# misconceptions in tables of their own), made by that grader: two students, zoe graded twice.
V1 = Path(__file__).parent / "gradebooks"


def _v1_book(tmp_path: Path) -> Path:
    db = tmp_path / "v1.sqlite"
    with sqlite3.connect(db) as con:
        con.executescript((V1 / "v1.sql").read_text())
    return db


def test_a_gradebook_of_the_first_schema_migrates_and_reads_as_before(tmp_path):
    db = _v1_book(tmp_path)
    with sqlite3.connect(db) as con:
        old = {student: json.loads(text) for student, text in con.execute(
            "SELECT student, result FROM submissions ORDER BY id")}  # the last of each student wins
        old_history = con.execute("SELECT student, score FROM submissions ORDER BY id").fetchall()
    size = db.stat().st_size

    table = grade("results", "--db", str(db))  # the first command to open it migrates it
    assert table.returncode == 0 and table.stdout == (V1 / "v1-results.txt").read_text(), table.stderr
    export = grade("export", "--db", str(db))
    assert export.returncode == 0 and export.stdout == (V1 / "v1-export.csv").read_text(), export.stderr

    with Gradebook(db) as book:
        assert {r.student: r.result.to_dict() for r in book.latest()} == old
        history = [(student, a.score) for student in ("ben", "zoe") for a in book.history(student)]
        zoe = book.history("zoe")
    assert sorted(history) == sorted(old_history)
    first = {e.exercise: e for e in zoe[0].exercises}
    assert first["dot-product"].status == "passed" and set(first["dot-product"].checks) == {"p"}
    last = {e.exercise: e for e in zoe[1].exercises}
    assert last["cosine-similarity"].misconceptions == ("zero-vector-nan",)
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        tables = {name for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert not tables & {"check_results", "misconceptions"} and not any(t.startswith("v1_") for t in tables)
    assert db.stat().st_size < size


def test_a_gradebook_of_a_newer_grader_is_refused_in_one_line(tmp_path):
    db = tmp_path / "gb.sqlite"
    Gradebook(db).close()
    with sqlite3.connect(db) as con:
        con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    proc = grade("results", "--db", str(db))
    assert proc.returncode == 2 and "made by a newer grader" in proc.stderr
    assert proc.stderr.strip().count("\n") == 0


def test_a_damaged_stored_result_is_a_one_line_error_naming_the_student(tmp_path):
    subs = _class(tmp_path, 1, CORRECT)
    db = tmp_path / "gb.sqlite"
    assert grade(str(subs), "-e", "dot-product", "--db", str(db), "--jobs", "1").returncode == 0
    with sqlite3.connect(db) as con:
        con.execute("UPDATE latest SET result = x'00ff'")
    proc = grade("results", "--db", str(db))
    assert proc.returncode == 2 and "stored result of `s00` is damaged" in proc.stderr
    assert proc.stderr.strip().count("\n") == 0


text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
status = st.sampled_from(["passed", "failed", "error", "timeout"])
checks = st.lists(st.builds(CheckResult, text, status, st.floats(0, 5), st.floats(0, 5),
                            st.sampled_from(["visible", "hidden"]), text), max_size=4)
diagnoses = st.lists(st.builds(Diagnosis, st.from_regex(r"[a-z]+(-[a-z]+)*", fullmatch=True), text, text, text),
                     max_size=2)
exercises = st.lists(st.builds(ExerciseResult, st.from_regex(r"[a-z]+(-[a-z]+)*", fullmatch=True), text,
                               st.sampled_from(["passed", "failed", "error", "timeout", "missing"]),
                               st.floats(0, 20), st.floats(0, 20), checks.map(tuple), diagnoses.map(tuple), text,
                               st.none() | text, text, text),
                     min_size=1, max_size=3, unique_by=lambda e: e.id)


@settings(max_examples=25, deadline=None)
@given(runs=st.lists(st.tuples(exercises, text, text), min_size=1, max_size=3))
def test_history_keeps_every_run_and_the_latest_result_comes_back_whole(tmp_path_factory, runs):
    """Whatever a result holds, the gradebook gives back the latest exactly as it was recorded,
    and one history row per run with its statuses, check letters and misconception ids."""
    folder = tmp_path_factory.mktemp("book")
    path = folder / "ann.py"
    path.write_text("def dot(a, b):\n    return 0.0\n")
    sub = load_submission(path)
    with Gradebook(folder / "gb.sqlite") as book:
        book.start_run([], folder)
        recorded = []
        for exs, stdout, stderr in runs:
            result = SubmissionResult(sub.id, str(sub.path), tuple(exs), stdout, stderr)
            book.record(sub, result)
            recorded.append(result)
        (row,) = book.latest()
        history = book.history(sub.id)
    assert row.result.to_dict() == recorded[-1].to_dict()
    assert len(history) == len(recorded)
    for attempt, result in zip(history, recorded, strict=True):
        assert attempt.score == result.score
        kept = {e.exercise: e for e in attempt.exercises}
        assert set(kept) == {e.id for e in result.exercises}
        for e in result.exercises:
            assert (kept[e.id].status, kept[e.id].score) == (e.status, e.score)
            assert kept[e.id].checks == "".join(c.status[0] for c in e.checks)
            assert kept[e.id].misconceptions == tuple(m.id for m in e.misconceptions)
