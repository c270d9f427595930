"""Telling a mutant from the reference in-process: probe inputs made from the exercise's own cases
(zeros inside vectors, negatives, ties, other dtypes, other lengths), and calls with a time limit."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np

from .compare import fmt, same_value
from .exercise import Exercise
from .mutant_runtime import _call, _mutant_numeric, _mutant_run, load
from .mutants import Mutant, _defaults


class Prover:
    """Judges mutants of one exercise in this process: on its cases (as the grader judges them,
    custom checks aside) and on probe inputs (`probe_inputs`), the reference's outcomes computed once."""

    def __init__(self, ex: Exercise) -> None:
        self.ex = ex
        self.reference = ex.solution().reference
        self.cases = []
        for case in ex.cases:
            args, kwargs = case.build_arguments()
            self.cases.append((case, args, kwargs, _call(self.reference, args, kwargs, strict=False)))
        self._probes: list[tuple[list, dict, Any]] | None = None

    def function(self, mutant: Mutant) -> Callable[..., Any]:
        """The mutant as a function of this process: a wrapper around the loaded reference, or its
        changed module compiled."""
        spec, params, reference = mutant.spec, self.ex.function.params, self.reference
        if spec is None:
            return load(mutant.source, self.ex.function.name)
        return lambda *args, **kwargs: _mutant_run(reference, spec, params, args, kwargs)

    def _runner(self, mutant: Mutant) -> tuple[Callable[..., Any], bool, bool]:
        """The function, whether its calls need a time limit (a loop of its own) and whether it is
        harmless to its arguments (a wrapper other than an in-place edit only calls the reference,
        whose own checks prove it changes nothing)."""
        wrapper = mutant.spec is not None
        return self.function(mutant), not wrapper, wrapper and mutant.kind != "in-place"

    def caught_by(self, mutant: Mutant, first: bool = False) -> list[str]:
        """The names of the cases the mutant fails; with `first`, only the first of them."""
        func, limit, harmless = self._runner(mutant)
        out = []
        for case, args, kwargs, (ok, expected, _) in self.cases:
            returned, got, changed = _call(func, args, kwargs, strict=False, limit=limit, harmless=harmless)
            if changed:
                out.append(case.name)
            elif case.raises:
                if returned or not any(c.__name__ == case.raises for c in type(got).__mro__):
                    out.append(case.name)
            elif not (returned and ok and same_value(got, expected, self.ex.tolerance)):
                out.append(case.name)
            if first and out:
                break
        return out

    def distinguishing_input(self, mutant: Mutant) -> tuple[list, dict] | None:
        """The first probe input on which the mutant fails where the reference returns cleanly
        (no exception, no division by zero, overflow or invalid operation): None when it may be equivalent."""
        if self._probes is None:
            self._probes = []
            for args, kwargs in probe_inputs(self.ex):
                ok, expected, _ = _call(self.reference, args, kwargs, strict=True)
                if ok:
                    self._probes.append((args, kwargs, expected))
        func, limit, harmless = self._runner(mutant)
        for args, kwargs, expected in self._probes:
            returned, got, changed = _call(func, args, kwargs, strict=False, limit=limit, harmless=harmless)
            if changed or not returned or not same_value(got, expected, self.ex.tolerance):
                return args, kwargs
        return None


def describe_input(ex: Exercise, args: list, kwargs: dict, limit: int = 160) -> str:
    """`f(a = ..., b = ...)` when it is short enough to quote, else ''."""
    named = [*zip(ex.function.params, args, strict=False), *kwargs.items()]
    text = f"{ex.function.name}({', '.join(f'{p}={_show(v)}' for p, v in named)})"
    return text if len(text) <= limit else ""


def _show(v: Any) -> str:
    if isinstance(v, np.ndarray):
        dtype = "" if v.dtype == np.float64 else f", dtype={v.dtype}"
        return f"array({fmt(v.tolist())}{dtype})"
    return fmt(v)


# --------------------------------------------------------------------------- probe inputs


def probe_inputs(ex: Exercise, count: int = 200, seed: int = 0) -> list[tuple[list, dict]]:
    """The cases' own arguments, then variants of them, each variant on each case and then `count`
    random combinations of two or three: new values (normal, integers with zeros
    and negatives, large), zeros inside vectors, signs flipped, int8/uint8/int64 arrays, other sizes
    (length 1 included, equal sizes kept equal), ties (a row repeated), lists and arrays swapped,
    other small integers (an axis, a count), optional arguments left to their defaults."""
    rng = np.random.default_rng(seed)
    bases = [case.build_arguments() for case in ex.cases if not case.raises]
    out = [copy.deepcopy(b) for b in bases]
    if not bases:
        return out
    optional = set(_defaults(ex.function.signature))
    required = len([p for p in ex.function.params if p not in optional])

    def defaults(args: list, kwargs: dict, rng: np.random.Generator) -> Values:
        return args[:required], {k: v for k, v in kwargs.items() if k not in optional}

    variants = [*_VARIANTS, defaults]
    for base in bases:  # every variant on every case once
        for variant in variants:
            out.append(variant(*copy.deepcopy(base), rng))
    for i in range(count):
        args, kwargs = copy.deepcopy(bases[i % len(bases)])
        chosen = rng.choice(len(variants), size=int(rng.integers(2, 4)), replace=False)
        for j in sorted(chosen):
            args, kwargs = variants[j](args, kwargs, rng)
        out.append((args, kwargs))
    return out


