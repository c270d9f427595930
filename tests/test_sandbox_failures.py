"""Every way student code can fail ends as that exercise's result; the batch goes on.

Each test grades a small class through the real `grade` command: the failing student plus a
correct neighbour whose result must stay intact.
"""

from __future__ import annotations

import json
import tempfile
import textwrap
import uuid
from pathlib import Path

import pytest

from conftest import CORPUS, by_id, exercise, grade, grade_json

CORRECT_DOT = (CORPUS / "dot-product" / "correct_loop.py").read_text()


def _grade_pair(write_submission, source: str, *extra: str) -> tuple[dict, dict]:
    write_submission("bad", textwrap.dedent(source))
    write_submission("good", CORRECT_DOT)
    doc = grade_json(str(write_submission.root), "-e", "dot-product", "--timeout", "0.5", "--jobs", "1", *extra)
    subs = by_id(doc)
    good = exercise(subs["good"], "dot-product")
    assert good["status"] == "passed" and good["score"] == good["max_score"], good
    return exercise(subs["bad"], "dot-product"), subs["bad"]


def test_crash_at_import_is_an_error_with_the_exception(write_submission):
    bad, _ = _grade_pair(write_submission, """
        import numpy as np
        SCALE = 1 / 0
        def dot(a, b):
            return float(np.dot(a, b))
    """)
    assert bad["status"] == "error"
    assert "ZeroDivisionError" in bad["message"] and "bad.py:3" in bad["message"]
    assert bad["score"] == 0


def test_sys_exit_at_import_is_an_error(write_submission):
    bad, _ = _grade_pair(write_submission, """
        import sys
        sys.exit(3)
        def dot(a, b):
            return 0.0
    """)
    assert bad["status"] == "error" and "sys.exit" in bad["message"]


def test_os_exit_in_the_function_is_a_crash_message_per_check(write_submission):
    bad, _ = _grade_pair(write_submission, """
        import os
        def dot(a, b):
            os._exit(7)
    """)
    assert bad["status"] == "failed"
    assert bad["score"] == 0
    assert "exited with status 7" in bad["checks"][0]["message"]


def test_infinite_loop_times_out_and_costs_only_its_own_time(write_submission):
    bad, _ = _grade_pair(write_submission, """
        def dot(a, b):
            while True:
                pass
    """)
    assert bad["status"] == "timeout"
    assert "timeout" in [m["id"] for m in bad["misconceptions"]]


def _checks(bad: dict) -> dict[str, dict]:
    return {c["name"]: c for c in bad["checks"]}


def test_a_loop_on_one_input_times_out_that_check_alone(write_submission):
    # the cases run as one batch in the sandbox: the loop stops the batch, the rest still answer
    bad, _ = _grade_pair(write_submission, CORRECT_DOT.replace(
        "def dot(a, b):\n", "def dot(a, b):\n    while len(a) == 1 and len(b) == 1:\n        pass\n", 1))
    checks = _checks(bad)
    assert checks["single-element arrays"]["status"] == "timeout", checks["single-element arrays"]
    assert "no answer within 0.5 s" in checks["single-element arrays"]["message"]
    others = [c for name, c in checks.items() if name != "single-element arrays"]
    assert others and all(c["status"] == "passed" for c in others), others
    assert bad["status"] == "timeout"


def test_a_loop_that_swallows_the_alarm_still_ends_in_a_timeout(write_submission):
    bad, _ = _grade_pair(write_submission, """
        def dot(a, b):
            while True:
                try:
                    while True:
                        pass
                except BaseException:
                    pass
    """)
    assert bad["status"] == "timeout" and bad["score"] == 0, bad


def test_a_slow_function_is_not_a_timeout_when_each_call_is_within_the_limit(write_submission):
    # the cases together take longer than the timeout, each alone well within it
    bad, _ = _grade_pair(write_submission, CORRECT_DOT.replace(
        "def dot(a, b):\n", "def dot(a, b):\n    import time\n    time.sleep(0.12)\n", 1))
    assert bad["status"] == "passed" and bad["score"] == bad["max_score"], bad


FIRST_CALL_BURNS_CPU = """
    import time
    import numpy as np
    BURNED = []
    def dot(a, b):
        if not BURNED:  # the first call of each sandbox: 0.3 s of CPU, within the 0.5 s timeout
            BURNED.append(1)
            start = time.process_time()
            while time.process_time() - start < 0.3:
                pass
        return float(np.dot(np.asarray(a, dtype=float), np.asarray(b, dtype=float)))
"""


