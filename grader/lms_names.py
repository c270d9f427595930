"""How Canvas and Moodle name the files and folders of a class download, and what a name says
about the student it belongs to."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

# Canvas "Download Submissions": <lastfirst>_[LATE_]<user_id>_<attachment_id>_<original name>
CANVAS_FILE = re.compile(r"^(?P<name>[a-z0-9]+|anon)_(?:(?P<late>LATE)_)?(?P<uid>\d+)_(?P<fid>\d{1,30})_(?P<file>.+)$")

CANVAS_TEXT = re.compile(r"^(?P<name>[a-z0-9]+|anon)_(?:(?P<late>LATE)_)?(?P<uid>\d+)_(?:text|link)\.html$")



# Moodle "Download all submissions": folders <Full name>_<participant>_assignsubmission_<plugin>,
# or flat files <Full name>_<participant>_assignsubmission_file_<original name>
MOODLE_FOLDER = re.compile(r"^(?P<name>.+)_(?P<pid>\d+)_assignsubmission_(?P<plugin>[a-z]+)$")



# the first `_<id>_assignsubmission_file_` is Moodle's: what follows is the student's own file name,
# which may hold another such part to pose as someone else
MOODLE_FILE = re.compile(r"^(?P<name>.+?)_(?P<pid>\d+)_assignsubmission_file_(?P<file>.+)$")



# Canvas names an upload whose name the student's files already hold `<stem>-<N><ext>`
# (vec_helpers.py, then vec_helpers-1.py, vec_helpers-2.py): the same file, resubmitted
CANVAS_RENAMED = re.compile(r"^(?P<stem>.+)-(?P<n>\d{1,9})(?P<ext>\.[A-Za-z0-9]+)$")

PLATFORM_TITLES = {"canvas": "Canvas", "moodle": "Moodle"}



class Lms(NamedTuple):
    """What the name of an entry in a Canvas or Moodle download says about it."""

    platform: str
    name: str
    id: str
    late: bool = False
    file: str | None = None  # the student's own name for the file (None: a Moodle folder, a Canvas text entry)
    upload: int = 0  # Canvas's attachment id: a later upload has a larger one



def lms_entry(name: str, folder: bool) -> Lms | None:
    """The student an entry of a platform's download belongs to, from its name; None if not so named."""
    if folder:
        m = MOODLE_FOLDER.match(name)
        return Lms("moodle", m["name"], m["pid"]) if m else None
    m = CANVAS_FILE.match(name)
    if m:
        return Lms("canvas", m["name"], m["uid"], bool(m["late"]), m["file"], int(m["fid"]))
    m = CANVAS_TEXT.match(name)
    if m:
        return Lms("canvas", m["name"], m["uid"], bool(m["late"]))
    m = MOODLE_FILE.match(name)
    return Lms("moodle", m["name"], m["pid"], file=m["file"]) if m else None



def download_owners(rels: Iterable[str]) -> list[tuple[str, str, str]]:
    """The platform students whose download names appear anywhere in these relative paths."""
    found: set[tuple[str, str, str]] = set()
    for rel in rels:
        parts = rel.split("/")
        for i, part in enumerate(parts):
            m = lms_entry(part, folder=i < len(parts) - 1)
            if m:
                found.add((m.platform, m.name, m.id))
    return sorted(found)



def is_download(tops: set[tuple[str, bool]]) -> bool:
    """Whether the top entries (name, is a folder) of an archive are a Canvas or Moodle class download."""
    named = [m for m in (lms_entry(name, folder) for name, folder in tops) if m]
    students = {(m.platform, m.name, m.id) for m in named}
    return len(students) >= 2 or (len(students) == 1 and len(named) == len(tops))



def canvas_original(file: str) -> tuple[str, int]:
    """The student's own name for a file of a Canvas download, and which resubmission it is (0: the first)."""
    m = CANVAS_RENAMED.match(file)
    return (m["stem"] + m["ext"], int(m["n"])) if m else (file, 0)
