"""One student's submission: its files read safely (a folder, a .py, a notebook or a zip), and
where it defines each exercise's function, found by static inspection (never by importing)."""

from __future__ import annotations

import ast
import dataclasses
import difflib
import io
import json
import re
import stat
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path, PurePosixPath

from .errors import SubmissionError
from .exercise import Exercise
from .lms_names import PLATFORM_TITLES, download_owners
from .notebooks import notebook_place, notebook_source
from .text import safe, safe_line

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
        return dataclasses.replace(sub, id=safe_line(sid, 200), problems=tuple(problems),
                                   meta=tuple({**dict(sub.meta), **meta}.items()))
    if path.is_file():
        if path.suffix in (".py", ".ipynb"):
            return build_submission(path.stem, path, read_members([(path.name, path)]), [], {})
        if path.suffix == ".zip":
            entries, problems = read_zip(path)
            return build_submission(path.stem, path, entries, problems, {})
        raise SubmissionError(f"{path}: expected a folder, a .py, .ipynb or .zip file")
    if not path.is_dir():
        raise SubmissionError(f"{path}: no such file or folder")
    members = [(rel, path / rel) for rel in walk_files(path, path, all_files=True)]
    if len(members) > MAX_FILES:
        raise SubmissionError(f"{path}: more than {MAX_FILES} files")
    return build_submission(path.name, path, read_members(members), [], {})



Entry = tuple[str, bytes | None, str | None]  # relative path, content (None if unreadable), problem



def walk_files(root: Path, top: Path, all_files: bool = False) -> Iterable[str]:
    """Relative paths of the gradable files below top: .py and .ipynb, answers and metadata at the root."""
    for entry in sorted(top.iterdir()):
        if entry.is_symlink() or entry.name.startswith(".") or entry.name in SKIP_DIRS:
            continue  # links are never followed: they could point outside the submission
        if entry.is_dir():
            yield from walk_files(root, entry, all_files)
        elif entry.is_file() and (entry.suffix in (".py", ".ipynb") or (
                top == root and entry.name in (*ANSWER_NAMES, GRADESCOPE_METADATA))):
            yield entry.relative_to(root).as_posix()



def read_members(members: list[tuple[str, Path]]) -> list[Entry]:
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



def read_zip(path: Path, data: bytes | None = None) -> tuple[list[Entry], list[str]]:
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



def build_submission(sid: str, path: Path, entries: list[Entry], problems: list[str], meta: dict[str, object]) -> Submission:
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
    owners = [] if meta.get("platform") else download_owners(rel for rel, _, _ in entries)
    if len(owners) > 1:
        platforms = " and ".join(sorted({PLATFORM_TITLES[p] for p, _, _ in owners}))
        shown = ", ".join(f"{name}_{uid}" for _, name, uid in owners[:3]) + (", …" if len(owners) > 3 else "")
        problems.append(f"{safe(path.name, 100)} holds the files of {len(owners)} students of a {platforms} download "
                        f"({safe(shown, 200)}); they are graded here as one student: grade {safe(path.name, 100)} "
                        "itself as the class")
    return Submission(safe_line(sid, 200), path, tuple(files), tuple(answers), tuple(problems), tuple(meta.items()))



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



_PLACE = re.compile(r"(?P<file>[^\s:]+\.py):(?P<line>\d+)")



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
