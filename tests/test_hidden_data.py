"""A hidden check's inputs, expected value and the student's result on it never reach the student,
in any format, while the misconception is still named; `grade validate` warns when only hidden
checks show a misconception.

The exercise is the shipped dot-product with a drawn set of its visible cases made hidden, so
that some misconceptions are told apart only by hidden cases.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from grader.compare import args_text, as_array, fmt, same_value
from grader.course import load_exercise
from grader.exercise import Exercise
from grader.feedback import md_escape
from grader.outcome import Crashed, Outcome, Raised, Returned, hidden_safe, run_trusted

from conftest import CORPUS, EXERCISES, grade

SOURCE = EXERCISES / "dot-product.yaml"
COURSE = yaml.safe_load(SOURCE.read_text(encoding="utf-8"))
VISIBLE = tuple(c["name"] for c in COURSE["cases"] if c.get("visibility") == "visible")
EVERY_VISIBLE_HIDDEN = frozenset(VISIBLE)
LENGTH_CHECKS_HIDDEN = frozenset({"lengths 3 and 2 differ", "a length-1 vector against a length-3 one"})

# A student who quotes the input in an exception on the hidden length-12 case, and one whose only
# wrong answer is on that case (nothing names a misconception: an observation describes it).
QUOTES_INPUT = """\
def dot(a, b):
    if len(a) != len(b):
        raise ValueError("a and b must have the same length")
    if len(a) == 12:
        raise RuntimeError(f"cannot handle a[0] = {float(a[0])!r}")
    return sum(float(x) * float(y) for x, y in zip(a, b))
"""
SMUGGLER = """\
def dot(a, b):
    if len(a) != len(b):
        raise ValueError("a and b must have the same length")
    words = "_".join(f"{float(x):.6g}" for x in a)
    if len(a) == 7:  # a hidden case's inputs, in what a student chooses: a class name, a place
        raise type("Smuggled_" + words, (ValueError,), {})()
    if len(a) == 5:
        return type("Smuggled_" + words, (), {})()
    return float(sum(float(x) * float(y) for x, y in zip(a, b)))
"""
WRONG_ONCE = """\
def dot(a, b):
    if len(a) != len(b):
        raise ValueError("a and b must have the same length")
    total = sum(float(x) * float(y) for x, y in zip(a, b))
    return total + 1.0 if len(a) == 12 else total
"""

# student -> (source, the misconception that must be named; None: an observation instead)
STUDENTS: dict[str, tuple[str, str | None]] = {
    "elementwise-product": ((CORPUS / "dot-product" / "elementwise-product.py").read_text(), "elementwise-product"),
    "no-length-check": ((CORPUS / "dot-product" / "no-length-check.py").read_text(), "no-length-check"),
    "off-by-one": ((CORPUS / "dot-product" / "off-by-one.py").read_text(), "off-by-one"),
    "sign-flip": ((CORPUS / "dot-product" / "generic" / "sign-flip.py").read_text(), "sign-flip"),
    "raises": ((CORPUS / "dot-product" / "generic" / "raises.py").read_text(), "raises"),
    "wrong-type": ((CORPUS / "dot-product" / "generic" / "wrong-type.py").read_text(), "wrong-type"),
    "quotes-input": (QUOTES_INPUT, "raises"),
    "wrong-once": (WRONG_ONCE, None),
    "smuggler": (SMUGGLER, "raises"),
}

hidden_sets = st.frozensets(st.sampled_from(VISIBLE))


def _course(folder: Path, hidden: frozenset[str], feedback: dict[str, str] | None = None) -> Path:
    """The dot-product exercise with the `hidden` visible cases made hidden (the default), and
    the misconceptions' feedback replaced as `feedback` says (by id)."""
    data = copy.deepcopy(COURSE)
    data["solution"] = str((SOURCE.parent / COURSE["solution"]).resolve())
    for case in data["cases"]:
        if case["name"] in hidden:
            del case["visibility"]
    for m in data["misconceptions"]:
        m["feedback"] = (feedback or {}).get(m["id"], m["feedback"])
    path = folder / "exercises" / "dot-product.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def _function(source: str, folder: Path) -> Callable[..., Any]:
    path = folder / "student_copy.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(f"student_copy_{abs(hash(source))}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.dot


def _differs(got: Outcome, reference: Outcome, ex: Exercise) -> bool:
    """Does this outcome fail the case (the reference's value, or its exception)?"""
    if isinstance(reference, Raised):
        return not (isinstance(got, Raised) and got.is_a(reference.type))
    return not (isinstance(got, Returned) and same_value(got.value, reference.value, ex.tolerance))


