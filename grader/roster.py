"""Rosters: the LMS's own export of a course, read to give each graded student the identity that
LMS's importer matches.

- Canvas: the gradebook export (Grades → Export). Header `Student, ID, [SIS User ID,] [SIS Login
  ID, [Integration ID,] [Root Account,]] Section` (or `LastName, FirstName, ID, …`), then one
  column per assignment titled `Title (id)`; a `Points Possible` row gives each one's points.
  Canvas's importer (lib/gradebook_importer.rb) reads these same columns back.
- Moodle: the assignment's offline grading worksheet (View all submissions → Download grading
  worksheet): `Identifier` (`Participant <n>`, the number Moodle's importer matches),
  `Full name`, optionally `ID number`, `Email address`, `Username`, and `Maximum Grade`.

Matching (`identities`), one rule for every export:
1. A submission from the platform's own download carries that platform's id (a Canvas download
   its Canvas user ID, a Moodle download its participant number): it is matched by that id.
2. Any other submission (a folder or file per student, a Gradescope one) is matched by its id
   (the folder or file name), e-mail and name, against each roster row's logins (Canvas: SIS
   Login ID, SIS User ID; Moodle: ID number, Email address, Username; an e-mail address also
   without its @domain), ignoring case, and against the row's name (letters and digits only,
   first-last or last-first: `doejane`, `jane-doe` and `Jane_Doe` all match "Doe, Jane").
A submission that matches no row, or the rows of several students, and two submissions that
match one row, are refused by name: nothing is written.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import GraderError
from .outputs import PLATFORM_NAMES, LmsIdentity, download_identity, name_list

if TYPE_CHECKING:
    from .gradebook import StoredRow

MAX_ROSTER_BYTES = 50_000_000
_ASSIGNMENT = re.compile(r"^(?P<title>.*?)\s*\((?P<id>[0-9]+)\)$")
_CANVAS_COMPUTED = re.compile(r"(current|final|override|unposted)\s+(score|points|grade|status)", re.IGNORECASE)
_MUTED = re.compile(r"^\s*(Muted|Manual Posting.*)?\s*$", re.IGNORECASE)
_PARTICIPANT = re.compile(r"^Participant ([0-9]+)$")


@dataclass(frozen=True)
class RosterRow:
    identity: LmsIdentity
    line: int
    logins: frozenset[str]
    names: frozenset[str]


@dataclass(frozen=True)
class Roster:
    path: str
    kind: str  # "canvas" or "moodle"
    rows: tuple[RosterRow, ...]
    assignments: tuple[tuple[str, str, float | None], ...] = ()  # Canvas: title, id, points possible
    max_grade: float | None = None  # Moodle: the worksheet's Maximum Grade

    def describe(self) -> str:
        return "Canvas gradebook export" if self.kind == "canvas" else "Moodle grading worksheet"


def squash(text: str) -> str:
    """Letters and digits only, case folded: how names are compared."""
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def name_keys(name: str) -> frozenset[str]:
    """A name in both orders: "Doe, Jane" and "Jane Doe" both give {"doejane", "janedoe"}."""
    name = name.strip()
    if "," in name:
        last, first = name.split(",", 1)
        orders = [last + first, first + last]
    else:
        parts = name.split()
        orders = [name] + ([parts[-1] + "".join(parts[:-1])] if len(parts) > 1 else [])
    return frozenset(k for k in map(squash, orders) if k)


def login_keys(values: Iterable[str | None]) -> frozenset[str]:
    """Logins ignoring case; an e-mail address also without its @domain."""
    keys = set()
    for v in values:
        v = (v or "").strip().casefold()
        if v:
            keys.add(v)
            if "@" in v and v.split("@", 1)[0]:
                keys.add(v.split("@", 1)[0])
    return frozenset(keys)


def _number(text: str) -> float | None:
    try:
        value = float(text.strip().replace(",", "."))
    except ValueError:
        return None
    return value if value > 0 and value < float("inf") else None


def read_roster(path: Path) -> Roster:
    """A Canvas gradebook export or a Moodle grading worksheet, told apart by its header."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_ROSTER_BYTES + 1)
    except OSError as e:
        raise GraderError(f"{path}: cannot read the roster ({e.strerror})") from None
    if len(data) > MAX_ROSTER_BYTES:
        raise GraderError(f"{path}: more than {MAX_ROSTER_BYTES:,} bytes; not a course's roster")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise GraderError(f"{path}: not UTF-8 text (byte {e.start}); export it again as UTF-8 CSV") from None
    first = text.split("\n", 1)[0]
    delimiter = ";" if len(next(csv.reader([first], delimiter=";"), [])) > len(next(csv.reader([first]), [])) else ","
    try:
        table = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as e:
        raise GraderError(f"{path}: not a readable CSV file ({e})") from None
    if not table:
        raise GraderError(f"{path}: empty; expected Canvas's gradebook export or Moodle's grading worksheet")
    header = [h.strip() for h in table[0]]
    if header[:2] == ["Student", "ID"] or header[:3] == ["LastName", "FirstName", "ID"]:
        return _canvas(str(path), header, table[1:])
    if "Identifier" in header and "Full name" in header:
        return _moodle(str(path), header, table[1:])
    raise GraderError(f"{path}: not a roster: expected Canvas's gradebook export (header Student, ID, …, Section) "
                      "or Moodle's grading worksheet (header Identifier, Full name, …)")


