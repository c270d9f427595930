"""Find submissions on disk and locate each exercise's function by static inspection (never import)."""

from __future__ import annotations

import ast
import dataclasses
import difflib
import io
import json
import re
import stat
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property, partial
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from .errors import SubmissionError
from .exercise import Exercise
from .text import safe

MAX_FILE_BYTES = 1_000_000
MAX_FILES = 200
SKIP_DIRS = {"__pycache__", ".git", ".ipynb_checkpoints", "node_modules", ".venv", "venv"}


@dataclass(frozen=True)
class SourceFile:
    path: str  # relative to the submission root, with '/'
    data: bytes
    read_problem: str | None = None  # why it could not be read, as a one-line message
    origin: str | None = None  # the file it came from, when not itself (a notebook)

    @cached_property
    def _parsed(self) -> tuple[dict[str, int] | None, str | None]:
        # parsed on first use (the main process of a parallel batch only lists and reads files);
        # only the names it binds are kept: a syntax tree is thousands of objects, and a class's
        # worth of them made every full garbage collection of a grading worker slow
        if self.read_problem:
            return None, self.read_problem
        tree, problem = _parse(self.data, self.path)
        if problem and self.origin:  # a place in the module made of a notebook is a place in a cell
            problem = _PLACE.sub(lambda m: self.place(m.group()), problem, count=1)
        return (None, problem) if tree is None else (_bound_names(tree), None)

    def place(self, where: str) -> str:
        """`file.py:LINE…` as the student knows the place: for a notebook's module, its cell and line."""
        m = _PLACE.match(where)
        if not self.origin or m is None or m["file"] != self.path:
            return where
        found = notebook_place(self.data, int(m["line"]))
        if found is None:
            return where
        cell, line = found
        return f"{self.origin}, cell {cell}, line {line}{where[m.end():]}"

    @property
    def names(self) -> dict[str, int] | None:
        """Top-level names the module binds (name → line), or None if it cannot be parsed."""
        return self._parsed[0]

    @property
    def problem(self) -> str | None:
        """Why the file cannot be used (unreadable, binary, not UTF-8, syntax error), or None."""
        return self._parsed[1]


MAX_ANSWERS_BYTES = 256 * 1024
MAX_ZIP_BYTES = 20_000_000  # uncompressed, all members together
MAX_ZIP_MEMBERS = 500
ANSWER_NAMES = ("answers.yaml", "answers.yml")
GRADESCOPE_METADATA = "submission_metadata.json"

# Canvas "Download Submissions": <lastfirst>_[LATE_]<user_id>_<attachment_id>_<original name>
CANVAS_FILE = re.compile(r"^(?P<name>[a-z0-9]+|anon)_(?:(?P<late>LATE)_)?(?P<uid>\d+)_(?P<fid>\d{1,30})_(?P<file>.+)$")
CANVAS_TEXT = re.compile(r"^(?P<name>[a-z0-9]+|anon)_(?:(?P<late>LATE)_)?(?P<uid>\d+)_(?:text|link)\.html$")
# Moodle "Download all submissions": folders <Full name>_<participant>_assignsubmission_<plugin>,
# or flat files <Full name>_<participant>_assignsubmission_file_<original name>
MOODLE_FOLDER = re.compile(r"^(?P<name>.+)_(?P<pid>\d+)_assignsubmission_(?P<plugin>[a-z]+)$")
# the first `_<id>_assignsubmission_file_` is Moodle's: what follows is the student's own file name,
# which may hold another such part to pose as someone else
MOODLE_FILE = re.compile(r"^(?P<name>.+?)_(?P<pid>\d+)_assignsubmission_file_(?P<file>.+)$")


@dataclass(frozen=True)
class Submission:
    id: str
    path: Path
    files: tuple[SourceFile, ...]
    answers: tuple[tuple[str, str | None], ...] = ()  # root-level YAML files (quiz answers): name → text
    problems: tuple[str, ...] = ()  # one-line messages about files that were left out
    meta: tuple[tuple[str, object], ...] = ()  # name, lms_id, late, submitted_at, platform

    def answers_text(self, name: str) -> str | None:
        return dict(self.answers).get(name)

    def file_map(self) -> dict[str, bytes]:
        return {f.path: f.data for f in self.files}

    def place(self, where: str) -> str:
        """A place in one of its files (`file.py:12 in name`) as the student knows it (see SourceFile.place)."""
        m = _PLACE.match(where)
        source = next((f for f in self.files if m is not None and f.path == m["file"]), None)
        return where if source is None else source.place(where)

    @property
    def info(self) -> dict[str, object]:
        return dict(self.meta)


