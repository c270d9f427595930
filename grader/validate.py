"""`grade validate`: prove every exercise before students see it.

Each exercise's reference and each misconception model are graded as if they were
submissions (through the same sandbox and pytest session as real students): the reference
must pass every check, every model must fail at least one and be diagnosed as itself and
nothing else, and every feedback template must render.

The cases must also catch generic mutants of the reference (grader.mutants): an exercise whose
cases give full marks to a mutant that some input tells apart from the reference fails, naming
the mistake and the case it needs.

A misconception whose model fails only hidden checks is valid but warned about: the student's
feedback cannot quote a call that shows it (hidden inputs and values are never shown), so it
names the mistake and the hidden checks without numbers.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from .course import load_exercise
from .diagnosis import Evidence, context
from .errors import ExerciseError
from .exercise import Exercise, Misconception
from .feedback import Feedback
from .grading import Options, run_session
from .judging import MUTATION_CHECK
from .mutants import CLASSES, Mutant, mutants
from .outcome import Call, Returned, run_trusted
from .probes import Prover, describe_input
from .quiz import Quiz, expected_answer, grade_quiz, render_question
from .results import ExerciseResult
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


def validate_exercise(ex: Exercise, options: Options, warnings: list[Problem] | None = None) -> list[Problem]:
    """The exercise's problems; what is sound but worth a teacher's look is added to `warnings`."""
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
        # A mutant the cases catch in this process is caught; the rest are graded as submissions
        # (custom checks included) to find those that really get full marks.
        prover = Prover(ex)
        try:
            generic = [m for m in mutants(ex) if CLASSES[m.kind].required and not prover.caught_by(m, first=True)]
        except Exception as e:  # noqa: BLE001  (a reference the generator cannot take apart: say so, go on)
            generic = []
            if warnings is not None:
                warnings.append(Problem(path, ex.lines.get("solution"), "solution", (
                    f"exercise '{ex.id}': no generic mutants could be built from the reference "
                    f"({type(e).__name__}: {e}); the cases' coverage is not checked")))
        for j, mutant in enumerate(generic):
            folders[f"mutant-{j}"] = _write(tmp / f"mutant-{j}", ex.function.module, mutant.source)
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
        hidden = _hidden_only(r)
        if hidden and m.id in named:
            if warnings is not None:
                shown = ", ".join(f"'{c}'" for c in hidden)
                warnings.append(Problem(path, line, where, (
                    f"exercise '{ex.id}', misconception '{m.id}': model `{name}` differs from the reference only "
                    f"in hidden checks ({shown}), so no visible call shows this mistake and its feedback cannot "
                    "quote one; students get a general explanation without numbers. Make one of these cases "
                    "visible, or add a visible case where the model differs")))
            text = _render_on_case(ex, m, name, hidden, Feedback.shared(options.templates))
            if text.startswith("(feedback template error"):
                problems.append(Problem(path, line, f"{where}.feedback", text.strip("()")))
    escaped = [m for j, m in enumerate(generic) if _full_marks(results[f"mutant-{j}"])]
    try:
        problems += _uncaught(ex, escaped, prover)
    except Exception as e:  # noqa: BLE001  (as above: a warning, never a traceback)
        if warnings is not None:
            warnings.append(Problem(path, ex.lines.get("cases"), "cases", (
                f"exercise '{ex.id}': the mutants the cases let through could not be probed "
                f"({type(e).__name__}: {e}); the cases' coverage is not checked")))
    return problems


def _full_marks(r: ExerciseResult) -> bool:
    return r.status == "passed" and r.score >= r.max_score - 1e-9


def _uncaught(ex: Exercise, escaped: list[Mutant], prover: Prover) -> list[Problem]:
    """A problem for each mutant that got full marks although an input of the contract tells it
    apart from the reference; a mutant no such input tells apart may be equivalent: not a problem."""
    problems = []
    for m in escaped:
        found = prover.distinguishing_input(m)
        if found is None:
            continue
        example = describe_input(ex, *found)
        problems.append(Problem(str(ex.source_path), ex.lines.get("cases"), "", (
            f"no case catches '{m.title}' (mutant {m.name}: {m.detail}) — {m.need}"
            + (f"; it fails {example}" if example else ""))))
    return problems


def _hidden_only(r: ExerciseResult) -> list[str]:
    """The hidden checks a model fails, when it fails no visible one (beside the mutation check)."""
    failed = [c for c in r.checks if c.status != "passed" and c.name != MUTATION_CHECK]
    return [c.name for c in failed] if failed and all(c.visibility == "hidden" for c in failed) else []


def _render_on_case(ex: Exercise, m: Misconception, model: str, checks: list[str], feedback: Feedback) -> str:
    """The misconception's own template rendered as for a student who is the model, on the first
    YAML case among `checks` (the diagnosis never renders it when only hidden checks show it)."""
    sol = ex.solution()
    for case in ex.cases:
        if case.name in checks:
            args, kwargs = case.build_arguments()
            out = run_trusted(sol.models[model], tuple(args), kwargs)
            call = Call(case.name, False, tuple(args), kwargs, out, case=True)
            ev = Evidence(0, call, run_trusted(sol.reference, tuple(args), kwargs))
            return feedback.misconception(m.feedback, context(ex, ev, out, len(checks)))
    return ""


def validate_quiz(quiz: Quiz) -> list[Problem]:
    """Correct answers earn full marks; each wrong choice and each model's number is diagnosed."""
    import jinja2

    problems: list[Problem] = []
    path = str(quiz.source_path)
    feedback = Feedback(None)
    student = "validate"
    values = quiz.draw(student)
    correct: dict[str, Any] = {}
    for i, q in enumerate(quiz.questions):
        where = f"questions[{i}]"
        try:
            render_question(quiz, q, values, feedback.exercise_env)
            if q.explanation:
                feedback.exercise_env.from_string(q.explanation).render({k: str(v) for k, v in values.items()})
        except jinja2.TemplateError as e:
            problems.append(Problem(path, q.line, where, f"template error: {type(e).__name__}: {e}"))
            continue
        if q.type == "single":
            correct[q.id] = next(c.id for c in q.choices if c.correct)
        elif q.type == "multiple":
            correct[q.id] = [c.id for c in q.choices if c.correct]
        else:
            expected = expected_answer(quiz, q, values)
            if expected is None:
                problems.append(Problem(path, q.line, f"{where}.answer", "the linked reference raises on these arguments"))
                continue
            correct[q.id] = np.asarray(expected).tolist()
    text = yaml.safe_dump({quiz.id: correct})
    result = grade_quiz(quiz, student, text, feedback)
    for c in result.checks:
        if c.status != "passed":
            q = next(q for q in quiz.questions if q.id == c.name)
            problems.append(Problem(path, q.line, "answer", f"the correct answer to '{q.id}' is not accepted: {c.message}"))
    for i, q in enumerate(quiz.questions):
        for j, ch in enumerate(q.choices):
            if ch.correct or not ch.misconception:
                continue
            answer = ch.id if q.type == "single" else [ch.id]
            got = grade_quiz(quiz, student, yaml.safe_dump({quiz.id: {**correct, q.id: answer}}), feedback)
            if [d.id for d in got.misconceptions] != [ch.misconception]:
                problems.append(Problem(path, q.line, f"questions[{i}].choices[{j}]",
                                        f"choosing '{ch.id}' is not diagnosed as {ch.misconception}"))
        if isinstance(q.answer, dict) and q.id in correct:
            ex = quiz.linked[q.answer["exercise"]]
            sol = ex.solution()
            args = tuple(values[a[1:]] if isinstance(a, str) and a.startswith("$") else a for a in q.answer["args"])
            for m in ex.misconceptions:
                for name in m.models:
                    out = run_trusted(sol.models[name], args, {})
                    if not isinstance(out, Returned) or not _plain_numbers(out.value):
                        continue
                    answer = np.asarray(out.value).tolist()
                    got = grade_quiz(quiz, student, yaml.safe_dump({quiz.id: {**correct, q.id: answer}}), feedback)
                    check = next(c for c in got.checks if c.name == q.id)
                    if check.status == "failed" and not got.misconceptions:
                        problems.append(Problem(path, q.line, f"questions[{i}]",
                                                f"answering {answer} (what `{name}` gives) names no misconception"))
    return problems


def _plain_numbers(value: Any) -> bool:
    arr = np.asarray(value) if not isinstance(value, (str, dict)) else None
    return arr is not None and arr.dtype.kind in "biuf" and bool(np.all(np.isfinite(arr)))


def _to_stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def validate(paths: list[Path], options: Options,
             warn: Callable[[str], None] = _to_stderr) -> tuple[list[str], list[Problem]]:
    """Validate exercise files; returns the ids that passed and every problem found. Warnings
    (sound exercises a teacher should look at) go to `warn` as "warning: ..." lines."""
    ok: list[str] = []
    problems: list[Problem] = []
    for p in paths:
        try:
            ex = load_exercise(p)
        except ExerciseError as e:
            problems.append(Problem(e.path, e.line, e.key, e.message))
            continue
        warnings: list[Problem] = []
        found = validate_quiz(ex) if isinstance(ex, Quiz) else validate_exercise(ex, options, warnings)
        for w in warnings:
            warn(f"warning: {w}")
        problems += found
        if not found:
            ok.append(ex.id)
    return ok, problems


def exercise_files(target: Path) -> list[Path]:
    if target.is_file():
        return [target]
    return sorted(target.glob("*.yaml")) + sorted(target.glob("*.yml"))