def test_a_correct_function_kept_waiting_by_a_busy_machine_is_not_a_timeout(write_submission):
    # Busy processes, one more than the cores (ours, bounded, stopped by pid), keep the nice-10
    # sandbox off the CPU: its 0.3 s of CPU take seconds of wall clock. A timeout counts the
    # sandbox's CPU time.
    import os
    import subprocess
    import sys

    hog = "import time\nend = time.time() + 60\nwhile time.time() < end:\n    pass\n"
    hogs = [subprocess.Popen([sys.executable, "-c", hog], start_new_session=True) for _ in range((os.cpu_count() or 2) + 1)]
    try:
        bad, _ = _grade_pair(write_submission, FIRST_CALL_BURNS_CPU)
    finally:
        for p in hogs:
            p.kill()
            p.wait()
    assert bad["status"] == "passed" and bad["score"] == bad["max_score"], bad


def test_a_function_that_sleeps_times_out_after_its_own_timeout(write_submission):
    # sleeping is not being kept waiting: no extra time, whatever the CPU clock says
    import time

    start = time.monotonic()
    bad, _ = _grade_pair(write_submission, """
        import time
        def dot(a, b):
            time.sleep(30)
    """)
    assert bad["status"] == "timeout" and bad["score"] == 0, bad
    assert time.monotonic() - start < 15


def test_memory_bomb_of_10_gb_is_stopped_by_the_limit(write_submission):
    bad, _ = _grade_pair(write_submission, """
        import numpy as np
        def dot(a, b):
            big = np.ones(10 * 1024**3 // 8)
            return float(big[0])
    """)
    assert bad["score"] == 0
    assert "MemoryError" in bad["checks"][0]["message"]
    assert "raises" in [m["id"] for m in bad["misconceptions"]]


def test_segfault_is_reported_as_a_crash(write_submission):
    bad, _ = _grade_pair(write_submission, """
        import ctypes, os, signal
        def dot(a, b):
            ctypes.memset(8, 0, 1)  # a write to the zero page
            os.kill(os.getpid(), signal.SIGSEGV)  # in case that page is writable here
    """)
    assert bad["score"] == 0
    assert "segmentation fault" in bad["checks"][0]["message"]


def test_huge_output_is_captured_and_truncated(write_submission):
    _, sub = _grade_pair(write_submission, """
        def dot(a, b):
            print("x" * 5_000_000)
            return sum(float(x) * float(y) for x, y in zip(a, b))
    """)
    out = sub["output"]["stdout"]
    assert len(out) < 20_000 and "more bytes not shown" in out


def test_monkeypatching_numpy_at_import_cannot_change_its_own_score(write_submission):
    bad, _ = _grade_pair(write_submission, """
        import builtins
        import numpy as np
        np.allclose = lambda *args, **kwargs: True
        np.isclose = lambda *args, **kwargs: True
        builtins.isinstance = lambda *args: True
        def dot(a, b):
            return 42.0
    """)
    assert bad["score"] == 0, "the comparison ran in the grader, not next to the student's patches"


def test_a_stray_child_process_dies_with_the_sandbox(write_submission, tmp_path):
    marker = tmp_path / "child-still-running"
    bad, _ = _grade_pair(write_submission, f"""
        import subprocess, sys
        subprocess.Popen([sys.executable, "-c",
            "import time, pathlib; time.sleep(3); pathlib.Path({str(marker)!r}).write_text('x')"])
        def dot(a, b):
            while True:
                pass
    """)
    import time

    time.sleep(3.5)
    assert not marker.exists(), "the student's child outlived the process group kill"


@pytest.mark.parametrize("returned", ["object()", "np.array([1, 'a'], dtype=object)", "'9.08'", "{'dot': 1}"])
def test_values_that_cannot_cross_are_refused_as_wrong_answers(write_submission, returned):
    bad, _ = _grade_pair(write_submission, f"""
        import numpy as np
        def dot(a, b):
            if len(a) != len(b):
                raise ValueError("lengths differ")
            return {returned}
    """)
    assert bad["status"] == "failed"
    assert bad["score"] < bad["max_score"]


def test_a_sandbox_that_cannot_be_set_up_says_why():
    """Files no folder can hold (the submission readers refuse them; the sandbox must not rely on it)."""
    from grader.outcome import Crashed
    from grader.sandbox.host import Limits, Sandbox

    with Sandbox({"a.py": b"x = 1\n", "a.py/b.py": b"y = 2\n"}, Limits()) as sb:
        outcome = sb.load("a.py", "a")
    assert isinstance(outcome, Crashed), outcome
    assert outcome.reason.startswith("the sandbox could not be set up ("), outcome.reason
    assert "a.py" in outcome.reason


