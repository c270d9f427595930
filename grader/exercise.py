"""The exercise model: YAML files loaded into frozen dataclasses, validated with file:line errors."""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

import numpy as np
import yaml

from .compare import Tolerance
from .errors import ExerciseError

MAX_EXERCISE_BYTES = 1_000_000
MAX_YAML_NODES = 200_000  # an alias bomb expands far beyond this
MAX_ELEMENTS = 1_000_000  # numbers in one generated or literal array argument
ID_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
FORMS = ("as-written", "list", "array")
VISIBILITIES = ("visible", "hidden")
GENERATORS = ("normal", "uniform", "integers", "zeros", "array")
MATCHES = ("value", "returns")


@dataclass(frozen=True)
class Package:
    """A third-party package students may import: its import name and what pip installs."""

    name: str
    requirement: str


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    module: str
    signature: str
    params: tuple[str, ...]


@dataclass(frozen=True)
class Case:
    """One YAML case: arguments (literal or generated), points, visibility, expected exception."""

    name: str
    args: tuple[Any, ...]
    kwargs: Mapping[str, Any]
    points: float
    visibility: str
    form: str
    seed: int
    raises: str | None
    line: int

    def build_arguments(self) -> tuple[list[Any], dict[str, Any]]:
        """Fresh argument objects for one call (generated ones drawn from the case's seed)."""
        rng = np.random.default_rng(self.seed)
        args = [build_value(spec, rng, self.form) for spec in self.args]
        kwargs = {k: build_value(v, rng, self.form) for k, v in self.kwargs.items()}
        return args, kwargs


@dataclass(frozen=True)
class Misconception:
    id: str
    title: str
    models: tuple[str, ...]
    match: str
    feedback: str
    line: int


@dataclass(frozen=True)
class Exercise:
    kind: ClassVar[str] = "code"
    id: str
    title: str
    points: float
    prompt: str
    function: FunctionSpec
    solution_path: Path
    form: str
    tolerance: Tolerance
    mutation_points: float
    checks_path: Path | None
    cases: tuple[Case, ...]
    misconceptions: tuple[Misconception, ...]
    source_path: Path
    lines: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)
    packages: tuple[Package, ...] = ()  # third-party packages students may import, beyond numpy

    def solution(self) -> Solution:
        """The trusted reference and models (imported into the grader, never into a sandbox)."""
        return load_solution(self)


@dataclass(frozen=True)
class Solution:
    reference: Callable[..., Any]
    models: Mapping[str, Callable[..., Any]]


def build_value(spec: Any, rng: np.random.Generator, form: str) -> Any:
    if isinstance(spec, dict):
        (kind, params), = spec.items()
        if kind == "array":
            if not isinstance(params, dict):
                params = {"values": params}
            value = np.array(params["values"], dtype=params.get("dtype", "float64"))
        elif kind == "zeros":
            value = np.zeros(params["shape"])
        elif kind == "normal":
            value = rng.normal(params.get("mean", 0.0), params.get("std", 1.0), params["shape"])
        elif kind == "uniform":
            value = rng.uniform(params.get("low", 0.0), params.get("high", 1.0), params["shape"])
        else:  # integers
            value = rng.integers(params.get("low", 0), params.get("high", 10), params["shape"])
        return value.tolist() if form == "list" else value
    if form == "array" and isinstance(spec, list):
        arr = np.asarray(spec)
        return arr if arr.dtype.kind == "b" else arr.astype(float)  # masks stay boolean
    if isinstance(spec, list):
        return [list(x) if isinstance(x, list) else x for x in spec]
    return spec


# --------------------------------------------------------------------------- YAML with lines


def read_yaml(path: Path, max_bytes: int = MAX_EXERCISE_BYTES) -> tuple[Any, dict[str, int]]:
    """Parse a YAML file; return the data and a map from key path ('cases[2].args') to line number."""
    try:
        size = path.stat().st_size
    except OSError as e:
        raise ExerciseError(path, None, "", f"cannot read: {e.strerror}") from None
    if size > max_bytes:
        raise ExerciseError(path, None, "", f"file is {size} bytes; at most {max_bytes} expected")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise ExerciseError(path, None, "", f"not UTF-8 text (byte {e.start})") from None
    except OSError as e:
        raise ExerciseError(path, None, "", f"cannot read: {e.strerror}") from None
    return parse_yaml(text, path)


_COMPOSER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser when PyYAML has it: the same nodes, faster


