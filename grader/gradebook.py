"""The gradebook: every graded submission in SQLite (WAL), one transaction each.

History is kept (a row per grading); the latest row per student is what outputs and exports
use. A rerun skips a submission whose content, exercises and grader are unchanged, so a batch
that was killed resumes where it stopped without grading anyone twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import __version__
from .errors import GraderError
from .exercise import Exercise
from .results import CheckResult, Diagnosis, ExerciseResult, SubmissionResult, judged
from .submissions import Submission
from .text import safe

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    started TEXT NOT NULL,
    finished TEXT,
    grader_version TEXT NOT NULL,
    exercises_hash TEXT NOT NULL,
    submissions_folder TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS submissions (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    student TEXT NOT NULL,
    path TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    exercises_hash TEXT NOT NULL,
    grader_version TEXT NOT NULL,
    graded_at TEXT NOT NULL,
    score REAL NOT NULL,
    max_score REAL NOT NULL,
    seconds REAL NOT NULL,
    name TEXT,
    lms_id TEXT,
    late INTEGER NOT NULL DEFAULT 0,
    submitted_at TEXT,
    result TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS submissions_student ON submissions(student, id);
CREATE TABLE IF NOT EXISTS exercise_results (
    submission_id INTEGER NOT NULL REFERENCES submissions(id),
    exercise TEXT NOT NULL,
    status TEXT NOT NULL,
    score REAL NOT NULL,
    max_score REAL NOT NULL,
    file TEXT,
    message TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS check_results (
    submission_id INTEGER NOT NULL REFERENCES submissions(id),
    exercise TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    score REAL NOT NULL,
    max_score REAL NOT NULL,
    visibility TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS misconceptions (
    submission_id INTEGER NOT NULL REFERENCES submissions(id),
    exercise TEXT NOT NULL,
    misconception TEXT NOT NULL,
    title TEXT NOT NULL,
    evidence TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS exercise_versions (
    exercises_hash TEXT NOT NULL,
    exercise TEXT NOT NULL,
    title TEXT NOT NULL,
    points REAL NOT NULL,
    file_hash TEXT NOT NULL,
    PRIMARY KEY (exercises_hash, exercise)
);
"""


def _hash_files(paths: Iterable[Path]) -> str:
    h = hashlib.sha256()
    for p in sorted(set(paths)):
        h.update(str(p.name).encode() + b"\0")
        h.update(p.read_bytes() + b"\0")
    return h.hexdigest()[:32]


_GRADER_VERSION: str | None = None


def grader_version() -> str:
    """The release plus a digest of the grader's own code and templates: a changed grader regrades."""
    global _GRADER_VERSION
    if _GRADER_VERSION is None:
        root = Path(__file__).resolve().parent
        files = [p for p in root.rglob("*") if p.is_file() and p.suffix in (".py", ".j2", ".json", ".ini")
                 and "course" not in p.relative_to(root).parts and "__pycache__" not in p.parts]
        h = hashlib.sha256()
        for p in sorted(files):
            h.update(str(p.relative_to(root)).encode() + b"\0" + p.read_bytes() + b"\0")
        _GRADER_VERSION = f"{__version__}+{h.hexdigest()[:12]}"
    return _GRADER_VERSION


def exercises_hash(exercises: list[Exercise]) -> str:
    """Identifies the graded content: every exercise file, solution and check module involved."""
    h = hashlib.sha256()
    for ex in sorted(exercises, key=lambda e: e.id):
        h.update(ex.id.encode() + b"\0" + exercise_file_hash(ex).encode())
    return h.hexdigest()[:32]


def exercise_file_hash(ex: Exercise) -> str:
    paths = [ex.source_path]
    if ex.kind == "code":
        paths.append(ex.solution_path)
        if ex.checks_path:
            paths.append(ex.checks_path)
    else:
        paths += [linked.source_path for linked in ex.linked.values()]
        paths += [linked.solution_path for linked in ex.linked.values()]
    return _hash_files(paths)


def content_hash(sub: Submission) -> str:
    h = hashlib.sha256()
    for f in sorted(sub.files, key=lambda f: f.path):
        h.update(f.path.encode("utf-8", "surrogateescape") + b"\0" + f.data + b"\0")
    for name, text in sorted(sub.answers):
        h.update(name.encode() + b"\0" + (text or "").encode() + b"\0")
    return h.hexdigest()[:32]


def default_path(submissions_folder: Path) -> Path:
    """`gradebook.sqlite` beside the submissions folder."""
    return submissions_folder.resolve().parent / "gradebook.sqlite"


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class StoredRow:
    student: str
    score: float
    max_score: float
    graded_at: str
    late: bool
    lms_id: str | None
    name: str | None
    result: SubmissionResult


