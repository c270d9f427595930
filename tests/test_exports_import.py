"""Exports an LMS imports: the real `grade` and `grade export` commands, and each CSV checked
against the importer's own rules, written here as code from the importers' source:

- Canvas, lib/gradebook_importer.rb: the header's first cells `Student`, `ID`, then optional SIS
  columns, `Section` last; a student is found by `ID` (the Canvas user id); an assignment
  column by its trailing `(id)`, else it is matched by title or created.
- Moodle, mod/assign/feedback/offline/importgradeslib.php: the `Identifier`, `Grade` and `Last
  modified (grade)` columns; a row is found only by "Participant <n>".
- Moodle, mod/assign/feedback/file/importziplib.php: a feedback file's name split at `_` gives
  the name, the participant, the plugin type and name, then the file.
- Canvas, Assignment#infer_comment_context_from_filename: the first two all-digit `_` parts of a
  re-uploaded file's name are the user id and the id of a file of that student's submission.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grader.errors import GraderError
from grader.outputs import LmsIdentity
from grader.report import feedback_name
from grader.results import SubmissionResult
from grader.roster import name_keys, read_roster, squash

from conftest import CORPUS, DOT_POINTS, grade

RIGHT = (CORPUS / "dot-product" / "correct_loop.py").read_text()
WRONG = (CORPUS / "dot-product" / "elementwise-product.py").read_text()  # 5 of the dot product's points
ONLY_DOT = ("-e", "dot-product")


# ------------------------------------------------------------------ the importers' rules

def canvas_import_problems(text: str, user_ids: set[str]) -> list[str]:
    """Why Canvas's gradebook import would fail, or import a row or column nowhere: empty if none."""
    table = list(csv.reader(io.StringIO(text, newline="")))
    header = table[0]
    if not (len(header) > 3 and "Student" in header[0] and "ID" in header[1]):
        return ["Invalid header row: Student, ID first"]
    columns = 3  # Student, ID, Section
    if re.search(r"SIS\s+Login\s+ID", header[2]):
        columns += 1
    elif re.search(r"SIS\s+User\s+ID", header[2]) and re.search(r"SIS\s+Login\s+ID", header[3]):
        integration = 1 if re.search(r"Integration\s+ID", header[4]) else 0
        columns += 2 + integration
        if re.search(r"Root\s+Account", header[4 + integration]):
            columns += 1
    if "Section" not in header[columns - 1]:
        return ["Invalid header row: Section must end the student columns"]
    problems = []
    computed = re.compile("Current Score|Current Points|Current Grade|Final Score|Final Points|Final Grade|"
                          "Override Score|Override Grade|Override Status")
    assignments = [i for i in range(columns, len(header)) if not computed.search(header[i])]
    for i in assignments:
        if not re.search(r"\((\d+)\)$", header[i]):
            problems.append(f"column {header[i]!r} has no assignment id: matched by title, else a new assignment")
    for row in table[1:]:
        if "Points Possible" in row[0] or all(re.match(r"^\s*(Muted|Manual Posting.*)?\s*$", c, re.I) for c in row):
            continue
        if row[1] not in user_ids:
            problems.append(f"{row[0]!r}: ID {row[1]!r} is no student of the course")
        for i in assignments:
            cell = row[i].strip()
            if cell not in ("", "-") and cell.upper() != "EX" and not re.fullmatch(r"-?[0-9.,]+%?", cell):
                problems.append(f"{row[0]!r}: {header[i]} = {cell!r} is not a score")
    return problems


def moodle_import_problems(text: str, participants: set[int], max_grade: float) -> list[str]:
    """Why Moodle's offline grading worksheet import would fail, or skip a row: empty if none."""
    table = list(csv.reader(io.StringIO(text, newline="")))
    header = table[0]
    missing = [h for h in ("Identifier", "Grade", "Last modified (grade)") if h not in header]
    if missing:
        return [f"no {h!r} column" for h in missing]
    col = {h: i for i, h in enumerate(header)}
    problems = []
    for row in table[1:]:
        identifier = row[col["Identifier"]]
        number = identifier[len("Participant "):] if identifier.startswith("Participant ") else ""
        if not number.isdigit() or int(number) not in participants:
            problems.append(f"Identifier {identifier!r} matches no participant")
        grade = row[col["Grade"]]
        if not re.fullmatch(r"[0-9]+(\.[0-9]+)?", grade) or not 0 <= float(grade) <= max_grade:
            problems.append(f"{identifier}: grade {grade!r} is not in 0..{max_grade}")
        try:
            dt.datetime.fromisoformat(row[col["Last modified (grade)"]])
        except ValueError:
            problems.append(f"{identifier}: Last modified (grade) is no date")
    return problems


