"""HTML feedback: the pieces the page templates use, and the class report's tallies.

- `md_html`: the Markdown of an explanation (trusted template text in which a student's values
  were escaped for Markdown) as HTML, with `markdown.markdown_html`: no raw HTML, no links, no
  images, so a page never loads anything.
- `value_html`: an expected or returned value, with the first element that differs marked.
- `ClassReport`: per-student summaries collected one result at a time (memory grows by a few
  numbers per student, not by results), rendered as the class report.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from markupsafe import Markup, escape

from .check_data import first_difference, values
from .compare import Tolerance
from .markdown import markdown_html
from .pictures import Picture, pictures
from .results import WORKER_DIED, SubmissionResult

# ------------------------------------------------------------------ Markdown


def md_html(markdown: Any) -> Markup:
    """An explanation's Markdown as HTML: its headings are h4 (it stands under the exercise's h3),
    list items hold their text without paragraphs, and an indented line stays text (a quoted
    value may span indented lines)."""
    return markdown_html(markdown, headings=(4, 4), tight=True, indented_code=False)


# ------------------------------------------------------------------ values


def _number(x: float) -> str:
    if np.isnan(x):
        return "nan"
    return f"{x:.4g}" if abs(x) >= 1e4 or (0 < abs(x) < 1e-3) else f"{round(float(x), 4):g}"


def _cell(x: float, index: tuple[int, ...], mark: tuple[int, ...] | None) -> str:
    text = escape(_number(float(x)))
    if index == mark:
        return f'<mark class="diff" data-index="{",".join(map(str, index))}">{text}</mark>'
    return str(text)


def _array_html(a: np.ndarray, mark: tuple[int, ...] | None, limit: int = 12) -> str:
    """A 1-D array inline, a 2-D one as a small table; at most `limit` elements per axis."""
    if a.ndim == 1:
        items = [_cell(a[k], (k,), mark) for k in range(min(len(a), limit))]
        return "[" + ", ".join(items + (["…"] if len(a) > limit else [])) + "]"
    if a.ndim == 2:
        rows = []
        for i in range(min(a.shape[0], limit)):
            cells = "".join(f"<td>{_cell(a[i, j], (i, j), mark)}</td>" for j in range(min(a.shape[1], limit)))
            rows.append(f"<tr>{cells}{'<td>…</td>' if a.shape[1] > limit else ''}</tr>")
        if a.shape[0] > limit:
            rows.append("<tr><td>…</td></tr>")
        return f'<table class="matrix" data-shape="{a.shape[0]}×{a.shape[1]}">{"".join(rows)}</table>'
    return str(escape(np.array2string(a, precision=4, threshold=60)))


def value_html(kept: Mapping[str, Any] | None, other: Mapping[str, Any] | None = None,
               tolerance: Sequence[float] | None = None) -> Markup:
    """A kept value as HTML; with `other`, the first element where the two differ is marked."""
    if not kept:
        return Markup("")
    a = values(kept)
    if a is None or a.ndim == 0 or a.size > 400:
        return Markup(f"<code>{escape(kept.get('text', ''))}</code>")
    tol = Tolerance(*tolerance) if tolerance else Tolerance()
    mark = first_difference(a, values(other), tol) if other else None
    return Markup(f'<code class="array">{_array_html(a, mark)}</code>')


def difference_at(data: Mapping[str, Any]) -> str:
    """Where expected and got first differ, as text ("[1, 0]"), or ""."""
    tol = Tolerance(*data.get("tolerance", (1e-5, 1e-8)))
    at = first_difference(values(data.get("got")), values(data.get("expected")), tol)
    return "" if at is None else "[" + ", ".join(map(str, at)) + "]"


def check_pictures(data: Mapping[str, Any] | None) -> list[Picture]:
    """The pictures of a check; a picture that cannot be drawn is left out, never the page."""
    try:
        return pictures(data)
    except (ValueError, TypeError, IndexError, ArithmeticError):
        return []


# ------------------------------------------------------------------ the class report


@dataclass
class Student:
    id: str
    name: str
    score: float
    max_score: float
    page: str | None
    statuses: dict[str, str]
    problems: list[tuple[str, str, str]]  # (exercise, status, message) for timeouts, errors, crashes

    @property
    def percent(self) -> float:
        return 100.0 * self.score / self.max_score if self.max_score > 0 else 0.0


@dataclass
class ClassReport:
    """Tallies of a class, one result at a time; `context()` is the report template's."""

    students: list[Student] = field(default_factory=list)
    exercises: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> title, points, statuses
    checks: dict[tuple[str, str], Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    misconceptions: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    def add(self, result: SubmissionResult, page: str | None = None) -> None:
        meta = dict(result.meta)
        problems = []
        for ex in result.exercises:
            entry = self.exercises.setdefault(ex.id, {"title": ex.title, "points": ex.max_score, "statuses": Counter(),
                                                      "score": 0.0})
            entry["statuses"][ex.status] += 1
            entry["score"] += ex.score
            for c in ex.checks:
                self.checks[(ex.id, c.name)][c.status] += 1
            for m in ex.misconceptions:
                seen = self.misconceptions.setdefault((ex.id, m.id), {"title": m.title, "students": []})
                seen["students"].append((result.id, page))
            if ex.status in ("timeout", "error") or ex.message.startswith(WORKER_DIED):
                problems.append((ex.id, ex.status, ex.message or _first_problem(ex.checks)))
        self.students.append(Student(result.id, str(meta.get("name") or ""), result.score, result.max_score, page,
                                     {ex.id: ex.status for ex in result.exercises}, problems))

    def move(self, sid: str, page: str) -> None:
        """The pages of student `sid` are now at `page`."""
        for s in self.students:
            if s.id == sid:
                s.page = page
        for seen in self.misconceptions.values():
            seen["students"] = [(who, page if who == sid else where) for who, where in seen["students"]]

    def context(self, run: Mapping[str, Any] | None = None) -> dict[str, Any]:
        n = len(self.students)
        percents = [s.percent for s in self.students]
        ranked = sorted(self.misconceptions.items(), key=lambda kv: (-len(kv[1]["students"]), kv[0]))
        exercises = []
        for ex_id, e in self.exercises.items():
            total = sum(e["statuses"].values())
            checks = [{"name": name, "passed": counts["passed"], "total": sum(counts.values()),
                       "statuses": dict(counts)} for (eid, name), counts in self.checks.items() if eid == ex_id]
            exercises.append({"id": ex_id, "title": e["title"], "points": e["points"], "total": total,
                              "passed": e["statuses"]["passed"], "statuses": dict(e["statuses"]),
                              "mean": e["score"] / total if total else 0.0, "checks": checks})
        return {
            "n": n, "students": sorted(self.students, key=lambda s: s.id),
            "percents": percents,
            "mean": sum(percents) / n if n else 0.0,
            "median": float(np.median(percents)) if n else 0.0,
            "exercises": exercises,
            "misconceptions": [{"exercise": ex_id, "id": mid, "title": m["title"], "count": len(m["students"]),
                                "share": len(m["students"]) / n if n else 0.0, "students": m["students"]}
                               for (ex_id, mid), m in ranked],
            "problems": [s for s in sorted(self.students, key=lambda s: s.id) if s.problems],
            "run": dict(run or {}),
            "generated": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        }


def _first_problem(checks: Iterable[Any]) -> str:
    for c in checks:
        if c.status in ("timeout", "error") and c.visibility == "visible":
            return str(c.message)
    return ""


def page_name(feedback_file: str) -> str:
    """The HTML page's name beside a Markdown feedback file (`ada.md` → `ada.html`)."""
    return re.sub(r"\.md$", "", feedback_file) + ".html"
