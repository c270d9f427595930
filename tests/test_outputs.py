"""Course-platform outputs (grader.outputs) against schemas written from the platforms' specs.

The schemas in tests/schemas/ follow the platforms' own documentation (each schema names its
sources), not the implementation.
"""

from __future__ import annotations

import base64
import csv
import dataclasses
import io
import json
import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from grader import outputs
from grader.errors import GraderError
from grader.gradebook import StoredRow
from grader.results import CheckResult, Diagnosis, ExerciseResult, SubmissionResult

SCHEMAS = Path(__file__).resolve().parent / "schemas"
HOSTILE = ('<script>alert(1)</script> ]]> \x00\x01\x07\x1b[31m\x0b\x0c\x7f =HYPERLINK("http://x") +1+2 -2 '
           "@SUM(A1) \"double\" 'single'\nsecond line\r\nthird\rfourth")
SECRET = "expected 9.08, got 0"  # a hidden check's message: names the expected value
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
JSON_CONTROL = re.compile(r"\\u00[01][0-9a-fA-F]|\\u007[fF]|\\r|[\x00-\x1f\x7f]")  # escaped or raw, but \n and \t


def schema(name: str) -> dict:
    return json.loads((SCHEMAS / name).read_text())


def validate(doc: dict, name: str) -> None:
    s = schema(name)
    jsonschema.Draft202012Validator.check_schema(s)
    jsonschema.Draft202012Validator(s).validate(doc)


def check(name: str, status: str = "passed", max_score: float = 2.0, visibility: str = "visible",
          message: str = "", score: float | None = None) -> CheckResult:
    if score is None:
        score = max_score if status == "passed" else 0.0
    return CheckResult(name, status, score, max_score, visibility, message)


def exercise(ex_id: str, checks: tuple[CheckResult, ...], status: str | None = None,
             misconceptions: tuple[Diagnosis, ...] = (), message: str = "", max_score: float | None = None) -> ExerciseResult:
    score = sum(c.score for c in checks)
    max_score = sum(c.max_score for c in checks) if max_score is None else max_score
    if status is None:
        status = "passed" if all(c.status == "passed" for c in checks) else "failed"
    title = ex_id.replace("-", " ").capitalize()
    return ExerciseResult(ex_id, title, status, score, max_score, checks, misconceptions,
                          feedback=f"### {title}\n\nfeedback for {ex_id}", file="hw.py", message=message)


ELEMENTWISE = Diagnosis("elementwise-product", "Elementwise product instead of the dot product",
                        "you returned [0.08, 9.0]",
                        "You returned `[0.08, 9.0]`, the elementwise product a\\*b; the dot product sums it: 9.08.")

PASSED = SubmissionResult("alice", "subs/alice", (
    exercise("dot-product", (check("small vectors"), check("zeros"))),
    exercise("l2-normalize", (check("unit vector", max_score=3.0),)),
), seconds=0.25)

MISCONCEPTION = SubmissionResult("bob", "subs/bob", (
    exercise("dot-product", (check("small vectors", "failed", message="dot([0.2, 3], [0.4, 3]): expected 9.08, got [0.08, 9.0]"),
                             check("zeros")), misconceptions=(ELEMENTWISE,)),
    exercise("l2-normalize", (check("unit vector", max_score=3.0),)),
), seconds=0.4)

TIMEOUT_HIDDEN = SubmissionResult("carol", "subs/carol", (
    exercise("dot-product", (check("small vectors", "timeout", message="did not finish in 2 s"),
                             check("big random", "failed", 1.0, visibility="hidden", message=SECRET),
                             check("hidden ok", max_score=1.0, visibility="hidden")), status="timeout"),
    ExerciseResult("l2-normalize", "L2 normalize", "missing", 0.0, 3.0,
                   message="no function l2_normalize in the submission"),
), seconds=2.5)

HOSTILE_RESULT = SubmissionResult("mallory", "subs/mallory", (
    exercise("dot-product", (check("small vectors", "failed", message=HOSTILE),
                             check("error case", "error", 1.0, message="ValueError: " + HOSTILE),
                             check("zeros", max_score=1.0))),
), stdout=HOSTILE, stderr=HOSTILE, seconds=0.1)

