"""Text from a submission made safe once, where it enters the trusted side.

Whatever a student controls (an exception's message, what their code printed, a returned string,
a file or folder name) may hold terminal escapes, other control characters, lone surrogates
(which no UTF-8 writer accepts) or bidirectional overrides that reorder what a reader sees. After
`safe`, a text holds none of them: each is shown as a visible escape (`\\x1b`, `\\ud800`,
`\\u202e`), so every writer downstream (terminal, Markdown, HTML, CSV, XML, JSON, SQLite) can take
it as it is, and a reader still sees that something was there.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

# C0 controls but tab and newline; DEL and the C1 controls; lone surrogates; the line and
# paragraph separators; XML's two non-characters; and what a reader cannot see or tells from a
# plain space: every format character (Unicode category Cf: bidirectional marks, embeddings,
# overrides and isolates, zero-width spaces and joiners, the byte order mark, tags), every space
# but U+0020 (category Zs), and the rest of the default-ignorable code points (soft hyphen,
# Hangul fillers, variation selectors, the Mongolian vowel separator).
_INVISIBLE = ("\u00a0\u00ad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u115f\u1160\u1680"
              "\u17b4\u17b5\u180b-\u180f\u2000-\u200f\u202a-\u202f\u205f-\u206f\u3000\u3164\ufe00-\ufe0f"
              "\ufeff\uffa0\ufff0-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
              "\U0001d173-\U0001d17a\U000e0000-\U000e0fff")
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029\ufffe\uffff" + _INVISIBLE + "]")
_LINE_BREAKS = re.compile("[\t\n\r]")  # what an id (one line: a summary row, a heading) may not hold either
CUT = "… [{more:,} more characters not shown]"


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def safe(text: Any, limit: int | None = None) -> str:
    """`text` as a string with every unsafe character shown escaped (CR as a line end), at most
    `limit` characters of the original kept."""
    if type(text) is not str:
        try:
            text = str(text)
        except Exception as e:  # noqa: BLE001  (a str subclass or object whose __str__ fails)
            text = f"(text that could not be shown: {type(e).__name__})"
    cut = ""
    if limit is not None and len(text) > limit:
        cut, text = CUT.format(more=len(text) - limit), text[:limit]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return UNSAFE.sub(_escape, text) + cut


def safe_line(text: Any, limit: int | None = None) -> str:
    """`text` made `safe` for one line: newlines, tabs and carriage returns escaped too, and
    leading or trailing whitespace shown as `\\x20` (two ids that differ only there stay
    visibly different)."""
    text = text if type(text) is str else safe(text)
    text = safe(_LINE_BREAKS.sub(_escape, text), limit)
    core = text.strip(" ")
    if core == text:
        return text
    start = text.index(core) if core else len(text)
    return _spaces(text[:start]) + core + _spaces(text[start + len(core):])


def _spaces(text: str) -> str:
    return "\\x20" * len(text)


def is_safe(text: str) -> bool:
    return UNSAFE.search(text) is None and "\r" not in text


def safe_fields(obj: Any) -> Any:
    """A frozen result (dataclass) with every string inside made safe, recursively, through
    tuples and nested dataclasses; values that are already safe are kept as they are."""
    if type(obj) is str:
        return obj if is_safe(obj) else safe(obj)
    if isinstance(obj, tuple):
        items = tuple(safe_fields(x) for x in obj)
        return obj if all(a is b for a, b in zip(items, obj, strict=True)) else items
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        changes = {}
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            new = safe_fields(value)
            if new is not value:
                changes[f.name] = new
        return dataclasses.replace(obj, **changes) if changes else obj
    return obj
