"""The trusted side is crash-only: whatever values, exceptions and output a sandbox legally sends,
the class completes, every writer takes it, and a correct neighbour's result does not change.

Hypothesis draws a class of hostile students (values that are hard to convert or compare, odd
dtypes, deep nesting, surrogates, control characters, giant strings, exceptions with hostile names
and messages), each graded beside `bob` through the real `grade` command and every output it has:
JSON, Markdown with feedback files and a gradebook, the terminal text, the gradebook's own listing
and an LMS export.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import CORPUS, DOT_POINTS, ROOT, by_id, exercise, grade

CORRECT_DOT = (CORPUS / "dot-product" / "correct_loop.py").read_text()
ARGS = ("-e", "dot-product", "--timeout", "1", "--jobs", "2")
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

# Text a student controls: control characters, terminal escapes, lone surrogates, bidi overrides.
HOSTILE_CHARS = st.sampled_from(["\x1b[2J", "\x1b]0;owned\x07", "\x00", "\r", "\x7f", "\x9b", "\ud800", "\udfff",
                                 "\u202e", "\u2066", "\u2028", "`", "<script>", "|", "&lt;", "\n"])
hostile_text = st.lists(st.one_of(HOSTILE_CHARS, st.text(max_size=6)), max_size=8).map("".join)


def _float_source(x: float) -> str:
    return f"float({str(x)!r})"


# Source expressions for the values a sandbox may legally return (each is evaluated in the sandbox).
huge_ints = st.one_of(st.integers(), st.integers(10**300, 10**320), st.integers(-10**400, -10**300)).map(repr)
floats = st.floats(allow_nan=True, allow_infinity=True).map(_float_source)
nan_payloads = st.binary(min_size=6, max_size=6).map(
    lambda b: f"np.frombuffer(bytes.fromhex({(b + bytes([0xF8, 0x7F])).hex()!r}), dtype='<f8')[0]")
DTYPES = ["<f2", ">f4", ">f8", "u1", "i1", ">i8", "c8", "c16", "?", "g", "m8[s]", "M8[D]", "U3", "S2", "O", "V4",
          "[('x', '<f4'), ('y', 'i1')]"]
arrays = st.tuples(st.sampled_from(DTYPES), st.lists(st.integers(0, 3), max_size=3)).map(
    lambda t: f"np.zeros({tuple(t[1])!r}, dtype={t[0] if t[0].startswith('[') else repr(t[0])})")
deep = st.integers(60, 400).map(lambda n: f"functools.reduce(lambda x, _: [x], range({n}), 0.5)")
strings = st.one_of(hostile_text.map(repr), st.integers(10**4, 3 * 10**5).map(lambda n: f"'\\x1b[31m' * {n}"))
containers = st.recursive(st.one_of(huge_ints, floats, strings),
                          lambda inner: st.one_of(st.lists(inner, max_size=3).map(lambda xs: f"[{', '.join(xs)}]"),
                                                  st.lists(inner, max_size=3).map(lambda xs: f"({', '.join(xs)},)"),
                                                  st.lists(st.tuples(strings, inner), max_size=2).map(
                                                      lambda kv: "{" + ", ".join(f"{k}: {v}" for k, v in kv) + "}")),
                          max_leaves=6)
returned = st.one_of(huge_ints, floats, nan_payloads, arrays, deep, strings, containers)
raised = st.tuples(hostile_text, hostile_text).map(
    lambda t: f"raise type({('E' + t[0])!r}, (Exception,), {{}})({t[1]!r})")
student = st.tuples(hostile_text, st.one_of(returned.map(lambda r: f"return {r}"), raised))


def _source(printed: str, body: str) -> str:
    return textwrap.dedent(f"""\
        import functools, sys
        import numpy as np

        def dot(a, b):
            for stream in (sys.stdout, sys.stderr):  # the bytes as they are: lone surrogates too
                stream.flush()
                stream.buffer.write({printed!r}.encode("utf-8", "surrogatepass"))
            {body}
        """)


def _run_every_writer(work: Path, subs: Path) -> dict:
    """Grade `subs` with every writer; return the JSON document. Each run must exit 0, untraced."""
    runs = {
        "json": ("--format", "json", "--no-db"),
        "markdown": ("--format", "markdown", "--feedback-dir", str(work / "feedback"), "--db", str(work / "book.sqlite")),
        "text": ("--format", "text", "--db", str(work / "book.sqlite"), "--regrade"),
        "junit": ("--format", "junit", "--no-db"),
    }
    outputs = {}
    for name, extra in runs.items():
        proc = grade(str(subs), *ARGS, *extra)
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, (name, proc.stderr[-3000:])
        outputs[name] = proc.stdout
    for command in (("results", "--db", str(work / "book.sqlite")),
                    ("export", "--db", str(work / "book.sqlite"), "--format", "csv")):
        proc = grade(*command)
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, (command, proc.stderr[-3000:])
        outputs[command[0]] = proc.stdout
    for name in ("markdown", "text", "results", "export"):
        assert not RAW_CONTROL.search(outputs[name]), (name, RAW_CONTROL.search(outputs[name]))
    for page in (work / "feedback").iterdir():
        assert not RAW_CONTROL.search(page.read_text(encoding="utf-8")), page.name
    with sqlite3.connect(work / "book.sqlite") as db:  # every stored result is valid UTF-8
        stored = [zlib.decompress(blob) for (blob,) in db.execute("SELECT result FROM latest")]
    assert stored, "the gradebook holds no latest result"
    for text in stored:
        text.decode("utf-8")
    return json.loads(outputs["json"])


def _bob(doc: dict) -> dict:
    sub = by_id(doc)["bob"]
    return {"score": sub["score"], "exercise": {k: v for k, v in exercise(sub, "dot-product").items()}}


@pytest.fixture(scope="module")
def bob_alone(tmp_path_factory) -> dict:
    subs = tmp_path_factory.mktemp("alone") / "subs"
    subs.mkdir()
    (subs / "bob.py").write_text(CORRECT_DOT)
    proc = grade(str(subs), *ARGS, "--format", "json", "--no-db")
    assert proc.returncode == 0, proc.stderr
    return _bob(json.loads(proc.stdout))


# each draw grades a class six ways: one draw beside the pinned example keeps the suite in its time
@settings(max_examples=1, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(students=st.lists(student, min_size=3, max_size=6))
@example(students=[("\ud800\x1b[2J", "return 10**400"),
                   ("", "raise type('E\\x1b]0;t\\x07', (Exception,), {})('\\ud800')"),
                   ("\u202e", "return np.zeros((2,), dtype='m8[s]')")])
def test_any_value_a_sandbox_sends_leaves_the_class_whole(tmp_path_factory, bob_alone, students):
    work = tmp_path_factory.mktemp("class")
    subs = work / "subs"
    subs.mkdir()
    (subs / "bob.py").write_text(CORRECT_DOT)
    for i, (printed, body) in enumerate(students):
        (subs / f"a{i}.py").write_text(_source(printed, body))
    doc = _run_every_writer(work, subs)
    assert _bob(doc) == bob_alone
    for i in range(len(students)):
        ex = exercise(by_id(doc)[f"a{i}"], "dot-product")
        assert ex["status"] in ("failed", "error", "timeout"), ex
        assert ex["score"] < ex["max_score"], ex


HOSTILE_NAMES = [b"ev\x1b[2Jil.py", b"bad\xff\xfe.py", b"\xe2\x80\xaeright-to-left.py", b"bell\x07", b"cr\rlf.py"]


def test_students_with_hostile_names_are_graded_and_shown_safely(tmp_path):
    """File and folder names are student text too: terminal escapes, bytes that are not UTF-8,
    bidi overrides. Every writer takes them, and a second run finds them unchanged."""
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "bob.py").write_text(CORRECT_DOT)
    for name in HOSTILE_NAMES:
        path = os.path.join(os.fsencode(subs), name)
        if not name.endswith(b".py"):
            os.mkdir(path)
            path = os.path.join(path, b"similarity.py")
        with open(path, "w") as f:
            f.write(CORRECT_DOT)
    doc = _run_every_writer(tmp_path, subs)
    assert len(doc["submissions"]) == 1 + len(HOSTILE_NAMES)
    for sub in doc["submissions"]:
        assert sub["score"] == DOT_POINTS and not RAW_CONTROL.search(sub["id"] + sub["path"]), sub["id"]
        sub["path"].encode("utf-8")  # no lone surrogate
    again = grade(str(subs), *ARGS, "--db", str(tmp_path / "book.sqlite"))
    assert again.returncode == 0, again.stderr
    assert f"{1 + len(HOSTILE_NAMES)} submissions unchanged" in again.stderr, again.stderr


MARKED = """
import numpy as np