MOODLE_PLUGINS = {("assignfeedback", "file"), ("assignfeedback", "comments"), ("assignsubmission", "file"),
                  ("assignsubmission", "onlinetext")}


def moodle_feedback_participant(filename: str) -> int | None:
    """The participant a file at the top of a feedback zip goes to, or None if Moodle ignores it."""
    if filename.startswith((".", "~")) or "/" in filename:
        return None
    info = filename.split("_", 4)
    if len(info) < 4 or not info[1].isdigit() or (info[2], info[3]) not in MOODLE_PLUGINS:
        return None
    return int(info[1])


def canvas_comment_target(filename: str) -> tuple[str, str] | None:
    """(user id, submitted file id) a re-uploaded file is attached to, or None if Canvas ignores it."""
    parts = filename.split("_")
    ids = [p for p in parts if re.fullmatch(r"\d+", p)][:2]
    if len(ids) < 2 or parts[-1].startswith("link") or filename.startswith("._"):
        return None
    return ids[0], ids[1]


# ------------------------------------------------------------------ classes and rosters

CANVAS_ROSTER = """\ufeffStudent,ID,SIS User ID,SIS Login ID,Section,Homework 1 (1234),Vectors (4321),Notes,Current Score,Final Score
    Points Possible,,,,,10.00,20.00,,(read only),(read only)
"Doe, Jane",5551,S001,jdoe@uni.example,Sec A,,,,,
"Lee, Ann",6662,S002,alee@uni.example,Sec A,8,,,,
"Park, Kim",7773,S003,kpark@uni.example,Sec B,,,,,
"Student, Test",9999,,,Sec A,,,,,
"""
CANVAS_IDS = {"5551", "6662", "7773", "9999"}

MOODLE_WORKSHEET = """Identifier,Full name,Email address,Status,Grade,Maximum Grade,Grade can be changed,Last modified (submission),Last modified (grade),Feedback comments
Participant 301,Jane Doe,jdoe@uni.example,Submitted for grading,,50.00,Yes,"Monday, 1 December 2026, 10:00 AM",-,
Participant 302,Ann Lee,alee@uni.example,Submitted for grading,,50.00,Yes,"Monday, 1 December 2026, 10:00 AM",-,
Participant 303,Kim Park,kpark@uni.example,No submission,,50.00,Yes,-,-,
"""


def _class(root: Path, students: dict[str, str]) -> Path:
    """A plain-folder class: one folder per student with similarity.py."""
    subs = root / "class"
    for name, source in students.items():
        (subs / name).mkdir(parents=True)
        (subs / name / "similarity.py").write_text(source)
    return subs


def _graded(tmp_path: Path, subs: Path, *extra: str) -> Path:
    db = tmp_path / "gradebook.sqlite"
    proc = grade(str(subs), *ONLY_DOT, "--db", str(db), *extra)
    assert proc.returncode == 0, proc.stderr
    return db


