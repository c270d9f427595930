"""Student bundles: `grade release` writes one, `grade check` inside one runs its public checks.

A bundle carries data, never the course's code: per exercise the prompt (Markdown and HTML),
the public cases with the reference's outcome on each, and each misconception model's outcome
on them; a starter module per student file; the quizzes' questions without their answers; the
count and points of the checks that run only at grading time (hidden cases and the course's
custom check modules, whatever their visibility). Inside a bundle the exercises are rebuilt
from that data: the reference and the models become tables of recorded outcomes, so the same
sandbox, judging, diagnosis and feedback as in grading run on the public cases.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import json
import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import numpy as np

from .bundle_data import (
    MAX_DEPTH,
    NotInBundle,
    Recorded,
    ReleaseError,
    _check_outcome,
    call_key,
    decode,
    encode_outcome,
)
from .compare import Tolerance, args_text, fmt_outcome, same_value
from .diagnosis import MIN_EVIDENCE
from .exercise import (
    FORMS,
    ID_RE,
    MATCHES,
    Case,
    Checker,
    Exercise,
    Misconception,
    Solution,
    _kind,
    _packages,
    check_case,
    check_function,
)
from .markdown import markdown_html
from .outcome import Raised, Returned, run_trusted
from .quiz import QUESTION_TYPES, Choice, Question, Quiz, check_draws, check_template
from .templating import BoundedSandbox

MANIFEST = "grader-bundle.json"


FORMAT = 1


DATA = "public-checks"  # per exercise: what its public checks need, as data


PROMPTS = "prompts"


TEMPLATES = Path(__file__).resolve().parent / "templates" / "release"


# --------------------------------------------------------------------------- the bundle's exercises


@dataclass(frozen=True)
class BundleExercise(Exercise):
    """An exercise rebuilt from a bundle: public cases only; reference and models are tables."""

    recorded: Solution | None = field(default=None, compare=False, repr=False)
    hidden_checks: int = 0
    hidden_points: float = 0.0

    def solution(self) -> Solution:
        if self.recorded is None:
            raise ReleaseError(f"{self.id}: the bundle holds no recorded outcomes")
        return self.recorded


@dataclass(frozen=True)
class Bundle:
    root: Path
    manifest: Mapping[str, Any]
    exercises: tuple[BundleExercise | Quiz, ...]

    def later(self) -> list[dict[str, Any]]:
        """What runs only at grading time, per exercise: checks and points."""
        out = []
        for ex in self.exercises:
            if isinstance(ex, Quiz):
                out.append({"id": ex.id, "quiz": True, "checks": len(ex.questions), "points": ex.points,
                            "answers": ex.answers_file})
            elif ex.hidden_checks:
                out.append({"id": ex.id, "quiz": False, "checks": ex.hidden_checks, "points": ex.hidden_points})
        return out


    def graded(self) -> list[Exercise]:
        """The exercises whose public checks run here (a quiz is scored only at grading time)."""
        return [ex for ex in self.exercises if isinstance(ex, BundleExercise)]


def later_text(bundle: Bundle) -> str:
    """What the self-check adds: the checks and points that run only at grading time."""
    return "\n" + _env().get_template("later.txt.j2").render(later=bundle.later())


def find_bundle(start: Path) -> Path | None:
    """The bundle folder holding `start` (a folder with the manifest, `start`'s or a parent's)."""
    here = start.resolve()
    if here.is_file() or not here.exists():
        here = here.parent
    for folder in (here, *here.parents):
        if (folder / MANIFEST).is_file():
            return folder
    return None


MAX_BUNDLE_FILE = 256_000_000  # bytes of one bundle file (a million-element array is about 25 MB)




_PARSER = BoundedSandbox()  # parses the feedback texts a bundle carries


def _read_json(path: Path) -> Any:
    """A bundle file's JSON, refusing what is too large or nested too deep to be read safely."""
    try:
        if path.stat().st_size > MAX_BUNDLE_FILE:
            raise ReleaseError(f"{path}: {path.stat().st_size} bytes; a bundle file of at most {MAX_BUNDLE_FILE} "
                               "is expected (ask for a new bundle)")
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ReleaseError(f"{path}: cannot read: {e.strerror}") from None
    except (UnicodeDecodeError, ValueError) as e:  # JSONDecodeError, or an integer of over 4300 digits
        raise ReleaseError(f"{path}: not a bundle file of `grade release` ({e})") from None
    except RecursionError:
        data = None
    if data is None or _too_deep(data):
        raise ReleaseError(f"{path}: lists or mappings nested more than {MAX_DEPTH} deep; "
                           "not a bundle file of `grade release` (ask for a new bundle)")
    return data