@dataclass(frozen=True)
class Location:
    """Where a submission defines an exercise's function, or why it does not."""

    file: str | None
    module: str | None
    problem: str | None  # one-line message when the function cannot be used
    status: str = "found"  # found | missing | error
    origin: str | None = None  # the student's file (a notebook's name, not the module made of it)


def discover(folder: str | Path) -> list[Submission]:
    """Every entry of a class folder, or of a class zip, is one student's submission.

    An entry is a subfolder, a single .py or .ipynb file, or a .zip. Canvas and Moodle downloads
    (their file and folder names) are grouped per student, flat in the folder or as the .zip the
    platform hands out: `grade CLASS.zip`, or a zip in the folder whose entries are named so.
    """
    folder = Path(folder)
    if folder.is_file() and folder.suffix.lower() == ".zip":
        items = _class_zip(folder)
    elif folder.is_dir():
        items = _folder_items(folder)
    else:
        raise SubmissionError(f"{folder}: not a folder of submissions, nor a .zip a course platform downloads")
    subs = _gather(items)
    if not subs:
        raise SubmissionError(f"{folder}: no submissions found (expected one subfolder, .py, .ipynb or .zip per student)")
    subs.sort(key=lambda s: s.id)
    for a, b in zip(subs, subs[1:], strict=False):
        if a.id == b.id:  # one gradebook row per student: one of them would be lost
            clash = sorted(safe(_relative(s.path, folder), 100) for s in subs if s.id == a.id)
            raise SubmissionError(f"{folder}: {' and '.join(clash)} are all the submission of `{a.id}`; "
                                  "keep one of them, or rename the others")
    return subs


def _relative(path: Path, folder: Path) -> str:
    try:
        return path.relative_to(folder).as_posix()
    except ValueError:
        return path.name


def load_submission(path: str | Path, platform: bool = False) -> Submission:
    """One submission: a folder, a single .py or .ipynb file, or a .zip.

    `platform`: the submission is a course platform's, laid out as the platform writes it; a
    folder's identity then comes from Gradescope's metadata file beside it (the autograder's
    /autograder/submission_metadata.json next to /autograder/submission/). Never from inside a
    submission: what is in it, its student wrote.
    """
    path = Path(path)
    if platform and path.is_dir() and (path.parent / GRADESCOPE_METADATA).is_file():
        sub = load_submission(path)
        problems: list[str] = list(sub.problems)
        try:
            data = (path.parent / GRADESCOPE_METADATA).read_bytes()[:MAX_FILE_BYTES]
        except OSError as e:
            data = None
            problems.append(f"{GRADESCOPE_METADATA}: cannot be read ({e.strerror}); identity unknown")
        meta = _gradescope_meta(data, problems) if data is not None else {}
        sid = str(meta.get("sid") or meta.get("email") or sub.id)  # the roster's id, else the e-mail
        return dataclasses.replace(sub, id=safe(sid, 200), problems=tuple(problems),
                                   meta=tuple({**dict(sub.meta), **meta}.items()))
    if path.is_file():
        if path.suffix in (".py", ".ipynb"):
            return _build(path.stem, path, _read_members([(path.name, path)]), [], {})
        if path.suffix == ".zip":
            entries, problems = _read_zip(path)
            return _build(path.stem, path, entries, problems, {})
        raise SubmissionError(f"{path}: expected a folder, a .py, .ipynb or .zip file")
    if not path.is_dir():
        raise SubmissionError(f"{path}: no such file or folder")
    members = [(rel, path / rel) for rel in _walk(path, path, all_files=True)]
    if len(members) > MAX_FILES:
        raise SubmissionError(f"{path}: more than {MAX_FILES} files")
    return _build(path.name, path, _read_members(members), [], {})


Entry = tuple[str, bytes | None, str | None]  # relative path, content (None if unreadable), problem


def _walk(root: Path, top: Path, all_files: bool = False) -> Iterable[str]:
    """Relative paths of the gradable files below top: .py and .ipynb, answers and metadata at the root."""
    for entry in sorted(top.iterdir()):
        if entry.is_symlink() or entry.name.startswith(".") or entry.name in SKIP_DIRS:
            continue  # links are never followed: they could point outside the submission
        if entry.is_dir():
            yield from _walk(root, entry, all_files)
        elif entry.is_file() and (entry.suffix in (".py", ".ipynb") or (
                top == root and entry.name in (*ANSWER_NAMES, GRADESCOPE_METADATA))):
            yield entry.relative_to(root).as_posix()


