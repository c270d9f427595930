"""The run's outputs, written as results stream in: bounded memory, submission order kept.

Each finished submission is rendered at once into a spool (its place in the output is its
index), so memory does not grow with the class; the output is assembled in submission order at
the end, one fragment at a time. The spool is an unnamed temporary file: a killed run leaves
nothing behind (what a run graded is in its gradebook).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import unicodedata
from array import array
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TextIO

from . import __version__
from .feedback import STATUS_MARKS, Feedback
from .outputs import JUNIT_TAIL, JunitTotals, junit_suite
from .pages import ClassReport, page_name
from .results import SubmissionResult
from .sandbox.host import sandbox_layers
from .text import UNSAFE

MARK = STATUS_MARKS
INDEX = "index.html"
PRETTY_UP_TO = 20  # submissions; a larger JSON document is compact (and C-fast to write)


class RunReport:
    """Collects rendered results of a batch by index; writes the chosen format in order."""

    def __init__(self, ids: list[str], fmt: str, feedback: Feedback, feedback_dir: Path | None = None) -> None:
        self.ids = ids
        self.fmt = fmt
        self.feedback = feedback
        self.feedback_dir = feedback_dir
        self.width = max([len(i) for i in ids] + [4])
        self.spool = Spool(len(ids))
        self.details = Spool(len(ids))  # text: written after every summary
        self.count = 0
        self.total = 0.0
        self.small: dict[int, SubmissionResult] = {}  # kept whole only for a small, pretty JSON document
        self.layers: list[str] | None = None  # the layers every sandbox of the run had
        self.class_report = ClassReport()  # with feedback_dir: the tallies of index.html
        self.names = PageNames(folds_names(feedback_dir)) if feedback_dir is not None else PageNames()
        self.junit = JunitTotals()

    def add(self, index: int, result: SubmissionResult, as_json: str | None = None) -> None:
        """Spool one result; `as_json`, if given, is json.dumps(result.to_dict()) already made."""
        self.count += 1
        self.total += result.score
        if result.sandbox:
            self.layers = list(result.sandbox) if self.layers is None else [x for x in self.layers if x in result.sandbox]
        if self.feedback_dir is not None:
            self.class_report.add(result, write_pages(self.feedback, self.feedback_dir, result, self.names,
                                                      self.class_report))
        if self.fmt == "json":
            if len(self.ids) <= PRETTY_UP_TO:
                self.small[index] = result
                return
            text = as_json if as_json is not None else json.dumps(result.to_dict(), default=str)
        elif self.fmt == "junit":
            suite = junit_suite(result)
            self.junit.add(suite)
            text = suite.xml
        elif self.fmt == "markdown":
            text = self.feedback.render("submission.md.j2", sub=result)
        else:  # the summary lines come first, every student's details after them
            if not result.all_passed:
                self.details.put(index, self.feedback.render("details.txt.j2", sub=result, max_checks=2).rstrip("\n"))
            text = self.feedback.render("summary.txt.j2", sub=result, width=self.width, mark=MARK).rstrip("\n")
        self.spool.put(index, text)

    def write(self, out: TextIO) -> None:
        if self.feedback_dir is not None:
            run = {"grader": __version__, "submissions": str(self.count),
                   "sandbox": ", ".join(self.layers if self.layers is not None else sandbox_layers())}
            _atomic_write(self.feedback_dir / INDEX, self.feedback.class_report(self.class_report.context(run)))
        if self.fmt == "junit":
            out.write(self.junit.head())
            for fragment in self.spool:
                out.write(fragment)
            out.write(JUNIT_TAIL)
            return
        if self.fmt == "json":
            header = {"version": __version__, "sandbox": self.layers if self.layers is not None else sandbox_layers()}
            if len(self.ids) <= PRETTY_UP_TO:
                subs = [self.small[i].to_dict() for i in sorted(self.small)]
                out.write(json.dumps({"grader": header, "submissions": subs}, indent=2, default=str) + "\n")
                return
            out.write('{"grader": ' + json.dumps(header) + ', "submissions": [\n')
            for n, fragment in enumerate(self.spool):
                out.write((",\n" if n else "") + fragment)
            out.write("\n]}\n")
        elif self.fmt == "markdown":
            for n, fragment in enumerate(self.spool):
                out.write(("\n\n" if n else "") + fragment)
            out.write("\n")
        else:
            for summary in self.spool:
                out.write(summary + "\n")
            for details in self.details:
                if details:
                    out.write("\n" + details + "\n")

    def close(self) -> None:
        self.spool.close()
        self.details.close()


class Spool:
    """Text fragments by index, in one temporary file that has no name (the kernel frees it when
    the process ends, however it ends); read back in index order, one at a time."""

    def __init__(self, size: int) -> None:
        self.file = tempfile.TemporaryFile()
        self.offsets = array("q", [-1]) * size
        self.lengths = array("q", [0]) * size

    def put(self, index: int, text: str) -> None:
        data = text.encode("utf-8")
        self.offsets[index] = self.file.seek(0, os.SEEK_END)
        self.lengths[index] = len(data)
        self.file.write(data)

    def __iter__(self) -> Iterator[str]:
        for offset, length in zip(self.offsets, self.lengths, strict=True):
            if offset >= 0:
                self.file.seek(offset)
                yield self.file.read(length).decode("utf-8")

    def close(self) -> None:
        self.file.close()


def write_pages(feedback: Feedback, folder: Path, result: SubmissionResult, names: PageNames | None = None,
                tallies: ClassReport | None = None) -> str:
    """Write a student's Markdown and HTML feedback into `folder`; the HTML page's name. With
    `names`, the name is unique in the folder (see PageNames); a page it moves is moved in
    `tallies` too."""
    name = feedback_name(result)
    if names is not None:
        name, moved = names.claim(result.id, name)
        if moved is not None:
            other, old, new = moved
            for suffix in (".md", ".html"):
                old_path, new_path = folder / _stem(old, suffix), folder / _stem(new, suffix)
                if old_path.exists():
                    old_path.replace(new_path)
            if tallies is not None:
                tallies.move(other, page_name(new))
    _atomic_write(folder / name, feedback.render("submission.md.j2", sub=result))
    page = page_name(name)
    _atomic_write(folder / page, feedback.html_page(result))
    return page


def _stem(name: str, suffix: str) -> str:
    return name if suffix == ".md" else page_name(name)


RESERVED = ("index",)  # the class report's name


class PageNames:
    """Unique feedback file names in one folder, whatever order the results come in.

    With `fold` (a file system that folds case or Unicode normalization, where `Ada.md` and
    `ada.md` are one file), names are compared folded. `index` is the class report's, never a
    student's. When two students want one name, the name an LMS upload reads (a Canvas or Moodle
    download's) goes before a folder's `<id>.md`, then the smaller id; the other student gets
    `<name>-<12 hex digits of the SHA-256 of its id>.md`, moving its pages if they were written
    already."""

    def __init__(self, fold: bool = True) -> None:
        self.fold = fold
        self.owners: dict[str, tuple[bool, str]] = {}  # compared name -> (a folder's own name, id)
        self.names: dict[str, str] = {}  # id -> its file name

    def _key(self, name: str) -> str:
        return unicodedata.normalize("NFC", name).casefold() if self.fold else name

    def claim(self, sid: str, wanted: str) -> tuple[str, tuple[str, str, str] | None]:
        """The name for `sid`, and (other id, its old name, its new name) if another student's
        pages move to make room."""
        rank = (wanted == f"{sid}.md", sid)
        owner = self.owners.get(self._key(wanted))
        if _fold(wanted).removesuffix(".md") in RESERVED or (owner is not None and owner[1] != sid and owner < rank):
            return self._take(rank, _suffixed(wanted, sid)), None
        moved = None
        if owner is not None and owner[1] != sid:  # it had the name and goes after: it moves aside
            old = self.names[owner[1]]
            del self.owners[self._key(wanted)]
            moved = (owner[1], old, self._take(owner, _suffixed(old, owner[1])))
        return self._take(rank, wanted), moved

    def _take(self, rank: tuple[bool, str], name: str) -> str:
        while self.owners.get(self._key(name), rank)[1] != rank[1]:
            name = _suffixed(name, name)  # a suffixed name taken as another's own: suffix again
        self.owners[self._key(name)] = rank
        self.names[rank[1]] = name
        return name


def folds_names(folder: Path) -> bool:
    """Whether the file system of `folder` takes two spellings of a name as one file, in case
    (`A`, `a`) or in Unicode normalization (`é` in one code point or two): a probe file is made
    and looked up both other ways."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, probe = tempfile.mkstemp(dir=folder, prefix=".grader-probe-A\u00e9-")
    os.close(fd)
    try:
        name = Path(probe).name
        others = (name.replace("A", "a"), unicodedata.normalize("NFD", name))
        return any((folder / other).exists() for other in others)
    finally:
        Path(probe).unlink(missing_ok=True)


