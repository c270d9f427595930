"""One submission's grading in progress: its sandbox, each exercise's calls and check results.

Calls go to the sandbox one by one or as an exercise's batch (its YAML cases and the calls custom
checks made against earlier submissions); every call is recorded for the diagnosis.
"""

from __future__ import annotations

import copy
import dataclasses
import pickle
import time
from collections.abc import Sequence
from typing import Any

from .checks import CheckFailure, StudentRaised
from .compare import args_text
from .exercise import Exercise
from .outcome import Call, Crashed, Outcome, Raised, Returned, TimedOut, hidden_safe
from .quiz import Quiz
from .results import CheckResult
from .sandbox.encoding import Encoded, Opaque, approx_bytes, identical, sent_as_is
from .sandbox.host import HOST_LAYERS, Limits, Sandbox
from .submissions import Location, Submission, locate

MAX_TIMEOUTS_PER_EXERCISE = 2  # later calls of the exercise are not run: a loop costs its own time only
SECOND_STRIKE = 0.2  # after a timeout, the exercise's other calls get this fraction of the timeout
MAX_CRASHES_PER_EXERCISE = 3
BATCH_ARGUMENT_BYTES = 16 * 1024 * 1024  # an exercise's case arguments travel together up to this size


class ExerciseRun:
    """One exercise of one submission during the session: its calls and check results."""

    def __init__(self, submission: SubmissionRun, exercise: Exercise, location: Location) -> None:
        self.submission = submission
        self.exercise = exercise
        self.location = location
        assert location.file is not None and location.module is not None, "runs only where the function was found"
        self.file, self.module = location.file, location.module
        self.calls: list[Call] = []
        self.results: dict[str, CheckResult] = {}
        self.load_problem: str | None = None
        self.timeouts = 0
        self.crashes: list[Crashed] = []
        self.prefetched: dict[str, tuple[Outcome, Any]] = {}
        self.prefetch_tried = False
        self.cases_ran = False  # its YAML cases item ran (in grading, the mutation check is judged at the end)
        # custom checks' calls answered ahead, by their exact arguments (see Batch), and the calls
        # each custom check made, kept until it passes (then they become its script)
        self.speculated: dict[bytes, list[tuple[Outcome, Any]]] = {}
        self.recording: dict[str, list[tuple[bytes, list, dict]] | None] = {}
        self.answered: set[str] = set()  # custom checks that have had a value back from the student

    def _ready(self) -> Sandbox | Outcome:
        """The loaded sandbox, or the outcome every call gets instead (a load failure raises)."""
        loc = self.location
        if self.timeouts >= MAX_TIMEOUTS_PER_EXERCISE:
            return TimedOut(self.submission.limits.call_timeout)
        if len(self.crashes) >= MAX_CRASHES_PER_EXERCISE:
            return Crashed(f"not run after {len(self.crashes)} crashes: {self.crashes[0].reason}")
        sandbox = self.submission.sandbox()
        if sandbox.gave_up is not None:
            return sandbox.gave_up
        if time.monotonic() >= sandbox.deadline:
            return TimedOut(self.submission.limits.submission_timeout)  # the submission's whole budget is spent
        loaded = sandbox.load(self.file, self.module)
        if sandbox.gave_up is not None:
            return sandbox.gave_up
        if not isinstance(loaded, Returned):
            if isinstance(loaded, Raised) and loaded.where:
                loaded = dataclasses.replace(loaded, where=self.submission.submission.place(loaded.where))
            self.load_problem = _load_message(loc.origin or self.file, loaded)
            raise CheckFailure("timeout" if isinstance(loaded, TimedOut) else "error", self.load_problem)
        return sandbox

    def call(self, args: tuple | list, kwargs: dict, check: str, visible: bool, fresh: bool = False) -> Outcome:
        """Call the student's function in the sandbox and record the call.

        `fresh` arguments belong to nobody else (a case's are shared read-only and a sandbox
        only ever gets a serialized copy), so they need no defensive copy for the record.
        """
        if fresh and check in self.prefetched:  # only a YAML case (fresh arguments) has a prefetched answer
            outcome, after = self.prefetched.pop(check)
            return self._record(args, kwargs, check, visible, outcome, after, case=True)
        if not fresh:
            sent_args, sent_kwargs = copy.deepcopy(list(args)), copy.deepcopy(dict(kwargs))
            key = self._remember(check, sent_args, sent_kwargs)
            answered = self.speculated.get(key) if key is not None else None
            if answered and self.timeouts < MAX_TIMEOUTS_PER_EXERCISE and len(self.crashes) < MAX_CRASHES_PER_EXERCISE:
                # the same call, with the same arguments, was made in the exercise's batch
                outcome, after = answered.pop(0)
                return self._record(sent_args, sent_kwargs, check, visible, outcome, after)
        sandbox = self._ready()
        if not isinstance(sandbox, Sandbox):
            return sandbox
        if fresh:
            sent_args, sent_kwargs = list(args), dict(kwargs)
        # A function that looped once gets a short fuse: a loop everywhere costs about one timeout,
        # while one that loops on a single input still answers its other cases in microseconds.
        limit = self.submission.limits.call_timeout
        timeout = max(0.05, limit * SECOND_STRIKE) if self.timeouts else limit
        outcome, after = sandbox.call(self.file, self.module, self.exercise.function.name, tuple(args), kwargs, timeout)
        return self._record(sent_args, sent_kwargs, check, visible, outcome, after, case=fresh)

    def prefetch(self, batch: Batch) -> None:
        """Send the exercise's batch to the sandbox in one request: the YAML cases' calls (items
        then take their outcome) and the custom checks' scripted calls (see Batch)."""
        sandbox = self._ready()
        if not isinstance(sandbox, Sandbox):
            return
        replies = sandbox.call_batch(self.file, self.module, self.exercise.function.name, batch.payload, len(batch.slots))
        for (case, key), reply in zip(batch.slots, replies, strict=False):
            # a timeout or crash ends the batch: later calls run one by one
            if case is not None:
                self.prefetched[case] = reply
            else:
                assert key is not None, "a slot answers a case or a scripted call"
                self.speculated.setdefault(key, []).append(reply)

    def _remember(self, check: str, args: list, kwargs: dict) -> bytes | None:
        """The call's exact identity (None if it has none), noted for the check's script until it has one."""
        key = call_key(args, kwargs)
        if prepared(self.exercise).scripts.get(check) is None and check not in self.answered:
            # Only calls made before the check saw any of the student's results: later arguments may
            # be made from them, and a script carries them into every later student's sandbox.
            calls = self.recording.setdefault(check, [])
            if calls is not None:
                self.recording[check] = None if key is None else [*calls, (key, args, kwargs)]
        return key

    def check_done(self, check: str, passed: bool) -> None:
        """A custom check that passed with calls of exact identity leaves them as its script."""
        calls = self.recording.pop(check, None)
        if passed and calls:
            prepared(self.exercise).add_script(check, calls)

    def _record(self, sent_args: list | tuple, sent_kwargs: dict, check: str, visible: bool,
                outcome: Outcome, after: Any, case: bool = False) -> Outcome:
        mutated: tuple[str, ...] = ()
        if after:  # the arguments the sandbox says the call changed, with their values after it: judged here
            c_args, c_kwargs = after
            params = self.exercise.function.params
            mutated = tuple(params[i] if i < len(params) else f"arg{i}" for i in sorted(c_args)
                            if 0 <= i < len(sent_args) and not identical(sent_args[i], c_args[i]))
            mutated += tuple(k for k in sent_kwargs if k in c_kwargs and not identical(sent_kwargs[k], c_kwargs[k]))
        if isinstance(outcome, Raised) and outcome.where:  # a notebook's module: the cell and line
            outcome = dataclasses.replace(outcome, where=self.submission.submission.place(outcome.where))
        if isinstance(outcome, TimedOut):
            self.timeouts += 1
        elif isinstance(outcome, Crashed):
            self.crashes.append(outcome)
        kept = outcome if visible else hidden_safe(outcome)
        if isinstance(outcome, Returned):
            size = approx_bytes(outcome.value)
            if self.submission.retained + size > RETAINED_BYTES:  # judged, not kept for the diagnosis
                kept = Returned(Opaque("result not kept", f"about {size >> 20} MB, over the submission's budget"))
            else:
                self.submission.retained += size
        self.calls.append(Call(check, visible, tuple(sent_args), dict(sent_kwargs), kept, mutated, case))
        if not case:
            self.answered.add(check)
        return outcome


