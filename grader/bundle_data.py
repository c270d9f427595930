"""A bundle's data: values and outcomes as JSON (numbers, arrays with their dtype and shape,
exceptions by class name), read back with the same checks as a course's YAML, and the tables of
recorded outcomes that stand in for the reference and the models in a student's bundle."""

from __future__ import annotations

import builtins
import copy
import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .errors import GraderError
from .exercise import (
    MAX_ELEMENTS,
    Checker,
    _kind,
)
from .outcome import Outcome, Raised, Returned

MAX_DEPTH = 64  # nesting of lists and mappings in a bundle file


class ReleaseError(GraderError):
    """A course that cannot be released, or a bundle that cannot be read."""


# --------------------------------------------------------------------------- values as JSON


def encode(value: Any, where: str = "a value") -> Any:
    """A value as JSON that decodes to the same types, dtypes, shapes and bits."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if np.isfinite(value) else {"$float": repr(value)}
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biufc":
            raise ReleaseError(f"{where}: cannot ship an array of dtype {value.dtype}")
        return {"$array": encode(value.tolist(), where), "dtype": value.dtype.str, "shape": list(value.shape)}
    if isinstance(value, np.generic):
        return {"$scalar": encode(value.item(), where), "dtype": value.dtype.str}
    if isinstance(value, complex):
        return {"$complex": [encode(value.real), encode(value.imag)]}
    if isinstance(value, list):
        return [encode(v, where) for v in value]
    if isinstance(value, tuple):
        return {"$tuple": [encode(v, where) for v in value]}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"$dict": {k: encode(v, where) for k, v in value.items()}}
    raise ReleaseError(f"{where}: cannot ship a {type(value).__name__} (numbers, strings, lists, tuples, "
                       "dicts and numpy arrays can be shipped)")


def decode(data: Any) -> Any:
    """The value `encode` wrote."""
    if isinstance(data, list):
        return [decode(v) for v in data]
    if not isinstance(data, dict):
        return data
    if "$float" in data:
        return float(data["$float"])
    if "$array" in data:
        return np.array(decode(data["$array"]), dtype=np.dtype(data["dtype"])).reshape(data["shape"])
    if "$scalar" in data:
        return np.dtype(data["dtype"]).type(decode(data["$scalar"]))
    if "$complex" in data:
        return complex(*(decode(v) for v in data["$complex"]))
    if "$tuple" in data:
        return tuple(decode(v) for v in data["$tuple"])
    if "$dict" in data:
        return {k: decode(v) for k, v in data["$dict"].items()}
    raise ReleaseError(f"unknown value encoding {sorted(data)[:3]}")


def call_key(args: Sequence[Any], kwargs: Mapping[str, Any]) -> str:
    """One call's arguments as text: equal text, equal arguments (types and bits included)."""
    return json.dumps(encode([list(args), dict(kwargs)], "an argument"), sort_keys=True)


def encode_outcome(outcome: Outcome, where: str) -> dict[str, Any]:
    if isinstance(outcome, Returned):
        return {"returned": encode(outcome.value, where)}
    if isinstance(outcome, Raised):
        return {"raised": {"type": outcome.type, "bases": list(outcome.bases), "message": outcome.message}}
    raise ReleaseError(f"{where}: the trusted function gave no result ({outcome})")


_CLASSES: dict[tuple[str, ...], type[BaseException]] = {}


def exception_class(bases: Sequence[str]) -> type[BaseException]:
    """An exception class whose class hierarchy has these names (the built-in one where it exists)."""
    key = tuple(bases)
    cls = _CLASSES.get(key)
    if cls is None:
        known = getattr(builtins, key[0], None) if key else None
        if isinstance(known, type) and issubclass(known, Exception) and tuple(c.__name__ for c in known.__mro__) == key:
            cls = known
        else:
            cls = Exception
            chain = list(key[:key.index("Exception")] if "Exception" in key else key[:1])
            for name in reversed(chain):
                cls = type(name, (cls,), {})
        _CLASSES[key] = cls
    return cls


