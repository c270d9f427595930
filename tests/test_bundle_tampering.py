"""An edited or damaged bundle: `grade check` and `grade quiz` in it give a result, or one line
naming the file, the place and what is expected (exit 2); never a traceback, never a hang."""

from __future__ import annotations

import copy
import json
import math
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from grader.course import load_exercises
from grader.errors import GraderError
from grader.feedback import Feedback
from grader.outcome import run_trusted
from grader.quiz import Quiz, render_question
from grader.release import (
    DATA,
    MANIFEST,
    BundleExercise,
    later_text,
    load_bundle,
    release,
)
from grader.templating import BoundedSandbox

from conftest import EXERCISES, ROOT, grade

DEEP = "__deep__"  # written to the file as 100,000 nested lists (json.dumps cannot write them)
LOOP = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
HOSTILE: list[Any] = [
    None, "", "x", True, -1, -1e308, 1e308, math.nan, 10**30, 0.5, [], {}, [1], {"a": 1}, ["x", 2],
    {"normal": 5}, {"zeros": {"shape": [100000, 100000]}}, {"integers": {"shape": [3], "low": 5, "high": 1}},
    {"$array": [1, 2], "dtype": "O", "shape": [2]}, {"$array": [0.0], "dtype": "<f8", "shape": [2000000]},
    {"$float": "abc"}, "{% for %}", "{{ nope.x }}", LOOP, "../../etc/passwd", DEEP,
]
BOUNDED_FEEDBACK = isinstance(Feedback().misconception_env, BoundedSandbox)


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped course as a bundle, a correct similarity.py in it."""
    out = tmp_path_factory.mktemp("tamper") / "bundle"
    release(load_exercises(EXERCISES), out)
    (out / "similarity.py").write_text((ROOT / "solutions" / "dot_product.py").read_text())
    return out


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON document, as the keys and indexes that lead to it (capped per list)."""
    found = [path]
    if isinstance(value, dict):
        for k, v in value.items():
            found += _paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value[:3]):
            found += _paths(v, (*path, i))
    return found


def _mutate(document: Any, path: tuple[Any, ...], action: str, new: Any) -> Any:
    """`document` with the value at `path` dropped or replaced by `new`."""
    if not path:
        return new
    document = copy.deepcopy(document)
    parent = document
    for step in path[:-1]:
        parent = parent[step]
    if action == "drop":
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    return document


def _write(path: Path, document: Any) -> None:
    text = json.dumps(document)
    path.write_text(text.replace(json.dumps(DEEP), "[" * 100_000 + "]" * 100_000))


def _tampered(released: Path, target: Path, data: st.DataObject) -> tuple[str, Path]:
    """Copy the bundle's data to `target` and change one place of one file; return its id."""
    shutil.copytree(released / DATA, target / DATA)
    shutil.copyfile(released / MANIFEST, target / MANIFEST)
    shutil.copyfile(released / "similarity.py", target / "similarity.py")
    name = data.draw(st.sampled_from([MANIFEST, f"{DATA}/dot-product.json", f"{DATA}/similarity-quiz.json",
                                      f"{DATA}/softmax.json"]), label="file")
    document = json.loads((target / name).read_text())
    path = data.draw(st.sampled_from(_paths(document)), label="place")
    action = data.draw(st.sampled_from(["drop", "set"]) if path else st.just("set"), label="action")
    new = data.draw(st.sampled_from(HOSTILE), label="value")
    _write(target / name, _mutate(document, path, action, new))
    ex_id = "dot-product" if name == MANIFEST else Path(name).stem
    return ex_id, target / name


def _one_line_naming(message: str, file: Path) -> None:
    assert message.count("\n") <= 1 and "Traceback" not in message, message
    assert str(file) in message or file.name in message, message


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_a_tampered_bundle_loads_as_checked_data_or_is_one_line(released: Path, data: st.DataObject) -> None:
    """In-process: every loaded bundle can build its cases, look up its outcomes, count what runs
    later and show its questions; every refused one says where in one line."""
    with tempfile.TemporaryDirectory() as tmp:
        ex_id, file = _tampered(released, Path(tmp), data)
        try:
            bundle = load_bundle(Path(tmp), (ex_id,))
        except GraderError as e:
            _one_line_naming(str(e), file)
            return
        later_text(bundle)
        env = BoundedSandbox()
        for ex in bundle.exercises:
            if isinstance(ex, Quiz):
                values = ex.draw("alice")
                for q in ex.questions:
                    try:  # `grade quiz` shows a template error as one line naming the file
                        render_question(ex, q, values, env)
                    except jinja2.TemplateError:
                        pass
                continue
            assert isinstance(ex, BundleExercise)
            sol = ex.solution()
            for case in ex.cases:
                args, kwargs = case.build_arguments()
                for f in (sol.reference, *sol.models.values()):
                    run_trusted(f, tuple(args), kwargs)


