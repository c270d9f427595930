"""Generic mutants of an exercise's reference: the mistakes that hide from thin cases.

A mutant is the solution module's source with the reference replaced by a plausible wrong
version, in one of a few classes (`CLASSES`): a loop that stalls on a zero element, integer
accumulation, a dropped last element, a swapped axis, an in-place edit of an argument, float32
precision, an ignored optional argument, a list or an array rejected, a lost sign, a length-1
slip, ties broken the other way. Some come from edits of the reference's syntax tree (an
`axis=` changed, `keepdims=True` or a float64 conversion dropped, a slice one short); the rest
wrap the reference (`_mutant_run`, shipped inside the mutant's source, so that a mutant runs in
the sandbox exactly as a student's module would).

A mutant the cases let through may be equivalent to the reference on every input of the
contract; `distinguishing_input` looks for an input that tells it apart among random variants
of the exercise's own cases (zeros, negatives, small integer types, length 1, ties, other
sizes, lists and arrays). Only a mutant with such an input is a hole in the cases.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .exercise import Exercise
from .mutant_runtime import _call, _mutant_numeric, wrapper_source


@dataclass(frozen=True)
class MutantClass:
    id: str
    title: str  # what the mistake is, as a teacher would say it
    required: bool = True  # must the cases catch it (when an input tells it apart)?


CLASSES: dict[str, MutantClass] = {c.id: c for c in (
    MutantClass("zero-stall", "loop stalls on a zero element"),
    MutantClass("integer-dtype", "computes in the input's integer dtype"),
    MutantClass("dropped-last", "drops the last element"),
    MutantClass("swapped-axis", "works along the wrong axis"),
    MutantClass("in-place", "modifies its arguments in place"),
    # the tolerance is meant to admit float32 rounding: a float32 mutant that escapes is no hole
    MutantClass("float32", "computes in float32", required=False),
    MutantClass("ignored-argument", "ignores an optional argument"),
    MutantClass("list-or-array", "handles lists or arrays only"),
    MutantClass("sign", "loses the sign of negative values"),
    MutantClass("length-one", "mishandles a dimension of length 1"),
    MutantClass("ties", "breaks ties the other way"),
)}


@dataclass(frozen=True)
class Mutant:
    kind: str  # a key of CLASSES
    name: str  # unique within the exercise, e.g. "zero-stall(b)"
    detail: str  # what differs from the reference
    need: str  # what a case needs to catch it
    source: str = field(repr=False)  # the solution module, its function of the reference's name the mutant
    spec: dict[str, Any] | None = field(default=None, repr=False, compare=False)  # a wrapper's, for `_mutant_run`

    @property
    def title(self) -> str:
        return CLASSES[self.kind].title


# --------------------------------------------------------------------------- generation


def mutants(ex: Exercise) -> list[Mutant]:
    """Every generic mutant of the exercise's reference, without duplicates of one source."""
    source = ex.solution_path.read_text(encoding="utf-8")
    found = [*_tree_mutants(source, ex.function.name), *_wrapper_mutants(source, ex)]
    seen: set[str] = set()
    out = []
    for m in found:
        if m.source not in seen:
            seen.add(m.source)
            out.append(m)
    return out


def _argument_kinds(ex: Exercise) -> dict[str, set[str]]:
    """For each parameter, the kinds of value the cases pass: 'list', 'array', 'int', 'number'."""
    kinds: dict[str, set[str]] = {p: set() for p in ex.function.params}
    for case in ex.cases:
        args, kwargs = case.build_arguments()
        named = [*zip(ex.function.params, args, strict=False), *kwargs.items()]
        for p, v in named:
            if not _mutant_numeric(v):
                continue
            if isinstance(v, np.ndarray):
                kinds[p].add("array")
                if v.dtype.kind in "iu":
                    kinds[p].add("int")
            elif isinstance(v, list):
                kinds[p].add("list")
            else:
                kinds[p].add("number")
    return kinds


def _defaults(signature: str) -> dict[str, Any]:
    """The literal defaults of the signature's parameters."""
    fn = ast.parse(f"def {signature}: pass").body[0]
    assert isinstance(fn, ast.FunctionDef)
    a = fn.args
    positional = [*a.posonlyargs, *a.args]
    out: dict[str, Any] = {}
    pairs = [*zip(positional[len(positional) - len(a.defaults):], a.defaults, strict=True),
             *((p, d) for p, d in zip(a.kwonlyargs, a.kw_defaults, strict=True) if d is not None)]
    for p, d in pairs:
        try:
            out[p.arg] = ast.literal_eval(d)
        except ValueError:  # not a literal (a name, a call): the parameter has no default we can pass
            continue
    return out


