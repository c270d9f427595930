"""Markdown to HTML for exercise prompts and feedback explanations: a small subset of
CommonMark, and everything else escaped text.

Blocks: paragraphs, `#` headings, `-`/`*`/`+` lists (nested by two spaces of indentation),
fenced code (``` or ~~~) and indented code. Inline: code spans, **strong**, *emphasis*,
backslash escapes and character references. There is no raw HTML, no link and no image, and
no element has an attribute: a page never loads anything because of its Markdown.
"""

from __future__ import annotations

import bisect
import html
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

MAX_NESTING = 8  # lists nested deeper than this hold their lines as one paragraph

_TOKEN = re.compile(r"\\([!-/:-@\[-`{-~])|(`+)|(&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});)"
                    r"|(\*+)")
_TICKS = re.compile(r"`+")
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})[^`]*$")
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_ITEM = re.compile(r"^[ \t]*[-*+][ \t]+(.*)$")


@dataclass(frozen=True)
class _Style:
    headings: tuple[int, int]
    tight: bool
    indented_code: bool


def markdown_html(text: Any, *, headings: tuple[int, int] = (2, 6), tight: bool = False,
                  indented_code: bool = True) -> Markup:
    """Markdown (the subset above) as HTML in which every character of `text` is escaped.

    `headings`: the HTML levels of a `#` heading and of the deepest one (`##` is one below
    `#`). `tight`: list items hold their text without `<p>`. `indented_code`: a line indented
    by four spaces after a blank line starts a code block (otherwise it is paragraph text).
    """
    lines = str(text).replace("\r\n", "\n").split("\n")
    return Markup("\n".join(_blocks(lines, _Style(headings, tight, indented_code), 0)))


def _indent(line: str) -> int:
    """The column of the line's first character that is not a space or a tab (tab stops of 4)."""
    column = 0
    for c in line:
        if c == " ":
            column += 1
        elif c == "\t":
            column += 4 - column % 4
        else:
            break
    return column


def _dedent(line: str, columns: int) -> str:
    """The line without its first `columns` columns of indentation (or all it has); the rest of
    its indentation becomes spaces, a tab further in stays a tab."""
    return " " * max(_indent(line) - columns, 0) + line.lstrip(" \t")


def _closes(line: str, mark: str) -> bool:
    s = line.strip()
    return len(s) >= len(mark) and set(s) == {mark[0]}


def _blocks(lines: list[str], style: _Style, depth: int, in_item: bool = False) -> list[str]:
    """The HTML blocks of these lines (a document, or one list item's lines at `depth`)."""
    out: list[str] = []
    para: list[str] = []
    items: list[list[str]] = []

    def flush() -> None:
        if para:
            text = _inline(" ".join(line.strip() for line in para))
            out.append(text if in_item and style.tight else f"<p>{text}</p>")
            para.clear()
        if items:
            out.append("<ul>" + "".join(f"<li>{_item(it, style, depth + 1)}</li>" for it in items) + "</ul>")
            items.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        indent = _indent(line)
        if items and indent >= 2:
            items[-1].append(_dedent(line, 2))
            i += 1
            continue
        fence = _FENCE.match(line)
        if fence:
            flush()
            mark = fence.group(1)
            j = i + 1
            while j < len(lines) and not _closes(lines[j], mark):
                j += 1
            out.append(f"<pre><code>{escape(chr(10).join(lines[i + 1:j]))}</code></pre>")
            i = j + 1
            continue
        heading = _HEADING.match(line)
        item = _ITEM.match(line)
        if not line.strip():
            if items and i + 1 < len(lines) and _indent(lines[i + 1]) >= 2:
                items[-1].append("")  # a blank line inside a list item
            else:
                flush()
        elif style.indented_code and indent >= 4 and not para:
            flush()
            j = i
            while j < len(lines) and (_indent(lines[j]) >= 4 or not lines[j].strip()):
                j += 1
            code = [_dedent(s, 4) for s in lines[i:j]]
            while not code[-1].strip():
                code.pop()
            out.append(f"<pre><code>{escape(chr(10).join(code))}</code></pre>")
            i = j
            continue
        elif heading:
            flush()
            level = min(style.headings[0] + len(heading.group(1)) - 1, style.headings[1])
            out.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
        elif item and indent <= 3:
            if para:
                flush()
            items.append([item.group(1)])
        elif items and indent:
            items[-1][-1] += " " + line.strip()  # a lazy continuation of the item's text
        else:
            if items:
                flush()
            para.append(line)
        i += 1
    flush()
    return out


