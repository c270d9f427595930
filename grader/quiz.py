"""Quizzes: questions in YAML, answers in the submission's `answers.yaml`, graded on the trusted side.

Question types: `single` (one choice id), `multiple` (a list of choice ids), `numeric` (a number
within a tolerance) and `vector` (a list of numbers). A numeric or vector question may take its
answer from an exercise's reference (`answer: {exercise: dot-product, args: [$a, $b]}`): a wrong
answer is then diagnosed with that exercise's misconception models, so answering [0.08, 9] to
"what is a @ b?" is `elementwise-product`. Values can be drawn per student (`draw:`), seeded by
student id and quiz id, so neighbours cannot share answers.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import jinja2
import numpy as np
from jinja2 import meta

from .compare import fmt, same_value
from .diagnosis import GENERIC_TITLES, Evidence, context
from .errors import ExerciseError
from .exercise import (
    GENERATORS,
    ID_RE,
    Checker,
    Exercise,
    Tolerance,
    build_value,
    check_argument,
    load_code_exercise,
    parse_yaml,
)
from .outcome import Call, Returned, run_trusted
from .results import CheckResult, Diagnosis, ExerciseResult
from .templating import BoundedSandbox

QUESTION_TYPES = ("single", "multiple", "numeric", "vector")


@dataclass(frozen=True)
class Choice:
    id: str
    text: str
    correct: bool
    explanation: str
    misconception: str | None


@dataclass(frozen=True)
class Question:
    id: str
    type: str
    text: str
    points: float
    choices: tuple[Choice, ...] = ()
    answer: Any = None  # a literal, or {"exercise": id, "args": [...]}
    tolerance: Tolerance = Tolerance(1e-3, 1e-3)
    explanation: str = ""  # shown when the answer is wrong (markdown, Jinja2 with the draws)
    line: int = 0


@dataclass(frozen=True)
class Quiz:
    kind: ClassVar[str] = "quiz"
    id: str
    title: str
    points: float
    prompt: str
    answers_file: str
    draws: Mapping[str, Any]
    questions: tuple[Question, ...]
    source_path: Path
    linked: Mapping[str, Exercise] = field(default_factory=dict, compare=False, repr=False)
    lines: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)

    def draw(self, student: str) -> dict[str, Any]:
        """This student's values: reproducible from student id and quiz id."""
        rng = np.random.default_rng(zlib.crc32(f"{student}/{self.id}".encode()))
        return {name: build_value(spec, rng, "list") for name, spec in self.draws.items()}