ALL = [PASSED, MISCONCEPTION, TIMEOUT_HIDDEN, HOSTILE_RESULT]
IDS = [r.id for r in ALL]
EXERCISES = [("dot-product", "Dot product", 4.0), ("l2-normalize", "L2 normalize", 3.0)]


def stored(result: SubmissionResult, name: str | None = None, lms_id: str | None = None, late: bool = False) -> StoredRow:
    return StoredRow(result.id, result.score, result.max_score, "2025-01-06T10:00:00+00:00", late, lms_id, name, result)


ROWS = [stored(PASSED, "Alice Liddell", "5551"), stored(MISCONCEPTION, "Doe, Bob", None),
        stored(TIMEOUT_HIDDEN, None, "77", late=True), stored(HOSTILE_RESULT, '=HYPERLINK("http://x","click")', "@SUM(A1)"),
        StoredRow("-2", HOSTILE_RESULT.score, HOSTILE_RESULT.max_score, "2025-01-06T10:00:00+00:00", False, None, '+1+2 "quoted"\r\nline\x00', HOSTILE_RESULT)]


def outside_code_blocks(markdown: str) -> str:
    """The Markdown with its fenced code blocks removed (a fence closes only with as many backticks)."""
    return re.sub(r"^(`{3,})[^\n]*\n.*?^\1$", "", markdown, flags=re.DOTALL | re.MULTILINE)


def dumps(doc: dict) -> str:
    return json.dumps(doc, allow_nan=False)


# ------------------------------------------------------------------ Gradescope

@pytest.mark.parametrize("result", ALL, ids=IDS)
def test_gradescope_valid_and_scores_add_up(result: SubmissionResult) -> None:
    doc = outputs.gradescope(result)
    validate(doc, "gradescope-results.schema.json")
    assert doc["score"] == pytest.approx(result.score)
    assert sum(t["score"] for t in doc["tests"]) == pytest.approx(result.score)
    assert sum(t["max_score"] for t in doc["tests"]) == pytest.approx(result.max_score)
    assert doc["output_format"] == doc["test_output_format"] == "md"
    assert doc["stdout_visibility"] == "hidden"
    for t in doc["tests"]:
        assert t["tags"] and t["name"].startswith(t["tags"][0] + ": ")
        assert t["status"] == ("passed" if t["score"] == t["max_score"] else "failed")
    assert not JSON_CONTROL.search(dumps(doc))


def test_gradescope_hidden_checks_are_hidden() -> None:
    doc = outputs.gradescope(TIMEOUT_HIDDEN)
    by_name = {t["name"]: t for t in doc["tests"]}
    assert by_name["dot-product: small vectors"]["visibility"] == "visible"
    assert by_name["dot-product: big random"]["visibility"] == "after_published"
    assert by_name["dot-product: hidden ok"]["visibility"] == "after_published"
    assert SECRET not in dumps(doc)  # students see it after publishing: the expected value is withheld
    assert "hidden check" in by_name["dot-product: big random"]["output"]
    # instructor-only tests may carry the message
    only_staff = outputs.gradescope(TIMEOUT_HIDDEN, hidden_visibility="hidden")
    assert {t["visibility"] for t in only_staff["tests"] if "big random" in t["name"] or "hidden ok" in t["name"]} == {"hidden"}
    assert SECRET in dumps(only_staff)
    # the exercise that ran no check still shows, with its points
    assert by_name["l2-normalize: exercise"]["max_score"] == 3.0
    with pytest.raises(ValueError):
        outputs.gradescope(PASSED, hidden_visibility="students")


def test_gradescope_names_misconceptions() -> None:
    doc = outputs.gradescope(MISCONCEPTION)
    assert "Elementwise product instead of the dot product" in doc["output"]
    assert "the dot product sums it" in doc["output"]
    assert doc["extra_data"]["misconceptions"] == {"dot-product": ["elementwise-product"], "l2-normalize": []}