def _texts(value: Any) -> set[str]:
    """How a value may be printed: the whole and each number as `fmt` gives them, sign-less; only
    texts with three digits or more (fewer would be found by chance in any feedback)."""
    if isinstance(value, Raised):
        texts = {value.message}
    else:
        value = value.value if isinstance(value, Returned) else value
        a = as_array(value)
        texts = set() if a is None else {fmt(value), *(fmt(x) for x in a.ravel().tolist())}
    return {t.lstrip("-") for t in texts if sum(ch.isdigit() for ch in t) >= 3}


def _cases(ex: Exercise, student: Callable[..., Any]) -> list[dict[str, Any]]:
    """Per case: visible, the texts of its inputs, expected value and the student's result, the
    call as feedback writes it, and whether the student fails it."""
    sol = ex.solution()
    out = []
    for case in ex.cases:
        args, kwargs = case.build_arguments()
        reference = run_trusted(sol.reference, tuple(args), kwargs)
        got = run_trusted(student, tuple(args), kwargs)
        texts = set().union(*map(_texts, [*args, *kwargs.values(), reference, got]))
        out.append({"name": case.name, "visible": case.visibility == "visible", "texts": texts,
                    "call": args_text(ex.function.params, args, kwargs), "fails": _differs(got, reference, ex)})
    return out


def _secrets(cases: list[dict[str, Any]]) -> set[str]:
    """Texts only a hidden case gives: not a visible case's, not in the exercise's own words
    (prompt, feedback templates and case names, which say 9.08 or [0.2, 3] whatever is hidden),
    and not a score (a whole number of points, 14.0 at most)."""
    words = json.dumps(COURSE, ensure_ascii=False)
    shown = set().union(*(c["texts"] for c in cases if c["visible"]))
    scores = {f"{n}.0" for n in range(int(COURSE["points"]) + 1)}
    return {t for c in cases if not c["visible"] for t in c["texts"] if t not in shown | scores and t not in words}


def _leaks(text: str, secrets: set[str]) -> list[str]:
    found = []
    for s in secrets:
        for form in {s, md_escape(s)}:
            if re.search(r"(?<![\d.])" + re.escape(form) + (r"(?!\d)" if form[-1:].isdigit() else ""), text):
                found.append(s)
    return found


def _student_texts(fmt_name: str, out: str) -> list[str]:
    """What a student reads in one format's output."""
    if fmt_name in ("text", "markdown"):
        return [out]
    doc = json.loads(out)
    if fmt_name == "json":
        texts = []
        for ex in doc["submissions"][0]["exercises"]:
            texts += [ex["feedback"], ex["message"], ex["observation"]]
            texts += [m[k] for m in ex["misconceptions"] for k in ("evidence", "explanation")]
            texts += [c["message"] for c in ex["checks"] if c["visibility"] == "visible"]
        return texts
    if fmt_name == "gradescope":
        return [doc["output"], *(t["output"] for t in doc["tests"])]
    if fmt_name == "prairielearn":
        return [doc["message"], doc["output"], *(t["message"] for t in doc["tests"])]
    return [t["message"] for t in doc["tests"]]  # github


FORMATS = ("text", "markdown", "json", "gradescope", "prairielearn", "github")


@settings(max_examples=1, deadline=None)  # each draw is six grade runs: the suite's time is budgeted
@given(student=st.sampled_from(sorted(STUDENTS)), hidden=hidden_sets)
@example(student="elementwise-product", hidden=EVERY_VISIBLE_HIDDEN)
@example(student="no-length-check", hidden=LENGTH_CHECKS_HIDDEN)
@example(student="quotes-input", hidden=frozenset())
@example(student="no-length-check", hidden=frozenset())  # its first failing call is not one the model tells apart
@example(student="wrong-once", hidden=frozenset())
@example(student="smuggler", hidden=frozenset())  # class names carry no inputs
def test_no_hidden_value_reaches_a_student_in_any_format(student: str, hidden: frozenset[str]) -> None:
    source, named = STUDENTS[student]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = _course(folder, hidden)
        (folder / "student").mkdir()
        (folder / "student" / "similarity.py").write_text(source, encoding="utf-8")
        cases = _cases(load_exercise(path), _function(source, folder))
        secrets = _secrets(cases)
        outputs = {}
        for f in FORMATS:
            proc = grade("check", str(folder / "student"), "--exercises", str(path.parent), "--format", f)
            assert proc.returncode in (0, 1), proc.stderr
            outputs[f] = proc.stdout

    for f, out in outputs.items():
        leaked = sorted({s for text in _student_texts(f, out) for s in _leaks(text, secrets)})
        assert not leaked, f"--format {f} shows hidden values {leaked}:\n{out}"
        assert "Smuggled" not in "".join(_student_texts(f, out)), out  # a class the smuggler named by its inputs

    result = json.loads(outputs["json"])["submissions"][0]["exercises"][0]
    assert result["status"] == "failed"
    if named is None:
        assert result["misconceptions"] == []
        assert "hidden check" in result["observation"], result["observation"]
        return
    diagnosis = next((m for m in result["misconceptions"] if m["id"] == named), None)
    assert diagnosis is not None, result["misconceptions"]
    title = diagnosis["title"]
    assert title in outputs["text"] and title in outputs["markdown"]
    assert title in json.loads(outputs["prairielearn"])["message"]
    assert named in json.loads(outputs["gradescope"])["extra_data"]["misconceptions"]["dot-product"]
    shown = [c for c in cases if c["fails"] and c["visible"]]
    if shown:  # a visible call shows the mistake: the explanation quotes one (the first the model tells apart)
        assert any(md_escape(c["call"]) in diagnosis["explanation"] for c in shown), diagnosis["explanation"]
    else:
        assert "hidden check" in diagnosis["explanation"], diagnosis["explanation"]