def _read_members(members: list[tuple[str, Path]]) -> list[Entry]:
    out: list[Entry] = []
    for rel, p in members:
        try:
            size = p.stat().st_size
            if size > MAX_FILE_BYTES:
                out.append((rel, None, f"{rel}: file is {size} bytes; at most {MAX_FILE_BYTES} are graded"))
                continue
            out.append((rel, p.read_bytes(), None))
        except OSError as e:
            out.append((rel, None, f"{rel}: cannot be read ({e.strerror})"))
    return out


def _read_zip(path: Path, data: bytes | None = None) -> tuple[list[Entry], list[str]]:
    """The members of a student's zip, read in memory: nothing is extracted, nothing outside is touched.

    `data`: the zip itself, when it is a member of a class zip (`path` then names it there).
    """
    entries: list[Entry] = []
    problems: list[str] = []
    total = 0
    try:
        with zipfile.ZipFile(path if data is None else io.BytesIO(data)) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_ZIP_MEMBERS:
                return [], [f"{path.name}: {len(infos)} members; at most {MAX_ZIP_MEMBERS} are read"]
            for info in infos:
                name = info.filename
                if info.is_dir():
                    continue
                parts = PurePosixPath(name.replace("\\", "/")).parts
                if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or ".." in parts:
                    problems.append(f"{path.name}: member '{name[:80]}' points outside the submission; skipped")
                    continue
                if stat.S_ISLNK(info.external_attr >> 16):
                    problems.append(f"{path.name}: member '{name[:80]}' is a link; skipped")
                    continue
                if any(p.startswith(".") or p in SKIP_DIRS for p in parts) or parts[0] == "__MACOSX":
                    continue
                if not (name.endswith((".py", ".ipynb")) or parts[-1] in (*ANSWER_NAMES, GRADESCOPE_METADATA)):
                    continue
                budget = min(MAX_FILE_BYTES, MAX_ZIP_BYTES - total)
                with zf.open(info) as f:
                    data = f.read(budget + 1)  # never trust the declared size: read at most the budget
                if len(data) > budget:
                    problems.append(f"{path.name}: member '{name[:80]}' unpacks to more than {budget} bytes; "
                                    "the rest of the archive is not read")
                    break
                rel = "/".join(parts)
                clash = next((e[0] for e in entries if e[0] == rel or rel.startswith(e[0] + "/") or e[0].startswith(rel + "/")), None)
                if clash is not None:  # a zip can hold a.py and a.py/b.py, or a name twice; a folder cannot
                    problems.append(f"{path.name}: member '{name[:80]}' clashes with '{clash[:80]}'; skipped")
                    continue
                total += len(data)
                entries.append((rel, data, None))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError, EOFError, RuntimeError) as e:
        return [], [f"{path.name}: not a readable zip file ({type(e).__name__}: {str(e)[:100]})"]
    # a zip that holds one top folder (hw1/similarity.py) is graded from inside it
    tops = {e[0].split("/")[0] for e in entries}
    if len(tops) == 1 and all("/" in e[0] for e in entries):
        top = tops.pop() + "/"
        entries = [(rel[len(top):], data, problem) for rel, data, problem in entries]
    return entries, problems


def _build(sid: str, path: Path, entries: list[Entry], problems: list[str], meta: dict[str, object]) -> Submission:
    files: list[SourceFile] = []
    answers: list[tuple[str, str | None]] = []
    taken = {rel for rel, _, _ in entries if rel.endswith(".py")}
    for rel, data, problem in sorted(entries, key=lambda e: e[0]):
        name = rel.rsplit("/", 1)[-1]
        if name in ANSWER_NAMES and "/" not in rel:
            answers.append((name, _text(data)))
        elif name == GRADESCOPE_METADATA and "/" not in rel:
            problems.append(f"{rel}: ignored (a student's identity comes from the platform, never from "
                            "their own files)")
        elif rel.endswith(".py"):
            files.append(SourceFile(rel, data or b"", problem))
        elif rel.endswith(".ipynb"):
            target = rel[:-6] + ".py"
            if target in taken:
                target = rel[:-6] + "_ipynb.py"
            taken.add(target)
            if problem:
                files.append(SourceFile(target, b"", problem, rel))
            else:
                source, error = notebook_source(data or b"", rel)
                files.append(SourceFile(target, source, error, rel))
    if len(files) > MAX_FILES:
        raise SubmissionError(f"{path}: more than {MAX_FILES} Python files")
    owners = [] if meta.get("platform") else _owners(rel for rel, _, _ in entries)
    if len(owners) > 1:
        platforms = " and ".join(sorted({PLATFORM_TITLES[p] for p, _, _ in owners}))
        shown = ", ".join(f"{name}_{uid}" for _, name, uid in owners[:3]) + (", …" if len(owners) > 3 else "")
        problems.append(f"{safe(path.name, 100)} holds the files of {len(owners)} students of a {platforms} download "
                        f"({safe(shown, 200)}); they are graded here as one student: grade {safe(path.name, 100)} "
                        "itself as the class")
    return Submission(safe(sid, 200), path, tuple(files), tuple(answers), tuple(problems), tuple(meta.items()))


