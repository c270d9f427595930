"""Running mutants: the code a wrapper mutant carries (its module is the reference, then the
`_mutant_*` functions here, built-ins and numpy only, then a wrapper that calls the reference
through them), and trusted in-process calls with a time limit."""

from __future__ import annotations

import ast
import contextlib
import copy
import functools
import inspect
import signal
import threading
import types
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .exercise import Exercise

# The `_mutant_*` functions travel inside every wrapper mutant's source (see `wrapper_source`), so
# they use only builtins and numpy as `np`.


def _mutant_numeric(v: Any) -> bool:
    """A list or array of numbers (not booleans), or a number."""
    if isinstance(v, np.ndarray):
        return v.dtype.kind in "iuf"
    if isinstance(v, (bool, np.bool_)):
        return False
    if isinstance(v, (int, float, np.number)):
        return True
    if isinstance(v, list):
        try:
            return np.asarray(v).dtype.kind in "iuf"
        except (ValueError, TypeError):
            return False
    return False


def _mutant_map(v: Any, f: Any) -> Any:
    """f applied to a numeric argument as an array, given back in the argument's form."""
    if isinstance(v, np.ndarray):
        return f(v)
    out = f(np.asarray(v))
    return out.tolist() if isinstance(v, list) else out[()]


def _mutant_run(reference: Any, spec: dict, params: tuple, given: tuple, named: dict) -> Any:
    """Call `reference` the way the mutant `spec` describes."""
    kind, param = spec["kind"], spec.get("param")
    args, kwargs = list(given), dict(named)
    slots = [("args", i, params[i] if i < len(params) else "") for i in range(len(args))]
    slots += [("kwargs", k, k) for k in kwargs]

    def get(slot: tuple) -> Any:
        return args[slot[1]] if slot[0] == "args" else kwargs[slot[1]]

    def put(slot: tuple, value: Any) -> None:
        if slot[0] == "args":
            args[slot[1]] = value
        else:
            kwargs[slot[1]] = value

    mine = [s for s in slots if param is None or s[2] == param]
    shapes = [np.shape(get(s)) for s in slots if _mutant_numeric(get(s)) and np.ndim(get(s)) >= 1]
    if kind == "zero-stall":
        for s in mine:
            v = get(s)
            if _mutant_numeric(v) and np.ndim(v) >= 1:
                rows = np.asarray(v).reshape(-1, np.shape(v)[-1]) if np.size(v) else np.zeros((0, 1))
                if np.any(np.any(rows == 0, axis=1) & np.any(rows != 0, axis=1)):
                    raise RuntimeError("the loop never advances past a zero element")
    elif kind == "reject":
        for s in mine:
            if isinstance(get(s), list if spec["form"] == "list" else np.ndarray):
                raise TypeError(f"unsupported operand: {type(get(s)).__name__}")
    elif kind == "default":
        for s in mine:
            put(s, spec["default"])
    elif kind in ("abs", "float32", "squeeze", "drop-last", "transpose"):
        for s in slots:
            v = get(s)
            if not (s in mine and _mutant_numeric(v)):
                continue
            if kind == "abs":
                put(s, _mutant_map(v, np.abs))
            elif kind == "float32" and np.ndim(v) >= 1:
                put(s, _mutant_map(v, lambda a: a.astype(np.float32)))
            elif kind == "float32" and isinstance(v, float):
                put(s, np.float32(v))
            elif kind == "squeeze" and 1 in np.shape(v):
                put(s, _mutant_map(v, np.squeeze))
            elif kind == "drop-last" and np.ndim(v) >= 1 and np.shape(v)[spec["axis"]] == shapes[0][spec["axis"]]:
                put(s, _mutant_map(v, lambda a: a[:-1] if spec["axis"] == 0 else a[..., :-1]))
            elif kind == "transpose" and np.ndim(v) == 2:
                put(s, _mutant_map(v, lambda a: a.T))
    result = reference(*args, **kwargs)
    if kind == "in-place":
        if isinstance(result, np.ndarray):
            result = result.copy()
        for s in slots:
            v = get(s)
            if spec["form"] == "array" and isinstance(v, np.ndarray) and v.size:
                v[...] = ~v if v.dtype.kind == "b" else v * 2 + 1
            elif spec["form"] == "list" and isinstance(v, list):
                v.append(v[0] if v else 0)
        return result
    if kind == "integer-result":
        for s in slots:
            v = get(s)
            a = v if isinstance(v, np.ndarray) else np.asarray(v) if spec["form"] == "any" and _mutant_numeric(v) else None
            if a is not None and a.dtype.kind in "iu":
                with np.errstate(all="ignore"):
                    out = np.asarray(result).astype(a.dtype)
                return out if np.ndim(out) else out[()]
        return result
    if not _mutant_numeric(result):
        return result
    if kind == "abs-result":
        return _mutant_map(result, np.abs)
    if kind == "float32":
        return _mutant_map(result, lambda a: a.astype(np.float32) if a.dtype.kind == "f" else a)
    if kind == "squeeze-result" and 1 in np.shape(result):
        return _mutant_map(result, np.squeeze)
    if kind == "transpose-result" and np.ndim(result) == 2:
        return _mutant_map(result, lambda a: a.T)
    if kind == "transpose" and np.ndim(result) == 2:
        return _mutant_map(result, lambda a: a.T)
    if kind == "wrapped-number" and np.ndim(result) == 0:
        return [result]
    return result


