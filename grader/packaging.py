"""Ready-made platform packages: the Gradescope autograder zip, the PrairieLearn entrypoint."""

from __future__ import annotations

import io
import json
import os
import shlex
import zipfile
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

from . import DISTRIBUTION, __version__
from .course import load_exercises
from .exercise import Exercise
from .quiz import Quiz

PLATFORMS = Path(__file__).resolve().parent / "platforms"
PACKAGE = Path(__file__).resolve().parent


def course_files(exercises: Iterable[Exercise | Quiz]) -> list[Path]:
    """Every file the exercises need: YAML, solution and check modules (quizzes' linked exercises too)."""
    files: set[Path] = set()
    for ex in exercises:
        files.add(ex.source_path)
        if isinstance(ex, Exercise):
            files.add(ex.solution_path)
            if ex.checks_path:
                files.add(ex.checks_path)
    return sorted(files)


def _pyproject() -> str:
    """A pyproject for the embedded grader source, with this installation's dependencies."""
    try:
        requires = [r for r in (metadata.requires(DISTRIBUTION) or []) if "extra ==" not in r]
    except metadata.PackageNotFoundError:
        requires = ["click>=8.1", "pyyaml>=6.0", "jinja2>=3.1", "numpy>=1.24", "pytest>=7.4", "nbformat>=5.7"]
    deps = "".join(f"  {json.dumps(r)},\n" for r in requires)  # a JSON string is a valid TOML string
    return ("[build-system]\nrequires = [\"hatchling>=1.21\"]\nbuild-backend = \"hatchling.build\"\n\n"
            f"[project]\nname = \"{DISTRIBUTION}\"\nversion = \"{__version__}\"\nrequires-python = \">=3.10\"\n"
            f"dependencies = [\n{deps}]\n\n[project.scripts]\ngrade = \"grader.start:main\"\n\n"
            "[project.entry-points.pytest11]\ngrader = \"grader.plugin\"\n\n"
            "[tool.hatch.build.targets.wheel]\npackages = [\"grader\"]\n")


def _add(zf: zipfile.ZipFile, name: str, data: bytes, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))  # reproducible archives
    info.external_attr = (0o100755 if executable else 0o100644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data)


def gradescope_zip(exercises_dir: Path, out: Path, exercise_ids: tuple[str, ...] = ()) -> list[str]:
    """Build the autograder zip: setup.sh and run_autograder at its root, the course, grader's source."""
    exercises = load_exercises(exercises_dir, exercise_ids)
    files = course_files(exercises)
    root = Path(os.path.commonpath([str(p.parent) for p in files]))
    exercises_rel = "course/" + Path(exercises_dir).resolve().relative_to(root).as_posix()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        _add(zf, "setup.sh", (PLATFORMS / "gradescope_setup.sh").read_bytes(), executable=True)
        _add(zf, "run_autograder", (PLATFORMS / "gradescope_run_autograder").read_bytes(), executable=True)
        packages = sorted({p.requirement for ex in exercises if isinstance(ex, Exercise) for p in ex.packages})
        env = f"GRADER_EXERCISES_REL={shlex.quote(exercises_rel)}\nGRADER_PACKAGES={shlex.quote(' '.join(packages))}\n"
        _add(zf, "grader.env", env.encode())
        for p in files:
            _add(zf, "course/" + p.relative_to(root).as_posix(), p.read_bytes())
        _add(zf, "grader-src/pyproject.toml", _pyproject().encode())
        _add(zf, "grader-src/README.md", b"grader, embedded for the Gradescope autograder\n")
        for p in sorted(PACKAGE.rglob("*")):
            rel = p.relative_to(PACKAGE)
            if p.is_file() and "__pycache__" not in rel.parts and rel.parts[0] != "course" and p.suffix != ".pyc":
                _add(zf, f"grader-src/grader/{rel.as_posix()}", p.read_bytes(), executable=os.access(p, os.X_OK))
    data = buf.getvalue()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return [ex.id for ex in exercises]