def _text(data: bytes | None) -> str | None:
    if data is None or len(data) > MAX_ANSWERS_BYTES:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _gradescope_meta(data: bytes | None, problems: list[str]) -> dict[str, object]:
    """Student identity and submission time from Gradescope's submission_metadata.json."""
    try:
        doc = json.loads(data or b"")
        users = doc.get("users") or [{}]
        user = users[0] if isinstance(users[0], dict) else {}
        meta: dict[str, object] = {"platform": "gradescope"}
        if user.get("name"):
            meta["name"] = str(user["name"])[:200]
        if user.get("id") is not None:
            meta["lms_id"] = str(user["id"])[:64]
        if user.get("sid"):  # the course roster's student id, where the course has one
            meta["sid"] = str(user["sid"])[:64]
        if user.get("email"):
            meta["email"] = str(user["email"])[:200]
        if doc.get("created_at"):
            meta["submitted_at"] = str(doc["created_at"])[:64]
        return meta
    except (ValueError, AttributeError, IndexError, TypeError) as e:
        problems.append(f"{GRADESCOPE_METADATA}: not the expected JSON ({type(e).__name__}); identity unknown")
        return {}


# --------------------------------------------------------------------------- classes and downloads

MAX_CLASS_ZIP_BYTES = 200_000_000  # what a class zip's graded members unpack to, all together
MAX_CLASS_ZIP_MEMBERS = 20_000
# Canvas names an upload whose name the student's files already hold `<stem>-<N><ext>`
# (vec_helpers.py, then vec_helpers-1.py, vec_helpers-2.py): the same file, resubmitted
CANVAS_RENAMED = re.compile(r"^(?P<stem>.+)-(?P<n>\d{1,9})(?P<ext>\.[A-Za-z0-9]+)$")
PLATFORM_TITLES = {"canvas": "Canvas", "moodle": "Moodle"}


class _Lms(NamedTuple):
    """What the name of an entry in a Canvas or Moodle download says about it."""

    platform: str
    name: str
    id: str
    late: bool = False
    file: str | None = None  # the student's own name for the file (None: a Moodle folder, a Canvas text entry)
    upload: int = 0  # Canvas's attachment id: a later upload has a larger one


def _lms(name: str, folder: bool) -> _Lms | None:
    """The student an entry of a platform's download belongs to, from its name; None if not so named."""
    if folder:
        m = MOODLE_FOLDER.match(name)
        return _Lms("moodle", m["name"], m["pid"]) if m else None
    m = CANVAS_FILE.match(name)
    if m:
        return _Lms("canvas", m["name"], m["uid"], bool(m["late"]), m["file"], int(m["fid"]))
    m = CANVAS_TEXT.match(name)
    if m:
        return _Lms("canvas", m["name"], m["uid"], bool(m["late"]))
    m = MOODLE_FILE.match(name)
    return _Lms("moodle", m["name"], m["pid"], file=m["file"]) if m else None


def _owners(rels: Iterable[str]) -> list[tuple[str, str, str]]:
    """The platform students whose download names appear anywhere in these relative paths."""
    found: set[tuple[str, str, str]] = set()
    for rel in rels:
        parts = rel.split("/")
        for i, part in enumerate(parts):
            m = _lms(part, folder=i < len(parts) - 1)
            if m:
                found.add((m.platform, m.name, m.id))
    return sorted(found)


def _is_download(tops: set[tuple[str, bool]]) -> bool:
    """Whether the top entries (name, is a folder) of an archive are a Canvas or Moodle class download."""
    named = [m for m in (_lms(name, folder) for name, folder in tops) if m]
    students = {(m.platform, m.name, m.id) for m in named}
    return len(students) >= 2 or (len(students) == 1 and len(named) == len(tops))


