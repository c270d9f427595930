"""Which misconceptions explain which recorded calls.

An explanation is one model that agrees with the student on every call where it differs from
the reference; or two models, each agreeing on calls of its own, that together account for
every call where either differs (a call where both are at work agrees with one of them, with
their composition when the solution module declares it, or overflows where one of them does);
or one model plus a generic cause that accounts for the calls it does not (nan/inf, a raise on
one input form, a small integer dtype). A composition is declared by a function in the
solution module named after both models, `first__second`, or by the module's function
`compose(first, second)`, which returns the two models applied together (None if they do not
compose).

nan/inf in a result and an ArithmeticError raised for the same input are one outcome here.

A model's evidence is only what the student does where the model is at work and nowhere else:
an agreement that is a raise (nan/inf; for `match: returns`, any returned value) counts only
when the student does not also raise a related exception (give nan/inf; return a wrong value)
on a failing call where the model returns and no other named model explains it, nor return a
value where the model raises and the reference returns. A pair's model shows itself on calls
no model of the other misconception explains alone; a model with a generic cause, on a call
no other misconception's model with a cause explains. A model is not named when the student
raises, on a call the explanation leaves, where the model returns; a raise on every call is
no input form's cause.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from itertools import combinations

import numpy as np

from .compare import Tolerance, as_array, same_outcome, same_value
from .exercise import Misconception
from .outcome import Call, Crashed, Outcome, Raised, Returned, TimedOut
from .sandbox.encoding import Opaque

MIN_EVIDENCE = 2
COMPOSE = "__"  # a declared composition of models a and b is the solution's function a__b (or b__a)
COMPOSER = "compose"  # or what the solution's compose(a, b) returns (None: they do not compose)


@dataclass(frozen=True)
class Evidence:
    """One recorded call with the reference's outcome next to the student's."""

    index: int
    call: Call
    reference: Outcome

    @property
    def student(self) -> Outcome:
        return self.call.outcome


def oversized_int(value: object) -> bool:
    """An integer too large to cross the sandbox's boundary (far beyond a float's range)."""
    return isinstance(value, Opaque) and value.type_name == "int"


def non_finite(outcome: Outcome) -> bool:
    """A result with nan or inf in it, an integer beyond a float's range, or an ArithmeticError
    (division by zero, overflow)."""
    if isinstance(outcome, Raised):
        return outcome.is_a("ArithmeticError")
    if isinstance(outcome, Returned):
        if oversized_int(outcome.value):
            return True
        a = as_array(outcome.value)
        if a is None or a.dtype.kind not in "fc":
            return False
        with np.errstate(all="ignore"):
            return not bool(np.all(np.isfinite(a)))
    return False


def _arithmetic(outcome: Outcome) -> bool:
    return isinstance(outcome, Raised) and outcome.is_a("ArithmeticError")


def agrees(student: Outcome, model: Outcome, tol: Tolerance, match: str = "value") -> bool:
    """The student's outcome is the model's; an ArithmeticError on either side matches nan/inf."""
    if same_outcome(student, model, tol, match):
        return True
    if _arithmetic(student) or _arithmetic(model):
        return non_finite(student) and non_finite(model)
    return False


def same(a: Outcome, b: Outcome, tol: Tolerance) -> bool:
    """Symmetric equality of two trusted outcomes (a model against the reference)."""
    if isinstance(a, Returned) and isinstance(b, Returned):
        return same_value(a.value, b.value, tol)
    if isinstance(a, Raised) and isinstance(b, Raised):
        return a.type == b.type or (_arithmetic(a) and _arithmetic(b))
    if _arithmetic(a) or _arithmetic(b):
        return non_finite(a) and non_finite(b)
    return False


def _related(shown: Outcome, other: Outcome, match: str) -> bool:
    """Is the student's outcome `other`, on a call the model does not explain, the same kind of
    thing as `shown`, where it agrees with the model? (Then `shown` tells nothing of the model.)"""
    if isinstance(shown, Raised) and isinstance(other, Raised):
        return shown.is_a(other.type) or other.is_a(shown.type) or non_finite(shown) and non_finite(other)
    if match == "returns" and isinstance(shown, Returned):
        return isinstance(other, Returned)
    return non_finite(shown) and non_finite(other)


def answered(e: Evidence) -> bool:
    return not isinstance(e.student, (TimedOut, Crashed))


def fails(e: Evidence, tol: Tolerance) -> bool:
    """The student's outcome is not the reference's (as the checks judge a case)."""
    return answered(e) and not same_outcome(e.student, e.reference, tol)


# --------------------------------------------------------------------------- one model's profile


@dataclass
class Profile:
    """One model against the student: where it differs from the reference, where the student agrees."""

    misconception: Misconception
    model: str
    outcomes: dict[int, Outcome]
    telling: list[int]  # the model differs from the reference (telling order: visible calls first)
    exact: set[int]  # telling calls where the student's outcome is the model's
    coarse: set[int] = field(default_factory=set)  # of those, an ArithmeticError against nan/inf

    @property
    def strict(self) -> bool:
        return len(self.telling) >= MIN_EVIDENCE and len(self.exact) == len(self.telling)

    def shown(self, calls: list[int], order: list[Evidence], tol: Tolerance, excused: set[int] | frozenset[int] = frozenset()) -> list[int]:
        """Of `calls` (where the student agrees with the model), those that tell the model apart:
        where the student's outcome is not also its outcome on a failing call where the model
        returns and that neither the model (its value), nor what `excused` holds, nor a small
        integer dtype explains; and, for a raise, where the student does not return a value on
        a call where the model raises a related exception and the reference returns."""
        match = self.misconception.match
        elsewhere = [e.student for e in order if e.index not in excused and e.index not in self.exact and fails(e, tol)
                     and not small_int_dtype(e.call) and isinstance(out := self.outcomes.get(e.index), Returned)
                     and not agrees(e.student, out, tol)]
        elsewhere += [out for e in order if e.index in self.telling and e.index not in self.exact
                      and not small_int_dtype(e.call) and isinstance(e.student, Returned)
                      and isinstance(e.reference, Returned) and isinstance(out := self.outcomes.get(e.index), Raised)]
        by_index = {e.index: e for e in order}
        return [i for i in calls if not any(_related(by_index[i].student, o, match) for o in elsewhere)]


Run = Callable[[str, Evidence], Outcome]  # a model's outcome on a call, by the model's name


def profile(m: Misconception, name: str, order: list[Evidence], run: Run, tol: Tolerance,
            stop_early: bool = False) -> Profile:
    """The model's outcomes and agreements on every answered call (up to its first disagreement
    with the student when `stop_early`)."""
    p = Profile(m, name, {}, [], set())
    for e in order:
        if not answered(e):
            continue
        out = p.outcomes[e.index] = run(name, e)
        if same(out, e.reference, tol):
            continue
        p.telling.append(e.index)
        if agrees(e.student, out, tol, m.match):
            p.exact.add(e.index)
            if not same_outcome(e.student, out, tol, m.match):
                p.coarse.add(e.index)
        elif stop_early:
            break
    return p


# --------------------------------------------------------------------------- generic causes


@dataclass(frozen=True)
class Cause:
    """A generic cause for calls no model explains: its generic id, the calls, and where."""

    id: str  # non-finite | raises | integer-wraparound
    calls: tuple[int, ...]
    form: tuple[tuple[str, str], ...] = ()  # the input form it happens on, e.g. (("container", "list"),)

    @property
    def where(self) -> str:
        """In words: "on list input", "on 1-D numpy array input", "on int8 input"."""
        return "on " + " ".join(_form_words(k, v) for k, v in self.form) + " input" if self.form else ""


SMALL_INT_BYTES = 8  # integer dtypes narrower than this wrap around on ordinary sums and products


def input_forms(call: Call) -> dict[str, str]:
    """How a call's array arguments arrive: container (list / numpy array), ndim, dtype."""
    arrays = [a for a in (*call.args, *call.kwargs.values()) if isinstance(a, (list, tuple, np.ndarray))]
    if not arrays:
        return {}
    first = as_array(arrays[0])
    forms = {"container": "list" if not any(isinstance(a, np.ndarray) for a in arrays)
             else "numpy array" if all(isinstance(a, np.ndarray) for a in arrays) else "mixed"}
    if first is not None:
        forms["ndim"] = f"{first.ndim}-D"
    small = [a.dtype.name for a in arrays if isinstance(a, np.ndarray) and a.dtype.kind in "iu"
             and a.dtype.itemsize < SMALL_INT_BYTES]
    forms["dtype"] = small[0] if small else "wide"
    return forms


