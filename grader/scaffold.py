"""`grade new`: the three files of a new exercise, ready for `grade validate` once the reference is written."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import jinja2

from .errors import GraderError
from .exercise import ID_RE

TEMPLATES = Path(__file__).resolve().parent / "templates" / "release" / "new"
# literal arguments for the scaffold's cases, one per required parameter (cycled)
SMALL = ([0.2, 3], [0.4, -1], [1, 2])
INTEGERS = ([1, 2, 3], [4, 5, 6], [0, 1, 0])
NEGATIVE = ([1, -2, 3], [-1, 2, -3], [2, 1, -2])
ZEROS = ([0, 1.5, 2], [3, 0, -1], [0, 0, 4])
INT8 = ("[100, -100, 120]", "[-100, 100, 7]")  # products and differences leave int8's range


def required_params(signature: str, name: str) -> list[str]:
    """The parameters of `name(...)` a call must give, or GraderError saying what is wrong."""
    try:
        fn = ast.parse(f"def {signature}: pass").body[0]
    except SyntaxError:
        fn = None
    if not isinstance(fn, ast.FunctionDef) or fn.name != name:
        raise GraderError(f"--signature: expected '{name}(param, ...)', got '{signature}'")
    a = fn.args
    positional = [p.arg for p in [*a.posonlyargs, *a.args]]
    required = positional[:len(positional) - len(a.defaults)]
    if not required or a.vararg or a.kwarg or a.kwonlyargs:
        raise GraderError(f"--signature: '{signature}' needs at least one parameter without a default, "
                          "and no *args, **kwargs or keyword-only ones")
    return required


def scaffold(exercise_id: str, course: Path, signature: str | None = None) -> list[Path]:
    """Write exercises/ID.yaml, solutions/ID.py and checks/ID.py under `course`; never overwrite."""
    if not ID_RE.match(exercise_id):
        raise GraderError(f"'{exercise_id}' is not an exercise id (kebab-case, e.g. manhattan-distance)")
    module = exercise_id.replace("-", "_")
    name = module if module.isidentifier() and not module[0].isdigit() else f"f_{module}"
    signature = signature or f"{name}(a, b)"
    name = signature.split("(", 1)[0].strip()
    params = required_params(signature, name)
    targets = {"exercise.yaml.j2": course / "exercises" / f"{exercise_id}.yaml",
               "solution.py.j2": course / "solutions" / f"{module}.py",
               "checks.py.j2": course / "checks" / f"{module}.py"}
    existing = [p for p in targets.values() if p.exists()]
    if existing:
        raise GraderError(f"{existing[0]}: already exists; `grade new` writes only new files")
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True, autoescape=False)

    def literal(values: tuple[list[Any], ...]) -> str:
        return json.dumps([values[i % len(values)] for i in range(len(params))])

    context = {"id": exercise_id, "title": exercise_id.replace("-", " ").capitalize(), "name": name,
               "signature": signature, "params": params, "module": module, "solution": f"solutions/{module}.py",
               "small": literal(SMALL), "integers": literal(INTEGERS), "negative": literal(NEGATIVE),
               "zeros": literal(ZEROS), "int8": INT8,
               "points": 6 + 1 + 1}  # the 6 cases, the custom check, mutation_points
    for template, path in targets.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(env.get_template(template).render(context), encoding="utf-8")
    return list(targets.values())