def _canvas_original(file: str) -> tuple[str, int]:
    """The student's own name for a file of a Canvas download, and which resubmission it is (0: the first)."""
    m = CANVAS_RENAMED.match(file)
    return (m["stem"] + m["ext"], int(m["n"])) if m else (file, 0)


Reader = Callable[[], tuple[list[Entry], list[str]]]


@dataclass(frozen=True)
class _Item:
    """One entry at the top of a class, in a folder or a class zip: a folder, or a file."""

    source: Path  # the class folder or class zip it is in
    name: str
    folder: bool
    read: Reader  # its gradable files (a folder's and a zip's relative to it; a file as itself) and problems

    @property
    def path(self) -> Path:
        return self.source / self.name


def _folder_items(folder: Path) -> list[_Item]:
    """The entries of a class folder. A zip that is the folder's only entry and is a platform's
    class download (the teacher saved the download there) gives its own. Beside other entries, a
    zip is one student's: what is in a student's upload never makes up other students."""
    items: list[_Item] = []
    entries = [e for e in sorted(folder.iterdir(), key=lambda p: p.name)
               if not (e.name.startswith(".") or e.name in SKIP_DIRS or e.is_symlink())]
    for entry in entries:  # (a link could point anywhere; submissions are real files and folders)
        if entry.is_dir():
            items.append(_Item(folder, entry.name, True, partial(_read_folder, entry)))
        elif entry.is_file():
            if (len(entries) == 1 and entry.suffix.lower() == ".zip" and _lms(entry.name, False) is None
                    and _zip_is_download(entry)):
                items += _class_zip(entry)
            elif entry.suffix.lower() == ".zip":
                items.append(_Item(folder, entry.name, False, partial(_read_zip, entry)))
            else:
                items.append(_Item(folder, entry.name, False, partial(_read_file, entry)))
    return items


def _read_folder(path: Path) -> tuple[list[Entry], list[str]]:
    members = [(rel, path / rel) for rel in _walk(path, path, all_files=True)]
    if len(members) > MAX_FILES:
        raise SubmissionError(f"{path}: more than {MAX_FILES} files")
    return _read_members(members), []


def _read_file(path: Path) -> tuple[list[Entry], list[str]]:
    return _read_members([(path.name, path)]), []


def _gradable(name: str) -> bool:
    return name.endswith((".py", ".ipynb", *ANSWER_NAMES, GRADESCOPE_METADATA))


def _gather(items: list[_Item]) -> list[Submission]:
    """Submissions from a class's entries: each is a student, but a platform's download is grouped per student."""
    subs: list[Submission] = []
    groups: dict[tuple[Path, str, str, str], list[tuple[_Lms, _Item]]] = {}
    for item in items:
        lms = _lms(item.name, item.folder)
        if lms is not None:
            groups.setdefault((item.source, lms.platform, lms.name, lms.id), []).append((lms, item))
        elif item.folder:
            subs.append(_build(item.name, item.path, *item.read(), {}))
        elif item.name.endswith((".py", ".ipynb", ".zip")):
            subs.append(_build(Path(item.name).stem, item.path, *item.read(), {}))
    for (source, platform, name, uid), members in groups.items():
        if platform == "canvas":
            meta: dict[str, object] = {"name": name, "lms_id": uid, "late": any(lms.late for lms, _ in members),
                                       "platform": platform}
            uploads = [lms.upload for lms, _ in members if lms.upload]
            if uploads:  # Canvas's re-upload of feedback names a file of the current submission
                meta["attachment_id"] = str(max(uploads))
            sid = f"{name}_{uid}"
        else:
            meta = {"name": name.replace("_", " "), "lms_id": uid, "platform": platform}
            sid = re.sub(r"\W+", "-", name).strip("-").lower() + f"_{uid}"
        entries, problems = _merge(members)
        subs.append(_build(sid, source / sid, entries, problems, meta))
    return subs


