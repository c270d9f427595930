"""Feedback rendered with Jinja2: terminal text, Markdown per student, misconception explanations.

Teachers override any template by putting a file of the same name in `--templates DIR`.
Student-controlled text (messages, output) is escaped for Markdown by the `md` filter.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from .compare import fmt
from .errors import GraderError

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


def reflow(text: Any, width: int = 92, indent: str = "    ") -> str:
    """Re-wrap Markdown paragraphs for the terminal (single newlines are soft breaks)."""
    import textwrap

    paragraphs = re.split(r"\n\s*\n", str(text).strip())
    out = []
    for p in paragraphs:
        out.append(textwrap.fill(" ".join(p.split()), width=width, initial_indent=indent, subsequent_indent=indent))
    return "\n".join(out)


_SHARED: dict[str, Feedback] = {}


class Feedback:
    """All rendering in one place; implements diagnosis.Renderer."""

    def __init__(self, templates: str | Path | None = None) -> None:
        search = [str(templates)] if templates else []
        if templates and not Path(templates).is_dir():
            raise GraderError(f"{templates}: --templates must be a folder of Jinja2 templates")
        search.append(str(PACKAGE_TEMPLATES))
        # auto_reload off: a template is read once per process, not checked on disk at every render
        self.env = jinja2.Environment(loader=jinja2.FileSystemLoader(search), autoescape=False, auto_reload=False,
                                      undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                                      keep_trailing_newline=True)
        # exercise templates come from YAML: sandboxed, so a template cannot reach Python internals
        self.exercise_env = SandboxedEnvironment(undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        for env in (self.env, self.exercise_env):
            env.filters.update(fmt=fmt, md=md_escape, code=md_code, block=md_block, reflow=reflow)
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
