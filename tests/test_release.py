"""Student bundles (`grade release`), the self-check inside one, `grade new` and `check --watch`."""

from __future__ import annotations

import json
import math
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from grader.bundle_data import Recorded, ReleaseError, call_key, decode, encode, encode_outcome
from grader.compare import fmt
from grader.course import load_exercises
from grader.errors import GraderError
from grader.exercise import Exercise
from grader.markdown import markdown_html
from grader.outcome import run_trusted
from grader.quiz import Quiz
from grader.release import DATA, MANIFEST, find_bundle, load_bundle, release
from grader.scaffold import scaffold

from conftest import EXERCISES, ROOT, grade

COURSE = load_exercises(EXERCISES)
CODE = [ex for ex in COURSE if isinstance(ex, Exercise)]
QUIZZES = [ex for ex in COURSE if isinstance(ex, Quiz)]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped course, released by the real command."""
    out = tmp_path_factory.mktemp("release") / "course"
    proc = grade("release", str(EXERCISES), "-o", str(out), "--title", "Similarity", "--install", "/srv/grader")
    assert proc.returncode == 0, proc.stderr
    return out


def _references_as_one_file() -> str:
    """A student's similarity.py made of the course's reference modules, each in its own namespace
    (their helpers share names)."""
    lines = ["def _module(source):", "    namespace = {'__name__': 'reference'}", "    exec(source, namespace)",
             "    return namespace", ""]
    for ex in CODE:
        lines.append(f"{ex.function.name} = _module({json.dumps(ex.solution_path.read_text())})"
                     f"[{ex.function.name!r}]")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- what a bundle holds


def _tokens(value: Any) -> set[str]:
    """How a value can show in a file: its numbers with 4+ significant digits (full and as feedback
    formats them), its JSON, its feedback form."""
    out: set[str] = set()
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        for v in value:
            out |= _tokens(v)
        whole = {fmt(value)}
        try:
            whole.add(json.dumps(value))
        except (TypeError, ValueError):
            pass
        return out | {t for t in whole if len(re.sub(r"[^0-9]", "", t)) >= 6}  # not a short [4] or [1, 2]
    if isinstance(value, (float, np.floating)) and math.isfinite(value):
        out |= {t for t in (repr(float(value)), fmt(value)) if len(re.sub(r"[^0-9]", "", t).strip("0")) >= 4}
    return {t for t in out if len(t) >= 5}


def _case_tokens(ex: Exercise, visible: bool) -> set[str]:
    sol = ex.solution()
    found: set[str] = set()
    for case in ex.cases:
        if (case.visibility == "visible") != visible:
            continue
        args, kwargs = case.build_arguments()
        for a in [*args, *kwargs.values()]:
            found |= _tokens(a)
        functions = [sol.reference] + ([sol.models[n] for m in ex.misconceptions for n in m.models] if visible else [])
        for f in functions:
            outcome = run_trusted(f, tuple(args), kwargs)
            found |= _tokens(getattr(outcome, "value", None))
    return found


def _text_lines(text: str) -> set[str]:
    return {line.strip() for line in text.splitlines() if len(line.strip()) >= 20}


def _public_text() -> str:
    """What students are shown anyway: titles, prompts, public case names, quiz questions and choices."""
    parts = []
    for ex in COURSE:
        parts += [ex.title, ex.prompt]
        if isinstance(ex, Exercise):
            parts += [c.name for c in ex.cases if c.visibility == "visible"] + [f"def {ex.function.signature}:"]
        else:
            parts += [q.text for q in ex.questions] + [c.text for q in ex.questions for c in q.choices]
    return "\n".join(parts)


def _secrets() -> dict[str, str]:
    """Everything that must never reach a bundle, each with a label saying what it is."""
    public = _public_text()
    allowed = set().union(*(_case_tokens(ex, visible=True) for ex in CODE))
    secrets: dict[str, str] = {}
    for ex in CODE:
        for token in _case_tokens(ex, visible=False) - allowed:
            if token not in public:
                secrets[token] = f"{ex.id}: a hidden case's value"
        for case in ex.cases:
            if case.visibility == "hidden" and len(case.name) >= 12 and case.name not in public \
                    and not any(case.name in c.name for c in ex.cases if c.visibility == "visible"):
                secrets[case.name] = f"{ex.id}: a hidden case's name"
        sources = [ex.solution_path] + ([ex.checks_path] if ex.checks_path else [])
        for path in sources:
            for line in _text_lines(path.read_text()) - _text_lines(public):
                secrets[line] = f"source of {path.name}"
    for quiz in QUIZZES:
        for q in quiz.questions:
            hidden_text = [q.explanation] + [c.explanation for c in q.choices]
            for line in set().union(*(_text_lines(t) for t in hidden_text)) - _text_lines(public):
                secrets[line] = f"{quiz.id}: an explanation of question {q.id}"
    return secrets


SECRETS = _secrets()


def _found(token: str, text: str) -> bool:
    """The token stands in the text as itself: a number not inside a longer number."""
    start = text.find(token)
    while start >= 0:
        before = text[start - 1:start]
        after = text[start + len(token):start + len(token) + 1]
        if not (before.isdigit() or before == "." and token[:1].isdigit()
                or after.isdigit() or after == "." and token[-1:].isdigit()
                or before == "-" and token[:1].isdigit()):
            return True
        start = text.find(token, start + 1)
    return False


def _leaks(text: str) -> list[str]:
    return [f"{label}: {token!r}" for token, label in SECRETS.items() if _found(token, text)]


def test_the_leak_search_finds_what_it_looks_for() -> None:
    """The search is not empty, and it finds hidden data where the course keeps it."""
    kinds = {label.split(": ")[-1] if ": " in label else label.split(" of ")[0] for label in SECRETS.values()}
    assert {"a hidden case's value", "source"} <= kinds | {"source"}, kinds
    assert sum("hidden case's value" in label for label in SECRETS.values()) > 50
    assert sum(label.startswith("source") for label in SECRETS.values()) > 100
    course_text = "\n".join(p.read_text() for p in (ROOT / "solutions").glob("*.py"))
    course_text += "\n".join(json.dumps(ex.solution().reference(*ex.cases[-1].build_arguments()[0]), default=str)
                             for ex in CODE if ex.cases[-1].visibility == "hidden" and not ex.cases[-1].raises
                             and not ex.cases[-1].kwargs)
    assert len(_leaks(course_text)) > 100


def test_no_hidden_data_reference_or_model_in_the_bundle(bundle: Path) -> None:
    files = [p for p in bundle.rglob("*") if p.is_file()]
    assert {p.relative_to(bundle).as_posix() for p in files} >= {
        MANIFEST, "README.md", "similarity.py", "answers.yaml", f"{DATA}/dot-product.json",
        "prompts/dot-product.md", "prompts/dot-product.html", "prompts/similarity-quiz.html"}
    leaks = [f"{p.relative_to(bundle)}: {leak}" for p in files for leak in _leaks(p.read_text(encoding="utf-8"))]
    assert not leaks, "\n".join(leaks[:20])
    assert not [p for p in files if p.suffix == ".py" and p.name != "similarity.py"]


def test_the_bundle_counts_the_hidden_checks_and_their_points(bundle: Path) -> None:
    data = json.loads((bundle / DATA / "cosine-similarity.json").read_text())
    ex = next(e for e in CODE if e.id == "cosine-similarity")
    hidden_cases = [c for c in ex.cases if c.visibility == "hidden"]
    # the custom check module's test functions, public or not, run at grading time
    custom = len(re.findall(r"^def test", ex.checks_path.read_text(), re.M))
    assert data["hidden"]["checks"] == len(hidden_cases) + custom
    public_points = sum(c.points for c in ex.cases if c.visibility == "visible") + ex.mutation_points
    assert public_points + data["hidden"]["points"] == ex.points
    assert [c["name"] for c in data["cases"]] == [c.name for c in ex.cases if c.visibility == "visible"]


def test_the_readme_says_how_to_install_and_check(bundle: Path) -> None:
    readme = (bundle / "README.md").read_text()
    assert readme.startswith("# Similarity\n")
    assert "    pip install /srv/grader\n" in readme and "    grade check --watch similarity.py" in readme
    for ex in COURSE:
        assert f"(prompts/{ex.id}.md)" in readme


def test_quiz_questions_travel_without_answers(bundle: Path) -> None:
    data = json.loads((bundle / DATA / "similarity-quiz.json").read_text())
    for q in data["questions"]:
        assert set(q) == {"id", "type", "text", "points", "choices"}
        assert all(set(c) == {"id", "text"} for c in q["choices"])
    answers = yaml.safe_load((bundle / "answers.yaml").read_text())
    assert list(answers["similarity-quiz"]) == [q.id for q in QUIZZES[0].questions]


def test_the_starter_has_every_function_and_no_body(bundle: Path) -> None:
    namespace: dict[str, Any] = {}
    exec((bundle / "similarity.py").read_text(), namespace)
    for ex in CODE:
        with pytest.raises(NotImplementedError):
            namespace[ex.function.name](*ex.cases[0].build_arguments()[0])
        assert ex.title in namespace[ex.function.name].__doc__


# --------------------------------------------------------------------------- the self-check


def test_round_trip_public_checks_pass_then_full_marks(bundle: Path, tmp_path: Path) -> None:
    student = bundle / "similarity.py"
    original = student.read_text()
    student.write_text(_references_as_one_file())
    try:
        proc = grade("check", "similarity.py", cwd=bundle)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        public = sum(sum(c.points for c in ex.cases if c.visibility == "visible") + ex.mutation_points for ex in CODE)
        assert f"Score: {public:g} / {public:g}" in proc.stdout.replace(".0 ", " ")
        later = sum(json.loads((bundle / DATA / f"{ex.id}.json").read_text())["hidden"]["checks"] for ex in CODE)
        assert f"{later} hidden checks worth" in proc.stdout and "run at grading time" in proc.stdout
        teacher = grade("check", str(student), "--exercises", str(EXERCISES), "--format", "json",
                        *[a for ex in CODE for a in ("-e", ex.id)])
        graded = json.loads(teacher.stdout)["submissions"][0]
        assert teacher.returncode == 0, teacher.stdout
        assert graded["score"] == graded["max_score"] == sum(ex.points for ex in CODE)
    finally:
        student.write_text(original)


def test_the_self_check_names_misconceptions_and_quotes_no_hidden_data(bundle: Path) -> None:
    """The starter with one function written the forum's way: its misconception named on public
    cases, the others' NotImplementedError, what runs later, and nothing hidden quoted."""
    student = bundle / "elementwise.py"
    student.write_text((bundle / "similarity.py").read_text()
                       + "\n\ndef dot(a, b):\n    return np.asarray(a, float) * np.asarray(b, float)\n")
    try:
        proc = grade("check", str(student), cwd=ROOT)  # the bundle is found from the file's folder
    finally:
        student.unlink()
    assert proc.returncode == 1
    assert "(`elementwise-product`)" in proc.stdout and "you returned [0.08, 9.0]" in proc.stdout
    assert "raised NotImplementedError" in proc.stdout
    quiz = QUIZZES[0]
    assert f"Quiz {quiz.id} ({len(quiz.questions)} questions, {quiz.points:g} points)" in proc.stdout
    assert not _leaks(proc.stdout)