def _wrapper_mutants(source: str, ex: Exercise) -> Iterator[Mutant]:
    kinds = _argument_kinds(ex)
    arrays = [p for p in ex.function.params if kinds[p] & {"list", "array"}]
    numeric = [p for p in ex.function.params if kinds[p]]

    def make(cls: str, name: str, detail: str, need: str, **spec: Any) -> Mutant:
        spec.setdefault("kind", name.split("(")[0] if cls != "in-place" else "in-place")
        return Mutant(cls, name, detail, need, wrapper_source(source, ex, spec), spec)

    for p in arrays:
        yield make("zero-stall", f"zero-stall({p})", f"raises (as a loop that never ends would) when `{p}` has a "
                   "zero element beside non-zero ones",
                   f"add a case with a zero inside `{p}`, beside non-zero elements", param=p)
        yield make("sign", f"abs({p})", f"takes the absolute value of `{p}`",
                   f"add a case with negative values in `{p}`", param=p)
        yield make("list-or-array", f"reject-lists({p})", f"raises TypeError when `{p}` is a Python list",
                   f"add a case where `{p}` arrives as a Python list (form: list)", kind="reject", param=p, form="list")
        yield make("list-or-array", f"reject-arrays({p})", f"raises TypeError when `{p}` is a numpy array",
                   f"add a case where `{p}` arrives as a numpy array (form: array)", kind="reject", param=p,
                   form="array")
    if arrays:
        yield make("in-place", "in-place(arrays)", "changes the numpy arrays it is given (x[...] = 2x + 1)",
                   "add a case whose arguments are numpy arrays (form: array)", form="array")
        yield make("in-place", "in-place(lists)", "appends to the lists it is given",
                   "add a case whose arguments are Python lists (form: list)", form="list")
    if numeric:
        yield make("integer-dtype", "integer-result(arrays)", "returns its result in the dtype of an integer "
                   "numpy argument (int8 wraps, any integer type truncates)",
                   "add a case with small integer arrays ({array: {values: ..., dtype: int8}} or uint8) "
                   "whose results overflow or are not integers", kind="integer-result", form="array")
        yield make("integer-dtype", "integer-result(lists)", "returns its result in the integer dtype of an "
                   "integer list argument", "add a case with integer lists whose result is not an integer",
                   kind="integer-result", form="any")
        yield make("float32", "float32", "rounds its arguments and its result to float32",
                   "add a case whose result needs float64 precision", kind="float32")
        yield make("sign", "abs(result)", "returns the absolute value of the result",
                   "add a case whose result is negative", kind="abs-result")
        ranks = _result_ranks(ex)
        if 0 in ranks:
            yield make("list-or-array", "wrapped-number", "returns [x] where the number x is due",
                       "add a case whose result is a single number", kind="wrapped-number")
        yield make("length-one", "squeeze(arguments)", "squeezes out every dimension of length 1 of its arguments",
                   "add a case with a length-1 vector or a single row (shape (1, d))", kind="squeeze")
        if ranks - {0}:
            yield make("length-one", "squeeze(result)", "squeezes out every dimension of length 1 of its result",
                       "add a case whose result has a dimension of length 1", kind="squeeze-result")
        if 2 in ranks:
            yield make("swapped-axis", "transpose(result)", "returns the transpose of a 2-D result",
                       "add a case with a 2-D result that is not symmetric", kind="transpose-result")
        if any(np.ndim(v) == 2 for case in ex.cases for v in case.build_arguments()[0]):
            yield make("swapped-axis", "transpose(arguments)", "treats the columns of every matrix as its vectors",
                       "add a case with square, non-symmetric matrices", kind="transpose")
    if arrays:
        yield make("dropped-last", "drop-last(elements)", "drops the last element of every vector (as a loop over "
                   "range(n - 1) would)", "add a case whose last elements change the result", kind="drop-last",
                   axis=-1)
    if any(np.ndim(v) >= 2 for case in ex.cases for v in case.build_arguments()[0]):
        yield make("dropped-last", "drop-last(rows)", "drops the last row of its matrices",
                   "add a case whose last row changes the result", kind="drop-last", axis=0)
    for p, default in _defaults(ex.function.signature).items():
        yield make("ignored-argument", f"ignores({p})", f"always uses `{p}={default!r}`",
                   f"add a case that passes `{p}` with a value other than {default!r}",
                   kind="default", param=p, default=default)


