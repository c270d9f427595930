"""The gradebook: every graded submission in SQLite (WAL), one transaction each.

History is kept (a small row per grading: scores, statuses, misconception ids, when); the
latest result of each student is kept in full, compressed, and is what outputs and exports
use. A rerun skips a submission whose content, exercises and grader are unchanged, so a batch
that was killed resumes where it stopped without grading anyone twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sqlite3
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import __version__
from .errors import GraderError
from .exercise import Exercise
from .quiz import Quiz
from .results import CheckResult, Diagnosis, ExerciseResult, SubmissionResult, judged
from .submissions import Submission
from .text import safe

SCHEMA_VERSION = 2  # PRAGMA user_version; a gradebook of version 0 with tables is version 1 (it had none)

# History keeps a small row per graded run (`submissions`, `exercise_results`: scores, statuses,
# one letter per check, misconception ids); the full result JSON is kept, compressed, for each
# student's latest run only (`latest`).
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
    submitted_at TEXT
);
CREATE INDEX IF NOT EXISTS submissions_student ON submissions(student, id);
CREATE TABLE IF NOT EXISTS exercise_results (
    submission_id INTEGER NOT NULL REFERENCES submissions(id),
    exercise TEXT NOT NULL,
    status TEXT NOT NULL,
    score REAL NOT NULL,
    max_score REAL NOT NULL,
    checks TEXT NOT NULL,
    misconceptions TEXT NOT NULL,
    PRIMARY KEY (submission_id, exercise)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS latest (
    student TEXT PRIMARY KEY,
    submission_id INTEGER NOT NULL REFERENCES submissions(id),
    result BLOB NOT NULL
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
STATEMENTS = [s.strip() for s in SCHEMA.split(";") if s.strip()]
CHECK_LETTER = {"passed": "p", "failed": "f", "error": "e", "timeout": "t"}
COMPRESSION = 6  # zlib's default; level 9 makes a result half a percent smaller


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


def exercises_hash(exercises: Sequence[Exercise | Quiz]) -> str:
    """Identifies the graded content: every exercise file, solution and check module involved."""
    h = hashlib.sha256()
    for ex in sorted(exercises, key=lambda e: e.id):
        h.update(ex.id.encode() + b"\0" + exercise_file_hash(ex).encode())
    return h.hexdigest()[:32]


def exercise_file_hash(ex: Exercise | Quiz) -> str:
    paths = [ex.source_path]
    if isinstance(ex, Quiz):
        paths += [linked.source_path for linked in ex.linked.values()]
        paths += [linked.solution_path for linked in ex.linked.values()]
    else:
        paths.append(ex.solution_path)
        if ex.checks_path:
            paths.append(ex.checks_path)
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


@dataclass(frozen=True)
class ExerciseAttempt:
    """One exercise of one graded run, as history keeps it."""

    exercise: str
    status: str
    score: float
    max_score: float
    checks: str  # one letter per check, in order: p(assed) f(ailed) e(rror) t(imeout)
    misconceptions: tuple[str, ...]


@dataclass(frozen=True)
class Attempt:
    """One graded run of a student's submission, as history keeps it."""

    graded_at: str
    score: float
    max_score: float
    exercises: tuple[ExerciseAttempt, ...]


def compress(as_json: str) -> bytes:
    return zlib.compress(as_json.encode("utf-8", "surrogatepass"), COMPRESSION)


