"""The errors a user can cause: each becomes one line and exit code 2 in the CLI."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]")


def one_line(text: str) -> str:
    """`text` with line breaks and other control characters shown as escapes, so that a key or
    value taken from a user's file cannot split the message (or forge a second line)."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


class GraderError(Exception):
    """Bad input from a user (teacher or student files, options): shown as one line."""

    def __str__(self) -> str:
        return one_line(super().__str__())


class ExerciseError(GraderError):
    """An exercise file is malformed: names the file, the line and the key."""

    def __init__(self, path: object, line: int | None, key: str, message: str) -> None:
        self.path = str(path)
        self.line = line
        self.key = key
        self.message = message
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {key}: {message}" if key else f"{where}: {message}")


class SubmissionError(GraderError):
    """A submission (or the submissions folder) cannot be read."""
