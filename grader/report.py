"""The run's outputs, written as results stream in: bounded memory, submission order kept.

Each finished submission is rendered at once into a spool file of its own (its place in the
output is its index), so memory does not grow with the class and nothing graded is held only in
memory; the output is assembled in submission order at the end.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from . import __version__
from .feedback import Feedback
from .results import SubmissionResult
from .sandbox.host import sandbox_layers

MARK = {"passed": "✓", "failed": "✗", "error": "!", "timeout": "⏱", "missing": "?"}
PRETTY_UP_TO = 20  # submissions; a larger JSON document is compact (and C-fast to write)


class RunReport:
    """Collects rendered results of a batch by index; writes the chosen format in order."""

    def __init__(self, ids: list[str], fmt: str, feedback: Feedback, feedback_dir: Path | None = None) -> None:
        self.ids = ids
        self.fmt = fmt
        self.feedback = feedback
        self.feedback_dir = feedback_dir
        self.width = max([len(i) for i in ids] + [4])
        self.spool = Path(tempfile.mkdtemp(prefix="grader-report-"))
        self.count = 0
        self.total = 0.0
        self.small: dict[int, SubmissionResult] = {}  # kept whole only for a small, pretty JSON document
        self.layers: list[str] | None = None  # the layers every sandbox of the run had

    def add(self, index: int, result: SubmissionResult, as_json: str | None = None) -> None:
        """Spool one result; `as_json`, if given, is json.dumps(result.to_dict()) already made."""
        self.count += 1
        self.total += result.score
        if result.sandbox:
            self.layers = list(result.sandbox) if self.layers is None else [x for x in self.layers if x in result.sandbox]
        if self.feedback_dir is not None:
            _atomic_write(self.feedback_dir / f"{result.id}.md", self.feedback.render("submission.md.j2", sub=result))
        if self.fmt in ("json", "junit"):
            if self.fmt == "json" and len(self.ids) <= PRETTY_UP_TO:
                self.small[index] = result
                return
            text = as_json if as_json is not None else json.dumps(result.to_dict(), default=str)
        elif self.fmt == "markdown":
            text = self.feedback.render("submission.md.j2", sub=result)
        else:
            summary = self.feedback.render("summary.txt.j2", sub=result, width=self.width, mark=MARK).rstrip("\n")
            details = "" if result.all_passed else self.feedback.render(
                "details.txt.j2", sub=result, max_checks=2).rstrip("\n")
            text = json.dumps([summary, details])
        (self.spool / f"{index:08d}").write_text(text, encoding="utf-8")

    def _fragments(self) -> Iterator[str]:
        for i in range(len(self.ids)):
            path = self.spool / f"{i:08d}"
            if path.exists():
                yield path.read_text(encoding="utf-8")

    def write(self, out: TextIO) -> None:
        if self.fmt == "junit":
            from .gradebook import result_from_json
            from .outputs import junit_xml

            out.write(junit_xml([result_from_json(json.loads(f)) for f in self._fragments()]))
            return
        if self.fmt == "json":
            header = {"version": __version__, "sandbox": self.layers if self.layers is not None else sandbox_layers()}
            if len(self.ids) <= PRETTY_UP_TO:
                subs = [self.small[i].to_dict() for i in sorted(self.small)]
                out.write(json.dumps({"grader": header, "submissions": subs}, indent=2, default=str) + "\n")
                return
            out.write('{"grader": ' + json.dumps(header) + ', "submissions": [\n')
            for n, fragment in enumerate(self._fragments()):
                out.write((",\n" if n else "") + fragment)
            out.write("\n]}\n")
        elif self.fmt == "markdown":
            for n, fragment in enumerate(self._fragments()):
                out.write(("\n\n" if n else "") + fragment)
            out.write("\n")
        else:
            parts = [json.loads(f) for f in self._fragments()]
            for summary, _ in parts:
                out.write(summary + "\n")
            for _, details in parts:
                if details:
                    out.write("\n" + details + "\n")

    def close(self) -> None:
        shutil.rmtree(self.spool, ignore_errors=True)


def _atomic_write(path: Path, text: str) -> None:
    path = path.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with open(fd, "w", encoding="utf-8") as f:
        f.write(text)
    Path(tmp).replace(path)  # a reader never sees half a file