def _fold(name: str) -> str:
    return unicodedata.normalize("NFC", name).casefold()


def _suffixed(name: str, sid: str) -> str:
    return f"{name.removesuffix('.md')}-{hashlib.sha256(sid.encode('utf-8', 'surrogatepass')).hexdigest()[:12]}.md"


def class_report(feedback: Feedback, results: Iterable[SubmissionResult], run: dict[str, str],
                 feedback_dir: Path | None = None) -> str:
    """The class report's HTML; with `feedback_dir`, every student's pages are written there too
    (and the report links to them)."""
    tallies = ClassReport()
    names = PageNames(folds_names(feedback_dir)) if feedback_dir is not None else PageNames()
    for result in results:
        page = write_pages(feedback, feedback_dir, result, names, tallies) if feedback_dir is not None else None
        tallies.add(result, page)
    return feedback.class_report(tallies.context(run))


_NOT_IN_NAME = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|_]+")


def feedback_name(result: SubmissionResult) -> str:
    """The feedback file's name: `<id>.md`, or for a submission from a Canvas or Moodle download
    the name that platform's bulk upload of feedback files reads the student from.

    - Moodle (assign "Feedback files" → Upload multiple feedback files in a zip;
      mod/assign/feedback/file/importziplib.php): the name split at `_` must give the full name,
      the participant number, the plugin `assignfeedback` `file`, then the file's own name:
      `Jane Doe_1234_assignfeedback_file_feedback.md`.
    - Canvas (the assignment's Re-Upload Submissions, which attaches each file as a comment;
      Assignment#infer_comment_context_from_filename): the first two all-digit `_` parts are the
      user id and the id of a file of that student's submission: `doejane_5551_908877_feedback.md`.
      Needs the file id (`attachment_id`) from the download; without it, `<id>.md`.
    """
    meta = dict(result.meta)
    platform, lms = meta.get("platform"), str(meta.get("lms_id") or "")
    name = _NOT_IN_NAME.sub(" ", UNSAFE.sub(" ", str(meta.get("name") or ""))).strip(" .~")
    if platform == "moodle" and _digits(lms):
        return f"{_cut(name) or 'Participant'}_{lms}_assignfeedback_file_feedback.md"
    attachment = str(meta.get("attachment_id") or "")
    if platform == "canvas" and _digits(lms) and _digits(attachment):
        canvas_name = _cut(re.sub(r"\W+", "", name.casefold()))
        return f"{canvas_name if canvas_name and not canvas_name.isdigit() else 'student'}_{lms}_{attachment}_feedback.md"
    return f"{result.id}.md"


def _cut(name: str) -> str:
    """At most 150 bytes of UTF-8: with the ids and suffix, a file name stays under 255 bytes."""
    return name.encode()[:150].decode(errors="ignore").strip()


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _atomic_write(path: Path, text: str) -> None:
    write_output(path, lambda f: f.write(text))


def write_output(path: Path, write: Callable[[TextIO], object]) -> None:
    """Write a file whole or not at all: a reader never sees half of it. Where the path is not a
    regular file (/dev/null, a FIFO, a terminal), straight into it: replacing it would put a
    regular file in place of a device."""
    path = path.resolve()
    if path.exists() and not path.is_file():
        with open(path, "w", encoding="utf-8") as f:
            write(f)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with open(fd, "w", encoding="utf-8") as f:
        write(f)
    Path(tmp).replace(path)