def _merge(members: list[tuple[_Lms, _Item]]) -> tuple[list[Entry], list[str]]:
    """One student's files from the entries of a download: a folder's, a zip's, or files under their own names.

    Canvas renames a file the student uploads again (`vec_helpers-1.py`): it gets its own name
    back, and of several uploads of one name the latest (the largest N) is the one graded.
    """
    problems: list[str] = []
    candidates: list[tuple[str, int, int, str, Entry]] = []  # name, resubmission, upload, where, entry
    texts = [item.name for lms, item in members if lms.file is None and not item.folder]
    for lms, item in members:
        if lms.file is None and not item.folder:
            continue  # a Canvas text or URL entry: nothing to run
        zipped = lms.file is not None and lms.file.lower().endswith(".zip")
        if lms.file is not None and not zipped and not _gradable(lms.file):
            continue
        entries, more = item.read()
        problems += more
        if lms.file is not None and not zipped:
            own, n = _canvas_original(lms.file) if lms.platform == "canvas" else (lms.file, 0)
            entries = [(own, data, problem) for _, data, problem in entries]
        else:
            n = 0
        candidates += [(rel, n, lms.upload, item.name, (rel, data, problem)) for rel, data, problem in entries]
    kept: list[Entry] = []
    winner: dict[str, str] = {}
    for rel, _, _, where, entry in sorted(candidates, key=lambda c: (c[0], -c[1], -c[2])):
        if rel in winner:
            problems.append(f"{where}: an earlier upload of {rel}; the latest ({winner[rel]}) is graded")
            continue
        clash = _clash(rel, winner)
        if clash is not None:
            problems.append(f"{where}: {rel} clashes with {clash}; skipped")
            continue
        winner[rel] = where
        kept.append(entry)
    if texts and not kept:
        problems.append(f"{texts[0]}: a text or link entry, with no file to run")
    return kept, problems


def _clash(rel: str, kept: Iterable[str]) -> str | None:
    """A kept path that a folder could not hold beside `rel` (one is a folder of the other)."""
    return next((k for k in kept if rel.startswith(k + "/") or k.startswith(rel + "/")), None)


def _member_parts(infos: list[zipfile.ZipInfo]) -> list[tuple[zipfile.ZipInfo, tuple[str, ...]]]:
    """The members of a class zip worth reading, with their paths split.

    A class zipped in a folder of its own (`hw1/ada/…`, `hw1/doejane_5551_…`) is read from inside
    that folder: when everything is in one folder that is no student's, and what it holds is a
    platform's download or has folders of its own (else it is one student's folder, `ada/…`).
    """
    kept = []
    for info in infos:
        parts = PurePosixPath(info.filename.replace("\\", "/")).parts
        if info.is_dir() or not parts or any(p.startswith(".") or p in SKIP_DIRS for p in parts) \
                or parts[0] == "__MACOSX":
            continue
        kept.append((info, parts))
    tops = {parts[0] for _, parts in kept}
    if len(tops) == 1 and all(len(parts) > 1 for _, parts in kept) and _lms(next(iter(tops)), True) is None:
        below = {(parts[1], len(parts) > 2) for _, parts in kept}
        if _is_download(below) or any(folder for _, folder in below):
            kept = [(info, parts[1:]) for info, parts in kept]
    return kept


def _zip_is_download(path: Path) -> bool:
    """Whether a zip found in a class folder is a Canvas or Moodle download of the class (not a student's zip)."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError, EOFError, RuntimeError, ValueError):
        return False  # graded as a student's zip, which says what is wrong with it
    return _is_download({(parts[0], len(parts) > 1) for _, parts in _member_parts(infos[:MAX_CLASS_ZIP_MEMBERS])})


def _class_zip(path: Path) -> list[_Item]:
    """The entries of a class zip (a Canvas or Moodle download, or a class folder zipped), read in memory.

    Nothing is extracted. A member that points outside the archive (an absolute path, a drive,
    `..`) or is a link, more than MAX_CLASS_ZIP_MEMBERS members, or more than MAX_CLASS_ZIP_BYTES
    to unpack refuse the archive, naming the member: a platform's download has none of these. A
    member larger than one file may be is not unpacked: its student is told. A student's own zip
    inside (Canvas keeps an uploaded .zip as one member) is read as that student's zip.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_CLASS_ZIP_MEMBERS:
                raise SubmissionError(f"{path}: {len(infos)} members; a class zip of at most "
                                      f"{MAX_CLASS_ZIP_MEMBERS} is read")
            for info in infos:
                _refuse_hostile(path, info)
            members = _member_parts(infos)
            tops = {(parts[0], len(parts) > 1) for _, parts in members}
            total = 0
            to_read: list[tuple[zipfile.ZipInfo, tuple[str, ...], int]] = []
            for info, parts in members:
                nested = len(parts) == 1 and parts[0].lower().endswith(".zip")
                if not (nested or _gradable(parts[-1])):
                    continue
                budget = MAX_ZIP_BYTES if nested else MAX_FILE_BYTES
                if info.file_size <= budget:
                    total += info.file_size
                    if total > MAX_CLASS_ZIP_BYTES:
                        raise SubmissionError(f"{path}: member '{safe(info.filename, 80)}' brings what the archive "
                                              f"unpacks to over {MAX_CLASS_ZIP_BYTES} bytes; nothing in it is graded")
                to_read.append((info, parts, budget))
            read: dict[tuple[str, ...], Entry] = {}
            for info, parts, budget in to_read:
                read[parts] = ("/".join(parts), *_read_member(path, zf, info, budget))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError, EOFError, ValueError) as e:
        raise SubmissionError(f"{path}: not a readable zip file ({type(e).__name__}: {safe(str(e), 100)})") from None
    items: list[_Item] = []
    for name, folder in sorted(tops):
        if folder:
            entries: list[Entry] = []
            problems: list[str] = []
            for parts, (rel, data, problem) in read.items():
                if parts[0] == name and len(parts) > 1:
                    clash = _clash("/".join(parts[1:]), (e[0] for e in entries))
                    if clash is None:
                        entries.append(("/".join(parts[1:]), data, problem))
                    else:
                        problems.append(f"{path.name}: member '{safe(rel, 80)}' clashes with '{name}/{clash}'; skipped")
            items.append(_Item(path, name, True, partial(_ready, entries, problems)))
        elif (name,) not in read:
            items.append(_Item(path, name, False, partial(_ready, [], [])))
        elif name.lower().endswith(".zip"):
            _, data, problem = read[(name,)]
            reader = partial(_ready, [], [problem]) if data is None else partial(_read_zip, path / name, data)
            items.append(_Item(path, name, False, reader))
        else:
            _, data, problem = read[(name,)]
            items.append(_Item(path, name, False, partial(_ready, [(name, data, problem)], [])))
    return items