def _too_deep(data: Any) -> bool:
    level = [data]
    for _ in range(MAX_DEPTH):
        level = [v for item in level if isinstance(item, (list, dict))
                 for v in (item.values() if isinstance(item, dict) else item)]
        if not level:
            return False
    return True


def load_bundle(root: Path, only: tuple[str, ...] = ()) -> Bundle:
    """A released bundle's exercises, rebuilt from its data (optionally only the given ids).

    Every file is checked first, as `grader.exercise` checks a teacher's: a damaged or edited
    bundle is one error naming the file, the place and what is expected."""
    root = root.resolve()
    path = root / MANIFEST
    manifest = _read_json(path)
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ReleaseError(f"{path}: a bundle of format {FORMAT} is expected; "
                           "this one was made by another version of grader (ask for a new bundle)")
    c = Checker(path, {})
    c.mapping(manifest, "", ("format", "title", "exercises", "files"), ("format", "title", "exercises", "files"))
    c.string(manifest, "", "title")
    ids = manifest["exercises"]
    if not isinstance(ids, list) or not ids:
        raise c.fail("exercises", f"expected a non-empty list of exercise ids, got {_kind(ids)}")
    for i, ex_id in enumerate(ids):
        if not (isinstance(ex_id, str) and ID_RE.match(ex_id)):
            raise c.fail(f"exercises[{i}]", f"expected an exercise id (kebab-case), got {_kind(ex_id)}")
        if ex_id in ids[:i]:
            raise c.fail(f"exercises[{i}]", f"'{ex_id}' is listed twice")
    files = manifest["files"]
    if not (isinstance(files, list) and all(isinstance(f, str) for f in files)):
        raise c.fail("files", f"expected a list of file names, got {_kind(files)}")
    unknown = [i for i in only if i not in ids]
    if unknown:
        raise ReleaseError(f"unknown exercise id '{unknown[0]}'; this bundle has: {', '.join(ids)}")
    loaded: list[BundleExercise | Quiz] = []
    for ex_id in (only or ids):
        path = root / DATA / f"{ex_id}.json"
        loaded.append(_rebuild(path, _read_json(path), ex_id))
    return Bundle(root, manifest, tuple(loaded))


CODE_KEYS = ("format", "kind", "id", "title", "prompt", "function", "form", "tolerance", "mutation_points",
             "packages", "cases", "expected", "misconceptions", "hidden")


QUIZ_KEYS = ("format", "kind", "id", "title", "prompt", "answers", "points", "draws", "questions")


def _rebuild(path: Path, data: Any, ex_id: str) -> BundleExercise | Quiz:
    """One exercise or quiz of a bundle, checked key by key and rebuilt."""
    c = Checker(path, {})
    c.mapping(data, "", tuple(dict.fromkeys(CODE_KEYS + QUIZ_KEYS)), ("format", "kind", "id"))
    if data["format"] != FORMAT:
        raise ReleaseError(f"{path}: a bundle of format {FORMAT} is expected; "
                           "this one was made by another version of grader (ask for a new bundle)")
    if data["id"] != ex_id:
        raise c.fail("id", f"expected '{ex_id}' (the manifest lists this file under that id), got {_kind(data['id'])}")
    if c.choice(data, "", "kind", ("code", "quiz"), "code") == "quiz":
        return _rebuild_quiz(c, data)
    return _rebuild_code(c, data)


def _identified(c: Checker, raw: list[Any], name: str, keys: tuple[str, ...],
                noun: str) -> Iterator[tuple[str, dict[str, Any], str]]:
    """Each entry of the bundle's list `name` (its place, itself, its id): a mapping with exactly
    `keys`, whose id is not an earlier entry's."""
    seen: set[str] = set()
    for i, item in enumerate(raw):
        key = f"{name}[{i}]"
        c.mapping(item, key, keys, keys)
        ident = c.string(item, key, "id", pattern=ID_RE)
        if ident in seen:
            raise c.fail(f"{key}.id", f"duplicate {noun} id '{ident}'")
        seen.add(ident)
        yield key, item, ident