def load_quiz(path: Path, data: Any, lines: Mapping[str, int]) -> Quiz:
    c = Checker(path, lines)
    c.mapping(data, "", ("id", "kind", "title", "points", "prompt", "answers", "draw", "questions"),
              ("id", "title", "prompt", "questions"))
    quiz_id = c.string(data, "", "id", pattern=ID_RE)
    answers_file = c.string(data, "", "answers", default="answers.yaml")
    draws = check_draws(c, data.get("draw", {}), "draw")
    raw = data["questions"]
    if not isinstance(raw, list) or not raw:
        raise c.fail("questions", "expected a non-empty list of questions")
    questions: list[Question] = []
    linked: dict[str, Exercise] = {}
    for i, rq in enumerate(raw):
        key = f"questions[{i}]"
        c.mapping(rq, key, ("id", "type", "text", "points", "choices", "answer", "tolerance", "explanation"),
                  ("id", "type", "text"))
        qid = c.string(rq, key, "id", pattern=ID_RE)
        if any(q.id == qid for q in questions):
            raise c.fail(f"{key}.id", f"duplicate question id '{qid}'")
        qtype = c.choice(rq, key, "type", QUESTION_TYPES, "single")
        choices: list[Choice] = []
        if qtype in ("single", "multiple"):
            rc = rq.get("choices")
            if not isinstance(rc, list) or len(rc) < 2:
                raise c.fail(f"{key}.choices", "expected a list of at least 2 choices")
            for j, ch in enumerate(rc):
                ck = f"{key}.choices[{j}]"
                c.mapping(ch, ck, ("id", "text", "correct", "explanation", "misconception"), ("id", "text"))
                correct = ch.get("correct", False)
                if not isinstance(correct, bool):
                    raise c.fail(f"{ck}.correct", "expected true or false")
                if not correct and "explanation" not in ch:
                    raise c.fail(ck, "every wrong choice needs an `explanation` of why it is wrong")
                mis = ch.get("misconception")
                if mis is not None and not (isinstance(mis, str) and ID_RE.match(mis)):
                    raise c.fail(f"{ck}.misconception", "expected a misconception id (kebab-case)")
                choices.append(Choice(c.string(ch, ck, "id"), c.string(ch, ck, "text"), correct,
                                      ch.get("explanation", ""), mis))
            n_correct = sum(ch.correct for ch in choices)
            if qtype == "single" and n_correct != 1:
                raise c.fail(f"{key}.choices", f"a single-choice question needs exactly one correct choice, got {n_correct}")
            if qtype == "multiple" and n_correct < 1:
                raise c.fail(f"{key}.choices", "a multiple-choice question needs at least one correct choice")
        else:
            if "answer" not in rq:
                raise c.fail(key, f"a {qtype} question needs an `answer`")
            ans = rq["answer"]
            if isinstance(ans, dict):
                c.mapping(ans, f"{key}.answer", ("exercise", "args"), ("exercise", "args"))
                ex_path = path.parent / f"{ans['exercise']}.yaml"
                if not ex_path.is_file():
                    raise c.fail(f"{key}.answer.exercise", f"no exercise file {ex_path.name} beside the quiz")
                linked[ans["exercise"]] = load_code_exercise(ex_path)
                if not isinstance(ans["args"], list):
                    raise c.fail(f"{key}.answer.args", "expected a list of arguments")
                for a in ans["args"]:
                    if isinstance(a, str) and a.startswith("$") and a[1:] not in draws:
                        raise c.fail(f"{key}.answer.args", f"'{a}' names no value under `draw:`")
        tol = c.mapping(rq.get("tolerance", {}), f"{key}.tolerance", ("rtol", "atol"))
        explanation = rq.get("explanation", "") or ""
        if not isinstance(explanation, str):
            raise c.fail(f"{key}.explanation", f"expected text, got {type(explanation).__name__}")
        check_template(c, explanation, f"{key}.explanation", draws)
        questions.append(Question(
            id=qid, type=qtype, text=check_template(c, c.string(rq, key, "text"), f"{key}.text", draws),
            points=c.number(rq, key, "points", 1.0), choices=tuple(choices), answer=rq.get("answer"),
            tolerance=Tolerance(c.number(tol, f"{key}.tolerance", "rtol", 1e-3), c.number(tol, f"{key}.tolerance", "atol", 1e-3)),
            explanation=explanation, line=lines.get(key, 0)))
    for sibling in sorted(path.parent.glob("*.yaml")):
        if sibling.resolve() != path.resolve() and sibling.stem not in linked:
            try:
                ex = load_code_exercise(sibling)
            except ExerciseError:
                continue  # another quiz, or reported when that file itself is loaded
            linked[ex.id] = ex
    known = {m.id for ex in linked.values() for m in ex.misconceptions} | set(GENERIC_TITLES)
    for i, q in enumerate(questions):
        for j, ch in enumerate(q.choices):
            if ch.misconception and ch.misconception not in known:
                raise c.fail(f"questions[{i}].choices[{j}].misconception",
                             f"'{ch.misconception}' is not a misconception of any exercise beside the quiz")
    total = sum(q.points for q in questions)
    points = c.number(data, "", "points", total)
    if abs(points - total) > 1e-9:
        raise c.fail("points", f"is {points:g} but the questions add up to {total:g}")
    return Quiz(quiz_id, c.string(data, "", "title"), points, c.string(data, "", "prompt"), answers_file,
                dict(draws), tuple(questions), path.resolve(), linked, lines)


def check_draws(c: Checker, raw: Any, key: str) -> dict[str, Any]:
    """`draw:`: names (identifiers) of generated values or literals, each checked as an argument."""
    draws = c.mapping(raw, key, tuple(raw) if isinstance(raw, dict) else ())
    for name, spec in draws.items():
        if not (isinstance(name, str) and name.isidentifier()):
            raise c.fail(f"{key}.{name}", "draw names must be identifiers")
        if isinstance(spec, dict) and next(iter(spec), None) not in GENERATORS:
            raise c.fail(f"{key}.{name}", f"expected a generator, one of {', '.join(GENERATORS)}")
        check_argument(c, spec, f"{key}.{name}")
    return draws


