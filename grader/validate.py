"""`grade validate`: prove every exercise before students see it.

Each exercise's reference and each misconception model are graded as if they were
submissions (through the same sandbox and pytest session as real students): the reference
must pass every check, every model must fail at least one and be diagnosed as itself and
nothing else, and every feedback template must render.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import ExerciseError
from .exercise import Exercise, load_exercise
from .grading import Options, run_session
from .submissions import load_submission


@dataclass(frozen=True)
class Problem:
    path: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


def _write(folder: Path, module: str, source: str) -> Path:
    folder.mkdir(parents=True)
    (folder / module).write_text(source, encoding="utf-8")
    return folder


def validate_exercise(ex: Exercise, options: Options) -> list[Problem]:
    problems: list[Problem] = []
    path = str(ex.source_path)
    source = ex.solution_path.read_text(encoding="utf-8")
    tmp = Path(tempfile.mkdtemp(prefix="grader-validate-"))
    try:
        folders = {"reference": _write(tmp / "reference", ex.function.module, source)}
        owners: dict[str, tuple[int, str]] = {}
        for i, m in enumerate(ex.misconceptions):
            for name in m.models:
                key = f"model-{i}-{name}"
                alias = f"\n\n# validate: the model stands in for the student's function\n{ex.function.name} = {name}\n"
                folders[key] = _write(tmp / key, ex.function.module, source + alias)
                owners[key] = (i, name)
        subs = [load_submission(f) for f in folders.values()]
        results = {r.id: r.exercises[0] for r in run_session([ex], subs, options)}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    ref = results["reference"]
    if ref.status != "passed":
        failing = [c for c in ref.checks if c.status != "passed"] or []
        detail = "; ".join(f"'{c.name}': {c.message}" for c in failing[:3]) or ref.message
        problems.append(Problem(path, ex.lines.get("solution"), "solution",
                                f"the reference does not pass its own checks ({ref.status}): {detail}"))
    for key, (i, name) in owners.items():
        m = ex.misconceptions[i]
        r = results[key]
        line, where = m.line, f"misconceptions[{i}]"
        if r.status == "passed":
            problems.append(Problem(path, line, where, f"model `{name}` of '{m.id}' passes every check: "
                                                       "no case tells it apart from the reference"))
            continue
        named = [d.id for d in r.misconceptions]
        if named != [m.id]:
            said = ", ".join(named) if named else "nothing"
            hint = "" if named else " (it needs at least 2 calls where it differs from the reference)"
            others = [n for n in named if n != m.id]
            if others and m.id in named:
                hint = f" (no case tells it apart from {', '.join(others)})"
            problems.append(Problem(path, line, where, f"model `{name}` of '{m.id}' is diagnosed as {said}{hint}"))
        for d in r.misconceptions:
            if d.id == m.id and d.explanation.startswith("(feedback template error"):
                problems.append(Problem(path, line, f"{where}.feedback", d.explanation.strip("()")))
    return problems


def validate(paths: list[Path], options: Options) -> tuple[list[str], list[Problem]]:
    """Validate exercise files; returns the ids that passed and every problem found."""
    ok: list[str] = []
    problems: list[Problem] = []
    for p in paths:
        try:
            ex = load_exercise(p)
        except ExerciseError as e:
            problems.append(Problem(e.path, e.line, e.key, e.message))
            continue
        found = validate_exercise(ex, options)
        problems += found
        if not found:
            ok.append(ex.id)
    return ok, problems


def exercise_files(target: Path) -> list[Path]:
    if target.is_file():
        return [target]
    return sorted(target.glob("*.yaml")) + sorted(target.glob("*.yml"))
