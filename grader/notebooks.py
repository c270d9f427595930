"""Jupyter notebooks as submissions: their code cells as one module, IPython syntax made inert,
and a module's line mapped back to its cell."""

from __future__ import annotations

import re

_MAGIC = re.compile(r"^(\s*)(%|!|\?)")

_ASSIGN_MAGIC = re.compile(r"^(\s*[\w.]+\s*=\s*)[%!]")

_HELP = re.compile(r"^\s*[\w.]+\?\??\s*$")



def neutralise_ipython(cell: str) -> str:
    """IPython-only lines become inert Python: never run, and the cell still parses.

    `%%magic` cells are commented out whole; `%magic`, `!shell`, `?help` and `obj?` lines become
    `pass`; `x = %magic` / `x = !cmd` become `x = None`. The original text stays as a comment.
    """
    lines = cell.split("\n")
    if lines and lines[0].lstrip().startswith("%%"):
        return "\n".join(f"# [grader: cell magic not run] {line}" for line in lines)
    out = []
    for line in lines:
        m = _ASSIGN_MAGIC.match(line)
        if m:
            out.append(f"{m.group(1)}None  # [grader: IPython not run] {line.strip()}")
        elif (magic := _MAGIC.match(line)) or _HELP.match(line):
            indent = magic.group(1) if magic else line[:len(line) - len(line.lstrip())]
            out.append(f"{indent}pass  # [grader: IPython not run] {line.strip()}")
        else:
            out.append(line)
    return "\n".join(out)



def notebook_source(data: bytes, rel: str) -> tuple[bytes, str | None]:
    """The code cells of a notebook as one Python module (outputs ignored), or a one-line problem."""
    import nbformat  # here: it loads jsonschema, 70 ms of every start-up, for notebooks alone

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        return b"", f"{rel}: not UTF-8 text (byte {e.start})"
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as e:  # nbformat raises several kinds for malformed files
        detail = str(e).splitlines()[0][:120] if str(e) else type(e).__name__
        return b"", f"{rel}: not a valid Jupyter notebook ({detail})"
    language = (nb.get("metadata", {}).get("language_info", {}) or {}).get("name", "python")
    if language and language != "python":
        return b"", f"{rel}: a {language} notebook; a Python one is expected"
    parts = []
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") == "code":
            source = cell.get("source", "")
            if isinstance(source, list):
                source = "".join(source)
            parts.append(f"# --- {rel}, cell {i + 1}\n{neutralise_ipython(source)}")
    return ("\n\n".join(parts) + "\n").encode(), None



_CELL = re.compile(rb"^# --- .+, cell (?P<cell>\d+)$")



def notebook_place(module: bytes, line: int) -> tuple[int, int] | None:
    """(cell, line in that cell) of a line of the module made of a notebook (notebook_source)."""
    lines = module.split(b"\n")
    for i in range(min(line, len(lines)) - 1, -1, -1):
        m = _CELL.match(lines[i])
        if m:
            return int(m["cell"]), line - (i + 1)
    return None