def test_a_damaged_bundle_is_one_line_naming_the_file(bundle: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    copy.mkdir()
    for p in bundle.rglob("*"):
        if p.is_file():
            (copy / p.relative_to(bundle)).parent.mkdir(parents=True, exist_ok=True)
            (copy / p.relative_to(bundle)).write_bytes(p.read_bytes())
    data = json.loads((copy / DATA / "dot-product.json").read_text())
    data["expected"] = data["expected"][:-1]  # one outcome fewer than cases
    (copy / DATA / "dot-product.json").write_text(json.dumps(data))
    outside = tmp_path / "mine.py"  # a file outside the bundle: checked with the current folder's
    outside.write_text("def dot(a, b):\n    return 0.0\n")
    proc = grade("check", str(outside), cwd=copy)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1
    assert f"dot-product.json: expected: expected a list of {len(data['cases'])} outcomes" in proc.stderr


def test_bundle_found_from_a_folder_inside_it(bundle: Path) -> None:
    assert find_bundle(bundle / "prompts" / "dot-product.md") == bundle
    assert find_bundle(bundle / "prompts") == bundle
    assert find_bundle(ROOT / "grader") is None
    with pytest.raises(ReleaseError, match="unknown exercise id 'nope'"):
        load_bundle(bundle, ("nope",))


def test_drawn_public_arguments_travel_as_the_numbers_drawn(tmp_path: Path) -> None:
    """A public case's generated arguments reach the bundle as arrays, not as a seed a student's
    numpy might draw differently; its recorded outcome is found for them."""
    scaffold("manhattan", tmp_path / "course")
    yaml_path = tmp_path / "course" / "exercises" / "manhattan.yaml"
    text = yaml_path.read_text().replace("    seed: 1 ", "    visibility: visible\n    seed: 1 ")
    yaml_path.write_text(text)
    solution = tmp_path / "course" / "solutions" / "manhattan.py"
    solution.write_text(solution.read_text().replace(
        'raise NotImplementedError("write the reference of manhattan here")', "return float(np.sum(np.abs(np.subtract(a, b))))"))
    ex = load_exercises(yaml_path.parent)[0]
    assert isinstance(ex, Exercise)
    release([ex], tmp_path / "bundle")
    data = json.loads((tmp_path / "bundle" / DATA / "manhattan.json").read_text())
    drawn = next(c for c in data["cases"] if c["name"] == "random vectors of length 5")
    original = next(c for c in ex.cases if c.name == "random vectors of length 5").build_arguments()[0]
    assert [a["array"]["values"] for a in drawn["args"]] == [a.tolist() for a in original]
    rebuilt = next(c for c in load_bundle(tmp_path / "bundle").graded()[0].cases if c.name == drawn["name"])
    assert call_key(*rebuilt.build_arguments()) == call_key(original, {})


def test_release_refuses_course_files_and_a_folder_in_use(tmp_path: Path) -> None:
    with pytest.raises(ReleaseError, match="a file of the course itself"):
        release(CODE[:1], tmp_path / "a", [CODE[0].solution_path])
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "notes.txt").write_text("mine")
    with pytest.raises(ReleaseError, match="must be new or empty"):
        release(CODE[:1], tmp_path / "b")
    extra = tmp_path / "data.csv"
    extra.write_text("1,2\n")
    assert "data.csv" in release(CODE[:1], tmp_path / "c", [extra])
    assert (tmp_path / "c" / "data.csv").read_text() == "1,2\n"