_RUNTIME = (_mutant_numeric, _mutant_map, _mutant_run)


@functools.cache
def runtime_source() -> str:
    """The shipped runtime's source, without annotations (a mutant's module has no `Any` to evaluate)."""
    tree = ast.parse("\n".join(inspect.getsource(f) for f in _RUNTIME))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            node.returns = None
        elif isinstance(node, ast.arg):
            node.annotation = None
    return ast.unparse(tree)


def wrapper_source(source: str, ex: Exercise, spec: dict[str, Any]) -> str:
    runtime = runtime_source()
    name = ex.function.name
    return (f"{source}\n\n# grade validate: a generic mutant of `{name}`\nimport numpy as np\n\n\n{runtime}\n\n"
            f"_mutant_reference = {name}\n\n\n"
            f"def {name}(*args, **kwargs):\n"
            f"    return _mutant_run(_mutant_reference, {spec!r}, {tuple(ex.function.params)!r}, args, kwargs)\n")


def load(source: str, name: str, label: str = "mutant") -> Callable[..., Any]:
    """The function `name` of a mutant's source, run in this process (trusted: the teacher's code)."""
    module = types.ModuleType(f"_grader_{label}")
    exec(compile(source, f"<{label}>", "exec", dont_inherit=True), module.__dict__)  # noqa: S102
    return module.__dict__[name]


CALL_SECONDS = 1.0  # a mutant's loop that never ends is stopped after this long


class _Expired(BaseException):
    """The time limit of one in-process call ran out."""


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Raise _Expired in this thread after `seconds` (the main thread only: where signals arrive)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise _Expired

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _call(func: Callable[..., Any], args: list, kwargs: dict, strict: bool, limit: bool = True,
          harmless: bool = False) -> tuple[bool, Any, bool]:
    """(returned, value or exception, arguments changed) for one call on copies of the arguments
    (on the arguments themselves for a `harmless` function, which changes none); with `limit`,
    stopped after CALL_SECONDS."""
    a, k = (args, kwargs) if harmless else (copy.deepcopy(args), copy.deepcopy(kwargs))
    errors = np.errstate(divide="raise", over="raise", invalid="raise", under="ignore") if strict \
        else np.errstate(all="ignore")
    with errors, warnings.catch_warnings():
        warnings.simplefilter("error" if strict else "ignore")
        try:
            with _time_limit(CALL_SECONDS) if limit else contextlib.nullcontext():
                value = func(*a, **k)
        except _Expired:
            return False, TimeoutError(f"no answer within {CALL_SECONDS:g} s"), False
        except Exception as e:  # noqa: BLE001  (a raise is an outcome)
            return False, e, False
    return True, value, not harmless and not (_same(a, args) and _same(k, kwargs))


def _same(x: Any, y: Any) -> bool:
    if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
        return type(x) is type(y) and x.dtype == y.dtype and x.shape == y.shape and bool(np.array_equal(x, y, equal_nan=x.dtype.kind in "fc"))
    if isinstance(x, (list, tuple)) and isinstance(y, (list, tuple)):
        return type(x) is type(y) and len(x) == len(y) and all(_same(a, b) for a, b in zip(x, y, strict=True))
    if isinstance(x, dict) and isinstance(y, dict):
        return x.keys() == y.keys() and all(_same(x[k], y[k]) for k in x)
    return type(x) is type(y) and (x == y or x != x and y != y)
