"""Feedback rendered with Jinja2: terminal text, Markdown and HTML per student, the class report,
misconception explanations.

Teachers override any template by putting a file of the same name in `--templates DIR`.
Student-controlled text (messages, output) is escaped for Markdown by the `md` filter; HTML
templates (`*.html.j2`) are autoescaped.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from . import __version__
from .compare import fmt
from .errors import GraderError
from .pages import check_pictures, difference_at, md_html, value_html
from .pictures import histogram

PACKAGE_TEMPLATES = Path(__file__).parent / "templates"
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|#])")


def md_escape(text: Any) -> str:
    """Make untrusted text inert in Markdown: no HTML, no links, no emphasis, no table breaks."""
    s = str(text)
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", s)


def md_code(text: Any) -> str:
    """Inline code span that cannot be closed early by backticks in the text."""
    s = str(text).replace("\n", " ")
    ticks = max((len(m) for m in re.findall(r"`+", s)), default=0) + 1
    fence = "`" * ticks
    pad = " " if s.startswith("`") or s.endswith("`") else ""
    return f"{fence}{pad}{s}{pad}{fence}"


def md_block(text: Any) -> str:
    """Fenced block for multi-line untrusted output."""
    s = str(text)
    ticks = max((len(m) for m in re.findall(r"`{3,}", s)), default=2) + 1
    return f"{'`' * ticks}text\n{s}\n{'`' * ticks}"


_MD_ESCAPED = re.compile(r"\\([\\`*_\[\]|#])")
_FENCE = re.compile(r"^\s*`{3,}[a-z]*\s*$")


def plain_text(markdown: str) -> str:
    """Markdown feedback as a terminal shows it: no escapes, no HTML entities, no emphasis markers,
    no code fences (a fenced block's lines stay). What was student text stays literal: it was
    escaped once, and is unescaped once (it is already safe of control characters)."""
    lines = [line for line in markdown.split("\n") if not _FENCE.match(line)]
    text = "\n".join(lines).replace("**", "")
    text = _MD_ESCAPED.sub(r"\1", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


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
        self.env = jinja2.Environment(loader=jinja2.FileSystemLoader(search), autoescape=_html_template, auto_reload=False,
                                      undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                                      keep_trailing_newline=True)
        # exercise templates come from YAML: sandboxed, so a template cannot reach Python internals
        self.exercise_env = SandboxedEnvironment(undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        for env in (self.env, self.exercise_env):
            env.filters.update(fmt=fmt, md=md_escape, code=md_code, block=md_block, reflow=reflow)
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
                template = self._compiled[source] = self.exercise_env.from_string(source)
            return template.render(context).strip()
        except jinja2.TemplateError as e:
            return f"(feedback template error: {type(e).__name__}: {e})"

    def generic(self, misconception_id: str, context: dict[str, Any]) -> str:
        return self.env.get_template(f"generic/{misconception_id}.md.j2").render(context).strip()

    # ------------------------------------------------------------ documents

    def render(self, name: str, **context: Any) -> str:
        try:
            return self.env.get_template(name).render(**context)
        except jinja2.TemplateError as e:
            raise GraderError(f"template {name}: {e}") from None

    def html_page(self, result: Any, max_detailed: int = 3) -> str:
        """A student's HTML feedback page (`submission.html.j2`)."""
        return self.render("submission.html.j2", sub=result, max_detailed=max_detailed)

    def class_report(self, context: dict[str, Any], max_names: int = 40) -> str:
        """The class report (`report.html.j2`) from a ClassReport's context."""
        return self.render("report.html.j2", **context, max_names=max_names, mark=STATUS_MARKS)
