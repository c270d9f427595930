"""HTML feedback without a browser: escaping, the pictures' geometry, the numbers kept with a
check, the class report's tallies, terminal colour."""

from __future__ import annotations

import html.parser
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.check_data import MAX_KEPT, kept, values
from grader.feedback import Feedback, md_escape, plain_text, terminal_text
from grader.pages import ClassReport, md_html
from grader.pictures import arrows, heatmaps, pictures, plane
from grader.results import CheckResult, Diagnosis, ExerciseResult, SubmissionResult

ALLOWED = {"p", "ul", "li", "h4", "code", "strong", "em", "pre"}
PAYLOADS = ["<script>alert(1)</script>", "<img src=http://192.0.2.1/x onerror=alert(1)>", "\"'><b>",
            "**bold** `code` [link](http://192.0.2.1)", "&lt;script&gt;", "javascript:alert(1)", "</svg></body>"]
student_text = st.one_of(st.sampled_from(PAYLOADS), st.text(max_size=60),
                         st.lists(st.sampled_from(PAYLOADS + ["x", " ", "\n", "*", "`", "-", "#"]), max_size=8).map("".join))


class Tags(html.parser.HTMLParser):
    """The start tags of a document, with their attribute names; and its text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, tuple[str, ...]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, tuple(name for name, _ in attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(document: str) -> Tags:
    p = Tags()
    p.feed(document)
    p.close()
    return p


@settings(max_examples=150, deadline=None)
@given(student_text)
def test_escaped_markdown_is_text_in_html(text: str) -> None:
    """A student's text escaped for Markdown (as explanations quote it) becomes only text in HTML."""
    parsed = parse(md_html("You returned " + md_escape(text) + "."))
    assert {tag for tag, _ in parsed.tags} <= ALLOWED
    assert all(attrs == () for _, attrs in parsed.tags)

    def letters(s: str) -> str:
        return "".join(c for c in s if not c.isspace() and c not in "-+*")

    assert letters("".join(parsed.text)) == letters("You returned " + text + ".")


def test_markdown_subset() -> None:
    html = md_html("For `a * b` you returned **9.08**, *not* 9.04.\n\n- one\n- two\n\n```\nx <y\n```")
    assert html == ("<p>For <code>a * b</code> you returned <strong>9.08</strong>, <em>not</em> 9.04.</p>\n"
                    "<ul><li>one</li><li>two</li></ul>\n<pre><code>x &lt;y</code></pre>")


def _result(text: str) -> SubmissionResult:
    data = {"call": f"dot(a = {text})", "args": [["a", {"text": text, "shape": [2], "values": [1.0, 2.0]}],
                                                ["b", {"text": text, "shape": [2], "values": [3.0, 1.0]}]],
            "expected": {"text": "5.0", "shape": [], "values": 5.0}, "got": {"text": text}, "tolerance": [1e-5, 1e-8]}
    checks = (CheckResult(f"check {text}", "failed", 0.0, 1.0, "visible", f"expected 5.0, got {text}", data),
              CheckResult("hidden one", "failed", 0.0, 1.0, "hidden", f"secret {text}"))
    ex = ExerciseResult("dot-product", "Dot product", "failed", 0.0, 2.0, checks,
                        # explanations quote values inline (one line, as fmt writes them)
                        (Diagnosis("elementwise-product", "Elementwise", "ev",
                                   f"You returned {md_escape(text.replace(chr(10), ' '))}."),),
                        file=f"{text}.py", observation=text)
    return SubmissionResult(f"s{text}", "p", (ex,), stdout=text, stderr=text, warnings=(text,), meta=(("name", text),))


@settings(max_examples=60, deadline=None)
@given(student_text.filter(bool))
def test_student_text_never_changes_a_page(text: str) -> None:
    """Whatever a student controls, the page has the same elements and attributes as with plain text."""
    feedback = Feedback.shared()
    page = parse(feedback.html_page(_result(text)))
    assert page.tags == parse(feedback.html_page(_result("x"))).tags
    assert "secret" not in "".join(page.text)  # a hidden check's message is never shown
    if text == "x":  # the second student below: the same check names make one row of the report
        return
    report = ClassReport()
    report.add(_result(text), page="s.html")
    report.add(_result("x"), page="x.html")
    reference = ClassReport()
    reference.add(_result("y"), page="s.html")
    reference.add(_result("x"), page="x.html")
    assert parse(feedback.class_report(report.context({"folder": text}))).tags == \
        parse(feedback.class_report(reference.context({"folder": "y"}))).tags