def test_gradescope_hostile_text_is_inert_markdown() -> None:
    doc = outputs.gradescope(HOSTILE_RESULT)
    assert not JSON_CONTROL.search(dumps(doc))
    # untrusted text is either escaped inline or inside a fenced code block (shown verbatim, never as HTML)
    for markdown in [doc["output"]] + [t["output"] for t in doc["tests"]]:
        assert "<script>" not in outside_code_blocks(markdown)
    single = next(t for t in doc["tests"] if t["name"] == "dot-product: small vectors")
    assert single["output"].startswith("```text\n<script>alert(1)</script>")
    one_line = outputs.gradescope(SubmissionResult("x", "x", (exercise("e", (check("c", "failed", message="<b>hi</b> [x](y)"),)),)))
    assert one_line["tests"][0]["output"] == "&lt;b&gt;hi&lt;/b&gt; \\[x\\](y)"


def test_gradescope_caps_strings() -> None:
    huge = SubmissionResult("big", "subs/big", (
        exercise("dot-product", (check("long", "failed", message="x" * 1_000_000), check("long2", "failed", message="<&>" * 500_000))),
    ), stdout="y" * 2_000_000)
    doc = outputs.gradescope(huge)
    validate(doc, "gradescope-results.schema.json")
    assert len(doc["output"]) <= outputs.OUTPUT_LIMIT
    assert all(len(t["output"]) <= outputs.TEST_OUTPUT_LIMIT for t in doc["tests"])
    assert "cut" in doc["tests"][0]["output"]


# ------------------------------------------------------------------ PrairieLearn

@pytest.mark.parametrize("result", ALL, ids=IDS)
def test_prairielearn_valid_and_score_in_unit_interval(result: SubmissionResult) -> None:
    doc = outputs.prairielearn(result)
    validate(doc, "prairielearn-results.schema.json")
    assert doc["gradable"] is True
    assert 0.0 <= doc["score"] <= 1.0 and math.isfinite(doc["score"])
    assert doc["score"] == pytest.approx(result.score / result.max_score)
    assert sum(t["points"] for t in doc["tests"]) == pytest.approx(result.score)
    assert sum(t["max_points"] for t in doc["tests"]) == pytest.approx(result.max_score)
    assert all({"name", "description", "points", "max_points", "message", "output"} <= t.keys() for t in doc["tests"])
    text = dumps(doc)
    assert "\\u0000" not in text and SECRET not in text
    assert len(text.encode()) < 1 << 20


def test_prairielearn_no_points_and_huge_output() -> None:
    empty = SubmissionResult("nobody", "subs/nobody", ())
    assert outputs.prairielearn(empty)["score"] == 0.0
    zero = SubmissionResult("z", "subs/z", (exercise("quiz", (check("q1", max_score=0.0),)),))
    assert outputs.prairielearn(zero)["score"] == 0.0
    many = SubmissionResult("many", "subs/many", tuple(
        exercise(f"ex-{i}", tuple(check(f"check {j}", "failed", message="é<" * 5_000) for j in range(40)))
        for i in range(20)), stdout="z" * 3_000_000)
    doc = outputs.prairielearn(many)
    validate(doc, "prairielearn-results.schema.json")
    assert len(json.dumps(doc).encode()) <= outputs.PRAIRIELEARN_LIMIT < 1 << 20
    assert json.loads(json.dumps(doc)) == doc


def test_prairielearn_keeps_the_grade_when_details_do_not_fit() -> None:
    doc = outputs.prairielearn(MISCONCEPTION, limit=400)
    validate(doc, "prairielearn-results.schema.json")
    assert doc["score"] == pytest.approx(5 / 7) and doc["tests"] == []
    assert len(json.dumps(doc).encode()) <= 400


def test_prairielearn_ungradable() -> None:
    doc = outputs.prairielearn_ungradable("hw.py: SyntaxError \x00 at line 3")
    validate(doc, "prairielearn-results.schema.json")
    assert doc["gradable"] is False and "score" not in doc
    assert doc["format_errors"] == ["hw.py: SyntaxError  at line 3"]


def test_prairielearn_schema_rejects_bad_scores() -> None:
    s = schema("prairielearn-results.schema.json")
    for bad in ({"gradable": True}, {"score": 1.5}, {"score": -0.1}, {"gradable": True, "score": "1"}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, s)


# ------------------------------------------------------------------ GitHub Classroom