def test_the_search_finds_the_values_of_a_call_that_feedback_quotes(tmp_path: Path) -> None:
    """The leak search above sees a case's numbers, Markdown-escaped, in feedback that quotes them."""
    source = STUDENTS["elementwise-product"][0]
    cases = _cases(load_exercise(SOURCE), _function(source, tmp_path))
    first = cases[0]["texts"] - set().union(*(c["texts"] for c in cases[1:]))  # the visible call quoted
    proc = grade("check", str(CORPUS / "dot-product" / "elementwise-product.py"), "--exercises", str(EXERCISES),
                 "-e", "dot-product", "--format", "markdown")
    assert proc.returncode == 1, proc.stderr
    assert _leaks(proc.stdout, first), (first, proc.stdout)


def _model_fails(ex: Exercise) -> dict[tuple[str, str], list[str]]:
    """(misconception, model) -> the cases on which the model fails."""
    sol = ex.solution()
    out: dict[tuple[str, str], list[str]] = {}
    for m in ex.misconceptions:
        for name in m.models:
            out[(m.id, name)] = []
            for case in ex.cases:
                args, kwargs = case.build_arguments()
                got = run_trusted(sol.models[name], tuple(args), kwargs)
                if _differs(got, run_trusted(sol.reference, tuple(args), kwargs), ex):
                    out[(m.id, name)].append(case.name)
    return out


@settings(max_examples=3, deadline=None)
@given(hidden=hidden_sets)
@example(hidden=EVERY_VISIBLE_HIDDEN)
@example(hidden=LENGTH_CHECKS_HIDDEN)
@example(hidden=frozenset())
def test_validate_warns_when_only_hidden_checks_show_a_misconception(hidden: frozenset[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = _course(Path(tmp), hidden)
        ex = load_exercise(path)
        proc = grade("validate", str(path))
    assert proc.returncode == 0, proc.stdout + proc.stderr  # a warning, not a problem
    assert proc.stdout.strip() == "1 exercises valid: dot-product"
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("warning:")]
    visible = {c.name for c in ex.cases if c.visibility == "visible"}
    expected = {key: fails for key, fails in _model_fails(ex).items() if not visible & set(fails)}
    assert len(warnings) == len(expected), (expected, proc.stderr)
    for (mid, model), fails in expected.items():
        line = next((w for w in warnings if f"misconception '{mid}': model `{model}`" in w), None)
        assert line is not None, (mid, model, proc.stderr)
        assert "exercise 'dot-product'" in line and "only in hidden checks" in line
        assert all(f"'{name}'" in line for name in fails), line


def test_validate_reports_a_broken_template_that_only_hidden_checks_would_show(tmp_path: Path) -> None:
    """Students never see this template (only hidden checks show its misconception); it is still proved."""
    path = _course(tmp_path, LENGTH_CHECKS_HIDDEN, {"no-length-check": "For {{ call.text }} you returned {{ no_such_value }}."})
    proc = grade("validate", str(path))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "misconceptions[10].feedback: feedback template error: UndefinedError: 'no_such_value' is undefined" in proc.stdout
    assert "misconception 'no-length-check'" in proc.stderr  # and the warning


def test_a_hidden_call_s_outcome_keeps_nothing_the_student_chose():
    raised = Raised("Smuggled_1.5_2", ("Smuggled_1.5_2", "ValueError", "Exception", "BaseException", "object"),
                    "a = [1.5, 2]", "similarity.py:9 in f_1.5")
    assert hidden_safe(raised) == Raised("ValueError", ("Exception", "BaseException"), "", "")
    assert hidden_safe(Raised("Mine", ("Mine", "object"), "x", "")).type == "Exception"
    status = Crashed("the process exited with status 37 in the middle of a call (os._exit or a crash)")
    assert "37" not in hidden_safe(status).reason
    fixed = Crashed("the process crashed with a segmentation fault (signal 11)")
    assert hidden_safe(fixed) == fixed