def small_int_dtype(call: Call) -> str | None:
    dtype = input_forms(call).get("dtype", "wide")
    return None if dtype == "wide" else dtype


def find_causes(calls: list[Evidence], everything: list[Evidence]) -> list[Cause] | None:
    """Generic causes for every call of `calls`: nan/inf where the answer is finite, or a raise
    on an input form on which the student never returns a value (among `everything`, the
    answered calls); calls with a small integer dtype that neither explains: that dtype."""
    if not calls:
        return None
    other = [e for e in calls if not small_int_dtype(e.call)]
    one = _one_cause(calls, everything) if other else None
    if one is not None:
        return [one]
    causes = []
    if other:
        one = _one_cause(other, everything)
        if one is None:
            return None
        extra = [e.index for e in calls if small_int_dtype(e.call) and fits(one, e)]
        causes.append(replace(one, calls=one.calls + tuple(extra)))
    taken = {i for c in causes for i in c.calls}
    small = [e for e in calls if e.index not in taken]
    if small:  # wrong values, or a raise where a wrapped value breaks the rest
        dtypes = sorted({small_int_dtype(e.call) or "" for e in small})
        causes.append(Cause("integer-wraparound", tuple(e.index for e in small), (("dtype", "/".join(dtypes)),)))
    return causes


