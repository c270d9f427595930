"""Feedback rendered with Jinja2: terminal text, Markdown and HTML per student, the class report,
misconception explanations.

Teachers override any template by putting a file of the same name in `--templates DIR`.
Markdown templates (`*.md.j2`, and the misconception texts of exercise files) escape every value
they print for Markdown unless it is marked as Markdown already (`MdText`: the `markdown` filter
for trusted Markdown such as a rendered explanation, and what the `md`, `code`, `block` and
`join` filters return); a code span written around one value (`` `{{ x }}` ``) becomes that
value through `code`. HTML templates (`*.html.j2`) are autoescaped.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jinja2
import jinja2.ext

from . import __version__
from .compare import fmt
from .errors import GraderError
from .pages import check_pictures, difference_at, md_html, value_html
from .pictures import histogram
from .templating import BoundedSandbox
from .text import safe_line

PACKAGE_TEMPLATES = Path(__file__).parent / "templates"
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|#~])")
# what starts a block at the head of a line: a list item, a quote, a setext underline, a fence
# a line's trailing spaces (a hard break) and blank lines (a new paragraph) are dropped
_BLANK_LINES = re.compile(r"[ \t]*\n(?:[ \t]*\n)*")
_INDENT = re.compile(r"^[ \t]+", re.MULTILINE)  # a line's indentation (four columns would start code)
_EDGE_LINES = re.compile(r"\A[ \t]*\n|\n[ \t]*\Z")  # and a first or last line that is blank
_MD_LINE_START = re.compile(r"^([ \t]*)([-+](?=[ \t]|$)|[-=]+(?=[ \t]*$)|\d{1,9}(?=[.)](?:[ \t]|$)))", re.MULTILINE)


class MdText(str):
    """Text that is Markdown already: a Markdown template prints it as it is."""

    __slots__ = ()


def md_escape(text: Any) -> MdText:
    """Make untrusted text inert in Markdown: no HTML, no links, no emphasis, no table breaks, no
    block (heading, list, quote, fence, setext underline, indented code) started at the head of a
    line; blank lines and indentation, which a paragraph does not show, are dropped."""
    s = _INDENT.sub("", _EDGE_LINES.sub("", _BLANK_LINES.sub("\n", str(text))))
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    s = _MD_SPECIAL.sub(r"\\\1", s)
    return MdText(_MD_LINE_START.sub(_line_start, s))


def md_cell(text: Any) -> MdText:
    """`md_escape` on one line, for a table cell (a newline would end the table's row)."""
    return md_escape(" ".join(str(text).split("\n")))


def _line_start(m: re.Match[str]) -> str:
    mark = m.group(2)
    return m.group(1) + (mark + "\\" if mark[0].isdigit() else "\\" + mark)


def md_value(value: Any) -> MdText:
    """How a Markdown template prints a value: Markdown as it is, anything else escaped."""
    return value if isinstance(value, MdText) else md_escape("" if value is None else value)


def md_trusted(text: Any) -> MdText:
    """Mark trusted text (a template's own, an explanation rendered already) as Markdown."""
    return MdText(text)


def md_join(items: Any, separator: str = "") -> MdText:
    """`join` for Markdown templates: every item and the separator printed as `md_value` does."""
    return MdText(md_value(separator).join(md_value(x) for x in items))


def md_code(text: Any) -> MdText:
    """Inline code span that cannot be closed early by backticks in the text."""
    s = str(text).replace("\n", " ")
    ticks = max((len(m) for m in re.findall(r"`+", s)), default=0) + 1
    fence = "`" * ticks
    pad = " " if s.startswith("`") or s.endswith("`") or not s.strip() else ""  # `` is no code span
    return MdText(f"{fence}{pad}{s}{pad}{fence}")


def md_block(text: Any) -> MdText:
    """Fenced block for multi-line untrusted output."""
    s = str(text)
    ticks = max((len(m) for m in re.findall(r"`{3,}", s)), default=2) + 1
    return MdText(f"{'`' * ticks}text\n{s}\n{'`' * ticks}")


_CODE_SPAN = re.compile(r"(?<!`)`([^`\n]*\{\{[^`\n]*)`(?!`)")
_EXPRESSION = re.compile(r"\{\{-?(.+?)-?\}\}")


def code_spans(source: str) -> str:
    """A template's code spans that hold values (`` `f({{ x }})` ``) rewritten as one value put
    through `code`, so a value shows verbatim there and cannot close the span."""
    def span(m: re.Match[str]) -> str:
        inner = m.group(1)
        if "{%" in inner or "{#" in inner:
            return m.group(0)
        parts, pos = [], 0
        for e in _EXPRESSION.finditer(inner):
            if e.start() > pos:
                parts.append(_literal(inner[pos:e.start()]))
            parts.append(f"({e.group(1)})")
            pos = e.end()
        if pos < len(inner):
            parts.append(_literal(inner[pos:]))
        return "{{ (" + " ~ ".join(parts) + ") | code }}"
    return _CODE_SPAN.sub(span, source)


def _literal(text: str) -> str:
    """A Jinja string literal of `text` (Jinja reads its backslash escapes as Python does)."""
    return '"' + text.encode("unicode_escape").decode("ascii").replace('"', '\\"') + '"'


class CodeSpans(jinja2.ext.Extension):
    """Applies `code_spans` to every template of an environment."""

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        return code_spans(source)


_MD_ESCAPED = re.compile(r"\\([\\`*_\[\]|#~\-+=>.)])")
_FENCE = re.compile(r"^\s*(`{3,})[a-z]*\s*$")


def plain_text(markdown: str) -> str:
    """Markdown feedback as a terminal shows it: no escapes, no HTML entities, no emphasis markers,
    no code fences (a fenced block's lines stay). What was student text stays literal: it was
    escaped once, and is unescaped once (it is already safe of control characters)."""
    out: list[str] = []
    fence = ""  # the open fence, inside a fenced block (whose lines are shown as they are)
    for line in markdown.split("\n"):
        opening = _FENCE.match(line)
        if fence:
            if line.strip() == fence:
                fence = ""
            else:
                out.append(line)
        elif opening:
            fence = opening.group(1)
        else:
            text = _MD_ESCAPED.sub(r"\1", _unbold(line))
            out.append(text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))
    return "\n".join(out)