def _result_ranks(ex: Exercise) -> set[int]:
    """The numbers of dimensions of the reference's results on the cases."""
    ref = ex.solution().reference
    ranks = set()
    for case in ex.cases:
        args, kwargs = case.build_arguments()
        ok, value, _ = _call(ref, args, kwargs, strict=False)
        if ok and _mutant_numeric(value):
            ranks.add(int(np.ndim(value)))
    return ranks


# --------------------------------------------------------------------------- syntax-tree mutants


def _reachable(tree: ast.Module, name: str) -> set[str]:
    """The module-level functions the reference calls, itself included, transitively (and those the
    module's own top-level statements name)."""
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    todo = [name] + [n.id for statement in tree.body if not isinstance(statement, ast.FunctionDef)
                     for n in ast.walk(statement) if isinstance(n, ast.Name)]
    seen: set[str] = set()
    while todo:
        f = todo.pop()
        if f in seen or f not in functions:
            continue
        seen.add(f)
        todo += [n.id for n in ast.walk(functions[f]) if isinstance(n, ast.Name) and n.id in functions]
    return seen


def _is_float64(node: ast.AST) -> bool:
    if isinstance(node, ast.Attribute):
        return node.attr in ("float64", "double", "float_")
    if isinstance(node, ast.Name):
        return node.id == "float"
    return isinstance(node, ast.Constant) and node.value in ("float64", "float", "f8")


def _int_value(node: ast.AST) -> int | None:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) \
            and type(node.operand.value) is int:
        return -node.operand.value
    return None


def _minus_one(node: ast.expr) -> ast.expr:
    return ast.BinOp(node, ast.Sub(), ast.Constant(1))


@dataclass(frozen=True)
class _Edit:
    kind: str
    detail: str
    need: str
    apply: Callable[[ast.AST], None]  # changes the node (found again by position in a fresh tree)


def _edits(node: ast.AST) -> Iterator[_Edit]:
    """The mutations one node offers."""
    if isinstance(node, ast.Call):
        for k in node.keywords:
            value = _int_value(k.value) if k.arg == "axis" else None
            if value is not None:
                new = 0 if value != 0 else -1
                yield _Edit("swapped-axis", f"axis={value} → axis={new}",
                            "add a case with a square, non-symmetric matrix, where the two axes give different "
                            "results", _set_keyword("axis", new))
            if k.arg == "keepdims" and isinstance(k.value, ast.Constant) and k.value.value is True:
                yield _Edit("swapped-axis", "keepdims=True dropped (the reduced values broadcast "
                            "along the other axis)", "add a case with a square, non-symmetric matrix",
                            _drop_keyword("keepdims"))
            if k.arg == "dtype" and _is_float64(k.value):
                yield _Edit("integer-dtype", "no float64 conversion (computes in the input's dtype)",
                            "add a case with small integer arrays ({array: {values: ..., dtype: int8}} or uint8) "
                            "whose products overflow the type", _drop_keyword("dtype"))
            if k.arg == "kind" and isinstance(k.value, ast.Constant) and k.value.value in ("stable", "mergesort"):
                yield _Edit("ties", "an unstable sort", "add a case with tied scores (identical rows)",
                            _drop_keyword("kind"))
        func = node.func
        fname = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if fname == "argsort" and node.args and isinstance(node.args[0], ast.UnaryOp) \
                and isinstance(node.args[0].op, ast.USub):
            yield _Edit("ties", "argsort(-s) → argsort(s)[::-1] (ties reversed)",
                        "add a case with tied scores (identical rows)", _REPLACE_REVERSED_ARGSORT)
        if fname == "range" and node.args:
            yield _Edit("dropped-last", "range one short", "add a case whose last element changes "
                        "the result", _shorten_range)
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice) and node.slice.upper is not None \
            and node.slice.step is None and _int_value(node.slice.upper) is None:
        yield _Edit("dropped-last", "a slice one short", "add a case whose last element changes the "
                    "result", _shorten_slice)
    if isinstance(node, ast.Attribute) and node.attr == "T" and isinstance(node.ctx, ast.Load):
        yield _Edit("swapped-axis", "a transpose `.T` dropped",
                    "add a case with square, non-symmetric matrices", _REPLACE_BY_VALUE)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "float" \
            and len(node.args) == 1 and not node.keywords:
        yield _Edit("integer-dtype", "a float() conversion dropped (computes in the element's type)",
                    "add a case with small integer arrays ({array: {values: ..., dtype: int8}} or uint8) whose "
                    "products overflow the type", _REPLACE_BY_ARGUMENT)
    if isinstance(node, (ast.For, ast.While)) and _loop_element(node) is not None:
        yield _Edit("zero-stall", "the loop never advances past a zero element",
                    "add a case with a zero inside a vector, beside non-zero elements", _stall_on_zero)
        if len([n for n in node.body if isinstance(n, ast.AugAssign)]) > isinstance(node, ast.While):
            yield _Edit("zero-stall", "the loop skips its accumulation on a zero element",
                        "add a case with a zero inside a vector, beside non-zero elements", _skip_on_zero)