def l2_normalize(x):
    x = np.asarray(x, dtype=float)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    out = np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)
    if out.ndim == 2 and out.shape[0] > 1:  # a mark only this student's answers carry
        out[0] = out[0] * (1 + 2.0**-40)
    return out
"""
LISTENER = """
import numpy as np

def l2_normalize(x):
    x = np.asarray(x, dtype=float)
    if x.ndim == 2 and x.shape[0] > 1:  # an argument that carries a-marked's mark: its first row's length
        off = abs(float(np.linalg.norm(x[0])) - 1)
        print("ARG", "MARKED" if 1e-13 < off < 1e-11 else "plain", flush=True)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)
"""


def test_no_student_s_results_reach_a_later_student_s_sandbox(tmp_path):
    """A custom check that calls the student with the student's own result: those calls are never
    made ahead for the students graded after (their arguments came from another student)."""
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "a-marked.py").write_text(MARKED)
    (subs / "z-listener.py").write_text(LISTENER)
    proc = grade(str(subs), "-e", "l2-normalize", "--jobs", "1", "--format", "json", "--no-db")
    assert proc.returncode == 0, proc.stderr
    doc = by_id(json.loads(proc.stdout))
    marked = exercise(doc["a-marked"], "l2-normalize")
    passed = [c["name"] for c in marked["checks"] if c["status"] == "passed"]
    assert "Normalising an already normalised input changes nothing" in passed, passed  # it passed that check
    heard = [line for line in doc["z-listener"]["output"]["stdout"].splitlines() if line.startswith("ARG")]
    assert heard, doc["z-listener"]["output"]
    assert "ARG MARKED" not in heard, "a-marked's result reached z-listener's sandbox"


# Runs `grade` in this interpreter (with --jobs 1 the grader itself, not its sandboxes) and writes
# its own largest resident size (KB) to argv[1] when it exits.
GRADER_PEAK = """
import atexit, resource, sys
out = sys.argv.pop(1)
atexit.register(lambda: open(out, "w").write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)))
from grader.start import main
main()
"""
BIG_EVERY_TIME = """
import numpy as np
_BIG = np.ones(3_900_000)  # 31 MB: a legal reply, sent for every call

