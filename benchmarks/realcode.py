"""Grade a real-code corpus with the real `grade` command and say how well it was diagnosed.

A corpus is a folder of `.py` files, one entry each. An entry's module docstring holds
`key: value` lines: `source` (where the code comes from), `diagnosis` (what the people who
answered said was wrong), `exercise` (the exercise id) and `label`: the catalogue ids the
mistake should be named as (one or two, comma-separated), `uncatalogued`, or `correct`. An
optional `also` line lists further ids that are true of the code (a side concern such as
`integer-wraparound`): naming them is not required and not wrong.

    python benchmarks/realcode.py                      # tests/realcode
    python benchmarks/realcode.py --corpus /work/heldout
    python benchmarks/realcode.py --json               # the per-entry results as JSON

The whole corpus is graded in one `grade` run: one student per entry.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = ROOT / "tests" / "realcode"
KEYS = ("source", "diagnosis", "exercise", "label")
OPTIONAL = ("also",)
CORRECT = "correct"
UNCATALOGUED = "uncatalogued"
# Names that report what happened rather than an idea behind it: never counted as wrong.
SYMPTOMS = frozenset({"non-finite", "raises", "timeout"})


class CorpusError(Exception):
    """An entry of the corpus is not of the expected form."""


@dataclass(frozen=True)
class Entry:
    """One corpus file: its header and what it should be diagnosed as."""

    name: str
    path: Path
    source: str
    diagnosis: str
    exercise: str
    label: tuple[str, ...]
    also: tuple[str, ...] = ()

    @property
    def correct(self) -> bool:
        return self.label == (CORRECT,)

    @property
    def catalogued(self) -> tuple[str, ...]:
        """The label's catalogue ids (empty for correct and uncatalogued entries)."""
        return tuple(x for x in self.label if x not in (CORRECT, UNCATALOGUED))


@dataclass
class Outcome:
    """How one entry was graded."""

    name: str
    exercise: str
    label: list[str]
    score: float
    max_score: float
    status: str
    named: list[str] = field(default_factory=list)

    @property
    def caught(self) -> bool:
        return self.score < self.max_score

    def named_as_labelled(self, entry: Entry) -> bool:
        """Every catalogue id of the label is among the names (false when it has none)."""
        return bool(entry.catalogued) and set(entry.catalogued) <= set(self.named)

    def wrong_names(self, entry: Entry) -> list[str]:
        """Names outside the label and `also`, symptoms aside."""
        return [n for n in self.named if n not in entry.label + entry.also and n not in SYMPTOMS]


def parse_entry(path: Path) -> Entry:
    """Read one entry's header; CorpusError names the file and what is missing."""
    try:
        doc = ast.get_docstring(ast.parse(path.read_text(), filename=str(path))) or ""
    except SyntaxError as exc:
        raise CorpusError(f"{path}: not valid Python ({exc.msg}, line {exc.lineno})") from None
    fields: dict[str, str] = {}
    for line in doc.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() in KEYS + OPTIONAL and key.strip() not in fields:
            fields[key.strip()] = value.strip()
    missing = [k for k in KEYS if not fields.get(k)]
    if missing:
        raise CorpusError(f"{path}: the docstring needs `key: value` lines for {', '.join(missing)}")
    label = tuple(x.strip() for x in fields["label"].split(",") if x.strip())
    if not 1 <= len(label) <= 2 or (CORRECT in label and len(label) > 1) or len(set(label)) < len(label):
        raise CorpusError(f"{path}: label must be one or two catalogue ids (or `uncatalogued` for a part "
                          f"the catalogue lacks), or `correct` alone")
    also = tuple(x.strip() for x in fields.get("also", "").split(",") if x.strip())
    if CORRECT in label and also:
        raise CorpusError(f"{path}: a correct entry has no `also` ids")
    return Entry(path.stem, path, fields["source"], fields["diagnosis"], fields["exercise"], label, also)


def load_corpus(folder: Path) -> list[Entry]:
    """Every entry of a corpus folder, sorted by name."""
    if not folder.is_dir():
        raise CorpusError(f"{folder}: no such corpus folder")
    entries = [parse_entry(p) for p in sorted(folder.glob("*.py"))]
    if not entries:
        raise CorpusError(f"{folder}: no .py entries")
    return entries