def _rebuild_quiz(c: Checker, data: dict[str, Any]) -> Quiz:
    c.mapping(data, "", QUIZ_KEYS, QUIZ_KEYS)
    answers = c.string(data, "", "answers")
    if "/" in answers or "\\" in answers or answers.startswith("."):
        raise c.fail("answers", f"expected a file name in the bundle's folder, got '{answers}'")
    draws = check_draws(c, data["draws"], "draws")
    raw = data["questions"]
    if not isinstance(raw, list) or not raw:
        raise c.fail("questions", f"expected a non-empty list of questions, got {_kind(raw)}")
    questions: list[Question] = []
    for key, rq, qid in _identified(c, raw, "questions", ("id", "type", "text", "points", "choices"), "question"):
        qtype = c.choice(rq, key, "type", QUESTION_TYPES, "single")
        raw_choices = rq["choices"]
        wanted = 2 if qtype in ("single", "multiple") else 0
        if not isinstance(raw_choices, list) or len(raw_choices) < wanted:
            raise c.fail(f"{key}.choices", f"expected a list of at least {wanted} choices, got {_kind(raw_choices)}")
        choices = []
        for j, ch in enumerate(raw_choices):
            ck = f"{key}.choices[{j}]"
            c.mapping(ch, ck, ("id", "text"), ("id", "text"))
            choices.append(Choice(c.string(ch, ck, "id"), c.string(ch, ck, "text"), False, "", None))
        questions.append(Question(id=qid, type=qtype, text=check_template(c, c.string(rq, key, "text"), f"{key}.text", draws),
                                  points=c.number(rq, key, "points", 1.0), choices=tuple(choices)))
    total = sum(q.points for q in questions)
    points = c.number(data, "", "points", total)
    if abs(points - total) > 1e-9 or not np.isfinite(total):
        raise c.fail("points", f"is {points:g} but the questions add up to {total:g}")
    return Quiz(data["id"], c.string(data, "", "title"), points, c.string(data, "", "prompt"), answers, draws,
                tuple(questions), c.path)


def _rebuild_code(c: Checker, data: dict[str, Any]) -> BundleExercise:
    c.mapping(data, "", CODE_KEYS, CODE_KEYS)
    fn = check_function(c, data["function"], ("name", "module", "signature", "params"))
    if data["function"].get("params") != list(fn.params):
        raise c.fail("function.params", f"expected {list(fn.params)}, the parameters of {fn.signature}")
    form = c.choice(data, "", "form", FORMS, "as-written")
    tol = c.mapping(data["tolerance"], "tolerance", ("rtol", "atol"), ("rtol", "atol"))
    tolerance = Tolerance(c.number(tol, "tolerance", "rtol", 0.0), c.number(tol, "tolerance", "atol", 0.0))
    mutation_points = c.number(data, "", "mutation_points", 0.0)
    raw_packages = data["packages"]
    if not (isinstance(raw_packages, list) and all(isinstance(p, list) and len(p) == 2 for p in raw_packages)):
        raise c.fail("packages", f"expected a list of [import name, requirement] pairs, got {_kind(raw_packages)}")
    packages = _packages(c, [{"import": n, "install": r} for n, r in raw_packages])
    raw_cases = data["cases"]
    if not isinstance(raw_cases, list):
        raise c.fail("cases", f"expected a list of cases, got {_kind(raw_cases)}")
    cases: list[Case] = []
    for i, rc in enumerate(raw_cases):
        case = check_case(c, rc, f"cases[{i}]", fn, form, data["id"], visibility="visible")
        if case.name in (cs.name for cs in cases):
            raise c.fail(f"cases[{i}].name", f"duplicate case name '{case.name}'")
        cases.append(dataclasses.replace(case, visibility="visible"))
    keys = [call_key(*case.build_arguments()) for case in cases]

    def table(raw: Any, key: str) -> Recorded:
        if not isinstance(raw, list) or len(raw) != len(cases):
            raise c.fail(key, f"expected a list of {len(cases)} outcomes (one per case), got {_kind(raw)}")
        for i, outcome in enumerate(raw):
            _check_outcome(c, outcome, f"{key}[{i}]")
        return Recorded(dict(zip(keys, raw, strict=True)))

    reference = table(data["expected"], "expected")
    raw_mis = data["misconceptions"]
    if not isinstance(raw_mis, list):
        raise c.fail("misconceptions", f"expected a list, got {_kind(raw_mis)}")
    models: dict[str, Callable[..., Any]] = {}
    misconceptions: list[Misconception] = []
    for key, m, mid in _identified(c, raw_mis, "misconceptions", ("id", "title", "match", "feedback", "models"),
                                   "misconception"):
        feedback = c.string(m, key, "feedback")
        try:
            _PARSER.parse(feedback)
        except jinja2.TemplateSyntaxError as e:
            raise c.fail(f"{key}.feedback", f"expected a Jinja2 template: {e.message} (line {e.lineno} of the text)") from None
        if not isinstance(m["models"], list) or not m["models"]:
            raise c.fail(f"{key}.models", f"expected a non-empty list of recorded models, got {_kind(m['models'])}")
        names = []
        for j, outcomes in enumerate(m["models"]):
            names.append(f"{mid}:{j}")
            models[names[-1]] = table(outcomes, f"{key}.models[{j}]")
        misconceptions.append(Misconception(mid, c.string(m, key, "title"), tuple(names),
                                            c.choice(m, key, "match", MATCHES, "value"), feedback, 0))
    hidden = c.mapping(data["hidden"], "hidden", ("checks", "points"), ("checks", "points"))
    checks = hidden["checks"]
    if isinstance(checks, bool) or not isinstance(checks, int) or checks < 0:
        raise c.fail("hidden.checks", f"expected a non-negative whole number, got {_kind(checks)}")
    points = sum(case.points for case in cases) + mutation_points
    if not np.isfinite(points):
        raise c.fail("cases", "the points of the cases and mutation_points add up to more than a number can hold")
    return BundleExercise(
        id=data["id"], title=c.string(data, "", "title"), points=points, prompt=c.string(data, "", "prompt"),
        function=fn, solution_path=c.path, form=form, tolerance=tolerance, mutation_points=mutation_points,
        checks_path=None, cases=tuple(cases), misconceptions=tuple(misconceptions), source_path=c.path,
        packages=packages, recorded=Solution(reference=reference, models=models),
        hidden_checks=checks, hidden_points=c.number(hidden, "hidden", "points", 0.0))