@pytest.mark.parametrize("result", ALL, ids=IDS)
def test_github_classroom(result: SubmissionResult) -> None:
    doc = outputs.github_classroom(result)
    validate(doc, "github-classroom-result.schema.json")
    assert doc["version"] == 1
    assert doc["max_score"] == pytest.approx(result.max_score)
    assert sum(t["score"] for t in doc["tests"]) == pytest.approx(result.score)
    assert doc["status"] == ("pass" if result.all_passed else "fail")
    assert all(t["test_code"] == "grade" and t["line_no"] == 0 and isinstance(t["duration"], int) for t in doc["tests"])
    encoded = outputs.github_classroom_output(result)
    assert re.fullmatch(r"[A-Za-z0-9+/]*={0,2}", encoded)  # one line: fits `result=` in $GITHUB_OUTPUT
    decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    assert json.loads(decoded) == doc
    assert decoded == json.dumps(doc, separators=(",", ":"))  # compact, ASCII


def test_github_classroom_statuses() -> None:
    doc = outputs.github_classroom(TIMEOUT_HIDDEN)
    status = {t["name"]: t["status"] for t in doc["tests"]}
    assert status == {"dot-product: small vectors": "error", "dot-product: big random": "fail",
                      "dot-product: hidden ok": "pass", "l2-normalize: exercise": "fail"}
    assert SECRET not in json.dumps(doc)


# ------------------------------------------------------------------ JUnit XML

# The content models and attributes of tests/schemas/junit.xsd, checked with ElementTree: neither
# lxml nor xmlschema is a dependency of the project, so the XSD itself is used only where lxml is
# installed (test_junit_validates_against_xsd), and this equivalent structural check always runs.
COUNT, SECONDS, TEXT = r"\d+", r"\d+(\.\d+)?|\.\d+", r".*"
JUNIT_MODEL: dict[str, tuple[str, bool, dict[str, str], set[str]]] = {
    # tag: (children as a regex over "tag " words, mixed text allowed, attribute patterns, required attributes)
    "testsuites": (r"(testsuite )*", False,
                   {"name": TEXT, "tests": COUNT, "failures": COUNT, "errors": COUNT, "skipped": COUNT,
                    "disabled": COUNT, "assertions": TEXT, "time": SECONDS, "timestamp": TEXT}, set()),
    "testsuite": (r"(properties )?(testcase )*(system-out )?(system-err )?", False,
                  {"name": TEXT, "tests": COUNT, "failures": COUNT, "errors": COUNT, "skipped": COUNT,
                   "disabled": COUNT, "assertions": TEXT, "time": SECONDS, "timestamp": TEXT, "hostname": TEXT,
                   "id": TEXT, "package": TEXT, "file": TEXT}, {"name", "tests"}),
    "properties": (r"(property )*", False, {}, set()),
    "property": (r"", False, {"name": TEXT, "value": TEXT}, {"name", "value"}),
    "testcase": (r"((failure|error|skipped) )?(system-out )*(system-err )*", False,
                 {"name": TEXT, "classname": TEXT, "time": SECONDS, "file": TEXT, "line": TEXT,
                  "assertions": TEXT, "status": TEXT}, {"name"}),
    "failure": (r"", True, {"message": TEXT, "type": TEXT}, set()),
    "error": (r"", True, {"message": TEXT, "type": TEXT}, set()),
    "skipped": (r"", True, {"message": TEXT}, set()),
    "system-out": (r"", True, {}, set()),
    "system-err": (r"", True, {}, set()),
}


def junit_structure_errors(root: ET.Element) -> list[str]:
    errors = [] if root.tag in ("testsuites", "testsuite") else [f"root is <{root.tag}>"]
    for el in root.iter():
        if el.tag not in JUNIT_MODEL:
            errors.append(f"unknown element <{el.tag}>")
            continue
        children, mixed, attributes, required = JUNIT_MODEL[el.tag]
        if not re.fullmatch(children, "".join(f"{c.tag} " for c in el)):
            errors.append(f"<{el.tag}> has children {[c.tag for c in el]}")
        if not mixed and ((el.text or "").strip() or any((c.tail or "").strip() for c in el)):
            errors.append(f"<{el.tag}> has text")
        for name, value in el.attrib.items():
            if name not in attributes:
                errors.append(f"<{el.tag}> has attribute {name}")
            elif not re.fullmatch(attributes[name], value, re.DOTALL):
                errors.append(f"<{el.tag} {name}={value!r}> is not of its type")
        errors += [f"<{el.tag}> lacks {name}" for name in required - el.attrib.keys()]
    return errors


