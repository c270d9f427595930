"""A Jinja2 sandbox with bounded work: for templates that come from exercise files and bundles.

Jinja's own sandbox keeps a template away from Python internals but not from endless work: two
nested `{% for %}` over `range(100000)` run 10^10 steps. Here every loop step of one render
counts against one budget, numbers that would make a text or list huge in one step (a repeat
count, a padding width, a power) are refused, and so is a rendered text longer than MAX_SIZE; a
template past a limit stops with a `SecurityError` (a `jinja2.TemplateError`).
"""

from __future__ import annotations

import contextvars
import functools
import operator
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.sandbox import SandboxedEnvironment, SecurityError

MAX_STEPS = 200_000  # loop steps in one render, every loop and nested template together
MAX_SIZE = 1_000_000  # characters or items one operation may make, and the largest count argument

_steps: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("template_steps", default=None)


class _BoundedCodeGenerator(CodeGenerator):
    """Compiles every `{% for %}` over `environment.bounded_iter(...)`."""

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        if not getattr(node, "bounded", False):
            node.iter = nodes.Call(nodes.EnvironmentAttribute("bounded_iter"), [node.iter], [], None, None,
                                   lineno=node.lineno)
            node.bounded = True  # type: ignore[attr-defined]
        super().visit_For(node, frame)


class BoundedTemplate(jinja2.Template):
    """A template whose `render` has its own budget of loop steps."""

    def render(self, *args: Any, **kwargs: Any) -> str:
        token = _steps.set([MAX_STEPS])
        try:
            return super().render(*args, **kwargs)
        finally:
            _steps.reset(token)


def _check_count(value: Any) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_SIZE:
        raise SecurityError(f"the number {value} is larger than a template may use ({MAX_SIZE:,})")


def _check_size(size: int) -> None:
    if size > MAX_SIZE:
        raise SecurityError(f"a result of {size:,} characters or items; at most {MAX_SIZE:,}")


def _check_inputs(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Refuse, before it runs, an operation on a text or list (`value`, then `args`) whose result
    would pass MAX_SIZE: padding to a width, replacing, joining."""
    value, rest = (args[0], args[1:]) if args else (None, ())
    for count in (*rest, *kwargs.values()):
        _check_count(count)
    if not isinstance(value, (str, list, tuple)):
        return
    if name == "replace" and len(rest) >= 2 and isinstance(value, str):
        old, new = str(rest[0]), str(rest[1])
        found = len(value) + 1 if not old else value.count(old)
        _check_size(len(value) + found * max(len(new) - len(old), 0))
    elif name == "join" and rest and isinstance(value, str):
        _check_size(len(value) * len(rest[0]) if hasattr(rest[0], "__len__") else 0)
    elif name == "format" and isinstance(value, str) and _WIDTH.search(value):
        raise SecurityError("a format width or precision of more than six digits")


_WIDTH = re.compile(r"\d{7,}")


def _bounded_filter(name: str, f: Callable[..., Any]) -> Callable[..., Any]:
    skip = 1 if getattr(f, "jinja_pass_arg", None) else 0  # the context, eval context or environment

    @functools.wraps(f)  # keeps jinja's pass_context/pass_environment marks
    def call(*args: Any, **kwargs: Any) -> Any:
        _check_inputs(name, args[skip:], kwargs)
        result = f(*args, **kwargs)
        if isinstance(result, (str, list, tuple)):
            _check_size(len(result))
        return result
    return call


class BoundedSandbox(SandboxedEnvironment):
    """A `SandboxedEnvironment` whose renders stop after MAX_STEPS loop steps and never make a
    text, list or number beyond MAX_SIZE in one operation."""

    code_generator_class = _BoundedCodeGenerator
    template_class = BoundedTemplate
    intercepted_binops = frozenset({"*", "**"})

    @staticmethod
    def concat(chunks: Iterable[str]) -> str:
        """A render's text (and a macro's, a block's), refused once it passes MAX_SIZE."""
        out: list[str] = []
        size = 0
        for chunk in chunks:
            size += len(chunk)
            _check_size(size)
            out.append(chunk)
        return "".join(out)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters = {name: _bounded_filter(name, f) for name, f in self.filters.items()}
        self.globals["range"] = self.bounded_range

    @staticmethod
    def bounded_range(*args: int) -> range:
        for value in args:
            _check_count(value)
        found = range(*args)
        if len(found) > MAX_SIZE:
            raise SecurityError(f"a range of {len(found):,} numbers; at most {MAX_SIZE:,}")
        return found

    @staticmethod
    def bounded_iter(iterable: Iterable[Any]) -> Iterator[Any]:
        """The items of a loop, each charged to the render's budget of steps."""
        budget = _steps.get()
        if budget is None:  # rendered other than by BoundedTemplate.render: a budget for this loop
            budget = [MAX_STEPS]
        for item in iterable:
            budget[0] -= 1
            if budget[0] < 0:
                raise SecurityError(f"the template takes more than {MAX_STEPS:,} loop steps")
            yield item

    def call_binop(self, context: jinja2.runtime.Context, operator_name: str, left: Any, right: Any) -> Any:
        if operator_name == "**":
            if isinstance(right, (int, float)) and abs(right) > 64 and isinstance(left, int) and abs(left) > 1:
                raise SecurityError(f"{left} ** {right} is larger than a template may compute")
            return operator.pow(left, right)
        for count, sequence in ((left, right), (right, left)):
            if isinstance(sequence, (str, list, tuple)) and isinstance(count, int):
                _check_size(len(sequence) * count)
        return operator.mul(left, right)

    def call(__self, __context: jinja2.runtime.Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        method = getattr(__obj, "__wrapped__", __obj)  # the sandbox wraps str.format
        owner = getattr(method, "__self__", None)
        if isinstance(owner, (str, list, tuple)):  # a method of a text or list: pads, replaces, joins
            _check_inputs(getattr(method, "__name__", ""), (owner, *args), kwargs)
        result = super().call(__context, __obj, *args, **kwargs)
        if isinstance(result, (str, list, tuple)):
            _check_size(len(result))
        return result
