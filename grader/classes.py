"""A class: a folder or a course platform's zip, one entry per student, Canvas and Moodle
downloads grouped per student."""

from __future__ import annotations

import re
import stat
import zipfile
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePosixPath

from .errors import SubmissionError
from .lms_names import Lms, canvas_original, is_download, lms_entry
from .submissions import (
    ANSWER_NAMES,
    GRADESCOPE_METADATA,
    MAX_FILE_BYTES,
    MAX_FILES,
    MAX_ZIP_BYTES,
    SKIP_DIRS,
    Entry,
    Submission,
    build_submission,
    read_members,
    read_zip,
    walk_files,
)
from .text import safe


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



MAX_CLASS_ZIP_BYTES = 200_000_000  # what a class zip's graded members unpack to, all together

MAX_CLASS_ZIP_MEMBERS = 20_000

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
            if (len(entries) == 1 and entry.suffix.lower() == ".zip" and lms_entry(entry.name, False) is None
                    and _zip_is_download(entry)):
                items += _class_zip(entry)
            elif entry.suffix.lower() == ".zip":
                items.append(_Item(folder, entry.name, False, partial(read_zip, entry)))
            else:
                items.append(_Item(folder, entry.name, False, partial(_read_file, entry)))
    return items



def _read_folder(path: Path) -> tuple[list[Entry], list[str]]:
    members = [(rel, path / rel) for rel in walk_files(path, path, all_files=True)]
    if len(members) > MAX_FILES:
        raise SubmissionError(f"{path}: more than {MAX_FILES} files")
    return read_members(members), []



def _read_file(path: Path) -> tuple[list[Entry], list[str]]:
    return read_members([(path.name, path)]), []



def _gradable(name: str) -> bool:
    return name.endswith((".py", ".ipynb", *ANSWER_NAMES, GRADESCOPE_METADATA))



def _gather(items: list[_Item]) -> list[Submission]:
    """Submissions from a class's entries: each is a student, but a platform's download is grouped per student."""
    subs: list[Submission] = []
    groups: dict[tuple[Path, str, str, str], list[tuple[Lms, _Item]]] = {}
    for item in items:
        lms = lms_entry(item.name, item.folder)
        if lms is not None:
            groups.setdefault((item.source, lms.platform, lms.name, lms.id), []).append((lms, item))
        elif item.folder:
            subs.append(build_submission(item.name, item.path, *item.read(), {}))
        elif item.name.endswith((".py", ".ipynb", ".zip")):
            subs.append(build_submission(Path(item.name).stem, item.path, *item.read(), {}))
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
        subs.append(build_submission(sid, source / sid, entries, problems, meta))
    return subs



def _merge(members: list[tuple[Lms, _Item]]) -> tuple[list[Entry], list[str]]:
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
            own, n = canvas_original(lms.file) if lms.platform == "canvas" else (lms.file, 0)
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
    if len(tops) == 1 and all(len(parts) > 1 for _, parts in kept) and lms_entry(next(iter(tops)), True) is None:
        below = {(parts[1], len(parts) > 2) for _, parts in kept}
        if is_download(below) or any(folder for _, folder in below):
            kept = [(info, parts[1:]) for info, parts in kept]
    return kept



def _zip_is_download(path: Path) -> bool:
    """Whether a zip found in a class folder is a Canvas or Moodle download of the class (not a student's zip)."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError, EOFError, RuntimeError, ValueError):
        return False  # graded as a student's zip, which says what is wrong with it
    return is_download({(parts[0], len(parts) > 1) for _, parts in _member_parts(infos[:MAX_CLASS_ZIP_MEMBERS])})



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
            reader = partial(_ready, [], [problem]) if data is None else partial(read_zip, path / name, data)
            items.append(_Item(path, name, False, reader))
        else:
            _, data, problem = read[(name,)]
            items.append(_Item(path, name, False, partial(_ready, [(name, data, problem)], [])))
    return items



def _ready(entries: list[Entry], problems: Sequence[str | None]) -> tuple[list[Entry], list[str]]:
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