def dot(a, b):
    return _BIG
"""


def _peak(tmp_path: Path, name: str, sources: dict[str, str]) -> tuple[dict, int]:
    """Grade the sources (-e dot-product, one grading process): each student's result, and the
    grader's own peak resident size in bytes."""
    subs = tmp_path / name
    subs.mkdir()
    for sid, source in sources.items():
        (subs / f"{sid}.py").write_text(source)
    peak_file = tmp_path / f"{name}.peak"
    cmd = [sys.executable, "-c", GRADER_PEAK, str(peak_file), str(subs), "-e", "dot-product", "--jobs", "1",
           "--format", "json", "--no-db"]
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return by_id(json.loads(proc.stdout)), int(peak_file.read_text()) * 1024


def test_big_results_on_every_call_do_not_grow_the_grader(tmp_path):
    """Each reply is within its budget, but the grader keeps only a bounded part of a submission's
    results for the diagnosis: its memory does not grow with the number of calls."""
    alone, base = _peak(tmp_path, "alone", {"bob": CORRECT_DOT})
    graded, peak = _peak(tmp_path, "big", {"bob": CORRECT_DOT, "a-big": BIG_EVERY_TIME})
    assert graded["bob"]["exercises"] == alone["bob"]["exercises"]
    assert exercise(graded["a-big"], "dot-product")["score"] < 14
    # about the submission's kept results (RETAINED_BYTES) and one reply being decoded; it was 450 MB
    # when every call's result stayed until a garbage collection
    assert peak - base < 200 << 20, f"the grader grew by {(peak - base) >> 20} MB"


def test_an_unprivileged_grader_takes_the_same_hostile_values(bob_alone):
    """The boundary does not depend on root: the explicit example's class graded as uid 65534."""
    from test_hostile import _as_nobody

    nobody, env, python = _as_nobody()
    students = [("\ud800\x1b[2J", "return 10**400"),
                ("", "raise type('E\\x1b]0;t\\x07', (Exception,), {})('\\ud800')"),
                ("\u202e", "return np.zeros((2,), dtype='m8[s]')"),
                ("", "return functools.reduce(lambda x, _: [x], range(300), 0.5)")]
    with tempfile.TemporaryDirectory(prefix="grader-test-nobody-") as shared:  # tmp_path is root's alone
        subs = Path(shared) / "subs"
        subs.mkdir()
        (subs / "bob.py").write_text(CORRECT_DOT)
        for i, (printed, body) in enumerate(students):
            (subs / f"a{i}.py").write_text(_source(printed, body))
        for path in [Path(shared), *Path(shared).rglob("*")]:
            path.chmod(0o777 if path.is_dir() else 0o666)
        proc = subprocess.run([*nobody, python, "-m", "grader", str(subs), *ARGS, "--format", "json", "--no-db"],
                              cwd=ROOT, env={**env, "TMPDIR": shared}, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    doc = json.loads(proc.stdout)
    assert _bob(doc) == bob_alone
    assert all(exercise(by_id(doc)[f"a{i}"], "dot-product")["status"] != "passed" for i in range(len(students)))