def _load_message(file: str, outcome: Outcome) -> str:
    if isinstance(outcome, Raised):
        if outcome.is_a("SystemExit"):
            return f"importing {file} called sys.exit() ({outcome.where or file})"
        return f"importing {file} failed: {outcome.describe()}"
    if isinstance(outcome, TimedOut):
        return f"importing {file} did not finish within {outcome.seconds:g} s"
    if isinstance(outcome, Crashed):
        return f"importing {file} failed: {outcome.reason}"
    return f"importing {file} failed"


# Bytes of a submission's results the grader keeps for the diagnosis (the rest is judged and let go):
# a submission returning a 30 MB array from every call must not hold gigabytes of the grader's memory.
RETAINED_BYTES = 64 << 20


class SubmissionRun:
    def __init__(self, submission: Submission, exercises: Sequence[Exercise | Quiz], limits: Limits) -> None:
        self.submission = submission
        self.limits = limits
        self.retained = 0  # bytes of results kept in its calls (see RETAINED_BYTES)
        self._sandbox: Sandbox | None = None
        self.started: float | None = None  # perf_counter at its first check
        self.runs: dict[str, ExerciseRun] = {}
        self.locations: dict[str, Location] = {}
        wanted = frozenset(ex.function.name for ex in exercises if isinstance(ex, Exercise))
        for ex in exercises:
            if not isinstance(ex, Exercise):
                continue
            loc = locate(submission, ex, wanted)
            self.locations[ex.id] = loc
            if loc.status == "found":
                self.runs[ex.id] = ExerciseRun(self, ex, loc)

    def sandbox(self) -> Sandbox:
        if self._sandbox is None:
            self._sandbox = Sandbox(self.submission.file_map(), self.limits)
            # every module the checks will need, imported with one request
            self._sandbox.load_many([(r.file, r.module) for r in self.runs.values()])
        return self._sandbox

    def kill(self) -> None:
        """End the sandbox now; close() then collects what it printed."""
        if self._sandbox is not None:
            self._sandbox.kill()

    def close(self) -> tuple[str, str, tuple[str, ...]]:
        """Stop the sandbox; its captured output and the isolation layers it had."""
        if self._sandbox is None:
            return "", "", ()
        self._sandbox.close()
        sb = self._sandbox
        return sb.stdout, sb.stderr, (tuple(HOST_LAYERS) + tuple(sb.layers)) if sb.layers else ()