class Recorded:
    """A reference or model replaced by its outcomes on the public cases (a lookup table)."""

    def __init__(self, outcomes: Mapping[str, Any]) -> None:
        self.outcomes = outcomes

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        found = self.outcomes.get(call_key(args, kwargs))
        if found is None:
            raise NotInBundle("this call is not one of the public cases")
        if "raised" in found:
            raised = found["raised"]
            raise exception_class(raised["bases"])(raised["message"])
        return copy.deepcopy(decode(found["returned"]))


class NotInBundle(Exception):
    """A call the bundle has no recorded outcome for (only the public cases have one)."""


_ENCODINGS = {"$float": ("$float",), "$array": ("$array", "dtype", "shape"), "$scalar": ("$scalar", "dtype"),
              "$complex": ("$complex",), "$tuple": ("$tuple",), "$dict": ("$dict",)}


def _check_outcome(c: Checker, outcome: Any, key: str) -> None:
    """A recorded outcome: `{returned: value}` or `{raised: {type, bases, message}}`."""
    if not (isinstance(outcome, dict) and len(outcome) == 1 and next(iter(outcome)) in ("returned", "raised")):
        raise c.fail(key, "expected {returned: value} or {raised: {type, bases, message}}")
    if "returned" in outcome:
        _check_value(c, outcome["returned"], f"{key}.returned")
        try:
            decode(outcome["returned"])
        except (TypeError, ValueError, OverflowError, ReleaseError) as e:
            raise c.fail(f"{key}.returned", f"expected a value written by `grade release`: {e}") from None
        return
    raised = c.mapping(outcome["raised"], f"{key}.raised", ("type", "bases", "message"), ("type", "bases", "message"))
    bases = raised["bases"]
    if not (isinstance(bases, list) and 0 < len(bases) <= MAX_DEPTH
            and all(isinstance(b, str) and b.isidentifier() for b in [raised["type"], *bases])):
        raise c.fail(f"{key}.raised", "expected an exception's class name and the names of its classes")
    if not isinstance(raised["message"], str):
        raise c.fail(f"{key}.raised.message", f"expected text, got {_kind(raised['message'])}")


def _check_value(c: Checker, value: Any, key: str) -> None:
    """A value as `encode` writes it: plain JSON, or one of its `$` mappings with a numeric dtype."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            _check_value(c, item, f"{key}[{i}]")
        return
    if not isinstance(value, dict):
        return
    tag = next((k for k in _ENCODINGS if k in value), None)
    if tag is None or set(value) != set(_ENCODINGS[tag]):
        raise c.fail(key, f"expected a value written by `grade release` (a mapping of one of {', '.join(_ENCODINGS)})")
    if "dtype" in value:
        try:
            kind = np.dtype(value["dtype"]).kind if isinstance(value["dtype"], str) else ""
        except (TypeError, ValueError):
            kind = ""
        if not kind or kind not in "biufc":
            raise c.fail(f"{key}.dtype", f"expected a numeric dtype, got {_kind(value['dtype'])}")
    if tag == "$array":
        shape = value["shape"]
        if not (isinstance(shape, list) and len(shape) <= 32
                and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
                and int(np.prod(shape, dtype=object)) <= MAX_ELEMENTS):
            raise c.fail(f"{key}.shape", f"expected a shape of at most {MAX_ELEMENTS:,} elements, got {_kind(shape)}")
    inner = value[tag]
    if tag == "$float" and not isinstance(inner, str):
        raise c.fail(key, f"expected a float's text, got {_kind(inner)}")
    if tag == "$dict":
        if not isinstance(inner, dict):
            raise c.fail(key, f"expected a mapping, got {_kind(inner)}")
        for k, v in inner.items():
            _check_value(c, v, f"{key}.{k}")
        return
    if tag in ("$tuple", "$complex") and not isinstance(inner, list):
        raise c.fail(key, f"expected a list, got {_kind(inner)}")
    _check_value(c, inner, f"{key}.{tag}")
