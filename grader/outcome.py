"""What one call of a function produced, on either side of the trust boundary."""

from __future__ import annotations

import builtins
import copy
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Returned:
    value: Any


@dataclass(frozen=True)
class Raised:
    type: str
    bases: tuple[str, ...]  # the exception class and its bases, by name
    message: str
    where: str = ""

    def is_a(self, name: str) -> bool:
        return name in self.bases or name == self.type

    def describe(self) -> str:
        text = f"{self.type}: {self.message}" if self.message else self.type
        return f"{text} ({self.where})" if self.where else text


@dataclass(frozen=True)
class TimedOut:
    seconds: float


@dataclass(frozen=True)
class Crashed:
    reason: str


Outcome = Returned | Raised | TimedOut | Crashed


@dataclass(frozen=True)
class Call:
    """One recorded call of a student's function, for diagnosis."""

    check: str
    visible: bool
    args: tuple[Any, ...]
    kwargs: Mapping[str, Any]
    outcome: Outcome
    mutated: tuple[str, ...] = field(default=())  # names of the arguments the call modified
    case: bool = False  # a YAML case: the same arguments for every submission

def run_trusted(func: Callable[..., Any], args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Outcome:
    """Call a reference or model on copies of the arguments; its exceptions become outcomes."""
    a, k = copy.deepcopy(list(args)), copy.deepcopy(dict(kwargs))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return Returned(func(*a, **k))
        except Exception as e:
            return Raised(type(e).__name__, tuple(c.__name__ for c in type(e).__mro__), str(e))


def _builtin_exception(name: str) -> bool:
    cls = getattr(builtins, name, None)
    return isinstance(cls, type) and issubclass(cls, BaseException)


def hidden_safe(outcome: Outcome) -> Outcome:
    """A hidden call's outcome as the diagnosis may quote it: nothing the student chose that could
    carry the call's inputs out (an exception's message, place or class name, an exit status).
    An exception keeps the built-in classes it derives from, so models still match it by type."""
    if isinstance(outcome, Raised):
        names = [n for n in (outcome.type, *outcome.bases) if _builtin_exception(n)]
        return Raised(names[0] if names else "Exception", tuple(names[1:]), "", "")
    if isinstance(outcome, Crashed) and not outcome.reason.startswith(_FIXED_CRASHES):
        return Crashed("the process stopped in the middle of a call")
    return outcome


# what a crash says that the student cannot choose (see sandbox.host.describe_exit)
_FIXED_CRASHES = ("the sandbox stopped answering", "the process crashed with a segmentation fault",
                  "the process used up its CPU time", "the process was killed (signal 9)",
                  "the process wrote a file larger than allowed", "the sandbox sent a malformed reply")
