"""Scoring a submission: check results to exercise scores and statuses, then diagnosis and feedback.

Each exercise is judged behind its own boundary: a failure of the grader's own code on one
exercise (comparing, diagnosing, rendering) becomes that exercise's error, never the class's.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence

from .check_data import check_data
from .diagnosis import diagnose
from .exercise import Exercise
from .feedback import Feedback, md_escape
from .quiz import Quiz, grade_quiz
from .results import ExerciseResult, SubmissionResult, describe_error, unjudged
from .runs import ExerciseRun, SubmissionRun
from .submissions import Location
from .text import is_safe, safe_fields


def finish_submission(run: SubmissionRun, exercises: Sequence[Exercise | Quiz], feedback: Feedback) -> SubmissionResult:
    """Scores, diagnosis (only where something failed) and feedback for one submission."""
    started = run.started if run.started is not None else time.perf_counter()
    run.kill()  # the sandbox's teardown overlaps the scoring; close() below collects its output
    out = [_judge(run, ex, feedback) for ex in exercises]
    sub = run.submission
    stdout, stderr, layers = run.close()
    return SubmissionResult(sub.id, str(sub.path), tuple(out), stdout=stdout, stderr=stderr,
                            warnings=sub.problems, seconds=time.perf_counter() - started, sandbox=layers,
                            meta=sub.meta)


def _judge(run: SubmissionRun, ex: Exercise | Quiz, feedback: Feedback) -> ExerciseResult:
    """One exercise's result. Whatever the submission sent, a failure of the grader's own code
    here (comparing, diagnosing, rendering) stays this exercise's: the checks' scores stand when
    only the diagnosis failed, anything earlier makes the exercise an error that says why."""
    try:
        if isinstance(ex, Quiz):
            result = grade_quiz(ex, run.submission.id, run.submission.answers_text(ex.answers_file), feedback)
            return dataclasses.replace(result, feedback=_render_exercise(feedback, result, "answers"))
        ex_run = run.runs.get(ex.id)
        result = build_exercise_result(ex_run, ex, run.locations[ex.id])
    except Exception as e:  # noqa: BLE001  (the boundary: one exercise, never the class)
        return _unjudged(ex, e, feedback)
    if ex_run is not None and result.status != "passed":
        try:
            named, observation = diagnose(ex, ex.solution(), ex_run.calls, feedback)
            result = dataclasses.replace(result, checks=check_data(ex, ex_run.calls, result.checks))
        except Exception as e:  # noqa: BLE001
            named, observation = [], f"The grader could not diagnose this result ({describe_error(e)})."
        result = dataclasses.replace(result, misconceptions=tuple(named), observation=observation)
    try:
        return dataclasses.replace(result, feedback=_render_exercise(feedback, result, ex.function.name))
    except Exception as e:  # noqa: BLE001
        return _unjudged(ex, e, feedback)


def _unjudged(ex: Exercise | Quiz, e: BaseException, feedback: Feedback) -> ExerciseResult:
    result = unjudged(ex.id, ex.title, ex.points, e)
    try:
        text = _render_exercise(feedback, result, ex.function.name if isinstance(ex, Exercise) else "answers")
    except Exception:  # noqa: BLE001  (the templates themselves fail: the message alone)
        text = f"**{md_escape(ex.title)}**: {md_escape(result.message)}"
    return dataclasses.replace(result, feedback=text)


def _render_exercise(feedback: Feedback, result: ExerciseResult, function: str) -> str:
    # a passed exercise renders the same text for most of a class: rendered once
    key = ("exercise", result, function) if result.status == "passed" else None
    if key is not None:
        text = feedback.memo.get(key)  # one lookup: hashing a result walks all its checks
        if text is not None:
            return text
    ctx = {f.name: getattr(result, f.name) for f in dataclasses.fields(result)}
    ctx["function"] = function
    text = feedback.render("exercise.md.j2", ex=ctx).strip()
    if key is not None:
        if len(feedback.memo) >= 512:
            feedback.memo.clear()
        feedback.memo[key] = text
    return text


def build_exercise_result(run: ExerciseRun | None, ex: Exercise | Quiz, location: Location) -> ExerciseResult:
    """Checks to scores and a status (diagnosis and feedback are added by the caller)."""
    if run is None:
        status = location.status if location.status in ("missing", "error") else "missing"
        return ExerciseResult(ex.id, ex.title, status, 0.0, ex.points, message=location.problem or "")
    checks = tuple(run.results.values())
    score = round(sum(c.score for c in checks), 6)
    max_score = round(sum(c.max_score for c in checks), 6)
    if run.load_problem:
        status = "timeout" if "did not finish" in run.load_problem else "error"
    elif all(c.status == "passed" for c in checks):
        status = "passed"
    elif any(c.status == "timeout" for c in checks):
        status = "timeout"
    else:
        status = "failed"
    return ExerciseResult(ex.id, ex.title, status, score, max_score, checks, file=location.origin or location.file,
                          message=run.load_problem or "")


def safe_result(result: SubmissionResult) -> SubmissionResult:
    """Every text of the result made safe (see text.safe) but its path, which callers match on.
    Text from a sandbox is made safe where it arrives: this is the last look, walked in full only
    when something in it is not safe."""
    texts = [result.id, result.stdout, result.stderr, *result.warnings, *(str(v) for _, v in result.meta)]
    for ex in result.exercises:
        texts += [ex.file or "", ex.message, ex.observation, ex.feedback, *(c.message for c in ex.checks),
                  *(m.evidence + m.explanation for m in ex.misconceptions)]
    if is_safe("\n".join(texts)):
        return result
    return dataclasses.replace(safe_fields(dataclasses.replace(result, path="")), path=result.path)


def unjudged_submission(run: SubmissionRun, exercises: Sequence[Exercise | Quiz], e: BaseException) -> SubmissionResult:
    """The result of a submission the grader's own code failed on: each exercise says so."""
    try:
        stdout, stderr, layers = run.close()
    except Exception:  # noqa: BLE001
        stdout, stderr, layers = "", "", ()
    sub = run.submission
    results = tuple(unjudged(ex.id, ex.title, ex.points, e) for ex in exercises)
    return SubmissionResult(sub.id, str(sub.path), results, stdout=stdout, stderr=stderr,
                            warnings=sub.problems, sandbox=layers, meta=sub.meta)