def test_junit_structure() -> None:
    xml = outputs.junit_xml(ALL, suite_name="hw1")
    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(xml.encode("utf-8"))
    assert junit_structure_errors(root) == []
    assert root.tag == "testsuites" and root.get("name") == "hw1"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == IDS
    for suite, result in zip(suites, ALL, strict=True):
        cases = suite.findall("testcase")
        assert int(suite.get("tests")) == len(cases)
        assert int(suite.get("failures")) == len(suite.findall("testcase/failure"))
        assert int(suite.get("errors")) == len(suite.findall("testcase/error"))
        props = {p.get("name"): float(p.get("value")) for p in suite.iter("property")}
        assert props["score"] == pytest.approx(result.score) and props["max_score"] == pytest.approx(result.max_score)
        assert sum(props[f"score:{ex.id}"] for ex in result.exercises) == pytest.approx(result.score)
        assert all(c.get("classname").startswith(result.id + ".") for c in cases)
    assert int(root.get("tests")) == sum(int(s.get("tests")) for s in suites)
    carol = suites[2]
    assert carol.find("testcase[@name='small vectors']/error").get("type") == "timeout"
    assert carol.find("testcase[@name='big random']/failure") is not None
    assert SECRET not in xml


def test_junit_hostile_text_is_escaped() -> None:
    xml = outputs.junit_xml([HOSTILE_RESULT])
    assert "<script>" not in xml and "&lt;script&gt;" in xml
    assert not CONTROL.search(xml.replace("\n", "").replace("\t", ""))
    root = ET.fromstring(xml)
    assert not list(root.iter("script"))
    failure = root.find(".//testcase[@name='small vectors']/failure")
    assert "<script>alert(1)</script> ]]>" in failure.text
    assert '=HYPERLINK("http://x")' in failure.text and "second line\nthird\nfourth" in failure.text
    assert failure.get("message").startswith("<script>") and "\n" not in failure.get("message")
    assert root.find(".//testcase[@name='error case']/error") is not None
    stdout = root.find("testsuite/system-out").text
    assert "<script>alert(1)</script>" in stdout and "\x00" not in stdout
    assert root.find("testsuite/system-err") is not None


MALFORMED_JUNIT = [
    '<testsuites><testsuite name="a" tests="1"><testcase name="x"><failure/><error/></testcase></testsuite></testsuites>',
    '<testsuites><testsuite name="a" tests="1"><testcase/></testsuite></testsuites>',
    '<testsuites><testsuite name="a" tests="-1"/></testsuites>',
    '<testsuites><testsuite name="a" tests="1"><testcase name="x"/><properties/></testsuite></testsuites>',
    '<testsuites><testsuite name="a" tests="1"><testcase name="x" time="fast"/></testsuite></testsuites>',
    '<testsuites><testsuite name="a" tests="1"><testcase name="x"><points value="2"/></testcase></testsuite></testsuites>',
]
SPEC_EXAMPLE = (  # the Ant/Jenkins JUnit shape, as tests/schemas/junit.xsd describes it
    '<testsuites name="hw1" tests="2" failures="1" errors="0" skipped="0" time="0.41">'
    '<testsuite name="hw1" tests="2" failures="1" errors="0" skipped="0" time="0.41" timestamp="2025-01-01T12:00:00">'
    '<properties><property name="max_score" value="10"/></properties>'
    '<testcase classname="hw1.fib" name="test_small" file="tests/test_fib.py" time="0.01"/>'
    '<testcase classname="hw1.fib" name="test_big" time="0.40">'
    '<failure message="expected 55, got 34" type="AssertionError">traceback</failure>'
    '<system-out>student stdout</system-out></testcase></testsuite></testsuites>')


@pytest.mark.parametrize("doc", MALFORMED_JUNIT)
def test_junit_structure_check_rejects_malformed(doc: str) -> None:
    assert junit_structure_errors(ET.fromstring(doc))
    assert junit_structure_errors(ET.fromstring(SPEC_EXAMPLE)) == []