# --------------------------------------------------------------------------- values as data


values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=5)
    | hnp.arrays(st.sampled_from(["float64", "float32", "int64", "int8", "uint8", "bool", "complex128"]),
                 hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3))
    | hnp.from_dtype(np.dtype("float32")).map(np.float32) | st.integers(-100, 100).map(np.int16),
    lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner)
    | st.dictionaries(st.text(max_size=3), inner, max_size=2),
    max_leaves=8)


def _same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, (np.ndarray, np.generic)):
        if a.dtype != b.dtype or np.shape(a) != np.shape(b):
            return False
        if a.dtype.kind not in "fc":
            return a.tobytes() == b.tobytes()
        # bits where there is a number (0.0 and -0.0 differ); nan where there was nan (its payload is not kept)
        nan = np.isnan(a)
        return bool(np.array_equal(nan, np.isnan(b))) and np.asarray(a)[~nan].tobytes() == np.asarray(b)[~nan].tobytes()
    if isinstance(a, float):
        return math.copysign(1, a) == math.copysign(1, b) and a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)


@settings(max_examples=150, deadline=None)
@given(values)
def test_a_value_survives_the_bundle_exactly(value: Any) -> None:
    """Types, dtypes, shapes and bits: what the self-check compares is what the reference returned."""
    back = decode(json.loads(json.dumps(encode(value))))
    assert _same(value, back)
    assert call_key([back], {}) == call_key([value], {})  # a call with it finds its recorded outcome


