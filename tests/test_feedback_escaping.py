"""Student text in Markdown feedback, ids and feedback file names: generated hostile values.

Every value a student controls (an exception's type, message and place, a helper file's name, a
returned value's text, a folder name, what the code printed) is drawn by hypothesis and put into
every Markdown template and every misconception text of the course. The rendered Markdown must
have exactly the structure it has with a plain value: no heading, list, emphasis, link, HTML or
closed code span comes from the student.
"""

from __future__ import annotations

import dataclasses
import html.parser
import json
import math
import re
import unicodedata
from html import unescape
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.check_data import kept, values
from grader.course import builtin_course, load_exercises
from grader.exercise import Exercise
from grader.feedback import PACKAGE_TEMPLATES, Feedback, code_spans, md_escape, plain_text
from grader.pages import ClassReport, md_html
from grader.pictures import num, pictures
from grader.report import PageNames, RunReport, feedback_name
from grader.results import CheckResult, Diagnosis, ExerciseResult, SubmissionResult
from grader.text import UNSAFE, safe, safe_line

from conftest import CORPUS, grade

try:  # a full CommonMark parser, for the tests that read Markdown as the platforms do
    from markdown_it import MarkdownIt
except ImportError:
    MarkdownIt = None

MARKDOWN_PAYLOADS = ["`", "``", "```", "~~~", "\n### misconception", "\n# ✓ all passed", "**bold**", "*em*", "_em_",
                     "<b>x</b>", "<script>", "[link](http://192.0.2.1)", "![i](http://192.0.2.1/i.png)", "\n- item",
                     "\n1. item", "\n2) item", "\n+ item", "\n> quote", "\n---", "\n===", "| a | b |", "&amp;", "\\",
                     "\n    code", "  \n", "\\\n", "#", "\n\n", "&#96;", "<http://192.0.2.1>", "\t"]
hostile = st.one_of(
    st.text(max_size=40),
    st.lists(st.sampled_from(MARKDOWN_PAYLOADS + ["x", " ", "\n", "é", "\u200b", "\u202e"]), min_size=1, max_size=8)
    .map("".join),
).map(safe).filter(lambda s: s.strip() != "")  # student text reaches the trusted side made `safe`