def _item(lines: list[str], style: _Style, depth: int) -> str:
    if depth >= MAX_NESTING:
        text = _inline(" ".join(line.strip() for line in lines if line.strip()))
        return text if style.tight else f"<p>{text}</p>"
    return "\n".join(_blocks(lines, style, depth, in_item=True))


# ------------------------------------------------------------------ inline


@dataclass
class _Run:
    """A run of `*`: which part of the output it is, how many stars are left, and the tags it became."""

    at: int
    count: int
    length: int
    can_open: bool
    can_close: bool
    opens: list[str] = field(default_factory=list)
    closes: list[str] = field(default_factory=list)


def _punctuation(c: str) -> bool:
    return unicodedata.category(c)[0] in "PS"


def _run(text: str, start: int, end: int, at: int) -> _Run:
    """A run of stars with CommonMark's left- and right-flanking rules."""
    before = text[start - 1] if start else " "
    after = text[end] if end < len(text) else " "
    left = not after.isspace() and (not _punctuation(after) or before.isspace() or _punctuation(before))
    right = not before.isspace() and (not _punctuation(before) or after.isspace() or _punctuation(after))
    return _Run(at, end - start, end - start, left, right)


def _inline(text: str) -> str:
    """One block's inline Markdown as HTML; every character of the text is escaped."""
    parts: list[str] = []
    runs: list[_Run] = []
    ticks: dict[int, list[int]] = {}  # the start of every run of backticks, by its length
    for run in _TICKS.finditer(text):
        ticks.setdefault(len(run.group()), []).append(run.start())
    pos = 0
    while pos < len(text):
        m = _TOKEN.search(text, pos)
        if m is None:
            parts.append(str(escape(text[pos:])))
            break
        parts.append(str(escape(text[pos:m.start()])))
        pos = m.end()
        if m.group(1) is not None:  # a backslash escape: the character itself
            parts.append(str(escape(m.group(1))))
        elif m.group(2) is not None:  # a code span runs to the next run of as many backticks
            n = len(m.group(2))
            starts = ticks.get(n, [])
            k = bisect.bisect_left(starts, pos)
            if k == len(starts):
                parts.append(m.group(2))
                continue
            code = text[pos:starts[k]].replace("\n", " ")
            if len(code) > 2 and code[0] == code[-1] == " " and code.strip():
                code = code[1:-1]
            parts.append(f"<code>{escape(code)}</code>")
            pos = starts[k] + n
        elif m.group(3) is not None:  # a character reference: decoded, then escaped
            parts.append(str(escape(html.unescape(m.group(3)))))
        else:
            runs.append(_run(text, m.start(), m.end(), len(parts)))
            parts.append("")
    _emphasis(runs)
    for r in runs:
        parts[r.at] = "".join(r.closes) + "*" * r.count + "".join(r.opens)
    return "".join(parts)


def _pairs(opener: _Run, closer: _Run) -> bool:
    """CommonMark's rule of three: runs that may both open and close pair only in some lengths."""
    both = opener.can_close or closer.can_open
    return not (both and (opener.length + closer.length) % 3 == 0
                and not (opener.length % 3 == 0 and closer.length % 3 == 0))


def _emphasis(runs: list[_Run]) -> None:
    """Pair runs of stars into `<em>` and `<strong>` (CommonMark's delimiter algorithm), so that
    the tags always nest."""
    stack: list[_Run] = []  # runs that may still open, oldest first
    bottom: dict[tuple[bool, int], int] = {}  # per kind of closer: below this, no opener pairs with it
    for run in runs:
        if run.can_close:
            kind = (run.can_open, run.length % 3)
            while run.count:
                j = len(stack) - 1
                low = bottom.get(kind, 0)
                while j >= low and not _pairs(stack[j], run):
                    j -= 1
                if j < low:
                    bottom[kind] = len(stack)
                    break
                opener = stack[j]
                use = 2 if opener.count >= 2 and run.count >= 2 else 1
                tag = "strong" if use == 2 else "em"
                opener.count -= use
                run.count -= use
                opener.opens.insert(0, f"<{tag}>")
                run.closes.append(f"</{tag}>")
                del stack[j + 1:]  # runs between the pair stay text
                if not opener.count:
                    del stack[j]
                for k in bottom:
                    bottom[k] = min(bottom[k], len(stack))
        if run.can_open and run.count:
            stack.append(run)