@settings(max_examples=80, deadline=None)
@given(st.integers(3, 8).flatmap(lambda d: st.tuples(*[st.lists(st.floats(-50, 50), min_size=d, max_size=d)] * 2)))
def test_projection_keeps_lengths_and_the_angle(pair: tuple[list[float], list[float]]) -> None:
    a, b = (np.array(v) for v in pair)
    if min(np.linalg.norm(a), np.linalg.norm(b)) < 1e-3:
        return
    B, exact = plane([a, b])
    assert exact
    for v in (a, b):
        assert np.linalg.norm(B @ v) == pytest.approx(np.linalg.norm(v), rel=1e-9, abs=1e-9)
    assert (B @ a) @ (B @ b) == pytest.approx(a @ b, rel=1e-7, abs=1e-7)
    svg = str(arrows([("a", a), ("b", b)]).svg)
    angle = math.degrees(math.acos(np.clip(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)), -1, 1)))
    assert f'data-angle="{angle:.6g}"' in svg


def test_zero_vector_has_no_angle() -> None:
    [pic] = pictures({"args": [["a", kept([0.0, 0.0])], ["b", kept([1.0, 2.0])]],
                      "expected": kept(0.0), "got": kept(float("nan"))})
    assert "data-angle" not in str(pic.svg)
    assert "a is the zero vector" in pic.caption


def test_heatmaps_share_one_scale_and_name_a_transpose() -> None:
    expected = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    pic = heatmaps(expected, expected.T * 2)
    assert 'data-low="1"' in str(pic.svg) and 'data-high="12"' in str(pic.svg)
    assert 'data-transposed="false"' in str(pic.svg)
    pic = heatmaps(expected, expected.T)
    assert 'data-transposed="true"' in str(pic.svg) and "rows and columns swapped" in pic.caption
    square = np.array([[1.0, 2.0], [3.0, 4.0]])
    pic = heatmaps(square, square.T)
    assert "mirrored across its diagonal" in pic.caption
    assert 'class="heatmap difference"' in str(pic.svg)


def test_kept_numbers_are_bounded_and_strict_json() -> None:
    big = kept(np.ones(MAX_KEPT + 1))
    assert "values" not in big and big["shape"] == [MAX_KEPT + 1]
    weird = kept(np.array([1.0, np.nan, np.inf]))
    assert json.loads(json.dumps(weird, allow_nan=False))["values"] == [1.0, "nan", "inf"]
    np.testing.assert_array_equal(values(weird), [1.0, np.nan, np.inf])
    assert kept("<script>")["text"].count("<") == 0  # a returned string's text is inert (as fmt shows it)


def test_class_report_ranks_misconceptions() -> None:
    def sub(sid: str, mids: tuple[str, ...], status: str = "failed") -> SubmissionResult:
        ex = ExerciseResult("dot-product", "Dot", status, 0.0, 1.0, (CheckResult("c", status, 0.0, 1.0, "visible"),),
                            tuple(Diagnosis(m, m.title(), "") for m in mids))
        return SubmissionResult(sid, sid, (ex,))

    report = ClassReport()
    for result in (sub("a", ("x",)), sub("b", ("x", "y")), sub("c", ("x",)), sub("d", (), "timeout")):
        report.add(result, f"{result.id}.html")
    ctx = report.context()
    assert [(m["id"], m["count"]) for m in ctx["misconceptions"]] == [("x", 3), ("y", 1)]
    assert ctx["misconceptions"][0]["students"] == [("a", "a.html"), ("b", "b.html"), ("c", "c.html")]
    assert [s.id for s in ctx["problems"]] == ["d"]
    assert ctx["exercises"][0]["checks"] == [{"name": "c", "passed": 0, "total": 4,
                                              "statuses": {"failed": 3, "timeout": 1}}]


def test_terminal_colour_only_when_asked() -> None:
    md = "### Dot product (`dot-product`): 0 / 1 · failed\n\n**Elementwise** (`x`)\n\n| c | ✗ failed | 0 / 1 |"
    assert terminal_text(md, colour=False) == plain_text(md)
    assert "\x1b" not in terminal_text(md, colour=False)
    coloured = terminal_text(md, colour=True)
    assert "\x1b[1mDot product" in coloured and "\x1b[31m✗" in coloured and "\x1b[31mfailed\x1b[0m" in coloured
    assert "\x1b[1mElementwise\x1b[0m" in coloured


def test_a_teachers_template_replaces_the_page(tmp_path) -> None:
    (tmp_path / "exercise.html.j2").write_text('<section id="ex-{{ ex.id }}">{{ ex.title }}: our own words</section>\n')
    page = Feedback(tmp_path).html_page(_result("x"))
    assert "Dot product: our own words" in page
    assert "<style>" in page  # the rest of the page is the built-in one


def test_tolerance_marks_only_a_real_difference() -> None:
    from grader.pages import value_html

    got, expected = kept([1.0, 2.0000001, 3.5]), kept([1.0, 2.0, 3.0])
    marked = str(value_html(got, expected, [1e-5, 1e-8]))
    assert marked.count("<mark") == 1 and 'data-index="2"' in marked