def _check(folder: Path, *args: str) -> Any:
    return grade("check", *args, "--format", "json", "similarity.py", cwd=folder, timeout=120)


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_grade_check_in_a_tampered_bundle_gives_a_result_or_one_line(released: Path, data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ex_id, file = _tampered(released, Path(tmp), data)
        proc = _check(Path(tmp), "-e", ex_id)  # a hang fails here: the subprocess times out
        if proc.returncode == 2:
            _one_line_naming(proc.stderr.strip(), file)
        else:
            assert proc.returncode in (0, 1) and "Traceback" not in proc.stderr, proc.stderr
            assert json.loads(proc.stdout)["submissions"], proc.stdout


EDITS: dict[str, tuple[str, Callable[[dict[str, Any]], Any], str]] = {
    # name: (file, edit, where the one line says the problem is)
    "exercises-null": (MANIFEST, lambda m: m.update(exercises=None), "exercises: expected a non-empty list"),
    "exercises-int": (MANIFEST, lambda m: m.update(exercises=[123]), "exercises[0]: expected an exercise id"),
    "exercises-mapping": (MANIFEST, lambda m: m.update(exercises=[{}]), "exercises[0]: expected an exercise id"),
    "exercises-deep": (MANIFEST, lambda m: m.update(exercises=DEEP), "nested more than 64 deep"),
    "args-normal-int": ("dot-product", lambda d: d["cases"][0].update(args=[{"normal": 5}, [1, 2]]),
                        "cases[0].args[0].normal: expected a mapping"),
    "kwargs-list": ("dot-product", lambda d: d["cases"][0].update(kwargs=[1]), "cases[0].kwargs: expected a mapping"),
    "zeros-huge": ("dot-product", lambda d: d["cases"][0].update(args=[{"zeros": {"shape": [100000, 100000]}}, [1]]),
                   "cases[0].args[0].zeros.shape: expected a list of non-negative integers with at most 1,000,000"),
    "points-str": ("dot-product", lambda d: d["cases"][0].update(points="x"), "cases[0].points: expected a finite number"),
    "points-negative": ("dot-product", lambda d: d["cases"][0].update(points=-5), "cases[0].points: expected a number >= 0"),
    "mutation-points-nan": ("dot-product", lambda d: d.update(mutation_points=math.nan),
                            "mutation_points: expected a finite number"),
    "hidden-checks-str": ("dot-product", lambda d: d["hidden"].update(checks="many"),
                          "hidden.checks: expected a non-negative whole number"),
    "function-name-int": ("dot-product", lambda d: d["function"].update(name=5), "function.name: expected a non-empty string"),
    "feedback-syntax": ("dot-product", lambda d: d["misconceptions"][0].update(feedback="{% for %}"),
                        "misconceptions[0].feedback: expected a Jinja2 template"),
    "expected-object-dtype": ("dot-product", lambda d: d["expected"].__setitem__(
        0, {"returned": {"$array": [1, 2], "dtype": "O", "shape": [2]}}), "expected[0].returned.dtype: expected a numeric dtype"),
    "draws-list": ("similarity-quiz", lambda d: d.update(draws=[1, 2]), "draws: expected a mapping"),
    "draws-low-high": ("similarity-quiz", lambda d: d["draws"].update(a={"integers": {"shape": [3], "low": 5, "high": 1}}),
                       "draws.a.integers: expected low < high"),
    "draws-huge": ("similarity-quiz", lambda d: d["draws"].update(a={"integers": {"shape": [100000, 100000]}}),
                   "draws.a.integers.shape: expected a list"),
    "draw-dropped": ("similarity-quiz", lambda d: d["draws"].pop("b"),
                     "questions[0].text: 'b' is not a value under `draw:`"),
    "question-syntax": ("similarity-quiz", lambda d: d["questions"][0].update(text="{% if %}"),
                        "questions[0].text: expected a Jinja2 template"),
    "quiz-points-str": ("similarity-quiz", lambda d: d.update(points="x"), "points: expected a finite number"),
}


@pytest.mark.parametrize("name", sorted(EDITS))
def test_each_reported_edit_is_one_line_naming_file_and_place(released: Path, tmp_path: Path, name: str) -> None:
    file, edit, expected = EDITS[name]
    shutil.copytree(released / DATA, tmp_path / DATA)
    shutil.copyfile(released / MANIFEST, tmp_path / MANIFEST)
    path = tmp_path / (MANIFEST if file == MANIFEST else f"{DATA}/{file}.json")
    document = json.loads(path.read_text())
    edit(document)
    _write(path, document)
    with pytest.raises(GraderError) as e:
        load_bundle(tmp_path, () if file == MANIFEST else (file,))
    _one_line_naming(str(e.value), path)
    assert expected in str(e.value)


def test_the_reported_edits_through_grade_check_and_grade_quiz(released: Path, tmp_path: Path) -> None:
    """Exit 2 and one line from the real commands (the rest of the list is proved in-process)."""
    shutil.copytree(released, tmp_path / "b")
    folder = tmp_path / "b"
    manifest = json.loads((folder / MANIFEST).read_text())
    _write(folder / MANIFEST, {**manifest, "exercises": None})
    proc = _check(folder)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith(f"grade: error: {folder / MANIFEST}: exercises: expected a non-empty list")
    _write(folder / MANIFEST, manifest)
    quiz = json.loads((folder / DATA / "similarity-quiz.json").read_text())
    quiz["questions"][0]["text"] = "{{ zz.yy }}"
    _write(folder / DATA / "similarity-quiz.json", quiz)
    proc = grade("quiz", "similarity-quiz", "--student", "alice", cwd=folder, timeout=120)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "similarity-quiz.json: questions[0].text: 'zz' is not a value under `draw:`" in proc.stderr


@pytest.mark.xfail(not BOUNDED_FEEDBACK, run=False,
                   reason="grader/feedback.py builds its exercise sandboxes from SandboxedEnvironment, not BoundedSandbox")
def test_a_feedback_template_that_loops_for_ever_stops(released: Path, tmp_path: Path) -> None:
    shutil.copytree(released, tmp_path / "b")
    folder = tmp_path / "b"
    data = json.loads((folder / DATA / "dot-product.json").read_text())
    for m in data["misconceptions"]:
        m["feedback"] = LOOP
    _write(folder / DATA / "dot-product.json", data)
    (folder / "similarity.py").write_text("def dot(a, b):\n    return [x * y for x, y in zip(a, b)]\n")
    proc = _check(folder, "-e", "dot-product")  # a hang fails here: the subprocess times out
    assert proc.returncode == 1, proc.stderr
    explained = [m["explanation"] for e in json.loads(proc.stdout)["submissions"][0]["exercises"]
                 for m in e["misconceptions"]]
    assert explained and all("loop steps" in text for text in explained), explained


@example("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}")
@example("{% for i in 'x' * 1000 %}{% for j in 'x' * 1000 %}{% for k in 'x' * 1000 %}{% endfor %}{% endfor %}{% endfor %}")
@example("{{ 'x' * 100000000 }}")
@example("{{ 'x'.ljust(10 ** 9) }}")
@example("{{ 'x'|center(10 ** 9) }}")
@example("{{ ('a' * 1000)|replace('a', 'a' * 1000)|replace('a', 'a' * 1000) }}")
@example("{{ '{:>999999999}'.format(1) }}")
@example("{{ 10 ** 10 ** 10 }}")
@example("{{ range(10 ** 7)|list }}")
@example("{% macro m(n) %}{% for i in range(1000) %}{{ m(n - 1) if n else '' }}{% endfor %}{% endmacro %}{{ m(5) }}")
@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["{% for i in range(1000) %}", "{% endfor %}", "{{ 'ab' * 1000 }}", "{{ s }}",
                                 "{% for c in s %}", "{{ s|replace('a', s) }}", "{{ s * 1000 }}", "{{ 9 ** 99 }}"]),
                max_size=12).map("".join))
def test_a_bounded_template_ends_with_its_text_or_a_template_error(source: str) -> None:
    """Whatever a template asks, a render either returns or raises a jinja2.TemplateError, never
    anything else (an OverflowError, a MemoryError) and without running long: the loops are
    counted, and sizes are refused before they are made."""
    env = BoundedSandbox()
    try:
        template = env.from_string(source)
    except jinja2.TemplateSyntaxError:
        return
    try:
        text = template.render(s="a" * 1000)
    except jinja2.TemplateError:
        return
    assert len(text) <= 10_000_000