def _loop_element(loop: ast.For | ast.While) -> ast.expr | None:
    """The element a loop reads: `x` of `for x in xs`, or the first `xs[i]` of its body indexed by
    the loop's variable (`for i in range(...)`, or the `i += 1` of a while loop)."""
    if isinstance(loop, ast.For):
        if not isinstance(loop.target, ast.Name):
            return None
        iterated = loop.iter
        if not (isinstance(iterated, ast.Call) and isinstance(iterated.func, ast.Name) and iterated.func.id == "range"):
            return ast.Name(loop.target.id, ast.Load())
        index = loop.target.id
    else:
        steps = [n.target.id for n in loop.body if isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name)
                 and isinstance(n.op, ast.Add)]
        if not steps:
            return None
        index = steps[-1]
    for n in (n for statement in loop.body for n in ast.walk(statement)):
        if isinstance(n, ast.Subscript) and isinstance(n.slice, ast.Name) and n.slice.id == index \
                and isinstance(n.ctx, ast.Load):
            return ast.Subscript(copy.deepcopy(n.value), ast.Name(index, ast.Load()), ast.Load())
    return None


def _is_zero(element: ast.expr) -> ast.expr:
    """`not hasattr(e, '__len__') and e == 0`: a number that is zero (a row never is)."""
    has_len = ast.Call(ast.Name("hasattr", ast.Load()), [element, ast.Constant("__len__")], [])
    return ast.BoolOp(ast.And(), [ast.UnaryOp(ast.Not(), has_len),
                                  ast.Compare(copy.deepcopy(element), [ast.Eq()], [ast.Constant(0)])])


def _stall_on_zero(node: ast.AST) -> None:
    """A zero element raises where the loop would spin forever (a real one would hit the time limit)."""
    assert isinstance(node, (ast.For, ast.While))
    element = _loop_element(node)
    assert element is not None
    stall = ast.Raise(ast.Call(ast.Name("RuntimeError", ast.Load()),
                               [ast.Constant("the loop never advances past a zero element")], []), None)
    node.body.insert(0, ast.If(_is_zero(element), [stall], []))


def _skip_on_zero(node: ast.AST) -> None:
    """The loop's accumulations (not its index's step) happen only for a non-zero element."""
    assert isinstance(node, (ast.For, ast.While))
    element = _loop_element(node)
    assert isinstance(element, (ast.Name, ast.Subscript))
    index = element.slice.id if isinstance(element, ast.Subscript) and isinstance(element.slice, ast.Name) else ""

    def accumulates(n: ast.stmt) -> bool:
        return isinstance(n, ast.AugAssign) and not (isinstance(n.target, ast.Name) and n.target.id == index)
    node.body = [ast.If(ast.UnaryOp(ast.Not(), _is_zero(element)), [n], []) if accumulates(n) else n
                 for n in node.body]


def _set_keyword(name: str, value: int) -> Callable[[ast.AST], None]:
    def apply(node: ast.AST) -> None:
        assert isinstance(node, ast.Call)
        for k in node.keywords:
            if k.arg == name:
                k.value = ast.Constant(value) if value >= 0 else ast.UnaryOp(ast.USub(), ast.Constant(-value))
    return apply


def _drop_keyword(name: str) -> Callable[[ast.AST], None]:
    def apply(node: ast.AST) -> None:
        assert isinstance(node, ast.Call)
        node.keywords = [k for k in node.keywords if k.arg != name]
    return apply


def _shorten_range(node: ast.AST) -> None:
    assert isinstance(node, ast.Call)
    node.args[-1 if len(node.args) <= 2 else 1] = _minus_one(node.args[-1 if len(node.args) <= 2 else 1])


def _shorten_slice(node: ast.AST) -> None:
    assert isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice) and node.slice.upper is not None
    node.slice.upper = _minus_one(node.slice.upper)


# Replacements of a whole node are done by its parent: these markers say which.
def _REPLACE_BY_VALUE(node: ast.AST) -> None:  # noqa: N802
    """Marker: the attribute is replaced by its value (x.T → x)."""


