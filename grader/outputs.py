"""Course-platform outputs: pure functions of the result objects (no I/O, no click).

Formats: Gradescope results.json, PrairieLearn results.json, GitHub Classroom result JSON (and
its base64 step output), JUnit XML, and CSV exports of the gradebook for Canvas's gradebook
import, Moodle's offline grading worksheet and plain spreadsheets.

Every string taken from a submission is untrusted. Each format gets it in a form that is inert
there: control characters removed (NUL breaks PostgreSQL-backed platforms and XML), Markdown
escaped where the platform renders Markdown, XML built with ElementTree, CSV cells neutralised
against formula injection, and every string capped (the platforms give no limits, or tight ones).

Hidden checks: their messages name inputs and expected values, so every student-facing format
withholds them ("hidden check failed") unless `reveal_hidden=True`; scores and statuses are kept.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import GraderError
from .feedback import md_block, md_cell, md_code, md_escape
from .results import CheckResult, ExerciseResult, SubmissionResult
from .text import safe

if TYPE_CHECKING:  # the gradebook pulls in sqlite3 and the submission loader: not needed at run time here
    from .gradebook import StoredRow

__all__ = [
    "GRADESCOPE_VISIBILITIES", "LmsIdentity", "canvas_csv", "clean", "csv_safe", "download_identity", "github_classroom",
    "github_classroom_output", "gradescope", "junit_xml", "junit_suite", "moodle_csv", "plain_csv", "prairielearn",
    "prairielearn_ungradable", "truncate",
]

GRADESCOPE_VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")

# caps, in characters (the platforms document none, except where noted)
OUTPUT_LIMIT = 100_000  # a whole Markdown summary
TEST_OUTPUT_LIMIT = 10_000  # one check's output
NAME_LIMIT = 500  # a test name
STDOUT_LIMIT = 10_000  # what the student's code printed, inside a summary
PRAIRIELEARN_LIMIT = 1_000_000  # bytes of JSON; PrairieLearn rejects more than 1 MiB
GITHUB_MESSAGE_LIMIT = 1_000  # per test; the Classroom Python grader cuts at 500
GITHUB_OUTPUT_LIMIT = 512 * 1024  # base64 characters; a job's outputs share 1 MB
JUNIT_TEXT_LIMIT = 64_000  # failure text and system-out/err per suite
JUNIT_ATTRIBUTE_LIMIT = 1_000

_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
_CANVAS_ID = re.compile(r"\(\d+\)\s*$")
_CANVAS_IGNORED = re.compile(r"(current|final|override)\s+(score|points|grade)", re.IGNORECASE)


# ------------------------------------------------------------------ text helpers

def clean(text: Any) -> str:
    """Text safe for every format: `\\n` line ends; no C0 controls but tab and newline (so no NUL,
    no ANSI escapes), no DEL, no lone surrogates, no XML non-characters."""
    s = str(text).replace("\r\n", "\n").replace("\r", "\n")
    return _ILLEGAL.sub("", s)


def truncate(text: str, limit: int) -> str:
    """At most `limit` characters; a cut text says that it was cut and how long it was."""
    if len(text) <= limit:
        return text
    marker = f"\n… [cut: {len(text):,} characters in all]"
    if limit <= len(marker):
        return text[:max(limit, 0)]
    return text[:limit - len(marker)] + marker


def _fit(raw: str, limit: int, render: Callable[[str], str] = str) -> str:
    """render(raw), cutting raw until the rendered text fits `limit` (escaping can grow text)."""
    out = render(raw)
    n = len(raw)
    while len(out) > limit and n > 0:
        n = min(n - 1, n * limit // max(len(out), 1))
        out = render(truncate(raw, n))
    return out if len(out) <= limit else out[:limit]


def _md_text(text: str) -> str:
    """Untrusted text as inert Markdown: escaped inline, or a fenced block when it has several lines."""
    if not text:
        return ""
    return md_block(text) if "\n" in text else md_escape(text)


def _num(x: float) -> str:
    """A score as a spreadsheet number: no exponent, at most 6 decimals, no trailing zeros."""
    x = float(x)
    if not math.isfinite(x):
        return ""
    x = round(x, 6)
    if x == int(x):
        return str(int(x))
    return f"{x:.6f}".rstrip("0").rstrip(".")


def _points(x: float) -> float:
    x = float(x)
    return round(x, 6) if math.isfinite(x) else 0.0


def _checks(ex: ExerciseResult) -> tuple[CheckResult, ...]:
    """The exercise's checks; an exercise that ran none (missing function, import error) is one
    failed pseudo-check named "exercise" carrying the exercise's points, so every format shows it."""
    if ex.checks:
        return ex.checks
    status = ex.status if ex.status in ("passed", "error", "timeout") else "failed"
    return (CheckResult("exercise", status, ex.score, ex.max_score, "visible", ex.message or f"exercise {ex.status}"),)


