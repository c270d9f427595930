"""`grade check --watch`: check again on every save, showing the latest result only."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from .errors import GraderError
from .release import DATA


def _stamp(path: Path) -> tuple[tuple[str, int, int], ...]:
    """What changes when the student saves: the submission's files, by name, mtime and size."""
    try:
        if path.is_file():
            st = path.stat()
            return ((path.name, st.st_mtime_ns, st.st_size),)
        stamps = []
        for folder, dirs, names in os.walk(path):
            dirs[:] = [d for d in dirs if not d.startswith((".", "__pycache__")) and d != DATA]
            for name in names:
                if name.endswith((".py", ".ipynb", ".yaml", ".yml")):
                    st = os.stat(os.path.join(folder, name))
                    stamps.append((os.path.join(folder, name), st.st_mtime_ns, st.st_size))
        return tuple(sorted(stamps))
    except OSError:
        return ()


def watch(path: Path, run_once: Callable[[], str], interval: float = 0.01,
          out: Callable[[str], None] = lambda s: print(s, end="", flush=True),
          tty: bool | None = None, rounds: int | None = None) -> None:
    """Run `run_once` now and after every save of `path`, showing its latest text only.

    On a terminal the screen is cleared before each result; elsewhere each result follows a
    line `--- checked at HH:MM:SS`. Polls the files' modification times every `interval` seconds.
    """
    tty = sys.stdout.isatty() if tty is None else tty
    try:
        _watching(path, run_once, interval, out, tty, rounds)
    except KeyboardInterrupt:
        out("\n")


def _watching(path: Path, run_once: Callable[[], str], interval: float, out: Callable[[str], None], tty: bool,
              rounds: int | None) -> None:
    seen: tuple[tuple[str, int, int], ...] | None = None
    done = 0
    while rounds is None or done < rounds:
        stamp = _stamp(path)
        if stamp != seen:
            seen = stamp
            try:
                text = run_once()
            except GraderError as e:
                text = f"grade: error: {e}\n"
            head = "\x1b[H\x1b[2J" if tty else ""
            when = time.strftime("%H:%M:%S")
            out(f"{head}--- checked at {when} (watching {path}; Ctrl-C stops)\n{text}"
                + ("" if text.endswith("\n") else "\n"))
            done += 1
            if rounds is not None and done >= rounds:
                return
        time.sleep(interval)