def test_sandboxes_started_as_fresh_interpreters_grade_the_same(tmp_path):
    """The fallback where fork is unavailable (GRADER_SANDBOX_START=spawn forces it here)."""
    import json
    import os
    import shutil
    import subprocess
    import sys

    from conftest import ROOT

    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "good.py").write_text(CORRECT_DOT)
    (subs / "wrong.py").write_text((CORPUS / "dot-product" / "elementwise-product.py").read_text())
    (subs / "loops.py").write_text("def dot(a, b):\n    while True:\n        pass\n")
    shutil.copytree(ROOT / "examples" / "submissions" / "carla", subs / "carla")
    results = {}
    for mode in ("fork", "spawn"):
        sandboxes = tmp_path / f"sandboxes-{mode}"
        sandboxes.mkdir()
        env = {**os.environ, "GRADER_SANDBOX_START": mode, "GRADER_NO_DB": "1", "TMPDIR": str(sandboxes)}
        proc = subprocess.run([sys.executable, "-m", "grader", str(subs), "-e", "dot-product", "--timeout", "0.5",
                               "--jobs", "1", "--format", "json"], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=300)
        assert proc.returncode in (0, 1), proc.stderr
        doc = json.loads(proc.stdout)
        results[mode] = {s["id"]: [(c["name"], c["status"]) for c in exercise(s, "dot-product")["checks"]]
                         for s in doc["submissions"]}
        results[mode + "-named"] = {s["id"]: [m["id"] for m in exercise(s, "dot-product")["misconceptions"]]
                                    for s in doc["submissions"]}
        assert list(sandboxes.iterdir()) == [], f"{mode}: a sandbox folder was left behind"
    assert results["spawn"] == results["fork"]
    assert results["spawn-named"] == results["fork-named"]
    assert "elementwise-product" in results["spawn-named"]["wrong"]


def test_a_module_that_loops_at_import_is_imported_once(write_submission):
    # cosine-similarity has custom checks too: none of them may import the module again
    write_submission("stu", CORRECT_DOT, folder=True, file="dot.py")
    write_submission("stu", "print('IMPORTING', flush=True)\nwhile True:\n    pass\n\n"
                            "def cosine_similarity(a, b):\n    return 0.0\n", folder=True, file="cos.py")
    doc = grade_json(str(write_submission.root), "-e", "dot-product", "-e", "cosine-similarity", "--timeout", "0.2")
    sub = by_id(doc)["stu"]
    assert exercise(sub, "dot-product")["status"] == "passed"
    cos = exercise(sub, "cosine-similarity")
    assert cos["status"] == "timeout" and "importing cos.py did not finish" in cos["message"], cos
    assert sub["output"]["stdout"].count("IMPORTING") == 1, sub["output"]["stdout"]


# --------------------------------------------------------------------------- batches of calls, directly


def _batch(source: str, calls: list, timeout: float) -> list:
    from grader.sandbox.encoding import Encoded
    from grader.sandbox.host import Limits, Sandbox

    with Sandbox({"m.py": textwrap.dedent(source).encode()}, Limits(call_timeout=timeout)) as sb:
        return sb.call_batch("m.py", "m", "f", Encoded(calls), len(calls))


def test_a_call_that_catches_the_batch_alarm_has_no_result():
    # a bare except turns the alarm into a made-up answer; that answer must not be taken
    out = _batch("""
        import time
        def f(x):
            try:
                start = time.process_time()
                while time.process_time() - start < 0.3:  # the alarm counts CPU time
                    pass
                return x * 2
            except:
                return -1
    """, [[[i], {}] for i in range(1, 7)], timeout=1.0)
    assert [o.value for o, _ in out] == [2, 4, 6], out  # the rest are made one by one by the caller


def test_large_results_are_each_received_whole():
    import numpy as np

    from grader.outcome import Returned

    out = _batch("""
        import numpy as np
        def f(n):
            return np.zeros(n)
    """, [[[4_000_000], {}] for _ in range(6)], timeout=10.0)  # 6 × 32 MB: more than one message's budget
    assert out and all(isinstance(o, Returned) and isinstance(o.value, np.ndarray) and o.value.shape == (4_000_000,)
                       for o, _ in out), [type(o.value) for o, _ in out]


def test_a_sandbox_that_stops_reading_its_requests_cannot_hang_the_grader():
    import time

    source = """
        import gc, os
        reader = [o for o in gc.get_objects() if type(o).__name__ == "FrameReader"][0]
        keep = os.dup(reader.fd)  # the grader's requests stay unread
        r, w = os.pipe()
        os.dup2(r, reader.fd)
        def f(x):
            return x
    """
    started = time.monotonic()
    out = _batch(source, [[[list(range(20_000))], {}] for _ in range(5)], timeout=0.5)  # a request over 64 KiB
    assert out == [] and time.monotonic() - started < 10


