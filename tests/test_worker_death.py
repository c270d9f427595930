"""A grading worker that dies never stops the class: what it had in hand is graded again on a fresh
worker, one submission at a time, and a submission in hand each time workers die ends as `error`
with why; every other student gets exactly the result of a run without it, reported once."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_hostile import WITHOUT_USER_NAMESPACES, _as_nobody

from grader.course import load_exercises
from grader.feedback import Feedback
from grader.pool import MAX_DEATHS, WORKER_DIED, Ledger, _chunks, died_result
from grader.submissions import Submission

from conftest import CORPUS, DOT_POINTS, ROOT, by_id

# students with right and wrong answers, enough that the first chunks hold several submissions
STUDENTS = {f"s{i}-{p.stem}": p.read_text() for i, p in enumerate(sorted((CORPUS / "dot-product").glob("*.py")))}
ARGS = ("-e", "dot-product", "--jobs", "2", "--format", "json")
DIED = WORKER_DIED.format(n=MAX_DEATHS)

# A student's code that finds the grading worker among its ancestors (the grandparent of a sandbox,
# through the zygote) and kills it; it says so first, in case it cannot.
FIND_AND_KILL = '''
import os, signal

def kill_the_grading_worker():
    pid = os.getpid()
    for _ in range(5):
        try:
            with open(f"/proc/{pid}/status") as f:
                pid = int(next(line for line in f if line.startswith("PPid:")).split()[1])
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                worker = b"spawn_main" in f.read()
        except (OSError, StopIteration, ValueError) as e:
            print(f"no grading worker found: {e!r}", flush=True)
            return
        if pid <= 1:
            break
        if worker:
            print(f"killing {pid}", flush=True)
            os.kill(pid, signal.SIGKILL)
            return
    print("no grading worker found", flush=True)
'''
KILLERS = {
    "at-import": FIND_AND_KILL + "kill_the_grading_worker()\n\ndef dot(a, b):\n    return sum(float(x) * float(y) for x, y in zip(a, b))\n",
    "in-the-function": FIND_AND_KILL + "\ndef dot(a, b):\n    kill_the_grading_worker()\n    return 0.0\n",
}


_SANDBOX_FOLDER = re.compile(r"/\S*?grader-sandbox-[^/]+/work/")


def _comparable(doc: dict) -> dict[str, dict]:
    """Each student's result, less its timing and its sandbox's folder on disk (a fresh temporary
    one per sandbox here, where sandboxes have no private root: warnings name it)."""
    out = {}
    for sid, sub in by_id(doc).items():
        sub = {k: v for k, v in sub.items() if k != "seconds"}
        sub["output"] = {k: _SANDBOX_FOLDER.sub("WORK/", v) for k, v in sub["output"].items()}
        out[sid] = sub
    return out


def _rows(db: Path) -> Counter:
    with sqlite3.connect(db) as con:
        return Counter(student for (student,) in con.execute("SELECT student FROM submissions"))


@pytest.fixture(scope="module")
def nobody_class():
    """A class folder user 65534 can grade, and its results without a killer."""
    nobody, env, python = _as_nobody()
    assert len(_chunks([*STUDENTS, "a-killer"], 2)[0]) > 1  # the killer shares its chunk
    with tempfile.TemporaryDirectory(prefix="grader-test-worker-death-") as shared:  # tmp_path is root's alone
        work = Path(shared)
        (work / "class").mkdir()
        for sid, source in STUDENTS.items():
            (work / "class" / f"{sid}.py").write_text(source)
        (work / "sandboxes").mkdir()
        for path in [work, *work.rglob("*")]:
            path.chmod(0o777 if path.is_dir() else 0o666)

        def run(db: Path | None = None) -> subprocess.CompletedProcess:
            # Where a student can reach its grading worker at all: no root and no user namespaces,
            # graded anyway (the sandboxes then share the grader's uid and pid space)
            more = ("--db", str(db)) if db else ("--no-db",)
            proc = subprocess.run([sys.executable, "-c", WITHOUT_USER_NAMESPACES, python, "-m", "grader",
                                   str(work / "class"), *ARGS, *more, "--unsafe-no-isolation"], cwd=ROOT,
                                  env={**env, "TMPDIR": str(work / "sandboxes")}, capture_output=True, text=True,
                                  timeout=300)
            if proc.returncode == 90:
                pytest.skip("this machine cannot make a user namespace to turn user namespaces off in")
            return proc

        baseline = run()
        assert baseline.returncode == 0, baseline.stderr
        yield work, run, _comparable(json.loads(baseline.stdout))


@pytest.mark.parametrize("when", KILLERS)
def test_a_student_who_kills_the_grading_worker_gets_an_error_and_the_class_goes_on(nobody_class, when):
    work, run, baseline = nobody_class
    killer = work / "class" / "a-killer.py"  # first in the class: it shares its chunk with a neighbour
    killer.write_text(KILLERS[when])
    killer.chmod(0o666)
    db = work / f"gradebook-{when}.sqlite"
    try:
        proc = run(db)
    finally:
        killer.unlink()
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    results = _comparable(json.loads(proc.stdout))
    attacker = results.pop("a-killer")
    exercise = attacker["exercises"][0]
    assert "killing" in attacker["output"]["stdout"], attacker  # it found its worker
    # seccomp refuses a signal to any process but the sandbox itself; were it to get through, the
    # worker's death would make the submission an error after MAX_DEATHS tries
    if exercise["message"] == DIED:
        assert (exercise["status"], exercise["score"], exercise["max_score"]) == ("error", 0, DOT_POINTS)
    else:
        said = " ".join([exercise["message"], *(c["message"] for c in exercise["checks"])])
        assert "PermissionError" in said and exercise["score"] < exercise["max_score"], exercise
    assert results == baseline  # every neighbour, the one that shared its chunk included
    assert _rows(db) == Counter([*STUDENTS, "a-killer"])  # each reported once, nobody lost
    _no_sandbox_folder_left(work / "sandboxes")


def _no_sandbox_folder_left(folder: Path) -> None:
    """A dead worker's zygote removes its sandboxes' folders when it notices: soon, not at once."""
    deadline = time.monotonic() + 30
    while list(folder.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert list(folder.iterdir()) == []


def _children(pid: int) -> list[int]:
    """The children of a process this test started, or of one of its descendants."""
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _descendants(pid: int) -> list[int]:
    found, todo = [], _children(pid)
    while todo:
        found.append(todo.pop())
        todo += _children(found[-1])
    return found


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError:
        return b""


def _workers(grader: int) -> list[int]:
    return [pid for pid in _children(grader) if b"spawn_main" in _read(f"/proc/{pid}/cmdline")]


needs_proc = pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads the grader's children from /proc")


def _start(subs: Path, tmp_path: Path, *more: str) -> tuple[list[str], dict[str, str]]:
    (tmp_path / "sandboxes").mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    env["TMPDIR"] = str(tmp_path / "sandboxes")
    return [sys.executable, "-m", "grader", str(subs), *ARGS, "--no-db", *more], env


def _write_class(folder: Path, students: dict[str, str]) -> Path:
    folder.mkdir()
    for sid, source in students.items():
        (folder / f"{sid}.py").write_text(source)
    return folder


# each student sleeps at import: the class takes a few seconds, and the kill lands mid-chunk
SLOW = {sid: "import time\ntime.sleep(0.25)\n" + source for sid, source in STUDENTS.items()}


@needs_proc
def test_a_grading_worker_killed_mid_class_costs_nobody_their_result(tmp_path):
    command, env = _start(_write_class(tmp_path / "subs", SLOW), tmp_path)
    baseline = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert baseline.returncode == 0, baseline.stderr

    proc = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        victim = None
        deadline = time.monotonic() + 120
        while victim is None:  # a worker with a child (its zygote) is grading a chunk
            assert proc.poll() is None, "the class was graded before a worker could be killed"
            assert time.monotonic() < deadline, "no grading worker started"
            victim = next((pid for pid in _workers(proc.pid) if _children(pid)), None)
            time.sleep(0.05)
        time.sleep(0.3)  # into its first student
        os.kill(victim, signal.SIGKILL)  # the grader's own worker, by the pid its parent (our child) lists
        assert proc.poll() is None, "the class was graded before the worker was killed"
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the group this test started
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err, err
    assert _comparable(json.loads(out)) == _comparable(json.loads(baseline.stdout))  # one death gives up nobody
    _no_sandbox_folder_left(tmp_path / "sandboxes")


# Its sandbox sleeps at import: the test kills whichever worker is grading it, every time, the way
# a submission that brings down its worker would (as root, a sandbox cannot reach the worker itself).
SLEEPER = "import time\ntime.sleep(30)\n\ndef dot(a, b):\n    return 0.0\n"


def _sleeping(pid: int) -> bool:
    return b"nanosleep" in _read(f"/proc/{pid}/wchan")


@needs_proc
@pytest.mark.skipif(not Path("/proc/self/wchan").exists(), reason="the kernel does not say where a process sleeps")
def test_a_submission_whose_worker_dies_every_time_ends_as_an_error_and_costs_nobody_else(tmp_path):
    subs = _write_class(tmp_path / "subs", STUDENTS)
    command, env = _start(subs, tmp_path, "--timeout", "60")
    baseline = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert baseline.returncode == 0, baseline.stderr
    (subs / "a-sleeper.py").write_text(SLEEPER)  # first in the class: it shares its chunk with neighbours

    killed = []
    with open(tmp_path / "out", "w+") as out, open(tmp_path / "err", "w+") as err:
        db = tmp_path / "gradebook.sqlite"  # --db wins over --no-db
        proc = subprocess.Popen([*command, "--db", str(db)], cwd=ROOT, env=env, start_new_session=True, stdout=out,
                                stderr=err)
        try:
            deadline = time.monotonic() + 300
            while proc.poll() is None:
                assert time.monotonic() < deadline, "the class never ended"
                for worker in _workers(proc.pid):
                    if worker not in killed and any(_sleeping(p) for p in _descendants(worker)):
                        os.kill(worker, signal.SIGKILL)  # the grader's own worker, by pid
                        killed.append(worker)
                time.sleep(0.05)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)  # the group this test started
                proc.wait()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr, stderr
    assert len(killed) == MAX_DEATHS  # once with its chunk, once alone: then given up
    results = _comparable(json.loads(stdout))
    exercise = results.pop("a-sleeper")["exercises"][0]
    assert (exercise["status"], exercise["message"], exercise["score"], exercise["max_score"]) == ("error", DIED, 0, DOT_POINTS)
    assert results == _comparable(json.loads(baseline.stdout))  # every neighbour, those of its chunk included
    assert _rows(db) == Counter([*STUDENTS, "a-sleeper"])  # each reported once
    _no_sandbox_folder_left(tmp_path / "sandboxes")


def _class(n: int) -> list[Submission]:
    return [Submission(f"s{i:02d}", Path(f"/class/s{i:02d}.py"), ()) for i in range(n)]


@given(n=st.integers(1, 40), jobs=st.integers(2, 4), killers=st.sets(st.integers(0, 39), max_size=4),
       sprees=st.sets(st.integers(0, 39), max_size=2), flukes=st.sets(st.integers(1, 80), max_size=3))
def test_the_ledger_gives_up_only_on_a_submission_in_hand_at_every_death(n, jobs, killers, sprees, flukes):
    """`jobs` workers take chunks from the ledger and grade them in step, one submission each per
    step. A killer kills its own worker every time it is graded, a spree kills every worker, and a
    fluke kills the worker of that step's submission, whoever it is. Every submission ends once; a
    killer or spree ends given up after MAX_DEATHS deaths; anyone else is given up only when a
    fluke killed it in hand alone; none is handed out more than MAX_DEATHS times."""
    subs = _class(n)
    killing = {str(subs[i].path) for i in killers if i < n}
    spreeing = {str(subs[i].path) for i in sprees if i < n} - killing
    ledger = Ledger(_chunks(subs, jobs))
    ended: Counter = Counter()
    handed: Counter = Counter()
    given_up: set[str] = set()
    alone_at_fluke: set[str] = set()
    in_hand: list[list[Submission] | None] = [None] * jobs
    step = 0
    while len(ended) < n:
        assert step < 10 * n * MAX_DEATHS, "the class never ends"
        for i in range(jobs):
            if in_hand[i] is None:
                chunk = ledger.hand_out([c for c in in_hand if c is not None])
                if chunk is None:
                    break
                in_hand[i] = chunk
                handed.update(str(s.path) for s in chunk)
        assert any(in_hand), "nothing in hand, nothing handed out"
        dead: set[int] = set()
        for i, chunk in enumerate(in_hand):
            if chunk is None or i in dead:
                continue
            path = str(next(s for s in chunk if str(s.path) not in ledger.finished).path)
            step += 1
            if path in spreeing:
                dead |= {j for j, c in enumerate(in_hand) if c is not None}
            elif path in killing or step in flukes:
                if path not in killing and len([c for c in in_hand if c]) == 1 and len(chunk) == 1:
                    alone_at_fluke.add(path)
                dead.add(i)
            else:
                assert ledger.finish(path)
                assert not ledger.finish(path)  # a second result for it is not reported
                ended[path] += 1
                if all(str(s.path) in ledger.finished for s in chunk):
                    in_hand[i] = None
        for i in dead:
            for lost in ledger.died(in_hand[i]):
                assert ledger.deaths[str(lost.path)] == MAX_DEATHS
                assert ledger.finish(str(lost.path))
                given_up.add(str(lost.path))
                ended[str(lost.path)] += 1
            in_hand[i] = None
    assert ended == Counter(str(s.path) for s in subs)
    assert killing | spreeing <= given_up
    assert given_up - killing - spreeing <= alone_at_fluke
    assert max(handed.values()) <= MAX_DEATHS


def test_a_given_up_submission_keeps_its_place_in_the_class(tmp_path):
    """The result of a submission given up names every exercise, with its points, as an error."""
    exercises = load_exercises(ROOT / "exercises")
    sub = Submission("eve", tmp_path / "eve.py", (), problems=("notes.txt was left out",), meta=(("name", "Eve"),))
    result = died_result(sub, exercises, MAX_DEATHS, Feedback())
    assert [e.id for e in result.exercises] == [e.id for e in exercises]
    assert all(e.status == "error" and e.message == DIED and e.score == 0 for e in result.exercises)
    assert result.max_score == pytest.approx(sum(e.points for e in exercises))
    assert result.warnings == sub.problems and result.meta == sub.meta
    assert all(DIED in e.feedback for e in result.exercises)  # what the student reads