def _canvas(path: str, header: list[str], body: list[list[str]]) -> Roster:
    if "Section" not in header:
        raise GraderError(f"{path}: a Canvas gradebook export has a Section column; this header has none")
    col = {h: i for i, h in reversed(list(enumerate(header)))}
    section = col["Section"]
    first_last = header[0] == "LastName"

    def cell(row: list[str], name: str) -> str:
        i = col.get(name)
        return row[i].strip() if i is not None and i < len(row) else ""

    points_row: list[str] = []
    rows: list[RosterRow] = []
    for line, row in enumerate(body, start=2):
        if not any(c.strip() for c in row):
            continue
        if "Points Possible" in row[0]:
            points_row = row
            continue
        if all(_MUTED.match(c) for c in row):
            continue
        user_id = cell(row, "ID")
        if not re.fullmatch("[0-9]+", user_id):
            raise GraderError(f"{path}:{line}: ID {user_id[:40]!r} is not a Canvas user id (digits)")
        name = f"{cell(row, 'FirstName')} {cell(row, 'LastName')}".strip() if first_last else cell(row, "Student")
        identity = LmsIdentity(name, user_id, cell(row, "SIS User ID"), cell(row, "SIS Login ID"), cell(row, "Section"))
        logins = login_keys([identity.sis_login_id, identity.sis_user_id])
        rows.append(RosterRow(identity, line, logins, name_keys(cell(row, "Student")) | name_keys(name)))
    assignments = []
    for i, title in enumerate(header[section + 1:], start=section + 1):
        m = _ASSIGNMENT.match(title)
        if m and not _CANVAS_COMPUTED.search(title):
            points = _number(points_row[i]) if i < len(points_row) else None
            assignments.append((m["title"], m["id"], points))
    return _checked(Roster(path, "canvas", tuple(rows), tuple(assignments)))


def _moodle(path: str, header: list[str], body: list[list[str]]) -> Roster:
    col = {h: i for i, h in reversed(list(enumerate(header)))}

    def cell(row: list[str], name: str) -> str:
        i = col.get(name)
        return row[i].strip() if i is not None and i < len(row) else ""

    rows: list[RosterRow] = []
    grades: set[float] = set()
    for line, row in enumerate(body, start=2):
        if not any(c.strip() for c in row):
            continue
        m = _PARTICIPANT.match(cell(row, "Identifier"))
        if not m:
            raise GraderError(f"{path}:{line}: Identifier {cell(row, 'Identifier')[:40]!r} is not 'Participant <number>' "
                              "(the worksheet's English headers and identifiers are expected)")
        name = cell(row, "Full name")
        logins = login_keys([cell(row, "ID number"), cell(row, "Email address"), cell(row, "Username")])
        rows.append(RosterRow(LmsIdentity(name, m.group(1)), line, logins, name_keys(name)))
        grade = _number(cell(row, "Maximum Grade"))
        if grade is not None:
            grades.add(grade)
    return _checked(Roster(path, "moodle", tuple(rows), max_grade=grades.pop() if len(grades) == 1 else None))