Values = tuple[list, dict]


def _each(args: list, kwargs: dict, f: Callable[[np.ndarray, Any], np.ndarray], numeric_only: bool = True,
          arrays: bool = False) -> Values:
    """f applied to every array-like argument (as an array), each given back in its own form (as an
    array with `arrays`)."""
    def one(v: Any) -> Any:
        if isinstance(v, (list, np.ndarray)) and (_mutant_numeric(v) or not numeric_only and _is_bool(v)):
            a = f(np.asarray(v), v)
            return a if isinstance(v, np.ndarray) or arrays else a.tolist()
        return v
    return [one(v) for v in args], {k: one(v) for k, v in kwargs.items()}


def _is_bool(v: Any) -> bool:
    try:
        return np.asarray(v).dtype.kind == "b"
    except (ValueError, TypeError):
        return False


def _new_values(kind: str) -> Callable[[list, dict, np.random.Generator], Values]:
    def variant(args: list, kwargs: dict, rng: np.random.Generator) -> Values:
        def draw(a: np.ndarray, _: Any) -> np.ndarray:
            if kind == "normal":
                return rng.normal(0, 3, a.shape)
            if kind == "integers":
                return rng.integers(-4, 6, a.shape)
            if kind == "large":
                return rng.normal(0, 1, a.shape) * 10.0 ** rng.integers(2, 6)
            if kind == "int8":
                return (rng.integers(40, 128, a.shape) * rng.choice([-1, 1], a.shape)).astype(np.int8)
            if kind == "uint8":
                return rng.integers(60, 256, a.shape).astype(np.uint8)
            if kind == "int64":
                return rng.integers(-9, 10, a.shape).astype(np.int64)
            return rng.uniform(0.1, 3, a.shape)  # positive
        return _each(args, kwargs, draw, arrays=kind in ("int8", "uint8"))  # numpy's types: arrays only
    return variant


def _zeros_inside(args: list, kwargs: dict, rng: np.random.Generator) -> Values:
    def put(a: np.ndarray, _: Any) -> np.ndarray:
        a = a.copy()
        if a.ndim and a.size:
            a[rng.random(a.shape) < 0.3] = 0
        return a
    return _each(args, kwargs, put)


def _negated(args: list, kwargs: dict, rng: np.random.Generator) -> Values:
    return _each(args, kwargs, lambda a, _: -np.abs(a) if a.dtype.kind != "u" else a)


def _ties(args: list, kwargs: dict, rng: np.random.Generator) -> Values:
    def repeat(a: np.ndarray, _: Any) -> np.ndarray:
        a = a.copy()
        if a.ndim == 2 and a.shape[0] >= 2:
            a[-1] = a[0]
        elif a.ndim == 1 and a.size >= 2:
            a[-1] = a[0]
        return a
    return _each(args, kwargs, repeat)


def _swapped_forms(args: list, kwargs: dict, rng: np.random.Generator) -> Values:
    def swap(v: Any) -> Any:
        if isinstance(v, np.ndarray):
            return v.tolist()
        if isinstance(v, list) and _mutant_numeric(v):
            return np.asarray(v, dtype=np.float64)
        return v
    return [swap(v) for v in args], {k: swap(v) for k, v in kwargs.items()}


def _other_ints(args: list, kwargs: dict, rng: np.random.Generator) -> Values:
    """Every integer argument (an axis, a count) replaced by a small integer."""
    def other(v: Any) -> Any:
        return int(rng.integers(-2, 4)) if type(v) is int else v
    return [other(v) for v in args], {k: other(v) for k, v in kwargs.items()}


def _resized(sizes: tuple[int, ...]) -> Callable[[list, dict, np.random.Generator], Values]:
    def variant(args: list, kwargs: dict, rng: np.random.Generator) -> Values:
        mapping: dict[int, int] = {}

        def size(n: int) -> int:
            if n not in mapping:
                mapping[n] = int(rng.choice(sizes))
            return mapping[n]

        def redraw(a: np.ndarray, _: Any) -> np.ndarray:
            shape = tuple(size(n) for n in a.shape)
            if a.dtype.kind == "b":
                m = rng.random(shape) < 0.6
                if m.ndim == 2 and m.shape[1]:
                    m[np.arange(m.shape[0]), rng.integers(0, m.shape[1], m.shape[0])] = True
                return m
            if a.dtype.kind in "iu":
                return rng.integers(-5, 6, shape).astype(a.dtype)
            return rng.normal(0, 2, shape)
        return _each(args, kwargs, redraw, numeric_only=False)
    return variant


_VARIANTS: list[Callable[[list, dict, np.random.Generator], Values]] = [
    _new_values("normal"), _new_values("integers"), _new_values("large"), _new_values("int8"),
    _new_values("uint8"), _new_values("int64"), _new_values("positive"), _zeros_inside, _negated, _ties,
    _swapped_forms, _other_ints, _resized((1,)), _resized((1, 2, 3, 4, 5)),
]