_PARSER = BoundedSandbox()


def check_template(c: Checker, text: str, key: str, names: Mapping[str, Any]) -> str:
    """A question's text or explanation: a Jinja2 template that parses and uses only the draws."""
    try:
        tree = _PARSER.parse(text)
    except jinja2.TemplateSyntaxError as e:
        raise c.fail(key, f"expected a Jinja2 template: {e.message} (line {e.lineno} of the text)") from None
    unknown = sorted(meta.find_undeclared_variables(tree) - set(names) - set(_PARSER.globals))
    if unknown:
        raise c.fail(key, f"'{unknown[0]}' is not a value under `draw:`")
    return text


# --------------------------------------------------------------------------- grading


def _args(q: Question, values: Mapping[str, Any]) -> list[Any]:
    return [values[a[1:]] if isinstance(a, str) and a.startswith("$") else a for a in q.answer["args"]]


def expected_answer(quiz: Quiz, q: Question, values: Mapping[str, Any]) -> Any:
    if isinstance(q.answer, dict):
        ex = quiz.linked[q.answer["exercise"]]
        outcome = run_trusted(ex.solution().reference, tuple(_args(q, values)), {})
        return outcome.value if isinstance(outcome, Returned) else None
    return q.answer


def read_answers(text: str | None, quiz: Quiz, where: str) -> tuple[dict[str, Any] | None, str]:
    """This quiz's answers from a submission's answers file, or a one-line problem."""
    if text is None:
        return None, f"no {quiz.answers_file} in the submission"
    try:
        data, _ = parse_yaml(text, Path(where))
    except ExerciseError as e:
        return None, str(e)
    if not isinstance(data, dict):
        return None, f"{where}: expected a mapping of quiz id → question id → answer"
    answers = data.get(quiz.id)
    if answers is None:
        return None, f"{where}: no answers for '{quiz.id}'"
    if not isinstance(answers, dict):
        return None, f"{where}: {quiz.id}: expected a mapping of question id → answer"
    return answers, ""


def render_question(quiz: Quiz, q: Question, values: Mapping[str, Any], env: Any) -> str:
    return env.from_string(q.text).render({k: fmt(v) for k, v in values.items()}).strip()


def grade_quiz(quiz: Quiz, student: str, answers_text: str | None, feedback: Any) -> ExerciseResult:
    """Score a quiz and name the misconception behind each wrong answer."""
    values = quiz.draw(student)
    answers, problem = read_answers(answers_text, quiz, quiz.answers_file)
    if answers is None:
        status = "missing" if answers_text is None or "no answers for" in problem else "error"
        return ExerciseResult(quiz.id, quiz.title, status, 0.0, quiz.points, message=problem)
    checks: list[CheckResult] = []
    named: list[Diagnosis] = []
    env = feedback.exercise_env
    for q in quiz.questions:
        given = answers.get(q.id)
        name = q.id
        if given is None:
            checks.append(CheckResult(name, "failed", 0.0, q.points, "visible", "not answered"))
            continue
        score, message, diagnoses = _grade_question(quiz, q, given, values, feedback)
        status = "passed" if score >= q.points - 1e-9 else "failed"
        if status == "failed" and q.explanation:
            message = (message + " " if message else "") + env.from_string(q.explanation).render(
                {k: fmt(v) for k, v in values.items()}).strip()
        checks.append(CheckResult(name, status, round(score, 6), q.points, "visible", " ".join(message.split())))
        named += diagnoses
    score = round(sum(c.score for c in checks), 6)
    status = "passed" if all(c.status == "passed" for c in checks) else "failed"
    return ExerciseResult(quiz.id, quiz.title, status, score, quiz.points, tuple(checks), _merge(named),
                          file=quiz.answers_file)


