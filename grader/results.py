"""Result objects: what every output format (text, JSON, Markdown, platforms) is rendered from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .text import safe

UNJUDGED = "the grader could not judge this result"
WORKER_DIED = "the grader's worker process died while grading this submission"


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: str  # passed | failed | error | timeout
    score: float
    max_score: float
    visibility: str  # visible | hidden
    message: str = ""
    # a failing visible check: the numbers of the call that shows it (grader.check_data)
    data: dict[str, Any] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Diagnosis:
    """A misconception named on evidence, with the student-facing explanation."""

    id: str
    title: str
    evidence: str
    explanation: str = ""
    generic: bool = False


@dataclass(frozen=True)
class ExerciseResult:
    id: str
    title: str
    status: str  # passed | failed | error | timeout | missing
    score: float
    max_score: float
    checks: tuple[CheckResult, ...] = ()
    misconceptions: tuple[Diagnosis, ...] = ()
    feedback: str = ""  # Markdown
    file: str | None = None  # the submission file the function came from
    message: str = ""  # why the exercise could not be graded (missing, import error)
    observation: str = ""  # what was seen when no misconception explains a failure

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "title": self.title, "status": self.status,
            "score": self.score, "max_score": self.max_score, "file": self.file, "message": self.message,
            "checks": [{"name": c.name, "status": c.status, "score": c.score, "max_score": c.max_score,
                        "visibility": c.visibility, "message": c.message, **({"data": c.data} if c.data else {})}
                       for c in self.checks],
            "misconceptions": [{"id": m.id, "title": m.title, "evidence": m.evidence, "explanation": m.explanation}
                               for m in self.misconceptions],
            "observation": self.observation,
            "feedback": self.feedback,
        }


@dataclass(frozen=True)
class SubmissionResult:
    id: str
    path: str
    exercises: tuple[ExerciseResult, ...]
    stdout: str = ""
    stderr: str = ""
    warnings: tuple[str, ...] = field(default=())
    seconds: float = 0.0  # wall clock from the first check to the feedback
    sandbox: tuple[str, ...] = ()  # the isolation layers its sandbox had (empty if none was needed)
    meta: tuple[tuple[str, object], ...] = ()  # what the platform says: name, lms_id, late, submitted_at

    @property
    def score(self) -> float:
        return round(sum(e.score for e in self.exercises), 6)

    @property
    def max_score(self) -> float:
        return round(sum(e.max_score for e in self.exercises), 6)

    @property
    def all_passed(self) -> bool:
        return all(e.status == "passed" for e in self.exercises)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "path": safe(self.path), "score": self.score, "max_score": self.max_score,
                "seconds": round(self.seconds, 4), "sandbox": list(self.sandbox), "student": dict(self.meta),
                "warnings": list(self.warnings),
                "exercises": [e.to_dict() for e in self.exercises],
                "output": {"stdout": self.stdout, "stderr": self.stderr}}


def describe_error(e: BaseException) -> str:
    """An exception of the grader's own code, in one bounded line (its text may come from a submission)."""
    try:
        text = str(e)
    except Exception:  # noqa: BLE001
        text = ""
    return safe(f"{type(e).__name__}: {text}" if text else type(e).__name__, 300).replace("\n", " ")


def unjudged(exercise_id: str, title: str, max_score: float, e: BaseException) -> ExerciseResult:
    """The result of an exercise the grader failed to judge: an error, with why, and no points."""
    return ExerciseResult(exercise_id, title, "error", 0.0, max_score, message=f"{UNJUDGED}: {describe_error(e)}")


def judged(result: SubmissionResult) -> bool:
    """False when the grader itself failed on one of its exercises (it could not judge a result,
    or its worker died): such a result is not kept as final, the next run grades it again."""
    return not any(e.status == "error" and e.message.startswith((UNJUDGED, WORKER_DIED)) for e in result.exercises)