def _one_cause(calls: list[Evidence], everything: list[Evidence]) -> Cause | None:
    idx = tuple(e.index for e in calls)
    if all(_overflows(e) for e in calls):
        return Cause("non-finite", idx)
    if all(_raises(e) for e in calls) and (form := _raising_form(calls, everything)) is not None:
        return Cause("raises", idx, form)
    return None


def _overflows(e: Evidence) -> bool:
    return isinstance(e.reference, Returned) and not non_finite(e.reference) and non_finite(e.student)


def _raises(e: Evidence) -> bool:
    """The student raised where the reference returns, or raised another exception than it."""
    s, r = e.student, e.reference
    return isinstance(s, Raised) and (isinstance(r, Returned) or isinstance(r, Raised) and not s.is_a(r.type))


def _raising_form(raising: list[Evidence], everything: list[Evidence]) -> tuple[tuple[str, str], ...] | None:
    """The input form (one or two features) shared by every raising call and on which the
    student never returned a value."""
    shared = dict(input_forms(raising[0].call))
    for e in raising[1:]:
        forms = input_forms(e.call)
        shared = {k: v for k, v in shared.items() if forms.get(k) == v}
    returned = [input_forms(e.call) for e in everything if isinstance(e.student, Returned)]
    if not returned:  # a raise on every call is no input form's
        return None
    keys = sorted(shared)
    for size in (1, 2):
        for group in combinations(keys, size):
            if not any(all(f.get(k) == shared[k] for k in group) for f in returned):
                return tuple((k, shared[k]) for k in group)
    return None


def _form_words(key: str, value: str) -> str:
    if key == "dtype":
        return value if value != "wide" else "64-bit"
    return value


def fits(cause: Cause, e: Evidence) -> bool:
    """Does another failing call fit the same cause?"""
    if cause.id == "non-finite":
        return _overflows(e)
    if cause.id == "integer-wraparound":
        return small_int_dtype(e.call) is not None
    forms = input_forms(e.call)
    return _raises(e) and all(forms.get(k) == v for k, v in cause.form)


# --------------------------------------------------------------------------- explanations


