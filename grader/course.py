"""The course: a folder of exercise and quiz files, each loaded by what it is."""

from __future__ import annotations

from pathlib import Path

from .errors import ExerciseError, GraderError
from .exercise import Exercise, load_code_exercise, read_yaml
from .quiz import Quiz, load_quiz

_LOADED: dict[tuple[str, int, int], Exercise | Quiz] = {}


def load_exercise(path: str | Path) -> Exercise | Quiz:
    """Load and validate one exercise or quiz file, once per process while it is unchanged."""
    path = Path(path)
    try:
        st = path.resolve().stat()
        key: tuple[str, int, int] | None = (str(path.resolve()), st.st_mtime_ns, st.st_size)
    except OSError:
        key = None
    if key is not None and key in _LOADED:
        return _LOADED[key]
    data, lines = read_yaml(path)
    loaded: Exercise | Quiz
    if isinstance(data, dict) and data.get("kind") == "quiz":
        loaded = load_quiz(path, data, lines)
    else:
        loaded = load_code_exercise(path)
    if key is not None:
        _LOADED[key] = loaded
    return loaded


def load_exercises(directory: str | Path, only: tuple[str, ...] = ()) -> list[Exercise | Quiz]:
    """Load every `*.yaml` in a folder (sorted by file name), optionally only the given ids."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ExerciseError(directory, None, "", "not a folder of exercise YAML files")
    exercises = []
    for p in sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml")):
        exercises.append(load_exercise(p))
    if not exercises:
        raise ExerciseError(directory, None, "", "no exercise files (*.yaml) found")
    by_id: dict[str, Exercise | Quiz] = {}
    for ex in exercises:
        if ex.id in by_id:
            raise ExerciseError(ex.source_path, ex.lines.get("id"), "id", f"'{ex.id}' is also the id of {by_id[ex.id].source_path.name}")
        by_id[ex.id] = ex
    if only:
        unknown = [i for i in only if i not in by_id]
        if unknown:
            raise GraderError(f"unknown exercise id '{unknown[0]}'; known: {', '.join(sorted(by_id))}")
        return [by_id[i] for i in only]
    return exercises


def builtin_course() -> Path:
    """The course shipped with the package (or, in a source checkout, the repository's folders)."""
    pkg = Path(__file__).resolve().parent  # grader/
    shipped = pkg / "course" / "exercises"
    if shipped.is_dir():
        return shipped
    return pkg.parent / "exercises"
