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
import re
import sqlite3
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import CORPUS, by_id, exercise, grade

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
    with sqlite3.connect(work / "book.sqlite") as db:  # every stored text is valid UTF-8
        db.text_factory = bytes
        for (blob,) in db.execute("SELECT result FROM results" if _has(db, "results") else "SELECT 1"):
            if isinstance(blob, bytes):
                blob.decode("utf-8")
    return json.loads(outputs["json"])


def _has(db: sqlite3.Connection, table: str) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (table,)).fetchone() is not None


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


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
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