class Gradebook:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fresh = not path.exists()
            self.db = sqlite3.connect(str(path), timeout=30, isolation_level=None)
            if fresh:
                os.chmod(path, 0o600)  # grades are private: not even a sandbox's uid may read them
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(SCHEMA)
        except sqlite3.DatabaseError as e:
            raise GraderError(f"{path}: not a usable gradebook ({e})") from None
        except OSError as e:
            raise GraderError(f"{path}: cannot open the gradebook ({e.strerror})") from None
        self.run_id: int | None = None

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Gradebook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -------------------------------------------------------------- runs

    def start_run(self, exercises: list[Exercise], folder: Path) -> int:
        ex_hash = exercises_hash(exercises)
        with self._transaction():
            cur = self.db.execute(
                "INSERT INTO runs (started, grader_version, exercises_hash, submissions_folder) VALUES (?, ?, ?, ?)",
                (_now(), grader_version(), ex_hash, str(folder.resolve())))
            for ex in exercises:
                self.db.execute("INSERT OR IGNORE INTO exercise_versions VALUES (?, ?, ?, ?, ?)",
                                (ex_hash, ex.id, ex.title, ex.points, exercise_file_hash(ex)))
        self.run_id = int(cur.lastrowid)
        self.exercises_hash = ex_hash
        return self.run_id

    def finish_run(self) -> None:
        if self.run_id is not None:
            with self._transaction():
                self.db.execute("UPDATE runs SET finished = ? WHERE id = ?", (_now(), self.run_id))

    # -------------------------------------------------------------- submissions

    def unchanged(self, sub: Submission) -> SubmissionResult | None:
        """The stored result if this submission was graded with the same content, exercises and grader."""
        row = self.db.execute(
            "SELECT content_hash, exercises_hash, grader_version, path, result FROM submissions "
            "WHERE student = ? ORDER BY id DESC LIMIT 1", (sub.id,)).fetchone()
        if row is None or tuple(row[:4]) != (content_hash(sub), self.exercises_hash, grader_version(), safe(sub.path)):
            return None
        stored = result_from_json(json.loads(row[4]))
        return stored if judged(stored) else None

    def record(self, sub: Submission | None, result: SubmissionResult, as_json: str | None = None) -> None:
        """Store one graded submission in one transaction (`as_json`: its JSON, if already made)."""
        meta = dict(result.meta)
        with self._transaction():
            cur = self.db.execute(
                "INSERT INTO submissions (run_id, student, path, content_hash, exercises_hash, grader_version, "
                "graded_at, score, max_score, seconds, name, lms_id, late, submitted_at, result) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (self.run_id, result.id, safe(result.path), content_hash(sub) if sub else "", self.exercises_hash,
                 grader_version(), _now(), result.score, result.max_score, result.seconds, meta.get("name"),
                 meta.get("lms_id"), int(bool(meta.get("late"))), meta.get("submitted_at"),
                 as_json if as_json is not None else json.dumps(result.to_dict(), default=str)))
            sid = cur.lastrowid
            for ex in result.exercises:
                self.db.execute("INSERT INTO exercise_results VALUES (?, ?, ?, ?, ?, ?, ?)",
                                (sid, ex.id, ex.status, ex.score, ex.max_score, ex.file, ex.message))
                self.db.executemany("INSERT INTO check_results VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                    [(sid, ex.id, c.name, c.status, c.score, c.max_score, c.visibility, c.message)
                                     for c in ex.checks])
                self.db.executemany("INSERT INTO misconceptions VALUES (?, ?, ?, ?, ?)",
                                    [(sid, ex.id, m.id, m.title, m.evidence) for m in ex.misconceptions])

    def latest(self) -> Iterator[StoredRow]:
        """The latest result of every student, by student id."""
        rows = self.db.execute(
            "SELECT s.student, s.score, s.max_score, s.graded_at, s.late, s.lms_id, s.name, s.result FROM submissions s "
            "JOIN (SELECT student, MAX(id) AS id FROM submissions GROUP BY student) last ON s.id = last.id "
            "ORDER BY s.student")
        for student, score, max_score, graded_at, late, lms_id, name, result in rows:
            yield StoredRow(student, score, max_score, graded_at, bool(late), lms_id, name,
                            result_from_json(json.loads(result)))

    def count(self, student: str | None = None) -> int:
        if student is None:
            return int(self.db.execute("SELECT COUNT(*) FROM submissions").fetchone()[0])
        return int(self.db.execute("SELECT COUNT(*) FROM submissions WHERE student = ?", (student,)).fetchone()[0])

    def _transaction(self) -> _Transaction:
        return _Transaction(self.db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")


def result_from_json(d: dict[str, Any]) -> SubmissionResult:
    """Rebuild a result stored by `record` (the JSON of SubmissionResult.to_dict)."""
    exercises = []
    for e in d["exercises"]:
        checks = tuple(CheckResult(c["name"], c["status"], c["score"], c["max_score"], c["visibility"], c["message"])
                       for c in e["checks"])
        mis = tuple(Diagnosis(m["id"], m["title"], m["evidence"], m.get("explanation", "")) for m in e["misconceptions"])
        exercises.append(ExerciseResult(e["id"], e["title"], e["status"], e["score"], e["max_score"], checks, mis,
                                        e.get("feedback", ""), e.get("file"), e.get("message", ""), e.get("observation", "")))
    out = d.get("output", {})
    return SubmissionResult(d["id"], d["path"], tuple(exercises), out.get("stdout", ""), out.get("stderr", ""),
                            warnings=tuple(d.get("warnings", ())), seconds=d.get("seconds", 0.0),
                            sandbox=tuple(d.get("sandbox", ())), meta=tuple((d.get("student") or {}).items()))