def test_a_package_installed_here_but_not_declared_by_the_course_is_unavailable(write_submission):
    # pyyaml is installed with the grader, so it would import; the shipped course declares no
    # package, so a student's `import yaml` is named as unavailable (a course platform would not
    # have it). A declared one imports, from a virtualenv under /tmp too (as CI makes one): see
    # test_student_environment.py.
    bad, _ = _grade_pair(write_submission, "import yaml\n\n" + CORRECT_DOT)
    assert bad["status"] == "error" and "`yaml` is not available in this course" in bad["message"], bad


def test_parts_of_numpy_and_the_standard_library_that_are_not_preloaded_can_be_imported(write_submission):
    # the zygote leaves numpy.testing, numpy.ma and unittest out (they would make every fork dearer)
    bad, _ = _grade_pair(write_submission, """
        import unittest

        import numpy as np
        import numpy.ma
        import numpy.testing


        def dot(a, b):
            a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
            total = float(np.dot(np.ma.masked_array(a), np.ma.masked_array(b)))
            np.testing.assert_allclose(total, float(np.dot(a, b)), rtol=1e-9, atol=1e-12)
            assert unittest.TestCase
            return total
    """)
    assert bad["status"] == "passed", bad


def _run_python(script: str) -> str:
    import subprocess
    import sys

    from conftest import ROOT

    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_a_zygote_started_early_serves_the_sandboxes_and_hides_the_course():
    """`grade check` starts its zygote before it imports the rest; the host takes that one over."""
    from conftest import ROOT

    course = str(ROOT / "exercises")
    out = _run_python(f"""
        from grader.sandbox import launch
        launch.start_early()
        early = launch._EARLY[0][0].pid
        from grader.sandbox.host import Limits, Sandbox
        from grader.sandbox.launch import launcher
        source = b"import os\\ndef f(path):\\n    return os.path.exists(path)\\n"
        with Sandbox({{"m.py": source}}, Limits(hide=({course!r},))) as sb:
            seen, _ = sb.call("m.py", "m", "f", ({course!r},), {{}})
        print(launcher().proc.pid == early, seen.value)
    """)
    took_over, saw_course = out.split()
    assert took_over == "True"
    import os
    if os.geteuid() == 0:  # the private root (mount namespaces) is root's
        assert saw_course == "False"


def test_a_zygote_started_early_and_never_used_is_stopped_at_exit():
    import os

    pid = int(_run_python("""
        from grader.sandbox import launch
        launch.start_early()
        print(launch._EARLY[0][0].pid)
    """))
    try:
        os.kill(pid, 0)  # the process this test's child started, by its id
    except ProcessLookupError:
        return
    raise AssertionError(f"the early zygote {pid} outlived the command")


def test_a_batch_alarm_that_rings_early_by_the_cpu_clock_waits_for_the_next_ring():
    # the kernel's profiling timer can ring before the process's exact CPU clock says the batch's
    # time is up (seen under heavy contention); the stop must follow the clock `ran` is read from
    import time

    from grader.sandbox import runtime

    runtime._ALARMED[0] = False
    runtime._DUE[0] = time.process_time() + 60
    runtime._alarm(0, None)  # early: nothing happens, the interval timer rings again
    assert runtime._ALARMED[0] is False
    runtime._DUE[0] = time.process_time() - 0.001
    with pytest.raises(runtime._Stop):
        runtime._alarm(0, None)
    assert runtime._ALARMED[0] is True


def test_a_gradebook_straight_in_the_temp_folder_leaves_sandboxes_their_own_tmp(tmp_path):
    # the gradebook's folder is hidden from sandboxes; when it is the temp folder itself, which every
    # sandbox replaces with a private one, hiding it must not take the sandbox's working folder away
    sub = tmp_path / "class" / "ada"
    sub.mkdir(parents=True)
    (sub / "similarity.py").write_text(textwrap.dedent("""\
        def dot(a, b):
            if len(a) != len(b):
                raise ValueError("lengths differ")
            return float(sum(float(x) * float(y) for x, y in zip(a, b)))
        """))
    db = Path(tempfile.gettempdir()) / f"grader-test-{uuid.uuid4().hex}.sqlite"
    try:
        proc = grade(str(tmp_path / "class"), "-e", "dot-product", "--db", str(db), "--format", "json")
    finally:
        for leftover in db.parent.glob(db.name + "*"):
            leftover.unlink()
    assert proc.returncode in (0, 1), proc.stderr
    (ex,) = json.loads(proc.stdout)["submissions"][0]["exercises"]
    assert "could not be set up" not in json.dumps(ex)
    assert ex["status"] == "passed", ex
