"""The errors a user can cause: each becomes one line and exit code 2 in the CLI."""

from __future__ import annotations


class GraderError(Exception):
    """Bad input from a user (teacher or student files, options): shown as one line."""


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
