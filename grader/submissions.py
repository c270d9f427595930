"""Find submissions on disk and locate each exercise's function by static inspection (never import)."""

from __future__ import annotations

import ast
import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from .errors import SubmissionError
from .exercise import Exercise

MAX_FILE_BYTES = 1_000_000
MAX_FILES = 200
SKIP_DIRS = {"__pycache__", ".git", ".ipynb_checkpoints", "node_modules", ".venv", "venv"}


@dataclass(frozen=True)
class SourceFile:
    path: str  # relative to the submission root, with '/'
    data: bytes
    read_problem: str | None = None  # why it could not be read, as a one-line message

    @cached_property
    def _parsed(self) -> tuple[ast.Module | None, str | None]:
        # parsed on first use: the main process of a parallel batch only lists and reads files
        return (None, self.read_problem) if self.read_problem else _parse(self.data, self.path)

    @property
    def tree(self) -> ast.Module | None:
        return self._parsed[0]

    @property
    def problem(self) -> str | None:
        """Why the file cannot be used (unreadable, binary, not UTF-8, syntax error), or None."""
        return self._parsed[1]


MAX_ANSWERS_BYTES = 256 * 1024


@dataclass(frozen=True)
class Submission:
    id: str
    path: Path
    files: tuple[SourceFile, ...]
    answers: tuple[tuple[str, str | None], ...] = ()  # root-level YAML files (quiz answers): name → text

    def answers_text(self, name: str) -> str | None:
        return dict(self.answers).get(name)

    def file_map(self) -> dict[str, bytes]:
        return {f.path: f.data for f in self.files}


@dataclass(frozen=True)
class Location:
    """Where a submission defines an exercise's function, or why it does not."""

    file: str | None
    module: str | None
    problem: str | None  # one-line message when the function cannot be used
    status: str = "found"  # found | missing | error


def discover(folder: str | Path) -> list[Submission]:
    """Every entry of the folder is one student's submission: a subfolder or a single .py file."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SubmissionError(f"{folder}: not a folder of submissions")
    subs = []
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.startswith(".") or entry.name in SKIP_DIRS:
            continue
        if entry.is_symlink():
            continue  # a link could point anywhere; submissions are real files and folders
        if entry.is_dir():
            subs.append(load_submission(entry))
        elif entry.suffix == ".py":
            subs.append(load_submission(entry))
    if not subs:
        raise SubmissionError(f"{folder}: no submissions found (expected one subfolder or .py file per student)")
    return subs


def load_submission(path: str | Path) -> Submission:
    """One submission: a folder (every .py in it) or a single .py file."""
    path = Path(path)
    if path.is_file():
        if path.suffix != ".py":
            raise SubmissionError(f"{path}: expected a .py file or a folder")
        return Submission(path.stem, path, (_read_source(path, path.name),))
    if not path.is_dir():
        raise SubmissionError(f"{path}: no such file or folder")
    files = []
    for p in sorted(_walk(path, path)):
        files.append(_read_source(path / p, p))
        if len(files) > MAX_FILES:
            raise SubmissionError(f"{path}: more than {MAX_FILES} Python files")
    answers = []
    for p in sorted(path.glob("*.y*ml")):
        if p.is_file() and not p.is_symlink() and p.suffix in (".yaml", ".yml"):
            answers.append((p.name, _read_text(p)))
    return Submission(path.name, path, tuple(files), tuple(answers))


def _read_text(path: Path) -> str | None:
    """A small text file of the submission, or None if it is too big or not UTF-8."""
    try:
        if path.stat().st_size > MAX_ANSWERS_BYTES:
            return None
        return path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _walk(root: Path, top: Path) -> Iterable[str]:
    for entry in sorted(top.iterdir()):
        if entry.is_symlink() or entry.name.startswith(".") or entry.name in SKIP_DIRS:
            continue
        if entry.is_dir():
            yield from _walk(root, entry)
        elif entry.suffix == ".py" and entry.is_file():
            yield entry.relative_to(root).as_posix()


def _read_source(path: Path, rel: str) -> SourceFile:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return SourceFile(rel, b"", f"{rel}: file is {size} bytes; at most {MAX_FILE_BYTES} are graded")
        return SourceFile(rel, path.read_bytes())
    except OSError as e:
        return SourceFile(rel, b"", f"{rel}: cannot be read ({e.strerror})")


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


def locate(submission: Submission, exercise: Exercise) -> Location:
    """Find the file that defines the exercise's function: the preferred module wins, else sorted order."""
    name = exercise.function.name
    preferred = exercise.function.module
    candidates = [f for f in submission.files if f.tree is not None and name in _bound_names(f.tree)]
    if candidates:
        chosen = next((f for f in candidates if f.path == preferred), None) \
            or next((f for f in candidates if f.path.endswith("/" + preferred)), None) or candidates[0]
        return Location(chosen.path, module_name(chosen.path), None)
    broken = [f for f in submission.files if f.problem]
    # A file that does not parse but mentions the function is the likely home: report its problem.
    pattern = re.compile(rb"^\s*def\s+" + re.escape(name.encode()) + rb"\s*\(", re.M)
    for f in sorted(broken, key=lambda f: (f.path != preferred, f.path)):
        if pattern.search(f.data) or f.path == preferred:
            return Location(None, None, f.problem, "error")
    defined = sorted({n for f in submission.files if f.tree is not None for n in _bound_names(f.tree)})
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