def _message(c: CheckResult, reveal_hidden: bool) -> str:
    if c.visibility == "hidden" and not reveal_hidden:
        return "" if c.status == "passed" else f"hidden check: {c.status} (its inputs and expected result are not shown)"
    return clean(c.message)


def _checks_passed(result: SubmissionResult) -> tuple[int, int]:
    all_checks = [c for ex in result.exercises for c in _checks(ex)]
    return sum(c.status == "passed" for c in all_checks), len(all_checks)


def summary_markdown(result: SubmissionResult) -> str:
    """Score, and per exercise its status, why it could not be graded, and the misconceptions named
    with their explanations (trusted template output whose student values are already escaped)."""
    parts = [f"**Score: {_num(result.score)} / {_num(result.max_score)}**"]
    if result.warnings:  # files left out of the submission, and why: the student should know
        parts.append("Left out of your submission:\n\n" + "\n".join(
            f"- {md_cell(truncate(clean(w), 500))}" for w in result.warnings[:20]))
    for ex in result.exercises:
        parts.append(f"### {md_escape(clean(ex.title))} ({md_code(clean(ex.id))}): "
                     f"{_num(ex.score)} / {_num(ex.max_score)} · {ex.status}")
        if ex.message:
            parts.append(md_escape(truncate(clean(ex.message), 2_000)))
        for m in ex.misconceptions:
            parts.append(f"**{md_escape(clean(m.title))}** ({md_code(clean(m.id))})")
            if m.explanation:
                parts.append(truncate(clean(m.explanation), 5_000))
        if not ex.misconceptions and ex.observation:
            parts.append("What we saw: " + md_escape(truncate(clean(ex.observation), 2_000)))
    if result.stdout:
        parts.append("What your code printed:\n\n" + md_block(truncate(clean(result.stdout), STDOUT_LIMIT)))
    return truncate("\n\n".join(parts), OUTPUT_LIMIT)


def feedback_markdown(result: SubmissionResult) -> str:
    """The student's feedback page: the exercises' rendered feedback (ExerciseResult.feedback) and output."""
    parts = [f"Score: {_num(result.score)} / {_num(result.max_score)}"]
    parts += [clean(ex.feedback).strip() for ex in result.exercises if ex.feedback.strip()]
    if result.stdout:
        parts.append("What your code printed:\n\n" + md_block(truncate(clean(result.stdout), STDOUT_LIMIT)))
    return "\n\n".join(parts)


# ------------------------------------------------------------------ Gradescope