def grade_corpus(entries: list[Entry], jobs: int = 2) -> dict[str, Outcome]:
    """Grade all entries in one `grade` run (one student each); outcomes keyed by entry name."""
    with tempfile.TemporaryDirectory(prefix="realcode-") as tmp:
        folder = Path(tmp) / "class"
        folder.mkdir()
        for entry in entries:
            shutil.copy(entry.path, folder / f"{entry.name}.py")
        selected = [arg for ex in sorted({e.exercise for e in entries}) for arg in ("-e", ex)]
        env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
        proc = subprocess.run(
            [sys.executable, "-m", "grader", str(folder), *selected, "--format", "json", "--no-db",
             "--timeout", "0.5", "--jobs", str(jobs)],
            cwd=ROOT, capture_output=True, text=True, env=env, timeout=600)
    if proc.returncode not in (0, 1):
        raise CorpusError(f"grade failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")
    try:
        subs = {s["id"]: s for s in json.loads(proc.stdout)["submissions"]}
    except (json.JSONDecodeError, KeyError, TypeError):
        raise CorpusError(f"grade printed no JSON report: {proc.stderr.strip()[-2000:]}") from None
    outcomes = {}
    for entry in entries:
        sub = subs.get(entry.name)
        result = next((e for e in (sub or {}).get("exercises", []) if e["id"] == entry.exercise), None)
        if result is None:
            raise CorpusError(f"{entry.path}: no result for exercise {entry.exercise!r}")
        outcomes[entry.name] = Outcome(entry.name, entry.exercise, list(entry.label), result["score"],
                                       result["max_score"], result["status"],
                                       [m["id"] for m in result["misconceptions"]])
    return outcomes


def totals(entries: list[Entry], outcomes: dict[str, Outcome]) -> dict[str, int]:
    """The corpus's counts: buggy entries caught, named, wrongly named; correct ones marked down."""
    buggy = [e for e in entries if not e.correct]
    correct = [e for e in entries if e.correct]
    catalogued = [e for e in buggy if e.catalogued]
    return {
        "buggy": len(buggy),
        "caught": sum(outcomes[e.name].caught for e in buggy),
        "catalogued": len(catalogued),
        "named": sum(outcomes[e.name].named_as_labelled(e) for e in catalogued),
        "partly_named": sum(bool(set(e.catalogued) & set(outcomes[e.name].named)) for e in catalogued),
        "compound": sum(len(e.catalogued) == 2 for e in catalogued),
        "compound_named": sum(outcomes[e.name].named_as_labelled(e) for e in catalogued
                              if len(e.catalogued) == 2),
        "wrongly_named": sum(bool(outcomes[e.name].wrong_names(e)) for e in buggy),
        "correct": len(correct),
        "correct_lost_points": sum(outcomes[e.name].caught for e in correct),
        "correct_named": sum(bool(outcomes[e.name].named) for e in correct),
    }


def report(entries: list[Entry], outcomes: dict[str, Outcome]) -> str:
    """A table of every entry, then the totals."""
    lines = [f"{'entry':52} {'caught':6} {'named':5} {'wrong':5}  label -> names"]
    for e in entries:
        o = outcomes[e.name]
        if e.correct:
            ok = "ok" if not o.caught and not o.named else "BAD"
            lines.append(f"{e.name:52} {'-':6} {'-':5} {'-':5}  correct ({ok}: {o.score:g}/{o.max_score:g}"
                         f"{', named ' + ', '.join(o.named) if o.named else ''})")
            continue
        named = "yes" if o.named_as_labelled(e) else ("-" if not e.catalogued else "no")
        wrong = ", ".join(o.wrong_names(e)) or ""
        lines.append(f"{e.name:52} {'yes' if o.caught else 'NO':6} {named:5} {'YES' if wrong else '':5}"
                     f"  {', '.join(e.label)} -> {', '.join(o.named) or '(none)'}")
    t = totals(entries, outcomes)
    pct = 100 * t["named"] / t["catalogued"] if t["catalogued"] else 0.0
    lines += [
        "",
        f"buggy entries: {t['buggy']}; caught (lost points): {t['caught']}/{t['buggy']}",
        f"named as labelled: {t['named']}/{t['catalogued']} with a catalogued label ({pct:.0f}%); "
        f"at least one part named: {t['partly_named']}; compound named in full: "
        f"{t['compound_named']}/{t['compound']}",
        f"wrongly named (a name outside the label): {t['wrongly_named']}",
        f"correct entries: {t['correct']}; lost points: {t['correct_lost_points']}; "
        f"got a name: {t['correct_named']}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="corpus folder (default: %(default)s)")
    parser.add_argument("--jobs", type=int, default=2, help="grading worker processes")
    parser.add_argument("--json", action="store_true", help="print the per-entry results and totals as JSON")
    args = parser.parse_args(argv)
    try:
        entries = load_corpus(args.corpus)
        outcomes = grade_corpus(entries, args.jobs)
    except CorpusError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"entries": [asdict(outcomes[e.name]) for e in entries],
                          "totals": totals(entries, outcomes)}, indent=2))
    else:
        print(report(entries, outcomes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