def _checked(roster: Roster) -> Roster:
    if not roster.rows:
        raise GraderError(f"{roster.path}: no students in this {roster.describe()}")
    seen: dict[str, int] = {}
    for r in roster.rows:
        if r.identity.lms_id in seen:
            raise GraderError(f"{roster.path}:{r.line}: the id {r.identity.lms_id} is also on line {seen[r.identity.lms_id]}")
        seen[r.identity.lms_id] = r.line
    return roster


def _candidates(row: StoredRow, roster: Roster) -> list[RosterRow]:
    own = download_identity(row, roster.kind)
    if own is not None:
        return [r for r in roster.rows if r.identity.lms_id == own.lms_id]
    email = str(dict(row.result.meta).get("email") or "")
    logins = login_keys([row.student, email])
    names = (name_keys(row.name or "") | {squash(row.student)}) - {""}
    return [r for r in roster.rows if r.logins & logins or r.names & names]


_EXPECTED = {"canvas": "the gradebook export (Grades → Export)",
             "moodle": "the grading worksheet (View all submissions → Download grading worksheet)"}
_MATCHED = {"canvas": "by user ID for a Canvas download, else by folder name against SIS Login ID, SIS User ID "
                      "and Student",
            "moodle": "by participant number for a Moodle download, else by folder name against ID number, "
                      "Email address and Full name"}


def identities(rows: Sequence[StoredRow], roster: Roster, platform: str) -> dict[str, LmsIdentity]:
    """Each row's identity in the roster (student id → identity), by the module's matching rule;
    refused by name (GraderError, one line) if any row matches none or several, or two rows one."""
    if roster.kind != platform:
        raise GraderError(f"{roster.path} is a {roster.describe()}; a {PLATFORM_NAMES[platform]} export needs "
                          f"{_EXPECTED[platform]}")
    found: dict[str, RosterRow] = {}
    missing: list[str] = []
    problems: list[str] = []
    for row in rows:
        matches = _candidates(row, roster)
        if len(matches) == 1:
            found[row.student] = matches[0]
        elif not matches:
            missing.append(row.student)
        else:
            names = "; ".join(name_list([m.identity.name]) for m in matches[:4])
            problems.append(f"{name_list([row.student])} matches {len(matches)} students ({names})")
    by_line: dict[int, list[str]] = {}
    for student, r in found.items():
        by_line.setdefault(r.line, []).append(student)
    for line, students in sorted(by_line.items()):
        if len(students) > 1:
            who = name_list([found[students[0]].identity.name])
            problems.append(f"{' and '.join(name_list([s]) for s in students)} all match {who} (line {line})")
    if missing:
        problems.insert(0, f"no roster row for {name_list(missing)} (matched {_MATCHED[platform]})")
    if problems:
        raise GraderError(f"{roster.path}: {'; '.join(problems)}: rename the folder to the student's login, or "
                          "leave them out with --skip; nothing written")
    return {student: r.identity for student, r in found.items()}


def canvas_assignment(roster: Roster | None, title: str | None,
                      assignment_id: str | None) -> tuple[str | None, str | None, float | None]:
    """The Canvas column to write, as (title, id, points), from the options and the roster's
    assignment columns: a title found there gets its id (Canvas then updates that assignment)
    and its points; an id must be one of them. Without a roster, the options as given."""
    if roster is None or roster.kind != "canvas":
        return title, assignment_id, None
    if assignment_id is not None:
        known = [a for a in roster.assignments if a[1] == assignment_id.strip()]
        if not known:
            raise GraderError(f"{roster.path}: no assignment with id {assignment_id} among its columns "
                              f"({', '.join(f'{t} ({i})' for t, i, _ in roster.assignments[:6]) or 'none'})")
        return title or known[0][0], known[0][1], known[0][2]
    if title is not None:
        same = [a for a in roster.assignments if a[0] == title.strip()]
        if len(same) > 1:
            raise GraderError(f"{roster.path}: {len(same)} assignments are titled {title!r}; pass --assignment-id "
                              f"({', '.join(i for _, i, _ in same)})")
        if same:
            return same[0][0], same[0][1], same[0][2]
    return title, None, None