class Tags(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def structure(markdown: str) -> list[str]:
    """The HTML elements Markdown makes (the project's converter, as the HTML page uses it)."""
    p = Tags()
    p.feed(str(md_html(markdown)))
    p.close()
    return p.tags


def _letters(text: str) -> str:
    return "".join(c for c in text if c.isalnum())


FEEDBACK = Feedback.shared()
GENERIC = sorted(p.name.removesuffix(".md.j2") for p in (PACKAGE_TEMPLATES / "generic").glob("*.md.j2"))


def _generic_context(v: str, hidden: bool) -> dict:
    """Every value a generic template may print, all `v`."""
    return {"hidden": hidden, "call": {"text": v, "check": v, "visible": not hidden}, "got": v, "expected": v,
            "model": v, "args": {}, "raw": {"args": {}}, "calls": 3, "function": v, "checks": [v, v], "names": [v, v],
            "dtype": v, "error": {"type": v, "where": v, "message": v}, "got_type": v, "expected_type": v,
            "got_shape": v, "expected_shape": v, "factor": v, "factor_name": v, "evidence": v, "title": v}


@settings(max_examples=40, deadline=None)
@given(hostile, st.booleans())
def test_generic_explanations_quote_every_value_as_text(value: str, hidden: bool) -> None:
    for gid in GENERIC:
        text = FEEDBACK.generic(gid, _generic_context(value, hidden))
        plain = FEEDBACK.generic(gid, _generic_context("x", hidden))
        assert structure(text) == structure(plain), (gid, text)


def _exercise(v: str) -> ExerciseResult:
    checks = (CheckResult(v, "failed", 0.0, 1.0, "visible", v), CheckResult("passes", "passed", 1.0, 1.0, "visible"))
    explanation = FEEDBACK.generic("raises", _generic_context(v, False))
    return ExerciseResult("dot-product", "Dot product", "failed", 1.0, 2.0, checks,
                          (Diagnosis("raises", "An exception on valid input", v, explanation),),
                          file=v, observation=v, message=v)


def _markdown(v: str, function: str = "dot") -> str:
    ex = _exercise(v)
    ctx = {f.name: getattr(ex, f.name) for f in dataclasses.fields(ex)}
    ctx["function"] = function
    ex = dataclasses.replace(ex, feedback=FEEDBACK.render("exercise.md.j2", ex=ctx).strip())
    return FEEDBACK.render("submission.md.j2", sub=SubmissionResult(safe_line(v), "p", (ex,), stdout=v, warnings=(v,)))


@settings(max_examples=60, deadline=None)
@given(hostile, st.sampled_from(["dot", "answers"]))
def test_a_submissions_markdown_has_the_same_structure_whatever_the_student_wrote(value: str, function: str) -> None:
    """Id, warnings, helper file name, messages, check names, observation, explanation and printed
    output: the page's Markdown keeps its headings, table and code as with plain values."""
    text = _markdown(value, function)
    assert structure(text) == structure(_markdown("x", function)), text
    heading = text.split("\n", 1)[0]
    assert heading.startswith("# Feedback for ") and "\n" not in heading
    # the terminal shows the student's text as it was (escaped once, unescaped once)
    first = value.split("\n")[0].strip()
    assert first in plain_text(text)


def commonmark_structure(markdown: str) -> list[str]:
    """The block and inline tokens a CommonMark renderer with GFM tables (as Gradescope's and
    PrairieLearn's) makes of Markdown, without their text."""
    parser = MarkdownIt("commonmark").enable("table")
    kinds = []
    for token in parser.parse(markdown):
        kinds.append(token.type)
        kinds += [child.type for child in token.children or () if child.type not in ("text", "softbreak")]
    return kinds


@pytest.mark.skipif(MarkdownIt is None, reason="needs markdown-it-py")
@settings(max_examples=60, deadline=None)
@given(hostile, st.sampled_from(["dot", "answers"]))
def test_commonmark_reads_the_same_structure_whatever_the_student_wrote(value: str, function: str) -> None:
    """The same property read by a full CommonMark parser (needs markdown-it-py)."""
    text = _markdown(value, function)
    assert commonmark_structure(text) == commonmark_structure(_markdown("x", function)), text
    for gid in GENERIC:
        for hidden in (False, True):
            assert commonmark_structure(FEEDBACK.generic(gid, _generic_context(value, hidden))) == \
                commonmark_structure(FEEDBACK.generic(gid, _generic_context("x", hidden))), gid


def _course_misconceptions() -> list[tuple[str, str]]:
    out = []
    for ex in load_exercises(builtin_course()):
        for m in getattr(ex, "misconceptions", ()):
            if m.feedback and isinstance(ex, Exercise):
                out.append((f"{ex.id}.{m.id}", m.feedback))
    return out


COURSE = _course_misconceptions()
RAW = {"args": {"k": 2, "a": [1.0, 2.0], "Q": [[1.0, 2.0]], "axis": 1}, "got": [1.0, 2.0], "expected": 3.0, "model": None}


def _course_context(v: str) -> dict:
    return {"hidden": False, "call": {"text": v, "check": v, "visible": True}, "args": {"a": v, "b": v, "x": v},
            "got": v, "expected": v, "model": v, "raw": RAW, "calls": 3, "function": "f"}


def test_the_course_has_misconception_texts() -> None:
    assert len(COURSE) >= 20


@settings(max_examples=30, deadline=None)
@given(hostile)
def test_the_course_s_misconception_texts_quote_values_as_text(value: str) -> None:
    """Every `feedback:` text of the course's exercises, rendered with hostile values."""
    for where, source in COURSE:
        text = FEEDBACK.misconception(source, _course_context(value))
        assert not text.startswith("(feedback template error"), (where, text)
        assert structure(text) == structure(FEEDBACK.misconception(source, _course_context("x"))), (where, text)


@given(st.text(max_size=30))
def test_a_code_span_around_a_value_shows_it_verbatim(value: str) -> None:
    value = safe(value).replace("\n", " ")
    text = FEEDBACK.misconception("You returned `{{ got }}` and `f({{ got }}, 1)`.", {"got": value})
    html = str(md_html(text))
    assert html.count("<code>") == 2, text
    if value.strip():
        codes = [unescape(c) for c in re.findall(r"<code>(.*?)</code>", html, re.S)]
        assert all(_letters(value) in _letters(c) for c in codes)


def test_code_spans_are_rewritten_only_around_values() -> None:
    assert code_spans("`np.sum(x)` and `{{ got }}`") == "`np.sum(x)` and {{ (( got )) | code }}"
    assert code_spans("```\n{{ got }}\n```") == "```\n{{ got }}\n```"
    assert FEEDBACK.misconception("`{{ got }}`", {"got": "a`b"}) == "``a`b``"
    assert "<code>" in md_html(FEEDBACK.misconception("`{{ got }}`", {"got": ""}))


# CommonMark's block starts: list items, headings, quotes, HTML, table rows, fences, setext underlines, rules
BLOCK_START = re.compile(r"[ \t]*([-+*]([ \t]|$)|\d{1,9}[.)]([ \t]|$)|[#>|<]|```|~~~|[-=]+[ \t]*$|([-*_][ \t]*){3,}$)")


@given(hostile)
def test_escaped_text_starts_no_block(value: str) -> None:
    """md_escape: a line of student text never starts a list, quote, heading, fence or underline."""
    for line in md_escape(value).split("\n"):
        assert not BLOCK_START.match(line), line


# ------------------------------------------------------------------ ids


@given(st.text(max_size=40))
def test_an_id_is_one_printable_line(raw: str) -> None:
    sid = safe_line(raw)
    assert "\n" not in sid and "\r" not in sid and "\t" not in sid
    assert UNSAFE.search(sid) is None and sid == sid.strip()
    summary = FEEDBACK.render("summary.txt.j2", sub=_submission(raw), width=10, mark={"failed": "✗"})
    assert summary.rstrip("\n").count("\n") == 0


@settings(max_examples=40, deadline=None)
@given(hostile)
def test_terminal_details_start_no_line_of_their_own(value: str) -> None:
    """In the details after the summary rows, a message's further lines stay indented: only the
    student's header and each exercise's row start at the margin."""
    ex = _exercise(value)
    sub = SubmissionResult(safe_line(value), "p", (ex,), warnings=(value,))
    text = FEEDBACK.render("details.txt.j2", sub=sub, max_checks=2)
    margin = [line for line in text.splitlines() if line and not line[0].isspace()]
    assert len(margin) == 2 and margin[0].startswith("── ") and margin[1].startswith("dot-product: "), text


@given(st.text(min_size=1, max_size=20), st.sampled_from([" ", "  ", "\t", "\u3000", "\u00a0"]))
def test_ids_that_differ_only_by_surrounding_space_look_different(name: str, space: str) -> None:
    assert safe_line(space + name) != safe_line(name) != safe_line(name + space)


def _submission(sid: str, name: str = "", **meta: str) -> SubmissionResult:
    ex = ExerciseResult("dot-product", "Dot product", "failed", 0.0, 1.0)
    return SubmissionResult(safe_line(sid), "p", (ex,), meta=tuple({"name": name, **meta}.items()))


INVISIBLE = [0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x00AD, 0x061C, 0x180E, 0x3164, 0x115F, 0x00A0]


def test_invisible_characters_are_shown_as_escapes() -> None:
    for code in INVISIBLE:
        assert safe(f"a{chr(code)}b") == f"a\\u{code:04x}b" if code > 0xFF else f"a\\x{code:02x}b"
    assert safe("tag\U000e0041") == "tag\\U000e0041"


def test_every_format_character_and_odd_space_is_unsafe() -> None:
    """Unicode categories Cf and Zs (but the space itself), as this Python's unicodedata has them."""
    missed = [hex(c) for c in range(0x110000) if unicodedata.category(chr(c)) in ("Cf", "Zs") and c != 0x20
              and not UNSAFE.match(chr(c))]
    assert missed == []


# ------------------------------------------------------------------ feedback file names


def test_index_is_the_reports() -> None:
    names = PageNames()
    for sid in ("index", "INDEX", "Index"):
        name, _ = names.claim(sid, f"{sid}.md")
        assert name.casefold() != "index.md" and name.endswith(".md")


NAMED = ["doejane_5551_908877_feedback", "canvas", "Ada", "ada", "ádá", "a\u0301dá", "index", "Jane Doe_1234_assignfeedback_file_feedback", "moodle"]


def _named(sid: str) -> SubmissionResult:
    if sid == "canvas":
        return _submission(sid, "doejane", platform="canvas", lms_id="5551", attachment_id="908877")
    if sid == "moodle":
        return _submission(sid, "Jane Doe", platform="moodle", lms_id="1234")
    return _submission(sid)


def _claim_all(order: list[str], fold: bool) -> dict[str, str]:
    names = PageNames(fold)
    final = {}
    for sid in order:
        result = _named(sid)
        name, moved = names.claim(result.id, feedback_name(result))
        final[result.id] = name
        if moved:
            final[moved[0]] = moved[2]
    return final


@settings(max_examples=50, deadline=None)
@given(st.permutations(NAMED), st.booleans())
def test_feedback_names_are_unique_whatever_order_results_come_in(order: list[str], fold: bool) -> None:
    """An LMS download's computed name and a plain folder of that exact name; case and
    normalization twins; `index`: every student a file of their own, the same in any order."""
    final = _claim_all(order, fold)
    keys = [unicodedata.normalize("NFC", n).casefold() if fold else n for n in final.values()]
    assert len(set(keys)) == len(keys) and not {"index.md", "Index.md"} & set(final.values())
    assert final == _claim_all(sorted(order), fold)
    # the name an LMS upload reads stays the student's; a folder keeps its own name where it can
    assert final["canvas"] == "doejane_5551_908877_feedback.md"
    assert final["moodle"] == "Jane Doe_1234_assignfeedback_file_feedback.md"
    assert final["Ada"] == "Ada.md" and final["a\u0301dá"] == "a\u0301dá.md"  # the smaller of twins
    if not fold:
        assert final["ada"] == "ada.md"


def test_pages_of_a_class_with_name_twins_are_all_written_and_linked(tmp_path: Path) -> None:
    subs = [_submission("zed", "doejane"), _submission("index"),
            _submission("canvas", "doejane", platform="canvas", lms_id="5551", attachment_id="908877"),
            _submission("doejane_5551_908877_feedback")]
    report = RunReport([s.id for s in subs], "json", FEEDBACK, tmp_path)
    for i, result in enumerate(subs):  # the folder first: its pages move for the Canvas student's
        report.add(i, result)
    with open(tmp_path / "out.json", "w") as out:
        report.write(out)
    report.close()
    pages = {s.id: s.page for s in report.class_report.students}
    assert len(set(pages.values())) == 4
    for sid, page in pages.items():
        assert (tmp_path / page).is_file()
        assert f"Feedback for <span class=\"student\">{sid}</span>" in (tmp_path / page).read_text()
    assert pages["canvas"] == "doejane_5551_908877_feedback.html"
    index = (tmp_path / "index.html").read_text()
    assert "Class report" in index and all(f'href="./{p}"' in index for p in pages.values())


def test_who_shares_a_misconception_is_a_list_not_a_joined_string() -> None:
    report = ClassReport()
    for sid in ("ada, bob", "carl"):
        ex = ExerciseResult("dot-product", "Dot product", "failed", 0.0, 1.0,
                            misconceptions=(Diagnosis("elementwise", "Elementwise", "ev", "text"),))
        report.add(SubmissionResult(sid, "p", (ex,)), f"{sid}.html")
    page = FEEDBACK.class_report(report.context({}))
    who = re.search(r'<ul class="who">(.*?)</ul>', page, re.S)
    assert who and who.group(1).count("<li>") == 2


# ------------------------------------------------------------------ numbers in pictures


@given(st.lists(st.sampled_from([math.inf, -math.inf, math.nan, 1.5, -2.0]), min_size=1, max_size=6))
def test_kept_values_keep_infinities_and_their_sign(xs: list[float]) -> None:
    data = json.loads(json.dumps(kept(np.array(xs)), allow_nan=False))
    back = values(data)
    assert back is not None
    for a, b in zip(back, xs, strict=True):
        assert (math.isnan(a) and math.isnan(b)) or a == b


def test_older_results_keep_null_as_nan() -> None:
    assert math.isnan(values({"values": [None, 1.0], "shape": [2]})[0])


@given(st.floats(allow_nan=True, allow_infinity=True), st.integers(0, 4))
def test_a_label_number_is_short(x: float, digits: int) -> None:
    assert len(num(x, digits)) <= 16


def test_an_infinite_cell_is_drawn_as_infinite() -> None:
    data = {"args": [["a", kept([[1.0, 2.0], [3.0, 4.0]])]], "expected": kept([[1.0, 2.0], [3.0, 4.0]]),
            "got": kept([[math.inf, 2.0], [-math.inf, math.nan]])}
    [pic] = [p for p in pictures(data) if p.kind == "heatmaps"]
    svg = str(pic.svg)
    assert 'data-value="inf"' in svg and 'data-value="-inf"' in svg and 'data-value="nan"' in svg
    assert "[0, 0] = ∞" in svg and "[1, 0] = −∞" in svg


def test_an_infinite_weight_is_drawn_as_infinite() -> None:
    data = {"args": [["x", kept([1.0, 2.0, 3.0])]], "expected": kept([0.2, 0.3, 0.5]),
            "got": kept([math.inf, 0.3, -math.inf])}
    [pic] = [p for p in pictures(data) if p.kind == "bars"]
    svg = str(pic.svg)
    assert 'data-value="inf"' in svg and 'data-value="-inf"' in svg
    heights = [float(h) for h in re.findall(r'<g class="bar got"[^>]*>\s*<rect [^>]*height="([\d.]+)"', svg)]
    assert heights[0] > heights[1] > 0 and heights[2] > 0  # the finite bar is not flattened by inf
    assert ">∞</text>" in svg and ">−∞</text>" in svg


def test_huge_vectors_get_a_picture_whose_caption_names_only_what_is_drawn() -> None:
    data = {"args": [["a", kept([1e308, 1e308])], ["b", kept([1e308, -1e308])]], "expected": kept(0.0),
            "got": kept(1.0)}
    for pic in pictures(data):
        svg = str(pic.svg)
        assert not re.search(r"\d{12}", svg + pic.caption)
        if "data-angle" not in svg:
            assert "θ" not in pic.caption and "cos" not in pic.caption


# ------------------------------------------------------------------ end to end

RAISER = '''
def dot(a, b):
    raise type("E`\\n### misconception\\n# ✓ all passed", (Exception,), {})("**bold** <b>x</b>\\n- item")
'''
NEIGHBOURS = ["index", "ada\n133.00 of 133 all passed", " ada", "a\u200bda", "Ada", "ada_0_0_feedback"]


def test_hostile_neighbours_change_nothing_of_an_honest_student_s_feedback(tmp_path: Path) -> None:
    """The real `grade`: `ada` alone, then beside folders named `index`, with a newline, a
    leading space, a zero-width space, her name in capitals, and a student whose exception's
    class name carries Markdown. Her pages are byte for byte the same; every name shows on one
    line; the report keeps `index.html`."""
    honest = (CORPUS / "dot-product" / "elementwise-product.py").read_text()
    alone, crowd = tmp_path / "alone", tmp_path / "crowd"
    for subs in (alone, crowd):
        (subs / "ada").mkdir(parents=True)
        (subs / "ada" / "similarity.py").write_text(honest)
    for name in NEIGHBOURS:
        (crowd / name).mkdir()
        (crowd / name / "similarity.py").write_text(RAISER)
    out = {}
    for subs in (alone, crowd):
        proc = grade(str(subs), "-e", "dot-product", "--no-db", "--format", "text", "--feedback-dir",
                     str(subs.parent / f"{subs.name}-feedback"))
        assert proc.returncode in (0, 1) and "Traceback" not in proc.stderr, proc.stderr
        out[subs.name] = proc.stdout
    pages_alone, pages = tmp_path / "alone-feedback", tmp_path / "crowd-feedback"
    for name in ("ada.md", "ada.html"):
        assert (pages / name).read_bytes() == (pages_alone / name).read_bytes(), name
    summary = out["crowd"].split("\n\n")[0].splitlines()
    assert len(summary) == 1 + len(NEIGHBOURS)
    assert [line.split()[0] for line in summary if line.startswith("ada ")] == ["ada"]
    assert "ada\\x0a133.00 of 133 all passed" in out["crowd"] and "\\x20ada" in out["crowd"]
    assert "a\\u200bda" in out["crowd"]
    index = (pages / "index.html").read_text()
    assert "Class report" in index
    written = sorted(p.name for p in pages.iterdir() if p.suffix == ".md")
    assert len(written) == 1 + len(NEIGHBOURS)
    for name in written:
        text = (pages / name).read_text()
        lines = text.splitlines()
        assert lines[0].startswith("# Feedback for ") and lines[1] == "", name
        assert not any(re.match(r"#+ (misconception|✓)|- item|\*\*bold", line) for line in lines), text
        assert "<b>" not in text
        assert f'href="./{quote(name.removesuffix(".md") + ".html")}' in index


@settings(max_examples=60, deadline=None)
@given(code=st.text(alphabet="ab_*() 0.5", min_size=1, max_size=20).filter(lambda s: "`" not in s and s.strip()),
       before=st.text(alphabet="xy ", max_size=5))
def test_the_terminal_keeps_code_as_written_and_drops_only_emphasis(code, before):
    # `d_k ** 0.5` in an explanation is Python: the terminal drops bold markers, never code's stars
    line = f"{before}**Note:** use `{code}` here"
    shown = plain_text(line)
    assert f"`{code}`" in shown, (line, shown)
    assert shown.startswith(f"{before}Note:"), shown
