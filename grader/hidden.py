"""What no sandbox may see: the course (wherever it is installed) and every submission."""

from __future__ import annotations

from pathlib import Path

from .exercise import Exercise
from .submissions import Submission

TOO_WIDE = {Path("/"), Path("/home"), Path("/root"), Path("/tmp"), Path("/var"), Path("/usr"), Path("/opt"), Path("/srv")}


def hidden_paths(exercises: list[Exercise], submissions: list[Submission]) -> tuple[str, ...]:
    """Folders no sandbox may see: the course and every submission.

    The course is the folder that holds the exercises folder (its solutions, checks, other
    exercises, version control history...), not only the files of the exercises being graded.
    """
    paths: set[Path] = set()
    for ex in exercises:
        paths.add(ex.source_path.parent)
        if ex.source_path.parent.parent not in TOO_WIDE:
            paths.add(ex.source_path.parent.parent)
        if ex.kind == "code":
            paths.add(ex.solution_path.parent)
            if ex.checks_path:
                paths.add(ex.checks_path.parent)
    for sub in submissions:
        paths.add(sub.path.resolve().parent if sub.path.is_file() else sub.path.resolve().parent)
    course = Path(__file__).resolve().parent / "course"
    if course.is_dir():
        paths.add(course)
    return tuple(sorted(str(p) for p in paths if p != Path("/")))