# --------------------------------------------------------------------------- releasing


def custom_checks(path: Path) -> list[tuple[str, float]]:
    """The test functions of a custom check module and their points (read, never imported)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
            points = 1.0
            for dec in node.decorator_list:
                if isinstance(dec, ast.Call) and isinstance(dec.func, ast.Attribute) and dec.func.attr == "points":
                    points = float(ast.literal_eval(dec.args[0]))
            found.append((node.name, points))
    return found


def exercise_data(ex: Exercise) -> dict[str, Any]:
    """What the self-check of one exercise needs: public cases and outcomes, no code."""
    sol = ex.solution()
    public = [c for c in ex.cases if c.visibility == "visible"]
    expected: list[dict[str, Any]] = []
    per_model: dict[str, list[dict[str, Any]]] = {name: [] for m in ex.misconceptions for name in m.models}
    for case in public:
        where = f"{ex.source_path}: case '{case.name}'"
        args, kwargs = case.build_arguments()
        call_key(args, kwargs)  # arguments that cannot travel as data stop the release here
        expected.append(encode_outcome(run_trusted(sol.reference, tuple(args), kwargs), where))
        for name in per_model:
            per_model[name].append(encode_outcome(run_trusted(sol.models[name], tuple(args), kwargs),
                                                  f"{where}, a misconception model"))
    hidden = [c for c in ex.cases if c.visibility != "visible"]
    later = custom_checks(ex.checks_path) if ex.checks_path else []
    # a misconception the public cases cannot show stays out: its feedback would hint at hidden cases
    shown = [m for m in ex.misconceptions
             if any(_differences(per_model[name], expected, ex.tolerance) >= MIN_EVIDENCE for name in m.models)]
    return {
        "format": FORMAT, "kind": "code", "id": ex.id, "title": ex.title, "prompt": ex.prompt,
        "function": {"name": ex.function.name, "module": ex.function.module, "signature": ex.function.signature,
                     "params": list(ex.function.params)},
        "form": ex.form, "tolerance": {"rtol": ex.tolerance.rtol, "atol": ex.tolerance.atol},
        "mutation_points": ex.mutation_points, "packages": [[p.name, p.requirement] for p in ex.packages],
        "cases": [{"name": c.name, "args": [_drawn(a, c) for a in c.args],
                   "kwargs": {k: _drawn(v, c) for k, v in c.kwargs.items()}, "points": c.points,
                   "form": c.form, "seed": c.seed, "raises": c.raises} for c in public],
        "expected": expected,
        "misconceptions": [{"id": m.id, "title": m.title, "match": m.match, "feedback": m.feedback,
                            "models": [per_model[name] for name in m.models]} for m in shown],
        "hidden": {"checks": len(hidden) + len(later),
                   "points": sum(c.points for c in hidden) + sum(p for _, p in later)},
    }


def _drawn(spec: Any, case: Case) -> Any:
    """A generated argument as the array it drew (`{array: ...}`), so that a student's numpy,
    whatever its version, rebuilds the very numbers; a literal stays as written."""
    if not (isinstance(spec, dict) and next(iter(spec)) in ("normal", "uniform", "integers", "zeros")):
        return spec
    drawn = [a for a, s in zip(case.build_arguments()[0], case.args, strict=True) if s is spec]
    drawn += [case.build_arguments()[1][k] for k, s in case.kwargs.items() if s is spec]
    value = np.asarray(drawn[0])
    if value.size == 0:  # an empty array keeps its shape only in its generator
        return spec
    return {"array": {"values": value.tolist(), "dtype": str(value.dtype)}}


def _differences(model: list[dict[str, Any]], reference: list[dict[str, Any]], tolerance: Tolerance) -> int:
    """On how many public cases a model's outcome differs from the reference's."""
    count = 0
    for m, r in zip(model, reference, strict=True):
        if "returned" in m and "returned" in r:
            count += not same_value(decode(m["returned"]), decode(r["returned"]), tolerance)
        else:
            count += m["raised"]["type"] != r["raised"]["type"] if "raised" in m and "raised" in r else 1
    return count


def quiz_data(quiz: Quiz) -> dict[str, Any]:
    """A quiz's questions and choices without which is correct, explanations or answers."""
    return {
        "format": FORMAT, "kind": "quiz", "id": quiz.id, "title": quiz.title, "prompt": quiz.prompt,
        "answers": quiz.answers_file, "points": quiz.points, "draws": dict(quiz.draws),
        "questions": [{"id": q.id, "type": q.type, "text": q.text, "points": q.points,
                       "choices": [{"id": c.id, "text": c.text} for c in q.choices]} for q in quiz.questions],
    }