def gradescope(result: SubmissionResult, *, hidden_visibility: str = "after_published",
               reveal_hidden: bool | None = None) -> dict[str, Any]:
    """Gradescope's results.json: one test per check, named "exercise-id: check name".

    `hidden_visibility` is the Gradescope visibility of hidden checks. Their messages are shown
    only to instructors: withheld unless `reveal_hidden` (default: reveal only when
    hidden_visibility is "hidden", i.e. never shown to students). Gradescope hides the total
    from students while any test is hidden. `score` is the submission total (it replaces the
    sum of the tests, which it equals).
    """
    if hidden_visibility not in GRADESCOPE_VISIBILITIES:
        raise ValueError(f"hidden_visibility must be one of {', '.join(GRADESCOPE_VISIBILITIES)}, not {hidden_visibility!r}")
    reveal = hidden_visibility == "hidden" if reveal_hidden is None else reveal_hidden
    tests = []
    for i, ex in enumerate(result.exercises, 1):
        for j, c in enumerate(_checks(ex), 1):
            tests.append({
                "name": truncate(clean(f"{ex.id}: {c.name}"), NAME_LIMIT),
                "number": f"{i}.{j}",
                "score": _points(c.score),
                "max_score": _points(c.max_score),
                "status": "passed" if c.status == "passed" else "failed",
                "output": _fit(_message(c, reveal), TEST_OUTPUT_LIMIT, _md_text),
                "visibility": "visible" if c.visibility == "visible" else hidden_visibility,
                "tags": [clean(ex.id)],
            })
    return {
        "score": _points(result.score),
        "execution_time": round(max(result.seconds, 0.0), 3),
        "output": summary_markdown(result),
        "output_format": "md",
        "test_output_format": "md",
        "stdout_visibility": "hidden",
        "tests": tests,
        # `student`: whom the grade is for and whose numbers a quiz drew (the submission's id: the
        # roster id or e-mail Gradescope's metadata gives); `submission` kept for older readers
        "extra_data": {"student": clean(result.id), "submission": clean(result.id),
                       "misconceptions": {clean(ex.id): [clean(m.id) for m in ex.misconceptions]
                                          for ex in result.exercises}},
    }


# ------------------------------------------------------------------ PrairieLearn

def _json_bytes(doc: Any) -> int:
    # ensure_ascii (the default) is the largest encoding: the size holds for any way of dumping
    return len(json.dumps(doc, allow_nan=False).encode())


def prairielearn(result: SubmissionResult, *, reveal_hidden: bool = False,
                 limit: int = PRAIRIELEARN_LIMIT) -> dict[str, Any]:
    """PrairieLearn's results.json: score in [0, 1] (0 when there are no points), one test per
    check with points, the feedback Markdown as `output` (PrairieLearn shows it as text).
    Outputs are cut until the JSON is under `limit` bytes (PrairieLearn rejects > 1 MiB)."""
    score = result.score / result.max_score if result.max_score > 0 else 0.0
    score = min(max(score, 0.0), 1.0) if math.isfinite(score) else 0.0
    passed, total = _checks_passed(result)
    titles = [clean(m.title) for ex in result.exercises for m in ex.misconceptions]
    message = f"{passed} of {total} checks passed; {_num(result.score)} / {_num(result.max_score)} points"
    if titles:
        message += ". Misconceptions: " + "; ".join(dict.fromkeys(titles))
    message = truncate(message, 2_000)
    feedback = feedback_markdown(result)

    output_cap, test_cap = OUTPUT_LIMIT, TEST_OUTPUT_LIMIT
    while True:
        tests = []
        for ex in result.exercises:
            for c in _checks(ex):
                tests.append({
                    "name": truncate(clean(f"{ex.id}: {c.name}"), NAME_LIMIT),
                    "description": truncate(clean(ex.title), NAME_LIMIT),
                    "points": _points(c.score),
                    "max_points": _points(c.max_score),
                    "message": truncate(_message(c, reveal_hidden), test_cap),
                    "output": "",
                })
        doc = {"gradable": True, "score": score, "message": message,
               "output": truncate(feedback, output_cap), "tests": tests}
        if _json_bytes(doc) <= limit:
            return doc
        if output_cap == 0 and test_cap == 0:
            break
        output_cap, test_cap = output_cap // 2, test_cap // 2
    # thousands of checks with long names: keep the grade, drop the per-check detail
    doc = {"gradable": True, "score": score, "message": message + " (per-check results omitted: too large)",
           "output": "", "tests": []}
    return doc


def prairielearn_ungradable(message: str) -> dict[str, Any]:
    """A results.json that tells PrairieLearn the submission could not be graded (no attempt used)."""
    text = truncate(clean(message), TEST_OUTPUT_LIMIT)
    return {"gradable": False, "format_errors": [text], "message": text}


# ------------------------------------------------------------------ GitHub Classroom

_GITHUB_STATUS = {"passed": "pass", "failed": "fail"}


