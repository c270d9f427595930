"""The Markdown subset of prompts and feedback (`grader.markdown`): whatever the text, the HTML
has only the subset's elements, without attributes and properly nested, and shows the text."""

from __future__ import annotations

import html.parser
import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from grader.markdown import MAX_NESTING, markdown_html
from grader.pages import md_html

ALLOWED = {"p", "ul", "li", "pre", "code", "strong", "em", "h2", "h3", "h4", "h5", "h6"}
MARKUP = set("*`~-+#\\")  # characters the subset may take as markup instead of showing them

markdownish = st.text(alphabet=st.sampled_from(list("ab1 é\u00a0<>&;\"'`*_-+#~\\\n\t\r")), max_size=80)
any_text = st.one_of(markdownish, st.text(max_size=80),
                     st.lists(st.sampled_from(["- ", "  ", "    ", "\n", "\n\n", "# ", "**", "*", "`", "```", "~~~",
                                               "x", "<b>", "&amp;", "&#60;", "\\*", "+ "]), max_size=20).map("".join))
styles = st.sampled_from([markdown_html, md_html])


class Structure(html.parser.HTMLParser):
    """A document's elements, checked to nest, and its text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.open: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert attrs == [], (tag, attrs)
        self.tags.append(tag)
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open.pop() == tag, (tag, self.open)

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def unknown_decl(self, data: str) -> None:
        raise AssertionError(f"a declaration: {data!r}")

    def handle_comment(self, data: str) -> None:
        raise AssertionError(f"a comment: {data!r}")

    def handle_pi(self, data: str) -> None:
        raise AssertionError(f"a processing instruction: {data!r}")


def structure(document: str) -> Structure:
    s = Structure()
    s.feed(document)
    s.close()
    assert s.open == [], f"unclosed {s.open}"
    return s


def letters(text: str) -> str:
    return "".join(c for c in text if not c.isspace() and c not in MARKUP)


@settings(max_examples=400, deadline=None)
@given(any_text, styles)
def test_any_text_gives_only_the_subsets_elements_nested(text: str, convert) -> None:
    s = structure(str(convert(text)))
    assert set(s.tags) <= ALLOWED


@settings(max_examples=400, deadline=None)
@given(any_text, styles)
def test_the_text_shows_but_for_markup(text: str, convert) -> None:
    """Every character that is not markup shows, in order: nothing is dropped, nothing invented."""
    assume(";" not in text)  # no character references: they show as the character they name
    assume(not re.search(r"(```|~~~)[`~]*[ \t]*[^`~\s]", text))  # a fence's info string is not shown
    assert letters("".join(structure(str(convert(text))).text)) == letters(text)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=30).filter(lambda s: "\n" not in s and "\r" not in s), max_size=6), styles)
def test_a_fenced_block_shows_its_lines_as_they_are(body: list[str], convert) -> None:
    assume(not any(line.strip() and set(line.strip()) <= {"`"} and len(line.strip()) >= 3 for line in body))
    html_ = str(convert("Before:\n\n```python\n" + "\n".join(body) + "\n```\n\nafter"))
    blocks = re.findall(r"<pre><code>(.*?)</code></pre>", html_, re.S)
    assert len(blocks) == 1
    assert "".join(structure(f"<pre>{blocks[0]}</pre>").text) == "\n".join(body)
    assert html_.endswith("<p>after</p>")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab *")), max_size=30))
def test_stars_either_pair_or_show(text: str) -> None:
    """Stars become <em>/<strong> in pairs; a star that pairs with nothing stays a star."""
    s = structure(str(markdown_html("x" + text + "x")))
    stars = "".join(s.text).count("*")
    paired = sum(1 if tag == "em" else 2 for tag in s.tags if tag in ("em", "strong"))
    assert stars + 2 * paired == text.count("*")


def test_the_subset() -> None:
    text = ("# Title #\n\nSome *words*, **strong**, ``a `b` c``, \\*not\\*, &lt;b&gt; & <i>.\n"
            "- one\n- two\n  - nested\n\n  more of two\n\n~~~\n<code>\n~~~\n\n    indented\n\n## Deeper")
    assert str(markdown_html(text)) == (
        "<h2>Title</h2>\n"
        "<p>Some <em>words</em>, <strong>strong</strong>, <code>a `b` c</code>, *not*, &lt;b&gt; &amp; &lt;i&gt;.</p>\n"
        "<ul><li><p>one</p></li><li><p>two</p>\n<ul><li><p>nested</p></li></ul>\n<p>more of two</p></li></ul>\n"
        "<pre><code>&lt;code&gt;</code></pre>\n<pre><code>indented</code></pre>\n<h3>Deeper</h3>")
    # tabs stop every four columns; an item's lines lose the two of its indentation
    assert str(markdown_html("- a\n\n\t\tcode\tend")) == "<ul><li><p>a</p>\n<pre><code>  code\tend</code></pre></li></ul>"


def test_explanations_keep_their_own_style() -> None:
    """In feedback, headings stand under an exercise's h3, items are compact, and an indented
    line (a quoted value's) stays in its paragraph."""
    text = "# Why\n\nYou returned\n\n    [[1, 2],\n     [3, 4]]\n\n- one\n- two\n\n### Then"
    assert str(md_html(text)) == ("<h4>Why</h4>\n<p>You returned</p>\n<p>[[1, 2], [3, 4]]</p>\n"
                                  "<ul><li>one</li><li>two</li></ul>\n<h4>Then</h4>")
    assert str(markdown_html("###### Six", headings=(3, 6))) == "<h6>Six</h6>"


def test_emphasis_nests_as_commonmark_says() -> None:
    assert str(markdown_html("***a* b**")) == "<p><strong><em>a</em> b</strong></p>"
    assert str(markdown_html("*foo**bar**baz*")) == "<p><em>foo<strong>bar</strong>baz</em></p>"
    assert str(markdown_html("*foo**bar*")) == "<p><em>foo**bar</em></p>"
    assert str(markdown_html("a * foo bar*")) == "<p>a * foo bar*</p>"
    assert str(markdown_html("2 * 3 * 4")) == "<p>2 * 3 * 4</p>"


@pytest.mark.parametrize("text", ["- " * 5000 + "x", "".join("  " * k + "- x\n" for k in range(300)),
                                  "`" * 3000 + "a" + "``" * 1500, "*a " * 5000, "a*a**" * 4000])
def test_pathological_input_is_still_a_page(text: str) -> None:
    """Deep nesting and long runs of markup give a page (lists stop nesting at MAX_NESTING)."""
    s = structure(str(markdown_html(text)))
    assert s.tags.count("ul") <= MAX_NESTING + 1
    assert letters("".join(s.text)) == letters(text)