@functools.lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    """The bundle's templates (compiled once per process: the watcher renders on every save)."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=jinja2.select_autoescape(["html"]),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True)
    env.filters["markdown"] = markdown_html
    return env


def starter(module: str, exercises: list[Exercise]) -> str:
    """A student's starter file: each function's signature, its prompt as docstring, no body."""
    text = _env().get_template("starter.py.j2").render(
        module=module, functions=[{"signature": ex.function.signature, "title": ex.title,
                                   "doc": _docstring(ex.prompt)} for ex in exercises])
    ast.parse(text, filename=module)  # a starter that does not parse would be the teacher's bug, not the student's
    return text


def _docstring(prompt: str) -> str:
    body = prompt.strip().replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    return "\n".join(("    " + line).rstrip() for line in body.splitlines())


def release(exercises: list[Exercise | Quiz], out: Path, extra: Iterable[Path] = (), title: str = "",
            install: str = "") -> list[str]:
    """Write a bundle for these exercises to `out` (a new or empty folder); returns the files written."""
    out = out.resolve()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ReleaseError(f"{out}: the bundle's folder must be new or empty")
    course_files = _course_files(exercises)
    extra = [Path(p) for p in extra]
    for p in extra:
        if not p.is_file():
            raise ReleaseError(f"{p}: --add takes a file, and there is none")
        if os.path.realpath(p) in course_files:
            raise ReleaseError(f"{p}: a file of the course itself (an exercise, reference or check module) "
                               "never goes into a bundle")
    env = _env()
    files: dict[str, str] = {}
    code = [ex for ex in exercises if isinstance(ex, Exercise)]
    quizzes = [ex for ex in exercises if isinstance(ex, Quiz)]
    for ex in exercises:
        data = quiz_data(ex) if isinstance(ex, Quiz) else exercise_data(ex)
        files[f"{DATA}/{ex.id}.json"] = json.dumps(data, indent=1) + "\n"
        page = _page(ex, data)
        files[f"{PROMPTS}/{ex.id}.md"] = env.get_template("prompt.md.j2").render(ex=page)
        files[f"{PROMPTS}/{ex.id}.html"] = env.get_template("prompt.html.j2").render(ex=page)
    modules: dict[str, list[Exercise]] = {}
    for ex in code:
        modules.setdefault(ex.function.module, []).append(ex)
    for module, exs in modules.items():
        files[module] = starter(module, exs)
    answer_files: dict[str, list[Quiz]] = {}
    for quiz in quizzes:
        answer_files.setdefault(quiz.answers_file, []).append(quiz)
    for name, qs in answer_files.items():
        files[name] = env.get_template("answers.yaml.j2").render(quizzes=qs)
    clash = sorted({p.name for p in extra} & set(files) | ({p.name for p in extra} & {MANIFEST, "README.md"}))
    if clash:
        raise ReleaseError(f"--add {clash[0]}: the bundle writes a file of that name itself")
    listing = [{"id": ex.id, "title": ex.title, "points": ex.points, "quiz": isinstance(ex, Quiz),
                "file": ex.answers_file if isinstance(ex, Quiz) else ex.function.module,
                "what": ex.answers_file if isinstance(ex, Quiz) else ex.function.signature,
                "hidden": json.loads(files[f"{DATA}/{ex.id}.json"]).get("hidden", {"checks": 0, "points": 0})}
               for ex in exercises]
    files["README.md"] = env.get_template("README.md.j2").render(
        title=title or "Exercises", exercises=listing, modules=sorted(modules), answers=sorted(answer_files),
        extra=[p.name for p in extra], install=install)
    files[MANIFEST] = json.dumps({"format": FORMAT, "title": title or "Exercises",
                                  "exercises": [ex.id for ex in exercises],
                                  "files": sorted(modules) + sorted(answer_files)}, indent=1) + "\n"
    out.mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    for p in extra:
        shutil.copyfile(p, out / p.name)
    _verify(out, code)
    return sorted([*files, *(p.name for p in extra)])


def _verify(out: Path, exercises: list[Exercise]) -> None:
    """Read the bundle back: each public case must find the reference's outcome recorded for it."""
    by_id = {ex.id: ex for ex in load_bundle(out).graded()}
    for ex in exercises:
        table = by_id[ex.id].solution().reference
        for case in by_id[ex.id].cases:
            args, kwargs = case.build_arguments()
            outcome = run_trusted(table, tuple(args), kwargs)
            if isinstance(outcome, Raised) and outcome.type == NotInBundle.__name__:
                raise ReleaseError(f"{ex.source_path}: case '{case.name}' does not survive the bundle "
                                   "(its arguments read back differ); please report this")