def github_classroom(result: SubmissionResult, *, reveal_hidden: bool = False) -> dict[str, Any]:
    """The Classroom grader result (version 1): one test per check; a check that errored or timed
    out is "error", a failed one "fail". The run's status is "pass" only if every check passed.
    Per-check durations are not measured: `duration` is 0. Messages are cut until the base64
    step output stays under GITHUB_OUTPUT_LIMIT."""
    cap = GITHUB_MESSAGE_LIMIT
    while True:
        tests = []
        for ex in result.exercises:
            for c in _checks(ex):
                tests.append({
                    "name": truncate(clean(f"{ex.id}: {c.name}"), NAME_LIMIT),
                    "status": _GITHUB_STATUS.get(c.status, "error"),
                    "score": _points(c.score),
                    "message": truncate(_message(c, reveal_hidden), cap),
                    "test_code": "grade",
                    "filename": truncate(clean(ex.file or ""), NAME_LIMIT),
                    "line_no": 0,
                    "duration": 0,
                })
        ok = result.all_passed and all(t["status"] == "pass" for t in tests)
        doc = {"version": 1, "status": "pass" if ok else "fail", "max_score": _points(result.max_score), "tests": tests}
        if cap == 0 or len(_github_encode(doc)) <= GITHUB_OUTPUT_LIMIT:
            return doc
        cap //= 2


def _github_encode(doc: dict[str, Any]) -> str:
    compact = json.dumps(doc, separators=(",", ":"), allow_nan=False)  # ASCII: \u escapes
    return base64.b64encode(compact.encode("ascii")).decode("ascii")


def github_classroom_output(result: SubmissionResult, *, reveal_hidden: bool = False) -> str:
    """base64 of the compact result JSON: append `result=<this>` to $GITHUB_OUTPUT."""
    return _github_encode(github_classroom(result, reveal_hidden=reveal_hidden))


# ------------------------------------------------------------------ JUnit XML

def _xml_text(text: Any, limit: int) -> str:
    return truncate(clean(text), limit)


def junit_xml(results: Sequence[SubmissionResult], *, suite_name: str = "grader",
              reveal_hidden: bool = False) -> str:
    """JUnit XML (Ant/Jenkins shape): one <testsuite> per submission (name = submission id), one
    <testcase> per check (classname "submission.exercise", name = the check name, kept stable so
    CI test history works). Points are suite properties: score, max_score, and per exercise
    "score:<id>", "max_score:<id>". Per-check time is not measured (time="0"); the suite time is
    the submission's. Student stdout/stderr are the suite's <system-out>/<system-err> (GitLab
    shows only testcase-level output). Returns a UTF-8 document as str, with its declaration.
    """
    suites = [junit_suite(r, reveal_hidden=reveal_hidden) for r in results]
    totals = JunitTotals()
    for suite in suites:
        totals.add(suite)
    return totals.head(suite_name) + "".join(suite.xml for suite in suites) + JUNIT_TAIL


@dataclass(frozen=True)
class JunitSuite:
    """One submission's <testsuite>, serialized (indented as a child of <testsuites>), and the
    counts the root element sums."""
    xml: str
    tests: int
    failures: int
    errors: int
    seconds: float


@dataclass
class JunitTotals:
    """The root element's sums, kept while suites are written elsewhere (a class's report spools
    them one by one and writes the root's opening tag last)."""
    tests: int = 0
    failures: int = 0
    errors: int = 0
    seconds: float = 0.0

    def add(self, suite: JunitSuite) -> None:
        self.tests += suite.tests
        self.failures += suite.failures
        self.errors += suite.errors
        self.seconds += suite.seconds

    def head(self, suite_name: str = "grader") -> str:
        root = ET.Element("testsuites", name=_xml_text(suite_name, JUNIT_ATTRIBUTE_LIMIT), tests=str(self.tests),
                          failures=str(self.failures), errors=str(self.errors), skipped="0",
                          time=f"{self.seconds:.3f}")
        opening = ET.tostring(root, encoding="unicode", short_empty_elements=False).removesuffix("</testsuites>")
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + opening + "\n"


JUNIT_TAIL = "</testsuites>\n"