def _table(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


# ------------------------------------------------------------------ Canvas

def test_a_plain_folder_class_with_a_canvas_roster_imports_every_student(tmp_path):
    # matched by SIS login (with or without its domain), by name either way round, by SIS user id
    subs = _class(tmp_path, {"jdoe": RIGHT, "ann-lee": WRONG, "S003": RIGHT})
    db = _graded(tmp_path, subs)
    (tmp_path / "roster.csv").write_text(CANVAS_ROSTER)
    out = tmp_path / "grades.csv"
    proc = grade("export", "--db", str(db), "--format", "canvas", "--roster", str(tmp_path / "roster.csv"),
                 "--assignment", "Vectors", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert canvas_import_problems(text, CANVAS_IDS) == []
    table = list(csv.reader(io.StringIO(text, newline="")))
    assert table[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Vectors (4321)"]  # one column
    assert table[1][-1] == "20"  # the assignment's points in Canvas, from the roster
    rows = {row[1]: row for row in table[2:]}
    assert set(rows) == {"5551", "6662", "7773"}  # every ID filled
    assert rows["5551"] == ["Doe, Jane", "5551", "S001", "jdoe@uni.example", "Sec A", "20"]
    assert rows["6662"][-1] == f"{round(5 / DOT_POINTS * 20, 2):.2f}"  # 5 points of dot-product, scaled to the assignment's 20
    assert rows["7773"][:2] == ["Park, Kim", "7773"] and rows["7773"][-1] == "20"


def test_a_student_missing_from_the_roster_is_refused_by_name_and_nothing_is_written(tmp_path):
    subs = _class(tmp_path, {"jdoe": RIGHT, "zed": WRONG})
    db = _graded(tmp_path, subs)
    (tmp_path / "roster.csv").write_text(CANVAS_ROSTER)
    out = tmp_path / "grades.csv"
    export = ("export", "--db", str(db), "--format", "canvas", "--roster", str(tmp_path / "roster.csv"),
              "--assignment-id", "4321", "-o", str(out))
    proc = grade(*export)
    assert proc.returncode == 2
    assert len(proc.stderr.splitlines()) == 1 and "zed" in proc.stderr and "jdoe" not in proc.stderr
    assert proc.stderr.startswith("grade: error: ") and "Traceback" not in proc.stderr
    assert not out.exists()
    left_out = grade(*export, "--skip", "zed")
    assert left_out.returncode == 0, left_out.stderr
    assert canvas_import_problems(out.read_text(), CANVAS_IDS) == []
    assert grade(*export, "--skip", "nobody").returncode == 2  # a misspelt --skip is no silent no-op


def test_ambiguous_matches_are_refused_by_name(tmp_path):
    subs = _class(tmp_path, {"jdoe": RIGHT, "jane-doe": WRONG, "kim": RIGHT})
    db = _graded(tmp_path, subs)
    roster = tmp_path / "roster.csv"
    roster.write_text(CANVAS_ROSTER + '"Kim, Lee",8884,S004,kim,Sec B,,,,,\n'
                      '"Kim, Leo",8885,S005,kim@other.example,Sec B,,,,,\n')
    out = tmp_path / "grades.csv"
    proc = grade("export", "--db", str(db), "--format", "canvas", "--roster", str(roster), "-o", str(out))
    assert proc.returncode == 2 and not out.exists()
    line = proc.stderr.strip()
    assert "\n" not in line
    assert "kim matches 2 students (Kim, Lee; Kim, Leo)" in line  # login `kim` and `kim@…` of another
    assert "jane-doe and jdoe all match Doe, Jane" in line  # two folders, one student


def test_a_canvas_download_exports_its_ids_without_a_roster(tmp_path):
    subs = tmp_path / "canvas"
    subs.mkdir()
    (subs / "doejane_5551_90001_similarity.py").write_text(RIGHT)
    (subs / "leeann_LATE_6662_90002_similarity.py").write_text(WRONG)
    db = _graded(tmp_path, subs)
    proc = grade("export", "--db", str(db), "--format", "canvas", "--assignment", "Vectors", "--assignment-id", "4321")
    assert proc.returncode == 0, proc.stderr
    assert canvas_import_problems(proc.stdout, CANVAS_IDS) == []
    rows = {row["ID"]: row for row in _table(proc.stdout)[1:]}
    assert set(rows) == {"5551", "6662"} and rows["6662"]["Vectors (4321)"] == "5"
    # a Canvas user id is no Moodle participant: refused by name rather than written blank
    moodle = grade("export", "--db", str(db), "--format", "moodle")
    assert moodle.returncode == 2 and "doejane_5551" in moodle.stderr and moodle.stdout == ""


def test_a_plain_folder_class_without_a_roster_is_refused_for_canvas_and_moodle(tmp_path):
    db = _graded(tmp_path, _class(tmp_path, {"alice": RIGHT, "bob": WRONG}))
    for fmt in ("canvas", "moodle"):
        proc = grade("export", "--db", str(db), "--format", fmt)
        assert proc.returncode == 2 and proc.stdout == ""
        assert "alice, bob" in proc.stderr and "--roster" in proc.stderr and len(proc.stderr.splitlines()) == 1
    assert grade("export", "--db", str(db), "--format", "csv").returncode == 0  # a plain CSV needs no LMS ids


def test_a_roster_of_the_other_lms_is_refused(tmp_path):
    db = _graded(tmp_path, _class(tmp_path, {"jdoe": RIGHT}))
    (tmp_path / "roster.csv").write_text(CANVAS_ROSTER)
    (tmp_path / "sheet.csv").write_text("Name,Mail\nJane,j@x\n")
    proc = grade("export", "--db", str(db), "--format", "moodle", "--roster", str(tmp_path / "roster.csv"))
    assert proc.returncode == 2 and "Canvas gradebook export" in proc.stderr and "grading worksheet" in proc.stderr
    proc = grade("export", "--db", str(db), "--format", "canvas", "--roster", str(tmp_path / "sheet.csv"))
    assert proc.returncode == 2 and "sheet.csv: not a roster" in proc.stderr


def test_an_assignment_id_not_in_the_roster_is_refused(tmp_path):
    db = _graded(tmp_path, _class(tmp_path, {"jdoe": RIGHT}))
    (tmp_path / "roster.csv").write_text(CANVAS_ROSTER)
    proc = grade("export", "--db", str(db), "--format", "canvas", "--roster", str(tmp_path / "roster.csv"),
                 "--assignment-id", "99")
    assert proc.returncode == 2 and "no assignment with id 99" in proc.stderr and "Vectors (4321)" in proc.stderr


# ------------------------------------------------------------------ Moodle

def test_a_moodle_download_exports_participants_and_names_feedback_for_its_zip_upload(tmp_path):
    subs = tmp_path / "moodle"
    for folder, source in (("Jane Doe_301_assignsubmission_file", RIGHT), ("Ann Lee_302_assignsubmission_file", WRONG)):
        (subs / folder).mkdir(parents=True)
        (subs / folder / "similarity.py").write_text(source)
    feedback = tmp_path / "feedback"
    db = _graded(tmp_path, subs, "--feedback-dir", str(feedback))
    proc = grade("export", "--db", str(db), "--format", "moodle", "--max-grade", "50")
    assert proc.returncode == 0, proc.stderr
    assert moodle_import_problems(proc.stdout, {301, 302}, 50) == []
    rows = {row["Identifier"]: row for row in _table(proc.stdout)}
    assert set(rows) == {"Participant 301", "Participant 302"}
    assert rows["Participant 301"]["Grade"] == "50"
    assert rows["Participant 302"]["Grade"] == f"{round(50 * 5 / DOT_POINTS, 2):g}"  # 5 points of dot-product
    files = sorted(p.name for p in feedback.glob("*.md"))  # beside them: HTML pages, index.html
    assert sorted(moodle_feedback_participant(f) for f in files) == [301, 302]
    assert "Jane Doe_301_assignfeedback_file_feedback.md" in files
    assert f"Score: **{DOT_POINTS} / {DOT_POINTS}**" in (feedback / "Jane Doe_301_assignfeedback_file_feedback.md").read_text()


def test_a_plain_folder_class_with_a_moodle_worksheet(tmp_path):
    # matched by e-mail without its domain, and by name (Moodle writes "First Last")
    db = _graded(tmp_path, _class(tmp_path, {"jdoe": RIGHT, "lee_ann": WRONG}))
    (tmp_path / "worksheet.csv").write_text(MOODLE_WORKSHEET)
    proc = grade("export", "--db", str(db), "--format", "moodle", "--roster", str(tmp_path / "worksheet.csv"))
    assert proc.returncode == 0, proc.stderr
    assert moodle_import_problems(proc.stdout, {301, 302, 303}, 50) == []
    rows = {row["Identifier"]: row for row in _table(proc.stdout)}
    assert set(rows) == {"Participant 301", "Participant 302"}
    assert rows["Participant 301"]["Full name"] == "Jane Doe"
    assert rows["Participant 301"]["Maximum Grade"] == "50"  # the worksheet's, not the course's 14


# ------------------------------------------------------------------ feedback file names

def _result(meta: dict[str, object]) -> SubmissionResult:
    return SubmissionResult("doejane_5551", "subs/doejane_5551", (), meta=tuple(meta.items()))


def test_canvas_feedback_is_named_for_its_reupload_when_the_download_gave_the_file_id():
    named = feedback_name(_result({"platform": "canvas", "lms_id": "5551", "attachment_id": "90001", "name": "doejane"}))
    assert canvas_comment_target(named) == ("5551", "90001")
    assert feedback_name(_result({"platform": "canvas", "lms_id": "5551", "name": "doejane"})) == "doejane_5551.md"
    assert feedback_name(_result({})) == "doejane_5551.md"


@given(name=st.text(max_size=300), participant=st.integers(1, 10**9))
def test_every_moodle_name_gives_a_file_moodle_gives_to_that_participant(name, participant):
    named = feedback_name(_result({"platform": "moodle", "lms_id": str(participant), "name": name}))
    assert moodle_feedback_participant(named) == participant
    assert len(named.encode()) <= 255 and named not in (".", "..") and "\x00" not in named


@given(name=st.text(max_size=300), user=st.integers(1, 10**12), attachment=st.integers(1, 10**12))
def test_every_canvas_name_gives_a_file_canvas_attaches_to_that_submission(name, user, attachment):
    meta = {"platform": "canvas", "lms_id": str(user), "attachment_id": str(attachment), "name": name}
    named = feedback_name(_result(meta))
    assert canvas_comment_target(named) == (str(user), str(attachment))
    assert "/" not in named and len(named.encode()) <= 255


def test_feedback_files_of_a_plain_class_keep_their_names(tmp_path):
    feedback = tmp_path / "feedback"
    _graded(tmp_path, _class(tmp_path, {"alice": RIGHT}), "--feedback-dir", str(feedback))
    assert [p.name for p in feedback.glob("*.md")] == ["alice.md"]


# ------------------------------------------------------------------ reading rosters

def test_rosters_as_the_lms_writes_them(tmp_path):
    path = tmp_path / "r.csv"
    # a BOM, semicolons and decimal commas (Canvas's export in some locales), SIS Login ID alone
    path.write_text('\ufeffStudent;ID;SIS Login ID;Section;Lab (12);Notes\n    Points Possible;;;;10,00;\n'
                    '"Doe, Jane";5551;jdoe;A;;\n')
    roster = read_roster(path)
    assert roster.kind == "canvas" and roster.assignments == (("Lab", "12", 10.0),)
    assert roster.rows[0].identity == LmsIdentity("Doe, Jane", "5551", "", "jdoe", "A")
    path.write_text("LastName,FirstName,ID,Section\nDoe,Jane,5551,A\n")  # Canvas's first/last name columns
    assert read_roster(path).rows[0].identity.name == "Jane Doe"
    path.write_text(MOODLE_WORKSHEET)
    roster = read_roster(path)
    assert roster.kind == "moodle" and roster.max_grade == 50 and [r.identity.lms_id for r in roster.rows] == ["301", "302", "303"]


def test_a_roster_that_is_not_what_it_claims_is_refused_by_line(tmp_path):
    path = tmp_path / "r.csv"
    for text, message in (("Student,ID,Section\n\"Doe, Jane\",jdoe,A\n", "r.csv:2: ID 'jdoe' is not a Canvas user id"),
                          ("Student,ID,Section\nA,1,X\nB,1,X\n", "r.csv:3: the id 1 is also on line 2"),
                          ("Student,ID,Grade\nA,1,3\n", "has a Section column"),
                          ("Identifier,Full name\nTeilnehmer 4,A\n", "r.csv:2: Identifier 'Teilnehmer 4'"),
                          ("Identifier,Full name\n", "no students")):
        path.write_text(text)
        with pytest.raises(GraderError, match=re.escape(message)):
            read_roster(path)
    path.write_bytes(b"Student,ID,Section\n\xff\n")
    with pytest.raises(GraderError, match="not UTF-8"):
        read_roster(path)


@given(first=st.from_regex(r"[A-Za-zÀ-ÖØ-öø-ÿ]{1,12}", fullmatch=True),
       last=st.from_regex(r"[A-Za-zÀ-ÖØ-öø-ÿ]{1,12}", fullmatch=True))  # letters: not × or ÷
def test_a_name_matches_in_either_order_and_any_punctuation(first, last):
    keys = name_keys(f"{last}, {first}")
    assert keys == name_keys(f"{first} {last}")
    for folder in (f"{last}{first}", f"{first}-{last}", f"{first}_{last}".upper()):
        assert squash(folder) in keys