class StudentFunction:
    """The `student` fixture: calls go to the sandbox and are recorded for diagnosis."""

    def __init__(self, run: ExerciseRun, check: str, visible: bool) -> None:
        self._run, self._check, self._visible = run, check, visible
        self.__name__ = run.exercise.function.name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        outcome = self._run.call(args, kwargs, self._check, self._visible)
        if isinstance(outcome, Returned):
            return outcome.value
        text = args_text(self._run.exercise.function.params, args, kwargs)
        if isinstance(outcome, Raised):
            raise StudentRaised(outcome, text)
        if isinstance(outcome, TimedOut):
            raise CheckFailure("timeout", f"no answer within {outcome.seconds:g} s for {text}")
        raise CheckFailure("error", f"{outcome.reason} for {text}")



class Batch:
    """An exercise's calls for one request, encoded once for every sandbox of a process.

    First the YAML cases, then the calls its custom checks made against a submission that passed
    them (their scripts). A custom check's arguments usually come from its seeded generator, the
    same for every submission: its calls can then be answered in the batch, and a check whose
    call has exactly the same arguments (the same encoding: types, values, bits) takes that
    answer instead of a round trip of its own. A call with other arguments (say, made from the
    student's own earlier result) runs as usual. `slots` says, per call, which case it answers
    (case name, None) or which call (None, call key).
    """

    __slots__ = ("payload", "slots")

    def __init__(self, payload: Encoded, slots: list[tuple[str | None, bytes | None]]) -> None:
        self.payload = payload
        self.slots = slots


MAX_SCRIPTED_CALLS = 200  # per exercise: custom checks' calls made ahead in its batch


def call_key(args: list, kwargs: dict) -> bytes | None:
    """A call's exact identity: its arguments pickled (types, values, bits, dtypes and shapes), so
    equal keys mean equal arguments and the sandbox gets the same encoding of them; None where the
    encoding is a note two different values could share (see encoding.sent_as_is)."""
    if not (sent_as_is(args) and sent_as_is(kwargs)):
        return None
    try:
        return pickle.dumps((args, kwargs), protocol=4)
    except Exception:  # noqa: BLE001  (no key: the call just makes its own round trip)
        return None


class Prepared:
    """What grading an exercise needs from the trusted side, the same for every submission."""

    def __init__(self, exercise: Exercise) -> None:
        self.exercise = exercise  # held, so that its id is not reused while this entry lives
        self.expected: dict[str, tuple[Outcome, list, dict]] = {}  # case name -> reference outcome, args, kwargs
        self.scripts: dict[str, list[tuple[bytes, list, dict]]] = {}  # custom check -> its calls (key, args, kwargs)
        self.batch: Batch | None = None
        self.batch_scripts = -1  # how many scripts the batch holds (-1: not built yet)

    def add_script(self, check: str, calls: list[tuple[bytes, list, dict]]) -> None:
        if check not in self.scripts and sum(map(len, self.scripts.values())) + len(calls) <= MAX_SCRIPTED_CALLS:
            self.scripts[check] = calls


def too_big(payload: Encoded) -> bool:
    return sum(len(b) for b in payload.buffers) > BATCH_ARGUMENT_BYTES or '{"toolarge":' in payload.json


_PREPARED: dict[int, Prepared] = {}  # per process: exercises are loaded once per process (load_exercise)


def prepared(ex: Exercise) -> Prepared:
    made = _PREPARED.get(id(ex))
    if made is None or made.exercise is not ex:
        made = _PREPARED[id(ex)] = Prepared(ex)
    return made