def _ready(entries: list[Entry], problems: list[str]) -> tuple[list[Entry], list[str]]:
    return entries, [p for p in problems if p]


def _refuse_hostile(path: Path, info: zipfile.ZipInfo) -> None:
    """Refuse a class zip, naming the member, if that member leads outside it or is a link."""
    name = info.filename
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or ".." in parts:
        raise SubmissionError(f"{path}: member '{safe(name, 80)}' points outside the archive; a course platform's "
                              "download never does, so nothing in it is graded")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise SubmissionError(f"{path}: member '{safe(name, 80)}' is a link; a course platform's download holds "
                              "none, so nothing in it is graded")


def _read_member(path: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int) -> tuple[bytes | None, str | None]:
    """One member of a class zip, at most `budget` bytes of it; else why not, naming the archive and member."""
    where = f"{path.name}: member '{safe(info.filename, 80)}'"
    if info.file_size > budget:
        return None, f"{where} unpacks to {info.file_size} bytes; at most {budget} are read"
    try:
        with zf.open(info) as f:
            data = f.read(budget + 1)  # never trust the declared size: read at most the budget
    except (zipfile.BadZipFile, NotImplementedError, OSError, EOFError, RuntimeError, ValueError, zlib.error) as e:
        return None, f"{where} cannot be read ({type(e).__name__}: {safe(str(e), 100)})"
    if len(data) > budget:
        return None, f"{where} unpacks to more than {budget} bytes; not read"
    return data, None


# --------------------------------------------------------------------------- notebooks

_MAGIC = re.compile(r"^(\s*)(%|!|\?)")
_ASSIGN_MAGIC = re.compile(r"^(\s*[\w.]+\s*=\s*)[%!]")
_HELP = re.compile(r"^\s*[\w.]+\?\??\s*$")


def neutralise_ipython(cell: str) -> str:
    """IPython-only lines become inert Python: never run, and the cell still parses.

    `%%magic` cells are commented out whole; `%magic`, `!shell`, `?help` and `obj?` lines become
    `pass`; `x = %magic` / `x = !cmd` become `x = None`. The original text stays as a comment.
    """
    lines = cell.split("\n")
    if lines and lines[0].lstrip().startswith("%%"):
        return "\n".join(f"# [grader: cell magic not run] {line}" for line in lines)
    out = []
    for line in lines:
        m = _ASSIGN_MAGIC.match(line)
        if m:
            out.append(f"{m.group(1)}None  # [grader: IPython not run] {line.strip()}")
        elif _MAGIC.match(line) or _HELP.match(line):
            indent = _MAGIC.match(line).group(1) if _MAGIC.match(line) else re.match(r"^\s*", line).group(0)
            out.append(f"{indent}pass  # [grader: IPython not run] {line.strip()}")
        else:
            out.append(line)
    return "\n".join(out)