def _merge(named: list[Diagnosis]) -> tuple[Diagnosis, ...]:
    """One entry per misconception; the evidence lists every answer that showed it."""
    merged: dict[str, Diagnosis] = {}
    for d in named:
        if d.id in merged:
            first = merged[d.id]
            merged[d.id] = Diagnosis(d.id, first.title, f"{first.evidence}; {d.evidence}", first.explanation)
        else:
            merged[d.id] = d
    return tuple(merged.values())


def _choice_ids(given: Any) -> list[str] | None:
    if isinstance(given, (str, int)) and not isinstance(given, bool):
        return [str(given)]
    if isinstance(given, list) and all(isinstance(g, (str, int)) and not isinstance(g, bool) for g in given):
        return [str(g) for g in given]
    return None


def _grade_question(quiz: Quiz, q: Question, given: Any, values: Mapping[str, Any],
                    feedback: Any) -> tuple[float, str, list[Diagnosis]]:
    if q.type in ("single", "multiple"):
        ids = _choice_ids(given)
        by_id = {c.id: c for c in q.choices}
        if ids is None or (q.type == "single" and len(ids) != 1):
            want = "one choice id" if q.type == "single" else "a list of choice ids"
            return 0.0, f"expected {want} ({', '.join(by_id)}), got {fmt(given)}", []
        unknown = [i for i in ids if i not in by_id]
        if unknown:
            return 0.0, f"'{unknown[0][:40]}' is not a choice; the choices are {', '.join(by_id)}", []
        chosen = [by_id[i] for i in dict.fromkeys(ids)]
        correct = [c for c in q.choices if c.correct]
        right = sum(c.correct for c in chosen)
        wrong = [c for c in chosen if not c.correct]
        if q.type == "single":
            score = q.points if right == 1 else 0.0
        else:  # partial credit: right picks minus wrong picks, never below zero
            score = max(0.0, q.points * (right - len(wrong)) / len(correct))
        named = [Diagnosis(c.misconception, _title(quiz, c.misconception),
                           f"chose '{c.text}' in question {q.id}", c.explanation.strip())
                 for c in wrong if c.misconception]
        messages = [f"'{c.text}': {c.explanation.strip()}" for c in wrong]
        missed = [c for c in correct if c not in chosen]
        if q.type == "multiple" and missed:
            messages.append(f"also true: {'; '.join(c.text for c in missed)}")
        return score, " ".join(messages), named

    expected = expected_answer(quiz, q, values)
    got = given
    if not _numeric(got):
        return 0.0, f"expected {'a number' if q.type == 'numeric' else 'a list of numbers'}, got {fmt(got)}", []
    if same_value(got, expected, q.tolerance):
        return q.points, "", []
    message = f"expected {fmt(expected)}, got {fmt(got)}"
    diagnoses: list[Diagnosis] = []
    if isinstance(q.answer, dict):
        diagnoses = _diagnose_with_models(quiz, q, got, values, feedback)
    return 0.0, message, diagnoses


def _numeric(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    if isinstance(value, list) and len(value) <= 10_000:
        return all(_numeric(v) for v in value)
    return False


def _diagnose_with_models(quiz: Quiz, q: Question, got: Any, values: Mapping[str, Any], feedback: Any) -> list[Diagnosis]:
    """A wrong number that equals a model's output on the question's inputs names that model's idea."""

    ex = quiz.linked[q.answer["exercise"]]
    sol = ex.solution()
    args = tuple(_args(q, values))
    reference = run_trusted(sol.reference, args, {})
    for m in ex.misconceptions:
        for name in m.models:
            model = run_trusted(sol.models[name], args, {})
            if not isinstance(model, Returned) or (isinstance(reference, Returned) and same_value(model.value, reference.value, q.tolerance)):
                continue
            if same_value(got, model.value, q.tolerance):
                ev = Evidence(0, Call(q.id, True, args, {}, Returned(got)), reference)
                ctx = context(ex, ev, model, 1)
                return [Diagnosis(m.id, m.title, f"answered {fmt(got)} to question {q.id}; `{name}` gives that",
                                  feedback.misconception(m.feedback, ctx))]
    return []


def _title(quiz: Quiz, mid: str) -> str:
    for ex in quiz.linked.values():
        for m in ex.misconceptions:
            if m.id == mid:
                return m.title
    return GENERIC_TITLES.get(mid, mid)