def _exercise_rows(submission_id: int, result: dict[str, Any]) -> list[tuple[Any, ...]]:
    """History rows of one result (its JSON, as SubmissionResult.to_dict makes it)."""
    return [(submission_id, e["id"], e["status"], e["score"], e["max_score"],
             "".join(CHECK_LETTER.get(c["status"], "?") for c in e["checks"]),
             " ".join(m["id"] for m in e["misconceptions"])) for e in result["exercises"]]


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
            self._upgrade()
        except sqlite3.DatabaseError as e:
            raise GraderError(f"{path}: not a usable gradebook ({e})") from None
        except OSError as e:
            raise GraderError(f"{path}: cannot open the gradebook ({e.strerror})") from None
        self.run_id: int | None = None

    def _version(self) -> int:
        version = int(self.db.execute("PRAGMA user_version").fetchone()[0])
        if version == 0 and self._columns("submissions"):
            return 1  # the first schema set no version: its submissions held every result in full
        return version

    def _columns(self, table: str) -> list[str]:
        return [row[1] for row in self.db.execute(f"PRAGMA table_info({table})")]

    def _upgrade(self) -> None:
        """Create the tables, or bring an older gradebook to this schema (in one transaction,
        then give the space back); a gradebook of a newer grader is refused."""
        migrated = False
        with self._transaction():
            version = self._version()
            if version > SCHEMA_VERSION:
                raise GraderError(f"{self.path}: made by a newer grader (gradebook version {version}, this grader "
                                  f"reads up to {SCHEMA_VERSION}); upgrade grader to use it")
            if version == 1:
                self._from_v1()
                migrated = True
            if version < SCHEMA_VERSION:
                for statement in STATEMENTS:
                    self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            if migrated:
                self._copy_v1()
        if migrated:
            try:
                self.db.execute("VACUUM")  # the full results of past runs are gone: the file shrinks
            except sqlite3.OperationalError:
                pass  # another process has it open: the space is reused by later runs instead

    def _from_v1(self) -> None:
        """Move the first schema's tables aside; `_copy_v1` fills the new ones from them."""
        self.db.execute("DROP INDEX IF EXISTS submissions_student")
        for table in ("submissions", "exercise_results", "check_results", "misconceptions"):
            if self._columns(table):
                self.db.execute(f"ALTER TABLE {table} RENAME TO v1_{table}")

    def _copy_v1(self) -> None:
        """Every run of the first schema kept as history; the latest of each student in full, compressed."""
        columns = ("id, run_id, student, path, content_hash, exercises_hash, grader_version, graded_at, score, "
                   "max_score, seconds, name, lms_id, late, submitted_at")
        self.db.execute(f"INSERT INTO submissions ({columns}) SELECT {columns} FROM v1_submissions")
        rows = self.db.execute(
            "SELECT s.id, s.student, s.result, s.id = last.id FROM v1_submissions s "
            "JOIN (SELECT student, MAX(id) AS id FROM v1_submissions GROUP BY student) last ON s.student = last.student")
        for sid, student, text, is_latest in rows:
            self.db.executemany("INSERT INTO exercise_results VALUES (?, ?, ?, ?, ?, ?, ?)",
                                _exercise_rows(sid, json.loads(text)))
            if is_latest:
                self.db.execute("INSERT INTO latest VALUES (?, ?, ?)", (student, sid, compress(text)))
        for table in ("submissions", "exercise_results", "check_results", "misconceptions"):
            self.db.execute(f"DROP TABLE IF EXISTS v1_{table}")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Gradebook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -------------------------------------------------------------- runs

    def start_run(self, exercises: Sequence[Exercise | Quiz], folder: Path) -> int:
        ex_hash = exercises_hash(exercises)
        with self._transaction():
            cur = self.db.execute(
                "INSERT INTO runs (started, grader_version, exercises_hash, submissions_folder) VALUES (?, ?, ?, ?)",
                (_now(), grader_version(), ex_hash, str(folder.resolve())))
            for ex in exercises:
                self.db.execute("INSERT OR IGNORE INTO exercise_versions VALUES (?, ?, ?, ?, ?)",
                                (ex_hash, ex.id, ex.title, ex.points, exercise_file_hash(ex)))
        self.run_id = int(cur.lastrowid or 0)
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
            "SELECT s.content_hash, s.exercises_hash, s.grader_version, s.path, l.result FROM latest l "
            "JOIN submissions s ON s.id = l.submission_id WHERE l.student = ?", (sub.id,)).fetchone()
        if row is None or tuple(row[:4]) != (content_hash(sub), self.exercises_hash, grader_version(), safe(sub.path)):
            return None
        stored = self._result(sub.id, row[4])
        return stored if judged(stored) else None

    def record(self, sub: Submission | None, result: SubmissionResult, as_json: str | None = None) -> None:
        """Store one graded submission in one transaction (`as_json`: its JSON, if already made):
        its history row, and its full result as the student's latest."""
        meta = dict(result.meta)
        if as_json is None:
            as_json = json.dumps(result.to_dict(), default=str)
        blob = compress(as_json)
        with self._transaction():
            cur = self.db.execute(
                "INSERT INTO submissions (run_id, student, path, content_hash, exercises_hash, grader_version, "
                "graded_at, score, max_score, seconds, name, lms_id, late, submitted_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (self.run_id, result.id, safe(result.path), content_hash(sub) if sub else "", self.exercises_hash,
                 grader_version(), _now(), result.score, result.max_score, result.seconds, meta.get("name"),
                 meta.get("lms_id"), int(bool(meta.get("late"))), meta.get("submitted_at")))
            sid = int(cur.lastrowid or 0)
            self.db.executemany("INSERT INTO exercise_results VALUES (?, ?, ?, ?, ?, ?, ?)",
                                _exercise_rows(sid, {"exercises": [e.to_dict() for e in result.exercises]}))
            self.db.execute("INSERT INTO latest VALUES (?, ?, ?) ON CONFLICT (student) DO UPDATE SET "
                            "submission_id = excluded.submission_id, result = excluded.result", (result.id, sid, blob))

    def latest(self) -> Iterator[StoredRow]:
        """The latest result of every student, by student id."""
        rows = self.db.execute(
            "SELECT l.student, s.score, s.max_score, s.graded_at, s.late, s.lms_id, s.name, l.result FROM latest l "
            "JOIN submissions s ON s.id = l.submission_id ORDER BY l.student")
        for student, score, max_score, graded_at, late, lms_id, name, blob in rows:
            yield StoredRow(student, score, max_score, graded_at, bool(late), lms_id, name, self._result(student, blob))

    def history(self, student: str) -> list[Attempt]:
        """Every graded run of a student's submission, oldest first."""
        attempts = []
        for sid, graded_at, score, max_score in self.db.execute(
                "SELECT id, graded_at, score, max_score FROM submissions WHERE student = ? ORDER BY id", (student,)).fetchall():
            exercises = tuple(ExerciseAttempt(ex, status, ex_score, ex_max, checks, tuple(mis.split()))
                              for ex, status, ex_score, ex_max, checks, mis in self.db.execute(
                                  "SELECT exercise, status, score, max_score, checks, misconceptions FROM exercise_results "
                                  "WHERE submission_id = ?", (sid,)))
            attempts.append(Attempt(graded_at, score, max_score, exercises))
        return attempts

    def last_run(self) -> dict[str, str]:
        """The latest run's metadata: when, by which grader, over which exercises and folder."""
        row = self.db.execute("SELECT started, finished, grader_version, exercises_hash, submissions_folder "
                              "FROM runs ORDER BY id DESC LIMIT 1").fetchone()
        if row is None:
            return {}
        keys = ("started", "finished", "grader", "exercises", "folder")
        return {k: str(v) for k, v in zip(keys, row, strict=True) if v is not None}

    def count(self, student: str | None = None) -> int:
        if student is None:
            return int(self.db.execute("SELECT COUNT(*) FROM submissions").fetchone()[0])
        return int(self.db.execute("SELECT COUNT(*) FROM submissions WHERE student = ?", (student,)).fetchone()[0])

    def _result(self, student: str, blob: bytes) -> SubmissionResult:
        try:
            return result_from_json(json.loads(zlib.decompress(blob).decode("utf-8", "surrogatepass")))
        except (zlib.error, UnicodeDecodeError, ValueError, KeyError, TypeError) as e:
            raise GraderError(f"{self.path}: the stored result of `{safe(student, 100)}` is damaged "
                              f"({type(e).__name__}); grade the class again with --regrade") from None

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
        checks = tuple(CheckResult(c["name"], c["status"], c["score"], c["max_score"], c["visibility"], c["message"],
                                   c.get("data")) for c in e["checks"])
        mis = tuple(Diagnosis(m["id"], m["title"], m["evidence"], m.get("explanation", "")) for m in e["misconceptions"])
        exercises.append(ExerciseResult(e["id"], e["title"], e["status"], e["score"], e["max_score"], checks, mis,
                                        e.get("feedback", ""), e.get("file"), e.get("message", ""), e.get("observation", "")))
    out = d.get("output", {})
    return SubmissionResult(d["id"], d["path"], tuple(exercises), out.get("stdout", ""), out.get("stderr", ""),
                            warnings=tuple(d.get("warnings", ())), seconds=d.get("seconds", 0.0),
                            sandbox=tuple(d.get("sandbox", ())), meta=tuple((d.get("student") or {}).items()))