def parse_yaml(text: str, path: Path) -> tuple[Any, dict[str, int]]:
    """Parse YAML text with line numbers, refusing alias bombs and non-string keys."""
    try:
        node = yaml.compose(text, Loader=_COMPOSER)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = getattr(e, "problem", None) or str(e)
        raise ExerciseError(path, mark.line + 1 if mark else None, "", f"invalid YAML: {problem}") from None
    if node is None:
        raise ExerciseError(path, 1, "", "the file is empty; expected an exercise mapping")
    lines: dict[str, int] = {}
    budget = [MAX_YAML_NODES]
    data = _construct(node, "", lines, budget, path, yaml.SafeLoader(""))
    return data, lines


def _construct(node: yaml.Node, key: str, lines: dict[str, int], budget: list[int], path: Path,
               loader: yaml.SafeLoader) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise ExerciseError(path, node.start_mark.line + 1, key, f"more than {MAX_YAML_NODES} YAML nodes (an alias bomb?)")
    lines.setdefault(key, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # resolves `<<` merge keys
        out: dict[Any, Any] = {}
        for k_node, v_node in node.value:
            k = loader.construct_object(k_node) if isinstance(k_node, yaml.ScalarNode) else None
            if not isinstance(k, str):
                raise ExerciseError(path, k_node.start_mark.line + 1, key, "mapping keys must be strings")
            child = f"{key}.{k}" if key else k
            lines[child] = k_node.start_mark.line + 1
            out[k] = _construct(v_node, child, lines, budget, path, loader)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(v, f"{key}[{i}]", lines, budget, path, loader) for i, v in enumerate(node.value)]
    try:
        return loader.construct_object(node)
    except yaml.YAMLError as e:
        raise ExerciseError(path, node.start_mark.line + 1, key, f"invalid value: {e}") from None


# --------------------------------------------------------------------------- validation