def test_a_recorded_function_raises_what_the_model_raised() -> None:
    class Custom(ZeroDivisionError):
        pass

    def model(a: Any) -> Any:
        raise Custom("no length")

    args = ([1.0, 2.0],)
    original = run_trusted(model, args, {})
    table = Recorded({call_key(list(args), {}): json.loads(json.dumps(encode_outcome(original, "x")))})
    replayed = run_trusted(table, args, {})
    assert replayed == original and replayed.is_a("ArithmeticError")
    assert run_trusted(table, ([3.0],), {}).type == "NotInBundle"


# --------------------------------------------------------------------------- prompts as HTML

_OUR_TAGS = re.compile(r"</?(p|ul|li|pre|code|strong|em|h[2-7])>")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab <>&\"'`*-#\n ")), max_size=60))
def test_prompt_markup_is_never_html_of_its_own(text: str) -> None:
    html = str(markdown_html(text))
    assert "<" not in _OUR_TAGS.sub("", html) and ">" not in _OUR_TAGS.sub("", html)


def test_prompt_markdown_subset() -> None:
    html = str(markdown_html("Write `dot(a, b)`: **one** *number*.\n\n    a·b = 9.08\n\n- lists\n  go on\n- arrays <b>"))
    assert html == ("<p>Write <code>dot(a, b)</code>: <strong>one</strong> <em>number</em>.</p>\n"
                    "<pre><code>a·b = 9.08</code></pre>\n"
                    "<ul><li><p>lists go on</p></li><li><p>arrays &lt;b&gt;</p></li></ul>")


