"""A grading worker runs one pytest session per chunk of the class, many in its lifetime: a
session must leave nothing of its submissions behind, or the worker's memory grows with the
class and every full garbage collection walks the leftovers."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from conftest import EXAMPLES, EXERCISES, ROOT

SCRIPT = textwrap.dedent("""
    import gc, sys
    from pathlib import Path
    from grader.course import load_exercises
    from grader.grading import Options, run_session
    from grader.sandbox.host import Limits
    from grader.submissions import load_submission

    exercises = load_exercises(Path(sys.argv[1]))
    subs = [load_submission(p) for p in sorted(Path(sys.argv[2]).iterdir())]
    options = Options(limits=Limits(call_timeout=2.0))
    for chunk in (subs[:3], subs[3:6]):  # two sessions, as a worker runs them
        results = run_session(exercises, chunk, options)
        assert len(results) == len(chunk) and all(r.exercises for r in results)
    del results
    gc.collect()
    alive = {}
    for o in gc.get_objects():
        name = type(o).__name__
        if name in ("GradingSession", "SubmissionRun", "ExerciseRun", "Config", "Session"):
            alive[name] = alive.get(name, 0) + 1
    print(alive)
""")


def test_a_finished_session_leaves_no_submission_or_pytest_state_alive():
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(EXERCISES), str(EXAMPLES)], cwd=ROOT,
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "{}"