def notebook_source(data: bytes, rel: str) -> tuple[bytes, str | None]:
    """The code cells of a notebook as one Python module (outputs ignored), or a one-line problem."""
    import nbformat

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        return b"", f"{rel}: not UTF-8 text (byte {e.start})"
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as e:  # nbformat raises several kinds for malformed files
        detail = str(e).splitlines()[0][:120] if str(e) else type(e).__name__
        return b"", f"{rel}: not a valid Jupyter notebook ({detail})"
    language = (nb.get("metadata", {}).get("language_info", {}) or {}).get("name", "python")
    if language and language != "python":
        return b"", f"{rel}: a {language} notebook; a Python one is expected"
    parts = []
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") == "code":
            source = cell.get("source", "")
            if isinstance(source, list):
                source = "".join(source)
            parts.append(f"# --- {rel}, cell {i + 1}\n{neutralise_ipython(source)}")
    return ("\n\n".join(parts) + "\n").encode(), None


_PLACE = re.compile(r"(?P<file>[^\s:]+\.py):(?P<line>\d+)")
_CELL = re.compile(rb"^# --- .+, cell (?P<cell>\d+)$")


def notebook_place(module: bytes, line: int) -> tuple[int, int] | None:
    """(cell, line in that cell) of a line of the module made of a notebook (notebook_source)."""
    lines = module.split(b"\n")
    for i in range(min(line, len(lines)) - 1, -1, -1):
        m = _CELL.match(lines[i])
        if m:
            return int(m["cell"]), line - (i + 1)
    return None


def _parse(data: bytes, rel: str) -> tuple[ast.Module | None, str | None]:
    if b"\0" in data:
        return None, f"{rel}: is a binary file, not Python source"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        return None, f"{rel}:{line}: not UTF-8 text (save the file as UTF-8)"
    try:
        return ast.parse(text, filename=rel), None
    except SyntaxError as e:
        where = f"{rel}:{e.lineno}" if e.lineno else rel
        return None, f"syntax error in {where}: {e.msg}"
    except (ValueError, RecursionError, MemoryError) as e:
        return None, f"{rel}: cannot be parsed ({type(e).__name__})"


def _bound_names(tree: ast.Module) -> dict[str, int]:
    """Top-level names a module binds to something callable-looking: def, assignment, import."""
    names: dict[str, int] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names[node.name] = node.lineno
        elif isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    names[t.id] = node.lineno
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name != "*":
                    names[(alias.asname or alias.name).split(".")[0]] = node.lineno
        elif isinstance(node, (ast.If, ast.Try)):
            # definitions under `if`/`try` at top level still bind module names
            for sub in ast.walk(node):
                if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    names.setdefault(sub.name, sub.lineno)
    return names


def module_name(rel: str) -> str:
    return rel[:-3].replace("/", ".")


def locate(submission: Submission, exercise: Exercise, others: frozenset[str] = frozenset()) -> Location:
    """Find the file that defines the exercise's function: the preferred module wins, else sorted order."""
    name = exercise.function.name
    preferred = exercise.function.module
    candidates = [f for f in submission.files if f.names is not None and name in f.names]
    if candidates:
        chosen = next((f for f in candidates if f.path == preferred), None) \
            or next((f for f in candidates if f.path.endswith("/" + preferred)), None) or candidates[0]
        return Location(chosen.path, module_name(chosen.path), None, origin=chosen.origin or chosen.path)
    broken = [f for f in submission.files if f.problem]
    # A file that does not parse but mentions the function is the likely home: report its problem.
    pattern = re.compile(rb"^\s*def\s+" + re.escape(name.encode()) + rb"\s*\(", re.M)
    for f in sorted(broken, key=lambda f: (f.path != preferred, f.path)):
        if pattern.search(f.data) or f.path == preferred:
            return Location(None, None, f.problem, "error")
    if broken and not any(f.names is not None for f in submission.files):
        return Location(None, None, broken[0].problem, "error")  # nothing usable: the likely reason
    # a rename hint never points at a function another exercise asks for
    defined = sorted({n for f in submission.files if f.names is not None for n in f.names} - others)
    where = preferred if any(f.path == preferred for f in submission.files) else "any file of the submission"
    close = difflib.get_close_matches(name, defined, n=1, cutoff=0.5)
    if not close:
        close = [n for n in defined if name.lower() in n.lower() or n.lower() in name.lower()][:1]
    hint = f"; found `{close[0]}` — rename it?" if close else ""
    if not submission.files:
        return Location(None, None, "the submission has no Python files", "missing")
    if broken and not close:
        hint += f" ({broken[0].problem})"
    return Location(None, None, f"no function `{name}` in {where}{hint}", "missing")