@dataclass
class Share:
    """The calls one model explains in an explanation, the ones it shows alone first."""

    profile: Profile
    calls: list[int]
    outcomes: dict[int, Outcome] = field(default_factory=dict)  # what the explanation says on each call

    @property
    def plain(self) -> list[int]:
        """The calls where the student's outcome is the model's own (not a composition's): the ones to quote."""
        return [i for i in self.calls if self.outcomes[i] is self.profile.outcomes.get(i)]

    @property
    def misconception(self) -> Misconception:
        return self.profile.misconception


@dataclass
class Explanation:
    shares: list[Share]
    causes: list[Cause] = field(default_factory=list)
    together: set[int] = field(default_factory=set)  # calls a pair accounts for that neither shows alone

    def covered(self) -> set[int]:
        done = {i for s in self.shares for i in s.calls}
        return done | self.together | {i for c in self.causes for i in c.calls}

    def weight(self) -> int:
        return sum(len(s.calls) for s in self.shares)


def _share(p: Profile, calls: list[int]) -> Share:
    return Share(p, calls, {i: p.outcomes[i] for i in calls})


def explain(misconceptions: tuple[Misconception, ...], order: list[Evidence], run: Run, tol: Tolerance,
            declared: Callable[[str, str], str | None]) -> Explanation:
    """The explanation of the failing calls that covers most of them: every model that explains
    all its calls; else the best pair of models or model with a generic cause."""
    failing = {e.index for e in order if fails(e, tol)}
    # one model for all its calls: the first disagreement rules a model out, so stop there
    strict: list[Share] = []
    for m in misconceptions:
        chosen: Profile | None = None
        for name in m.models:
            p = profile(m, name, order, run, tol, stop_early=True)
            if p.strict and len(p.shown(p.telling, order, tol)) >= MIN_EVIDENCE and (
                    chosen is None or len(p.telling) > len(chosen.telling)):
                chosen = p
        if chosen is not None:
            strict.append(_share(chosen, chosen.telling))
    # a model that matches only as an exception matches nan, or only by nan/inf, on calls another
    # model explains too, and more, adds no name of its own
    symptom = {e.index for e in order if non_finite(e.student)}
    strict = [s for s in strict if not ((s.profile.coarse or set(s.calls) <= symptom)
                                        and any(set(s.calls) < set(o.calls) for o in strict))]
    found = Explanation(strict)
    if failing <= found.covered() or not failing:
        return found

    profiles = [profile(m, name, order, run, tol) for m in misconceptions for name in m.models]
    candidates = [p for p in profiles if set(p.telling) & failing]
    by_itself: dict[str, set[int]] = {}  # the calls some model of a misconception explains by itself
    for p in profiles:
        by_itself.setdefault(p.misconception.id, set()).update(p.exact)
    by_index = {e.index: e for e in order}
    answers = [e for e in order if answered(e)]
    found = _with_cause(found, failing, order)  # what the strict ones leave may be generic causes'
    best = (len(failing & found.covered()), 1 if found.causes else 0, found.weight())
    viable: list[tuple[Profile, Explanation]] = []
    for p in candidates:  # one model and a generic cause
        if p.strict or len(p.shown(sorted(p.exact), order, tol)) < MIN_EVIDENCE:
            continue
        rest = [by_index[i] for i in p.telling if i not in p.exact]
        causes = find_causes(rest, answers)
        if causes is None:
            continue
        taken = set(p.telling)
        for n, cause in enumerate(causes):
            extra = [i for i in sorted(failing - taken) if fits(cause, by_index[i])]
            taken.update(extra)
            causes[n] = replace(cause, calls=cause.calls + tuple(extra))
        viable.append((p, Explanation([_share(p, [i for i in p.telling if i in p.exact])], causes)))
    for p, exp in viable:  # each shown on a call that no other misconception's model does with a cause
        others = {i for q, _ in viable if q.misconception.id != p.misconception.id for i in q.exact}
        score = (len(failing & exp.covered()), 1, exp.weight())
        if set(p.shown(sorted(p.exact), order, tol)) - others and score > best:
            found, best = exp, score
    for p, q in combinations(candidates, 2):  # two models
        if p.misconception.id == q.misconception.id:
            continue
        two = _pair(p, q, order, run, tol, declared, failing, by_itself)
        if two is None:
            continue
        score = (len(failing & two.covered()), 2, two.weight())
        if score > best:
            found, best = two, score
    return _accounted(_with_cause(found, failing, order), failing, order)