def _REPLACE_BY_ARGUMENT(node: ast.AST) -> None:  # noqa: N802
    """Marker: the call is replaced by its argument (float(x) → x)."""


def _REPLACE_REVERSED_ARGSORT(node: ast.AST) -> None:  # noqa: N802
    """Marker: argsort(-s, ...) is replaced by argsort(s, ...)[::-1]."""


def _replacement(node: ast.AST, apply: Callable[[ast.AST], None]) -> ast.AST | None:
    if apply is _REPLACE_BY_VALUE:
        assert isinstance(node, ast.Attribute)
        return node.value
    if apply is _REPLACE_BY_ARGUMENT:
        assert isinstance(node, ast.Call)
        return node.args[0]
    if apply is _REPLACE_REVERSED_ARGSORT:
        assert isinstance(node, ast.Call) and isinstance(node.args[0], ast.UnaryOp)
        node.args[0] = node.args[0].operand
        return ast.Subscript(node, ast.Slice(None, None, ast.Constant(-1)), ast.Load())
    return None


class _Replace(ast.NodeTransformer):
    def __init__(self, target: int, apply: Callable[[ast.AST], None]) -> None:
        self.target, self.apply, self.index = target, apply, -1

    def generic_visit(self, node: ast.AST) -> ast.AST:
        self.index += 1
        if self.index == self.target:
            new = _replacement(node, self.apply)
            if new is not None:
                return new
            self.apply(node)
            return node
        return super().generic_visit(node)


def _tree_mutants(source: str, name: str) -> Iterator[Mutant]:
    """Each edit of a function the reference reaches, in the module without the functions it does
    not reach (the models)."""
    full = ast.parse(source)
    reach = _reachable(full, name)
    tree = ast.Module([n for n in full.body if not (isinstance(n, ast.FunctionDef) and n.name not in reach)], [])
    for index, (node, inside) in enumerate(_visit(tree, False, reach)):
        if not inside:
            continue
        for n, edit in enumerate(_edits(node)):
            fresh = copy.deepcopy(tree)
            _Replace(index, _edits_of(fresh, index, n)).visit(fresh)
            ast.fix_missing_locations(fresh)
            where = f"line {getattr(node, 'lineno', 0)}:{getattr(node, 'col_offset', 0) + 1}"
            yield Mutant(edit.kind, f"{edit.kind} at {where}" + (f" #{n + 1}" if n else ""), edit.detail,
                         edit.need, ast.unparse(fresh) + "\n")
    every = _NoConversions(reach)
    fresh = every.visit(copy.deepcopy(tree))
    if every.dropped > 1:
        yield Mutant("integer-dtype", "integer-dtype(every conversion)", f"all {every.dropped} float conversions "
                     "dropped (computes in the input's dtype)", "add a case with small integer arrays ({array: "
                     "{values: ..., dtype: int8}} or uint8) whose products overflow the type",
                     ast.unparse(ast.fix_missing_locations(fresh)) + "\n")


class _NoConversions(ast.NodeTransformer):
    """Drops every float64 conversion (dtype=float64, float(x)) in the functions of `reach`."""

    def __init__(self, reach: set[str]) -> None:
        self.reach, self.dropped, self.inside = reach, 0, False

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:  # noqa: N802
        outer, self.inside = self.inside, self.inside or node.name in self.reach
        self.generic_visit(node)
        self.inside = outer
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:  # noqa: N802
        self.generic_visit(node)
        if not self.inside:
            return node
        if isinstance(node.func, ast.Name) and node.func.id == "float" and len(node.args) == 1 and not node.keywords:
            self.dropped += 1
            return node.args[0]
        kept = [k for k in node.keywords if not (k.arg == "dtype" and _is_float64(k.value))]
        self.dropped += len(node.keywords) - len(kept)
        node.keywords = kept
        return node


def _visit(node: ast.AST, inside: bool, reach: set[str]) -> Iterator[tuple[ast.AST, bool]]:
    """Every node in the order _Replace visits them, and whether it is in a function of `reach`."""
    inside = inside or isinstance(node, ast.FunctionDef) and node.name in reach
    yield node, inside
    for child in ast.iter_child_nodes(node):
        yield from _visit(child, inside, reach)


def _edits_of(tree: ast.Module, index: int, n: int) -> Callable[[ast.AST], None]:
    for i, (node, _) in enumerate(_visit(tree, False, set())):
        if i == index:
            return list(_edits(node))[n].apply
    raise LookupError(index)