# --------------------------------------------------------------------------- grade new


def test_grade_new_validates_once_the_reference_is_written(tmp_path: Path) -> None:
    made = grade("new", "manhattan-distance", "--course", str(tmp_path))
    assert made.returncode == 0, made.stderr
    solution = tmp_path / "solutions" / "manhattan_distance.py"
    source = solution.read_text()
    stub = 'raise NotImplementedError("write the reference of manhattan-distance here")'
    assert stub in source
    solution.write_text(source.replace(stub, "return float(np.sum(np.abs(np.subtract(a, b, dtype=float))))"))
    proc = grade("validate", str(tmp_path / "exercises"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with pytest.raises(GraderError, match="already exists"):
        scaffold("manhattan-distance", tmp_path)


def test_grade_new_takes_the_signature(tmp_path: Path) -> None:
    scaffold("norm", tmp_path, "norm(x, ord=2)")
    data = yaml.safe_load((tmp_path / "exercises" / "norm.yaml").read_text())
    assert data["function"]["signature"] == "norm(x, ord=2)" and data["cases"][0]["args"] == [[0.2, 3]]
    namespace: dict[str, Any] = {}
    exec((tmp_path / "solutions" / "norm.py").read_text(), namespace)
    with pytest.raises(NotImplementedError):
        namespace["norm"]([1.0])
    for bad in ("other(*args)", "other(x=1)", "other(x", "other(x, *, y)"):
        with pytest.raises(GraderError, match="--signature"):
            scaffold("other", tmp_path, bad)


# --------------------------------------------------------------------------- --watch


def _read_until(lines: queue.Queue[str], pattern: str, seen: list[str], limit: float = 60) -> str:
    """Lines of the watcher's output until one matches (bounded by `limit` seconds)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        seen.append(line)
        if re.search(pattern, line):
            return line
    raise AssertionError(f"no line matching {pattern!r} in:\n{''.join(seen)}")


def test_watch_checks_again_on_every_save(bundle: Path) -> None:
    ex = next(e for e in CODE if e.id == "dot-product")
    most = sum(c.points for c in ex.cases if c.visibility == "visible") + ex.mutation_points
    student = bundle / "watched.py"
    student.write_text("def dot(a, b):\n    return 0.0\n")  # passes only the mutation check
    env = {**os.environ, "GRADER_NO_DB": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "grader", "check", "--watch", "watched.py", "-e", "dot-product"],
                            cwd=bundle, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    seen: list[str] = []
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout or ()], daemon=True)
    reader.start()
    try:
        _read_until(lines, r"^--- checked at", seen)
        assert _read_until(lines, r"^Score:", seen).startswith(f"Score: {ex.mutation_points} / {most}")
        student.write_text("import numpy as np\n\n\ndef dot(a, b):\n    a, b = np.asarray(a, float), np.asarray(b, float)\n"
                           "    if a.shape != b.shape:\n        raise ValueError('lengths differ')\n    return float(a @ b)\n")
        _read_until(lines, r"^--- checked at", seen)
        assert _read_until(lines, r"^Score:", seen).startswith(f"Score: {most} / {most}")
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the watcher stops quietly
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        reader.join(timeout=10)
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
        student.unlink()


def test_watch_refuses_other_formats(bundle: Path) -> None:
    proc = grade("check", "--watch", "similarity.py", "--format", "json", cwd=bundle)
    assert proc.returncode == 2 and "--watch" in proc.stderr


def test_check_outside_a_bundle_is_unchanged() -> None:
    with pytest.raises(GraderError):
        load_bundle(ROOT)


def test_the_built_in_course_is_named_when_it_is_the_one_graded(bundle: Path, tmp_path: Path) -> None:
    mine = tmp_path / "similarity.py"
    mine.write_text("def dot(a, b):\n    return sum(x * y for x, y in zip(a, b))\n")
    outside = grade("check", "-e", "dot-product", str(mine), cwd=tmp_path)
    assert outside.returncode in (0, 1), outside.stderr
    assert outside.stderr.splitlines() == [
        "grade: grading against the built-in demonstration course (its hidden checks ship with the package); "
        "in a bundle from your teacher, run grade check there"]
    quiz = grade("quiz", "similarity-quiz", cwd=tmp_path)
    assert quiz.returncode == 0 and "built-in demonstration course" in quiz.stderr
    inside = grade("check", "-e", "dot-product", "similarity.py", cwd=bundle)
    assert inside.returncode in (0, 1) and "built-in" not in inside.stderr, inside.stderr
