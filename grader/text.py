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

# C0 controls but tab and newline; DEL and the C1 controls; lone surrogates; the bidirectional
# embeddings, overrides and isolates; the line and paragraph separators; XML's two non-characters.
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u200e\u200f\u202a-\u202e\u2028\u2029"
                    "\u2066-\u2069\ufffe\uffff]")
CUT = "… [{more:,} more characters not shown]"


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


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