def junit_suite(r: SubmissionResult, *, reveal_hidden: bool = False) -> JunitSuite:
    """One submission's <testsuite> (see junit_xml)."""
    suite = ET.Element("testsuite", name=_xml_text(r.id, JUNIT_ATTRIBUTE_LIMIT))
    props = ET.SubElement(suite, "properties")
    values = [("score", r.score), ("max_score", r.max_score)]
    for ex in r.exercises:
        values += [(f"score:{ex.id}", ex.score), (f"max_score:{ex.id}", ex.max_score)]
    for name, value in values:
        ET.SubElement(props, "property", name=_xml_text(name, JUNIT_ATTRIBUTE_LIMIT), value=_num(value))
    counts = {"tests": 0, "failures": 0, "errors": 0}
    for ex in r.exercises:
        for c in _checks(ex):
            counts["tests"] += 1
            case = ET.SubElement(suite, "testcase", classname=_xml_text(f"{r.id}.{ex.id}", JUNIT_ATTRIBUTE_LIMIT),
                                 name=_xml_text(c.name, JUNIT_ATTRIBUTE_LIMIT), time="0")
            if c.status == "passed":
                continue
            text = _message(c, reveal_hidden) or c.status
            tag = "failure" if c.status == "failed" else "error"
            counts["failures" if tag == "failure" else "errors"] += 1
            first_line = text.split("\n", 1)[0]
            element = ET.SubElement(case, tag, message=truncate(first_line, JUNIT_ATTRIBUTE_LIMIT), type=c.status)
            element.text = truncate(text, JUNIT_TEXT_LIMIT)
    if r.stdout:
        ET.SubElement(suite, "system-out").text = _xml_text(r.stdout, JUNIT_TEXT_LIMIT)
    if r.stderr:
        ET.SubElement(suite, "system-err").text = _xml_text(r.stderr, JUNIT_TEXT_LIMIT)
    time = max(r.seconds, 0.0) if math.isfinite(r.seconds) else 0.0
    suite.attrib.update({k: str(v) for k, v in counts.items()})
    suite.attrib.update(skipped="0", time=f"{time:.3f}")
    ET.indent(suite, level=1)
    suite.tail = "\n"
    return JunitSuite("  " + ET.tostring(suite, encoding="unicode"), counts["tests"], counts["failures"],
                      counts["errors"], time)


# ------------------------------------------------------------------ CSV exports

def csv_safe(text: Any) -> str:
    """A text cell that no spreadsheet runs as a formula: control characters removed, and a leading
    `'` before a cell that starts with = + - @ tab, carriage return or newline."""
    s = clean(text)
    return "'" + s if s.startswith(_FORMULA_START) else s