_ANY_CODE_SPAN = re.compile(r"(`+).*?(?<!`)\1(?!`)")


def _unbold(line: str) -> str:
    """The line without its `**` emphasis markers; inside code spans (`d_k ** 0.5`) they are code."""
    out, pos = [], 0
    for m in _ANY_CODE_SPAN.finditer(line):
        out += [line[pos:m.start()].replace("**", ""), m.group(0)]
        pos = m.end()
    return "".join(out) + line[pos:].replace("**", "")


_BOLD = re.compile(r"\*\*(.+?)\*\*")
_ANSI = {"bold": "\x1b[1m", "red": "\x1b[31m", "green": "\x1b[32m", "yellow": "\x1b[33m", "dim": "\x1b[2m",
         "reset": "\x1b[0m"}


def terminal_text(markdown: str, colour: bool) -> str:
    """Markdown feedback for the terminal: plain text, or with colour (headings and bold text
    bold, passes green, failures red) when `colour`. Colour codes are added around the trusted
    template's marks only; student text had its control characters made visible on arrival."""
    if not colour:
        return plain_text(markdown)
    marked = _BOLD.sub(lambda m: "\0B" + m.group(1) + "\0R", markdown)
    out = []
    for line in plain_text(marked).split("\n"):
        for status, hue in (("· passed", "green"), ("· failed", "red"), ("· error", "yellow"), ("· timeout", "yellow"),
                            ("· missing", "yellow")):
            if line.endswith(status):
                line = line[: -len(status)] + "· " + _ANSI[hue] + status[2:] + _ANSI["reset"]
        if line.startswith("#"):
            line = _ANSI["bold"] + line.lstrip("#").strip() + _ANSI["reset"]
        line = line.replace("\0B", _ANSI["bold"]).replace("\0R", _ANSI["reset"])
        line = line.replace("✓", _ANSI["green"] + "✓" + _ANSI["reset"]).replace("✗", _ANSI["red"] + "✗" + _ANSI["reset"])
        out.append(line)
    return "\n".join(out)


def _html_template(name: str | None) -> bool:
    """Autoescape for HTML templates (and their CSS, which holds no values)."""
    return bool(name) and str(name).endswith((".html.j2", ".html", ".css.j2"))