class Checker:
    """Small typed accessors that raise ExerciseError naming file, line and key."""

    def __init__(self, path: Path, lines: Mapping[str, int]) -> None:
        self.path = path
        self.lines = lines

    def fail(self, key: str, message: str) -> ExerciseError:
        line = self.lines.get(key)
        parent = key
        while line is None and parent:
            shorter = re.sub(r"(\.[^.\[]+|\[\d+\])$", "", parent)
            if shorter == parent:
                break
            parent = shorter
            line = self.lines.get(parent)
        return ExerciseError(self.path, line, key, message)

    def mapping(self, data: Any, key: str, allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> dict:
        if not isinstance(data, dict):
            raise self.fail(key or "(top level)", f"expected a mapping, got {_kind(data)}")
        for k in data:
            if k not in allowed:
                raise self.fail(_join(key, k), f"unknown key; expected one of {', '.join(allowed)}")
        for k in required:
            if k not in data:
                raise self.fail(key or "(top level)", f"missing required key '{k}'")
        return data

    def string(self, data: Mapping, key: str, name: str, default: str | None = None, pattern: re.Pattern | None = None) -> str:
        full = _join(key, name)
        value = data.get(name, default)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(full, f"expected a non-empty string, got {_kind(value)}")
        if pattern and not pattern.match(value):
            raise self.fail(full, f"'{value}' is not kebab-case (lowercase words joined by '-')")
        return value

    def number(self, data: Mapping, key: str, name: str, default: float, minimum: float = 0.0) -> float:
        full = _join(key, name)
        value = data.get(name, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not -1e300 < value < 1e300:
            raise self.fail(full, f"expected a finite number (below 1e300), got {_kind(value)}")
        if value < minimum:
            raise self.fail(full, f"expected a number >= {minimum}, got {value}")
        return float(value)

    def choice(self, data: Mapping, key: str, name: str, choices: tuple[str, ...], default: str) -> str:
        value = data.get(name, default)
        if value not in choices:
            raise self.fail(_join(key, name), f"expected one of {', '.join(choices)}, got {value!r}")
        return value


def _join(key: str, name: str) -> str:
    return f"{key}.{name}" if key else name


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"a boolean ({value})"
    if isinstance(value, int) and abs(value) >= 10**20:
        return f"a whole number of about {int(value.bit_length() * 0.30103)} digits"
    if isinstance(value, (int, float)):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"a string ({value[:40]!r})"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _signature_params(sig: str) -> tuple[str, ...] | None:
    try:
        tree = ast.parse(f"def {sig}: pass")
    except SyntaxError:
        return None
    fn = tree.body[0]
    if not isinstance(fn, ast.FunctionDef):
        return None
    a = fn.args
    return tuple(p.arg for p in [*a.posonlyargs, *a.args, *a.kwonlyargs])


def check_argument(c: Checker, spec: Any, key: str) -> None:
    if isinstance(spec, dict):
        if len(spec) != 1 or next(iter(spec)) not in GENERATORS:
            raise c.fail(key, f"a generated argument is a mapping with one key of {', '.join(GENERATORS)}")
        kind, params = next(iter(spec.items()))
        sub = _join(key, kind)
        if kind == "array":
            p = params if isinstance(params, dict) else {"values": params}
            c.mapping(p, sub, ("values", "dtype"), ("values",))
            try:
                size = np.array(p["values"], dtype=p.get("dtype", "float64")).size
            except (TypeError, ValueError, RecursionError) as e:
                raise c.fail(_join(sub, "values"), f"not a numeric array: {e}") from None
            if size > MAX_ELEMENTS:
                raise c.fail(_join(sub, "values"), f"{size} elements; at most {MAX_ELEMENTS:,} expected")
            return
        allowed = {"normal": ("shape", "mean", "std"), "uniform": ("shape", "low", "high"),
                   "integers": ("shape", "low", "high"), "zeros": ("shape",)}[kind]
        p = c.mapping(params, sub, allowed, ("shape",))
        shape = p["shape"]
        if not (isinstance(shape, list) and all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= 100_000 for n in shape)) \
                or len(shape) > 32 or int(np.prod(shape, dtype=object)) > MAX_ELEMENTS:
            raise c.fail(_join(sub, "shape"), f"expected a list of non-negative integers with at most {MAX_ELEMENTS:,} "
                                              "elements in all")
        for name in allowed[1:]:
            if name in p:
                c.number(p, sub, name, 0.0, minimum=0.0 if name == "std" else -np.inf)
        low, high = p.get("low", 0), p.get("high", 10)
        if kind == "integers" and not low < high:
            raise c.fail(sub, f"expected low < high, got low {low:g} and high {high:g}")
        if kind == "integers" and not -2**63 <= low < high <= 2**63:
            raise c.fail(sub, "expected low and high within the 64-bit integers")
        return
    if isinstance(spec, list):
        for i, item in enumerate(spec):
            if isinstance(item, dict):
                raise c.fail(f"{key}[{i}]", "generated arrays cannot be nested inside a literal list")
            if isinstance(item, list):
                check_argument(c, item, f"{key}[{i}]")


def check_function(c: Checker, raw: Any, allowed: tuple[str, ...]) -> FunctionSpec:
    """`function:`: a Python name, the student's file (`*.py`, no folder) and a signature naming it."""
    fn = c.mapping(raw, "function", allowed, ("name",))
    fn_name = c.string(fn, "function", "name")
    if not fn_name.isidentifier():
        raise c.fail("function.name", f"'{fn_name}' is not a Python identifier")
    module = c.string(fn, "function", "module", default="solution.py")
    if not module.endswith(".py") or "/" in module or "\\" in module:
        raise c.fail("function.module", f"expected a file name ending in .py, got '{module}'")
    signature = c.string(fn, "function", "signature", default=f"{fn_name}(*args)")
    params = _signature_params(signature)
    if params is None or not signature.startswith(fn_name + "("):
        raise c.fail("function.signature", f"expected '{fn_name}(param, ...)', got '{signature}'")
    return FunctionSpec(fn_name, module, signature, params)


def check_case(c: Checker, rc: Any, key: str, function: FunctionSpec, form: str, ex_id: str,
               visibility: str = "hidden") -> Case:
    """One entry of `cases:`, its arguments checked against the function's parameters."""
    c.mapping(rc, key, ("name", "args", "kwargs", "points", "visibility", "form", "seed", "raises"), ("name", "args"))
    name = c.string(rc, key, "name")
    args = rc["args"]
    kwargs = rc.get("kwargs", {})
    if not isinstance(args, list):
        raise c.fail(f"{key}.args", f"expected a list of arguments, got {_kind(args)}")
    c.mapping(kwargs, f"{key}.kwargs", function.params)
    if len(args) + len(kwargs) > len(function.params) or len(args) < 1 and not kwargs:
        raise c.fail(f"{key}.args", f"expected a list of at most {len(function.params)} arguments for "
                                    f"{function.signature}, got {len(args)}")
    for j, a in enumerate(args):
        check_argument(c, a, f"{key}.args[{j}]")
    for k, a in kwargs.items():
        check_argument(c, a, f"{key}.kwargs.{k}")
    raises = rc.get("raises")
    if raises is not None and not (isinstance(raises, str) and raises.isidentifier()):
        raise c.fail(f"{key}.raises", f"expected an exception class name such as ValueError, got {_kind(raises)}")
    seed = rc.get("seed", zlib.crc32(f"{ex_id}/{name}".encode()))
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise c.fail(f"{key}.seed", f"expected a non-negative integer, got {_kind(seed)}")
    case = Case(
        name=name, args=tuple(args), kwargs=dict(kwargs),
        points=c.number(rc, key, "points", 1.0),
        visibility=c.choice(rc, key, "visibility", VISIBILITIES, visibility),
        form=c.choice(rc, key, "form", FORMS, form),
        seed=seed, raises=raises, line=c.lines.get(key, 0),
    )
    try:
        case.build_arguments()
    except (TypeError, ValueError) as e:  # a ragged literal list in the array form, say
        raise c.fail(f"{key}.args", f"expected arguments the {case.form} form can build: {e}") from None
    return case


_LOADED: dict[tuple[str, int, int], Exercise] = {}


def load_code_exercise(path: str | Path) -> Exercise:
    """Load and validate one code exercise's YAML file (a quiz is grader.course's to load).

    Loaded once per process while the file is unchanged (the result is immutable).
    """
    path = Path(path)
    try:
        st = path.resolve().stat()
        key = (str(path.resolve()), st.st_mtime_ns, st.st_size)
    except OSError:
        key = None
    if key is not None and key in _LOADED:
        return _LOADED[key]
    exercise = _load_exercise(path)
    if key is not None:
        _LOADED[key] = exercise
    return exercise


def _load_exercise(path: Path) -> Exercise:
    data, lines = read_yaml(path)
    if isinstance(data, dict) and data.get("kind") == "quiz":
        raise ExerciseError(path, lines.get("kind"), "kind", "a quiz, where a code exercise is expected")
    c = Checker(path, lines)
    top = ("id", "kind", "title", "points", "prompt", "function", "solution", "form", "tolerance",
           "mutation_points", "checks", "cases", "misconceptions", "packages")
    c.mapping(data, "", top, ("id", "title", "prompt", "function", "solution", "cases"))
    ex_id = c.string(data, "", "id", pattern=ID_RE)
    title = c.string(data, "", "title")
    prompt = c.string(data, "", "prompt")

    function = check_function(c, data["function"], ("name", "module", "signature"))
    fn_name, module, signature, params = function.name, function.module, function.signature, function.params

    solution_path = (path.parent / c.string(data, "", "solution")).resolve()
    if not solution_path.is_file():
        raise c.fail("solution", f"no such file {solution_path}")
    checks_path = None
    if "checks" in data:
        checks_path = (path.parent / c.string(data, "", "checks")).resolve()
        if not checks_path.is_file() or checks_path.suffix != ".py":
            raise c.fail("checks", f"expected a Python file, {checks_path} is not one")

    form = c.choice(data, "", "form", FORMS, "as-written")
    tol = c.mapping(data.get("tolerance", {}), "tolerance", ("rtol", "atol"))
    tolerance = Tolerance(c.number(tol, "tolerance", "rtol", 1e-5), c.number(tol, "tolerance", "atol", 1e-8))
    mutation_points = c.number(data, "", "mutation_points", 1.0)
    packages = _packages(c, data.get("packages", []))

    raw_cases = data["cases"]
    if not isinstance(raw_cases, list) or not raw_cases:
        raise c.fail("cases", f"expected a non-empty list of cases, got {_kind(raw_cases)}")
    cases: list[Case] = []
    for i, rc in enumerate(raw_cases):
        cases.append(check_case(c, rc, f"cases[{i}]", function, form, ex_id))
        if cases[-1].name in (cs.name for cs in cases[:-1]):
            raise c.fail(f"cases[{i}].name", f"duplicate case name '{cases[-1].name}'")

    raw_mis = data.get("misconceptions", [])
    if not isinstance(raw_mis, list):
        raise c.fail("misconceptions", f"expected a list, got {_kind(raw_mis)}")
    misconceptions: list[Misconception] = []
    for i, rm in enumerate(raw_mis):
        key = f"misconceptions[{i}]"
        c.mapping(rm, key, ("id", "title", "model", "match", "feedback"), ("id", "title", "model", "feedback"))
        models = rm["model"] if isinstance(rm["model"], list) else [rm["model"]]
        if not models or not all(isinstance(m, str) and m.isidentifier() for m in models):
            raise c.fail(f"{key}.model", "expected a function name of the solution module, or a list of them")
        misconceptions.append(Misconception(
            id=c.string(rm, key, "id", pattern=ID_RE), title=c.string(rm, key, "title"),
            models=tuple(models), match=c.choice(rm, key, "match", MATCHES, "value"),
            feedback=c.string(rm, key, "feedback"), line=lines.get(key, 0),
        ))
    ids = [m.id for m in misconceptions]
    for i, mid in enumerate(ids):
        if mid in ids[:i]:
            raise c.fail(f"misconceptions[{i}].id", f"duplicate misconception id '{mid}'")

    case_points = sum(cs.points for cs in cases)
    check_points = _custom_check_points(checks_path, c) if checks_path else 0.0
    total = case_points + check_points + mutation_points
    if "points" in data:
        points = c.number(data, "", "points", 0.0)
        if abs(points - total) > 1e-9:
            raise c.fail("points", f"is {points:g} but the cases ({case_points:g}), custom checks ({check_points:g}) "
                                   f"and mutation_points ({mutation_points:g}) add up to {total:g}")
    else:
        points = total

    exercise = Exercise(
        id=ex_id, title=title, points=points, prompt=prompt,
        function=FunctionSpec(fn_name, module, signature, params),
        solution_path=solution_path, form=form, tolerance=tolerance,
        mutation_points=mutation_points, checks_path=checks_path,
        cases=tuple(cases), misconceptions=tuple(misconceptions), source_path=path.resolve(), lines=lines,
        packages=packages,
    )
    # Resolve the trusted solution now, so a missing reference or model is a load error with a line.
    sol = load_solution(exercise)
    for i, m in enumerate(misconceptions):
        for name in m.models:
            if name not in sol.models:
                raise c.fail(f"misconceptions[{i}].model", f"no function '{name}' in {solution_path.name}")
    return exercise


def _custom_check_points(path: Path, c: Checker) -> float:
    """Points of a custom check module, read statically from its `@pytest.mark.points(n)` marks."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError, UnicodeDecodeError) as e:
        raise c.fail("checks", f"{path.name} cannot be parsed: {e}") from None
    total = 0.0
    for node in tree.body:
        if not (isinstance(node, ast.FunctionDef) and node.name.startswith("test")):
            continue
        points = 1.0
        for dec in node.decorator_list:
            if isinstance(dec, ast.Call) and isinstance(dec.func, ast.Attribute) and dec.func.attr == "points":
                try:
                    points = float(ast.literal_eval(dec.args[0]))
                except (ValueError, IndexError, TypeError):
                    raise c.fail("checks", f"{path.name}:{dec.lineno}: points(...) needs a number") from None
        total += points
    return total


_SOLUTIONS: dict[Path, ModuleType] = {}


def load_solution(exercise: Exercise) -> Solution:
    path = exercise.solution_path
    module = _SOLUTIONS.get(path)
    if module is None:
        name = f"_grader_solution_{zlib.crc32(str(path).encode()):08x}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ExerciseError(exercise.source_path, exercise.lines.get("solution"), "solution", f"cannot import {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as e:  # a teacher's bug: say where
            del sys.modules[name]
            raise ExerciseError(exercise.source_path, exercise.lines.get("solution"), "solution",
                                f"importing {path.name} failed: {type(e).__name__}: {e}") from None
        _SOLUTIONS[path] = module
    ref = getattr(module, exercise.function.name, None)
    if not callable(ref):
        raise ExerciseError(exercise.source_path, exercise.lines.get("solution"), "solution",
                            f"{path.name} defines no function '{exercise.function.name}' (the reference)")
    models = {k: v for k, v in vars(module).items() if callable(v) and not k.startswith("_") and getattr(v, "__module__", None) == module.__name__}
    return Solution(reference=ref, models=models)


_REQUIREMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9._,-]+\])?\s*([<>=!~]=?\s*[A-Za-z0-9.*+!-]+\s*,?\s*)*$")


def _packages(c: Checker, raw: Any) -> tuple[Package, ...]:
    """`packages`: import names (`matplotlib`), or {import: sklearn, install: "scikit-learn>=1.3"}."""
    if not isinstance(raw, list):
        raise c.fail("packages", f"expected a list of packages, got {_kind(raw)}")
    out = []
    for i, item in enumerate(raw):
        key = f"packages[{i}]"
        if isinstance(item, str):
            name, requirement = item, item
        else:
            c.mapping(item, key, ("import", "install"), ("import",))
            name = c.string(item, key, "import")
            requirement = c.string(item, key, "install", default=name)
        if not all(part.isidentifier() for part in name.split(".")) or "." in name:
            raise c.fail(key, f"expected the name a student imports (such as matplotlib), got '{name}'")
        if not _REQUIREMENT.match(requirement):
            raise c.fail(key, f"expected what pip installs (such as scikit-learn>=1.3), got '{requirement}'")
        out.append(Package(name, "".join(requirement.split())))
    return tuple(out)
