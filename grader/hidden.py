"""What no sandbox may see: the course (wherever it is installed) and every submission.

A sandbox's filesystem holds the system folders and the Python installation (see
sandbox/isolation.py); a hidden folder that lies inside them is covered by an empty mount. So
the folders to hide are computed from where the files really are: each exercise's YAML, solution
and checks module (and their bytecode caches), every copy of the course an installation of grader
holds (a wheel's grader/course, a stale copy left by an editable install, the checkout an editable
install points at), and the submissions. A course file that would still be visible, because it
lies in a folder no mount can cover without hiding the Python installation, stops the grading.
"""

from __future__ import annotations

import functools
import glob
import importlib.util
import os
import sysconfig
from collections.abc import Iterable, Sequence
from importlib import metadata
from pathlib import Path

from . import DISTRIBUTION
from .errors import GraderError
from .exercise import Exercise
from .quiz import Quiz
from .sandbox.isolation import SYSTEM_DIRS, python_dirs
from .submissions import Submission

TOO_WIDE = {Path("/"), Path("/home"), Path("/root"), Path("/tmp"), Path("/var"), Path("/usr"), Path("/opt"), Path("/srv")}
PACKAGE = Path(__file__).resolve().parent
COURSE_FOLDERS = ("exercises", "solutions", "checks")
# Where another installation's copy of the course may lie inside a folder a sandbox sees.
COPY_PATTERNS = ("grader/course", "lib*/python3*/*-packages/grader/course",
                 "local/lib*/python3*/*-packages/grader/course")


def visible_roots() -> list[str]:
    """The folders a sandbox's private root shows (real paths): the system's and the Python installation's."""
    return sorted({os.path.realpath(d) for d in (*SYSTEM_DIRS, *python_dirs()) if os.path.isdir(d)})


def _needed() -> list[str]:
    """Folders a sandbox must see whole: those it is shown and the interpreter's library folders."""
    libraries = (sysconfig.get_path(name) for name in ("stdlib", "platstdlib", "purelib", "platlib"))
    return sorted({*visible_roots(), *(os.path.realpath(p) for p in libraries if p and os.path.isdir(p))})


def _on_disk(path: str) -> str:
    """The part of a submission's path that exists: a student of a class zip is `CLASS.zip/<id>`."""
    while path != "/" and not os.path.exists(path):
        path = os.path.dirname(path)
    return path


def hideable(folder: str) -> bool:
    """Can this folder be hidden from sandboxes without hiding what they need (the Python installation)?"""
    real = os.path.realpath(folder)
    return real != "/" and not any(_within(n, real) for n in _needed())


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _files(folder: Path) -> list[str]:
    return [os.path.join(d, name) for d, _, names in os.walk(folder) for name in names]


def _checkout_course(root: Path) -> list[Path]:
    """The course folders of a source checkout (a folder with pyproject.toml), if `root` is one."""
    if not (root / "pyproject.toml").is_file():
        return []
    return [root / name for name in COURSE_FOLDERS if (root / name).is_dir()]


@functools.lru_cache(maxsize=1)
def installed_course() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Copies of the course that installations of grader hold: (folders, the files in them).

    This package's course/; grader/course in every site folder of grader's distributions and of
    the folders a sandbox sees (wheels, sdists, the copy an editable install makes); the course
    folders of the checkout this package runs from or that an editable install's .pth names.
    """
    folders: set[Path] = {PACKAGE / "course", *_checkout_course(PACKAGE.parent)}
    try:
        dists = [d for name in (DISTRIBUTION, "grader") for d in metadata.distributions(name=name)]  # and older installs
    except Exception:  # a broken metadata folder elsewhere on sys.path: the scan below still runs
        dists = []
    for dist in dists:
        for f in dist.files or ():
            if tuple(f.parts[:2]) == ("grader", "course"):
                folders.add(Path(str(dist.locate_file("grader/course"))))  # typeshed: a SimplePath, no __fspath__
            elif f.suffix == ".pth":
                try:
                    lines = Path(str(dist.locate_file(f))).read_text().splitlines()
                except (OSError, UnicodeDecodeError):
                    continue
                for line in lines:
                    if line.strip() and not line.startswith(("#", "import ")):
                        folders.update(_checkout_course(Path(line.strip())))
    for root in visible_roots():
        for pattern in COPY_PATTERNS:
            folders.update(Path(p) for p in glob.glob(os.path.join(glob.escape(root), pattern)))
    real = sorted({os.path.realpath(f) for f in folders if f.is_dir()})
    return tuple(real), tuple(sorted(f for folder in real for f in _files(Path(folder))))


def _bytecode(path: Path) -> Path | None:
    try:
        return Path(importlib.util.cache_from_source(str(path)))
    except (ValueError, NotImplementedError):
        return None


def _course_of(exercises: Iterable[Exercise | Quiz]) -> tuple[list[str], list[str], set[str]]:
    """The exercises' own files (YAML, solution, checks), their bytecode caches, their course roots."""
    files: set[Path] = set()
    caches: set[Path] = set()
    roots: set[Path] = set()
    for ex in exercises:
        files.add(ex.source_path)
        root = ex.source_path.resolve().parent.parent
        if root not in TOO_WIDE:
            roots.add(root)
        if isinstance(ex, Exercise):
            for path in (ex.solution_path, ex.checks_path):
                if path is not None:
                    files.add(path)
                    cache = _bytecode(path)
                    if cache is not None:
                        caches.add(cache)
    return (sorted({os.path.realpath(f) for f in files}), sorted({os.path.realpath(c) for c in caches}),
            {os.path.realpath(r) for r in roots})


def hidden_paths(exercises: Sequence[Exercise | Quiz], submissions: Sequence[Submission]) -> tuple[str, ...]:
    """Folders no sandbox may see: the course wherever it lies, and every submission.

    The course is the folder that holds the exercises folder (its solutions, checks, other
    exercises, version control history...) and the folder of each course file, not only the
    files of the exercises being graded. A folder that holds the Python installation is never
    hidden (the sandbox needs it); a course file or submission that would then stay visible
    raises GraderError naming it.
    """
    roots, needed = visible_roots(), _needed()
    course_files, caches, course_roots = _course_of(exercises)
    copies, copy_files = installed_course()
    subs = sorted({_on_disk(os.path.realpath(s.path)) for s in submissions})
    must_hide = {os.path.dirname(f) for f in (*course_files, *caches, *subs)} | set(copies)

    def holds_python(folder: str) -> bool:  # hiding it would hide a folder the sandbox needs
        return any(_within(n, folder) for n in needed)

    for root in course_roots:  # the course root, whole if it can be; else at least its history
        if holds_python(root):
            must_hide.update(os.path.join(root, vcs) for vcs in (".git", ".hg") if os.path.isdir(os.path.join(root, vcs)))
        else:
            must_hide.add(root)
    hidden = sorted(h for h in must_hide if h != "/" and not holds_python(h))
    covered = [h for h in hidden if os.path.isdir(h)]
    for path in (*course_files, *caches, *copy_files, *subs):
        seen_in = [root for root in roots if _within(path, root)]
        if seen_in and not any(_within(path, h) for h in covered):
            what = "submission" if path in subs else "course file"
            raise GraderError(f"{path}: this {what} would be readable by students' code: it lies in "
                              f"{max(seen_in, key=len)}, which every sandbox sees (the system or the Python "
                              f"installation) and which cannot be hidden; move it out of there and grade again")
    return tuple(hidden)