def test_junit_validates_against_xsd() -> None:
    etree = pytest.importorskip("lxml.etree")
    xsd = etree.XMLSchema(etree.parse(str(SCHEMAS / "junit.xsd")))
    for doc in (outputs.junit_xml(ALL), outputs.junit_xml([]), SPEC_EXAMPLE):
        xsd.assertValid(etree.fromstring(doc.encode("utf-8")))
    for doc in MALFORMED_JUNIT:
        assert not xsd.validate(etree.fromstring(doc.encode("utf-8")))


def test_junit_xsd_is_well_formed_schema() -> None:
    root = ET.parse(SCHEMAS / "junit.xsd").getroot()
    ns = "{http://www.w3.org/2001/XMLSchema}"
    declared = {e.get("name") for e in root.findall(f"{ns}element")}
    assert declared == set(JUNIT_MODEL)


# ------------------------------------------------------------------ CSV

FORMULA = ("=", "+", "-", "@", "\t", "\r")


def parse(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


# every row matched (as a roster would): the hostile student id and name reach the identity cells
IDENTITIES = {r.student: outputs.LmsIdentity(r.name or r.student, str(100 + i), sis_login_id=r.student, section="A")
              for i, r in enumerate(ROWS)}


def from_download(result: SubmissionResult, platform: str, lms_id: str, name: str) -> StoredRow:
    """A gradebook row as a Canvas or Moodle download records it."""
    result = dataclasses.replace(result, meta=(("name", name), ("lms_id", lms_id), ("platform", platform)))
    return stored(result, name, lms_id)


@pytest.mark.parametrize("export", [
    lambda: outputs.plain_csv(ROWS, EXERCISES),
    lambda: outputs.canvas_csv(ROWS, EXERCISES, identities=IDENTITIES, assignment="Homework 1", assignment_id="1234"),
    lambda: outputs.canvas_csv(ROWS, EXERCISES, identities=IDENTITIES, per_exercise=True),
    lambda: outputs.moodle_csv(ROWS, max_grade=100, identities=IDENTITIES),
], ids=["plain", "canvas-id", "canvas-titles", "moodle"])
def test_csv_cells_are_injection_safe(export) -> None:
    table = parse(export())
    width = len(table[0])
    assert all(len(row) == width for row in table)
    for row in table:
        for cell in row:
            assert not cell.startswith(FORMULA), cell
            assert not CONTROL.search(cell.replace("\t", "")), cell
    flat = [cell for row in table for cell in row]
    assert "'-2" in flat or "'+1+2 \"quoted\"\nline" in flat  # the hostile student id or name, neutralised


def test_csv_safe() -> None:
    for raw in ('=HYPERLINK("http://x")', "+1+2", "-2", "@SUM(A1)", "\t=1", "\r=1", "\x00=1"):
        assert outputs.csv_safe(raw).startswith("'")
    assert outputs.csv_safe("Doe, Jane") == "Doe, Jane"
    assert outputs.csv_safe("a=b") == "a=b"


def test_plain_csv() -> None:
    table = parse(outputs.plain_csv(ROWS, EXERCISES))
    assert table[0] == ["student", "score", "max_score", "dot-product", "l2-normalize", "misconceptions"]
    by_student = {row[0]: row for row in table[1:]}
    assert by_student["bob"][1:5] == ["5", "7", "2", "3"]
    assert by_student["bob"][5] == "dot-product:elementwise-product"
    assert by_student["mallory"][4] == ""  # not graded: no score
    for row in table[1:]:
        graded = [float(x) for x in row[3:5] if x]
        assert sum(graded) == pytest.approx(float(row[1]))


CANVAS_ROWS = [from_download(PASSED, "canvas", "5551", "liddellalice"), from_download(MISCONCEPTION, "canvas", "6662", "doebob")]


def test_canvas_csv_follows_the_importer_rules() -> None:
    table = parse(outputs.canvas_csv(CANVAS_ROWS, EXERCISES, assignment="Homework 1", assignment_id="1234"))
    header, points = table[0], table[1]
    assert "Student" in header[0] and "ID" in header[1]
    section = header.index("Section")
    assert header[1:section] in (["ID"], ["ID", "SIS User ID", "SIS Login ID"], ["ID", "SIS Login ID"])
    assert header[section + 1:] == ["Homework 1 (1234)"]
    assert "Points Possible" in points[0] and points[section + 1:] == ["7"]
    rows = {row[1]: row for row in table[2:]}
    assert set(rows) == {"5551", "6662"}  # the Canvas user ids from the download: how Canvas finds them
    assert rows["5551"][-1] == "7" and rows["6662"][-1] == "5"


def test_canvas_csv_refuses_a_row_without_a_canvas_user_id() -> None:
    # a Moodle participant number, a Gradescope user id and no id at all: none is a Canvas user id
    others = [from_download(TIMEOUT_HIDDEN, "moodle", "77", "Carol"), from_download(HOSTILE_RESULT, "gradescope", "12", "M"),
              stored(PASSED, "Alice Liddell", "5551")]
    for row in others:
        with pytest.raises(GraderError, match=re.escape(row.student)):
            outputs.canvas_csv([*CANVAS_ROWS, row], EXERCISES)


def test_canvas_csv_one_column_scaled_to_the_assignment_points() -> None:
    table = parse(outputs.canvas_csv(CANVAS_ROWS, EXERCISES, assignment_id="1234", points=100))
    assert table[0][5:] == ["Grader (1234)"] and table[1][5:] == ["100"]
    assert {row[1]: row[5] for row in table[2:]} == {"5551": "100", "6662": "71.43"}  # 5 of 7 points


def test_canvas_csv_columns_per_exercise_and_bad_titles() -> None:
    table = parse(outputs.canvas_csv(CANVAS_ROWS, EXERCISES))
    assert table[0][5:] == ["Grader"] and table[1][5:] == ["7"]  # one column by default
    table = parse(outputs.canvas_csv(CANVAS_ROWS, EXERCISES, per_exercise=True))
    assert table[0][5:] == ["Dot product", "L2 normalize"] and table[1][5:] == ["4", "3"]
    assert parse(outputs.canvas_csv(CANVAS_ROWS, EXERCISES, assignment="Homework 1"))[0][5:] == ["Homework 1"]
    with pytest.raises(GraderError):
        outputs.canvas_csv(CANVAS_ROWS, EXERCISES, assignment_id="hw1")
    with pytest.raises(GraderError):
        outputs.canvas_csv(CANVAS_ROWS, EXERCISES, assignment="Part (2)")  # Canvas would read 2 as an assignment id
    with pytest.raises(GraderError):
        outputs.canvas_csv(CANVAS_ROWS, [("ex", "Final Score", 1.0)], per_exercise=True)  # Canvas ignores such a column
    with pytest.raises(GraderError):
        outputs.canvas_csv(CANVAS_ROWS, [("a", "Same", 1.0), ("b", "Same", 1.0)], per_exercise=True)


def test_moodle_worksheet() -> None:
    rows = [from_download(PASSED, "moodle", "5551", "Alice Liddell"), from_download(MISCONCEPTION, "moodle", "12", "Bob Doe"),
            from_download(TIMEOUT_HIDDEN, "moodle", "77", "carol")]
    table = parse(outputs.moodle_csv(rows, max_grade=100))
    assert table[0] == list(outputs.MOODLE_HEADER)
    for required in ("Identifier", "Grade", "Last modified (grade)"):
        assert required in table[0]
    col = {name: i for i, name in enumerate(table[0])}
    by_name = {row[col["Full name"]]: row for row in table[1:]}
    alice = by_name["Alice Liddell"]
    assert alice[col["Identifier"]] == "Participant 5551"
    assert alice[col["Grade"]] == "100" and alice[col["Maximum Grade"]] == "100"
    bob = by_name["Bob Doe"]
    assert bob[col["Identifier"]] == "Participant 12" and float(bob[col["Grade"]]) == pytest.approx(71.43)
    assert "Elementwise product" in bob[col["Feedback comments"]]
    assert by_name["carol"][col["Identifier"]] == "Participant 77"
    for row in table[1:]:
        assert 0 <= float(row[col["Grade"]]) <= 100
        assert row[col["Last modified (grade)"]] == "2025-01-06T10:00:00+00:00"
    with pytest.raises(GraderError):
        outputs.moodle_csv(rows, max_grade=0)
    # a Canvas user id is no participant number, and a row without one is refused, not left blank
    with pytest.raises(GraderError, match="alice"):
        outputs.moodle_csv([*rows[1:], from_download(PASSED, "canvas", "5551", "liddellalice")], max_grade=100)