def _accounted(found: Explanation, failing: set[int], order: list[Evidence]) -> Explanation:
    """The explanation, unless the student raises, on a call it leaves, where a named model
    returns (a small integer dtype aside): then it names nothing."""
    left = failing - found.covered()
    raised = [e for e in order if e.index in left and isinstance(e.student, Raised) and not small_int_dtype(e.call)
              and any(isinstance(s.profile.outcomes.get(e.index), Returned) for s in found.shares)]
    return Explanation([]) if raised else found


def _with_cause(found: Explanation, failing: set[int], order: list[Evidence]) -> Explanation:
    """The named models and, when generic causes account for every failing call they leave, those."""
    left = [e for e in order if e.index in failing - found.covered()]
    if found.shares and not found.causes and left:
        found.causes = find_causes(left, [e for e in order if answered(e)]) or []
    return found


def _pair(p: Profile, q: Profile, order: list[Evidence], run: Run, tol: Tolerance,
          declared: Callable[[str, str], str | None], failing: set[int],
          by_itself: dict[str, set[int]]) -> Explanation | None:
    """p and q together, when every call where either differs from the reference is theirs (or,
    for a small integer dtype, that dtype's) and each shows itself on at least MIN_EVIDENCE calls
    that no model of the other's misconception explains by itself."""
    tp, tq = set(p.telling), set(q.telling)
    composed = declared(p.model, q.model)
    calls: dict[str, list[int]] = {"p": [], "q": []}  # the calls each shows alone come first
    shown: dict[str, list[int]] = {"p": [], "q": []}
    said: dict[str, dict[int, Outcome]] = {"p": {}, "q": {}}
    side: list[int] = []

    def theirs(e: Evidence) -> bool:
        """Is the call explained by p, q or both, and which does it show?"""
        i, s = e.index, e.student
        c = run(composed, e) if composed is not None else None
        both = c is not None and agrees(s, c, tol)
        if i not in failing:  # right here: only if the two together are right here too
            return both
        for k, mine, other, m in (("p", tp, tq, p), ("q", tq, tp, q)):
            if i in mine and i not in other:
                if not (agrees(s, m.outcomes[i], tol, m.misconception.match) or both):
                    return False
                calls[k].append(i)
                said[k][i] = c if both and c is not None else m.outcomes[i]
                return True
        op, oq = p.outcomes[i], q.outcomes[i]
        if both and c is not None:  # the composition: evidence for each idea that changes the other's result here
            for k, alone in (("p", oq), ("q", op)):
                if not same(c, alone, tol):
                    shown[k].append(i)
                    said[k][i] = c
            return True
        for k, m in (("p", p), ("q", q)):
            if same_outcome(s, m.outcomes[i], tol, m.misconception.match):  # the other makes no difference here
                shown[k].append(i)
                said[k][i] = m.outcomes[i]
                return True
        return non_finite(s) and (non_finite(op) or non_finite(oq))  # one overflows: evidence for neither

    for e in order:
        if e.index not in tp and e.index not in tq or theirs(e):
            continue
        if e.index in failing and small_int_dtype(e.call):
            side.append(e.index)
            continue
        return None
    own = {k: calls[k] + shown[k] for k in calls}
    for k, m, other in (("p", p, q), ("q", q, p)):
        mine = [i for i in own[k] if i not in by_itself.get(other.misconception.id, set())]
        if len(m.shown(mine, order, tol, tp | tq)) < MIN_EVIDENCE:
            return None
    exp = Explanation([Share(p, own["p"], said["p"]), Share(q, own["q"], said["q"])])
    if side:
        dtypes = "/".join(sorted({small_int_dtype(by.call) or "" for by in order if by.index in side}))
        exp.causes = [Cause("integer-wraparound", tuple(side), (("dtype", dtypes),))]
    exp.together = ((tp | tq) & failing) - exp.covered()
    return exp