def reflow(text: Any, width: int = 92, indent: str = "    ") -> str:
    """Re-wrap Markdown paragraphs for the terminal (single newlines are soft breaks)."""
    import textwrap

    paragraphs = re.split(r"\n\s*\n", str(text).strip())
    out = []
    for p in paragraphs:
        out.append(textwrap.fill(" ".join(p.split()), width=width, initial_indent=indent, subsequent_indent=indent))
    return "\n".join(out)


STATUS_MARKS = {"passed": "✓", "failed": "✗", "error": "!", "timeout": "⏱", "missing": "?"}
_SHARED: dict[str, Feedback] = {}


class Feedback:
    """All rendering in one place; implements diagnosis.Renderer."""

    def __init__(self, templates: str | Path | None = None) -> None:
        search = [str(templates)] if templates else []
        if templates and not Path(templates).is_dir():
            raise GraderError(f"{templates}: --templates must be a folder of Jinja2 templates")
        search.append(str(PACKAGE_TEMPLATES))
        # auto_reload off: a template is read once per process, not checked on disk at every render
        options: dict[str, Any] = {"undefined": jinja2.StrictUndefined, "trim_blocks": True, "lstrip_blocks": True}
        loader = jinja2.FileSystemLoader(search)
        # auto_reload off: a template is read once per process, not checked on disk at every render
        self.env = jinja2.Environment(loader=loader, autoescape=_html_template, auto_reload=False,
                                      keep_trailing_newline=True, **options)
        # Markdown templates: every value printed escaped unless it is Markdown already
        markdown = {"finalize": md_value, "extensions": [CodeSpans], **options}
        self.md_env = jinja2.Environment(loader=loader, auto_reload=False, keep_trailing_newline=True, **markdown)
        # exercise templates come from YAML: sandboxed, so a template cannot reach Python internals;
        # quiz questions (trusted values) are rendered as written, misconception texts escape values
        self.exercise_env = BoundedSandbox(**options)
        self.misconception_env = BoundedSandbox(**markdown)
        for env in (self.env, self.md_env, self.exercise_env, self.misconception_env):
            env.filters.update(fmt=fmt, md=md_escape, code=md_code, block=md_block, reflow=reflow, line=safe_line,
                               markdown=md_trusted, plain=plain_text, cell=md_cell)
        for env in (self.md_env, self.misconception_env):
            env.filters["join"] = md_join
        self.env.filters.update(md_html=md_html, value=value_html)
        self.env.globals.update(check_pictures=check_pictures, difference_at=difference_at, histogram=histogram,
                                version=__version__)
        self._compiled: dict[str, jinja2.Template] = {}
        self.memo: dict[Any, str] = {}  # rendered texts the caller knows to be reusable

    @classmethod
    def shared(cls, templates: str | Path | None = None) -> Feedback:
        """One per process and templates folder: compiled templates serve every session."""
        key = str(Path(templates).resolve()) if templates else ""
        feedback = _SHARED.get(key)
        if feedback is None:
            feedback = _SHARED[key] = cls(templates)
        return feedback

    # ------------------------------------------------------------ explanations

    def misconception(self, source: str, context: dict[str, Any]) -> str:
        # A teacher's broken template must not stop a batch: say so in the text (validate reports it).
        try:
            template = self._compiled.get(source)
            if template is None:
                template = self._compiled[source] = self.misconception_env.from_string(source)
            return template.render(context).strip()
        except jinja2.TemplateError as e:
            return f"(feedback template error: {type(e).__name__}: {e})"

    def generic(self, misconception_id: str, context: dict[str, Any]) -> str:
        return self.md_env.get_template(f"generic/{misconception_id}.md.j2").render(context).strip()

    # ------------------------------------------------------------ documents

    def render(self, name: str, **context: Any) -> str:
        try:
            env = self.md_env if name.endswith(".md.j2") else self.env
            return env.get_template(name).render(**context)
        except jinja2.TemplateError as e:
            raise GraderError(f"template {name}: {e}") from None

    def html_page(self, result: Any, max_detailed: int = 3) -> str:
        """A student's HTML feedback page (`submission.html.j2`)."""
        return self.render("submission.html.j2", sub=result, max_detailed=max_detailed)

    def class_report(self, context: dict[str, Any], max_names: int = 40) -> str:
        """The class report (`report.html.j2`) from a ClassReport's context."""
        return self.render("report.html.j2", **context, max_names=max_names, mark=STATUS_MARKS)