def _write_csv(rows: Iterable[Sequence[str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)  # quotes cells holding , " or line breaks; "\r\n" row ends
    writer.writerows(rows)
    return buf.getvalue()


def _exercise_scores(row: StoredRow) -> dict[str, ExerciseResult]:
    return {ex.id: ex for ex in row.result.exercises}


@dataclass(frozen=True)
class LmsIdentity:
    """Who a gradebook row is on the LMS, as its importer matches students: `lms_id` is the Canvas
    user ID or the Moodle participant number (digits); the SIS columns and section are Canvas's."""

    name: str
    lms_id: str
    sis_user_id: str = ""
    sis_login_id: str = ""
    section: str = ""


PLATFORM_NAMES = {"canvas": "Canvas", "moodle": "Moodle"}


def download_identity(row: StoredRow, platform: str) -> LmsIdentity | None:
    """The identity a row carries from the platform's own download (a Canvas download's user ID,
    a Moodle download's participant number); None for any other row. An id from another platform
    (a Gradescope user id, a Canvas id in a Moodle export) is never taken for this one's."""
    meta = dict(row.result.meta)
    lms = (row.lms_id or "").strip()
    if meta.get("platform") != platform or not (lms.isascii() and lms.isdigit()):
        return None
    return LmsIdentity(row.name or row.student, lms)


def name_list(students: Sequence[str], limit: int = 8) -> str:
    """Students' ids for a one-line message: safe to print, at most `limit` named."""
    shown = [safe(s, 80) for s in students[:limit]]
    more = f" and {len(students) - limit} more" if len(students) > limit else ""
    return ", ".join(shown) + more


def _identities(rows: Sequence[StoredRow], platform: str,
                identities: Mapping[str, LmsIdentity] | None) -> list[LmsIdentity]:
    """Each row's identity (from `identities` by student id, else from its own download); a row
    without one is refused by name: a blank id imports nothing."""
    found: list[LmsIdentity] = []
    missing: list[str] = []
    for row in rows:
        identity = identities.get(row.student) if identities is not None else download_identity(row, platform)
        if identity is None or not (identity.lms_id.isascii() and identity.lms_id.isdigit()):
            missing.append(row.student)
        else:
            found.append(identity)
    if missing:
        name = PLATFORM_NAMES[platform]
        what = "user ID" if platform == "canvas" else "participant number"
        roster = "gradebook export" if platform == "canvas" else "grading worksheet"
        raise GraderError(f"no {name} {what} for {name_list(missing)} (not from a {name} download): pass "
                          f"--roster with {name}'s {roster} to match them, or leave them out with --skip; "
                          "nothing written")
    return found


def _scaled(row: StoredRow, ids: Sequence[str], course_points: float, points: float | None) -> str:
    """The row's score over these exercises, scaled from the course's points to `points` (2
    decimals, as Canvas keeps them); empty (no score) when none of them was graded."""
    graded = _exercise_scores(row)
    present = [graded[i].score for i in ids if i in graded]
    if not present:
        return ""
    total = sum(present)
    if points is None or course_points <= 0 or points == course_points:
        return _num(total)
    return _num(round(min(max(total / course_points * points, 0.0), points), 2))


def canvas_csv(rows: Sequence[StoredRow], exercises: Sequence[tuple[str, str, float]], *,
               identities: Mapping[str, LmsIdentity] | None = None, assignment: str | None = None,
               assignment_id: str | None = None, points: float | None = None, per_exercise: bool = False) -> str:
    """A Canvas gradebook import: `Student,ID,SIS User ID,SIS Login ID,Section`, then assignment
    columns, a `Points Possible` row, one row per student.

    Canvas's importer (lib/gradebook_importer.rb) needs `Student` and `ID` first and `Section` as
    the last identity column; it finds the student by `ID` (the Canvas user id), then SIS User
    ID, SIS Login ID, then name. It finds an assignment column by a trailing `(id)`, else by its
    exact title, and makes any other column a new assignment (with the Points Possible).

    Students: `identities` maps a row's student id to its Canvas identity (a roster's); without
    it, only rows from a Canvas download have one. A row without a Canvas user id raises
    GraderError naming it: it would import nothing.

    Columns: ONE by default, `<assignment or "Grader">` with ` (<assignment_id>)` when given,
    holding the total over `exercises`, scaled to `points` when given (the assignment's points in
    Canvas). `per_exercise`: one column per exercise title instead (raw points). A title Canvas
    would misread (ending in "(digits)", or one of its ignored "Current/Final/Override
    Score|Points|Grade" columns), an empty or a duplicate title raises GraderError.
    """
    course_points = sum(float(p) for _, _, p in exercises)
    all_ids = [ex_id for ex_id, _, _ in exercises]
    if assignment_id is not None and not re.fullmatch(r"\d+", assignment_id.strip()):
        raise GraderError(f"Canvas assignment id must be digits (the number in the assignment's URL), not {assignment_id!r}")
    if points is not None and not (math.isfinite(points) and points > 0):
        raise GraderError(f"the Canvas assignment's points must be a positive number, not {points}")
    if per_exercise:
        if assignment is not None or assignment_id is not None or points is not None:
            raise GraderError("one column per exercise is titled by the exercises: it takes no assignment, id or points")
        columns: list[tuple[str, list[str], float, float | None]] = []
        for ex_id, title, ex_points in exercises:
            _check_canvas_title(str(title).strip())
            columns.append((str(title).strip(), [ex_id], float(ex_points), None))
        titles = [c[0] for c in columns]
        duplicates = sorted({t for t in titles if titles.count(t) > 1})
        if duplicates:
            raise GraderError(f"Canvas matches assignments by title, and these titles repeat: {', '.join(duplicates)}")
    else:
        title = (assignment or "Grader").strip()
        _check_canvas_title(title, with_id=assignment_id is not None)
        header = f"{title} ({assignment_id.strip()})" if assignment_id is not None else title
        columns = [(header, all_ids, points if points is not None else course_points, points)]
    people = _identities(rows, "canvas", identities)

    identity = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    out: list[list[str]] = [identity + [csv_safe(title) for title, _, _, _ in columns],
                            ["    Points Possible", "", "", "", ""] + [_num(p) for _, _, p, _ in columns]]
    for row, who in zip(rows, people, strict=True):
        out.append([csv_safe(who.name), who.lms_id, csv_safe(who.sis_user_id), csv_safe(who.sis_login_id),
                    csv_safe(who.section)]
                   + [_scaled(row, ids, course_points, scale) for _, ids, _, scale in columns])
    return _write_csv(out)


def _check_canvas_title(title: str, *, with_id: bool = False) -> None:
    if not title:
        raise GraderError("a Canvas assignment title cannot be empty")
    if not with_id and _CANVAS_ID.search(title):
        raise GraderError(f"Canvas would read the trailing number of {title!r} as an assignment id; "
                          "give the assignment id instead, or rename the exercise")
    if _CANVAS_IGNORED.search(title):
        raise GraderError(f"Canvas ignores gradebook columns titled like {title!r} (Current/Final/Override Score, Points, Grade)")


MOODLE_HEADER = ("Identifier", "Full name", "Status", "Grade", "Maximum Grade", "Grade can be changed",
                 "Last modified (submission)", "Last modified (grade)", "Feedback comments")


def moodle_csv(rows: Sequence[StoredRow], *, max_grade: float,
               identities: Mapping[str, LmsIdentity] | None = None) -> str:
    """Moodle's offline grading worksheet (English headers: the importer matches translated text).

    Moodle's importer (mod/assign/feedback/offline) needs the `Identifier`, `Grade` and `Last
    modified (grade)` columns and finds the student only by the Identifier, "Participant <n>"
    with n the assignment's participant number. `identities` maps a row's student id to its
    identity (a grading worksheet's row); without it, only rows from a Moodle download have one.
    A row without a participant number raises GraderError naming it: Moodle would skip it.

    Grade = the score scaled to `max_grade` (score / max_score × max_grade, 2 decimals; empty
    when there are no points). Last modified (grade) = when the grader graded it (ISO 8601, which
    PHP's strtotime reads): Moodle skips a row whose grade was changed in Moodle more than 60 s
    after that. Feedback comments = HTML-escaped one-line summary of trusted text only (exercise
    titles, scores, misconception titles).
    """
    max_grade = float(max_grade)
    if not math.isfinite(max_grade) or max_grade <= 0:
        raise GraderError(f"the Moodle maximum grade must be a positive number, not {max_grade}")
    people = _identities(rows, "moodle", identities)
    out: list[list[str]] = [list(MOODLE_HEADER)]
    for row, who in zip(rows, people, strict=True):
        grade = ""
        if row.max_score > 0 and math.isfinite(row.score):
            grade = _num(round(min(max(row.score / row.max_score * max_grade, 0.0), max_grade), 2))
        comments = []
        for ex in row.result.exercises:
            line = f"{ex.title}: {_num(ex.score)}/{_num(ex.max_score)}"
            if ex.misconceptions:
                line += " (" + ", ".join(m.title for m in ex.misconceptions) + ")"
            comments.append(line)
        out.append([f"Participant {who.lms_id}", csv_safe(who.name),
                    "Submitted for grading" + (" (late)" if row.late else ""), grade, _num(max_grade), "Yes",
                    "", csv_safe(row.graded_at), csv_safe(html.escape(truncate(clean("; ".join(comments)), 5_000)))])
    return _write_csv(out)


def plain_csv(rows: Sequence[StoredRow], exercises: Sequence[tuple[str, str, float]]) -> str:
    """student, score, max_score, one column per exercise id (its score; empty if not graded), and
    misconceptions as "exercise-id:misconception-id" joined by "; "."""
    ids = [ex_id for ex_id, _, _ in exercises]
    out: list[list[str]] = [["student", "score", "max_score", *(csv_safe(i) for i in ids), "misconceptions"]]
    for row in rows:
        graded = _exercise_scores(row)
        misconceptions = "; ".join(f"{ex.id}:{m.id}" for ex in row.result.exercises for m in ex.misconceptions)
        out.append([csv_safe(row.student), _num(row.score), _num(row.max_score),
                    *(_num(graded[i].score) if i in graded else "" for i in ids), csv_safe(misconceptions)])
    return _write_csv(out)