KINDS = {"single": "one choice id", "multiple": "a list of choice ids", "numeric": "a number", "vector": "a list of numbers"}


def _page(ex: Exercise | Quiz, data: dict[str, Any]) -> dict[str, Any]:
    """What a prompt page shows: the prompt, and the public checks or the questions."""
    page: dict[str, Any] = {"title": ex.title, "id": ex.id, "prompt": ex.prompt, "points": ex.points,
                            "quiz": isinstance(ex, Quiz)}
    if isinstance(ex, Quiz):
        env = BoundedSandbox(undefined=jinja2.StrictUndefined)
        drawn = {name: f"⟨{name}⟩" for name in ex.draws}
        page["draws"] = sorted(ex.draws)
        page["questions"] = [{"id": q.id, "points": q.points, "kind": KINDS[q.type], "choices": q.choices,
                              "text": env.from_string(q.text).render(drawn)} for q in ex.questions]
        return page
    page["file"] = ex.function.module
    page["hidden"] = data["hidden"]
    page["examples"] = []
    for case, outcome in zip((c for c in ex.cases if c.visibility == "visible"), data["expected"], strict=True):
        args, kwargs = case.build_arguments()
        call = args_text(ex.function.params, args, kwargs)
        if case.raises:
            expected = f"raises {case.raises}"
        else:
            expected = fmt_outcome(Returned(decode(outcome["returned"])) if "returned" in outcome else Raised(
                outcome["raised"]["type"], tuple(outcome["raised"]["bases"]), outcome["raised"]["message"]))
        page["examples"].append({"name": case.name, "call": call, "expected": expected})
    return page


def _course_files(exercises: list[Exercise | Quiz]) -> set[str]:
    files = set()
    for ex in exercises:
        files.add(os.path.realpath(ex.source_path))
        if isinstance(ex, Exercise):
            files.update(os.path.realpath(p) for p in (ex.solution_path, ex.checks_path) if p is not None)
    return files
