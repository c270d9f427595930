"""Grading speed and memory, measured against a naive baseline in the same run.

    python benchmarks/bench.py --submissions 1000

Generates a synthetic class for the whole curriculum (about 70% correct, 25% with catalogued
mistakes, 5% that time out or crash) from the test corpus, then times, on this machine:
- `grade` on the class with --jobs equal to the core count;
- the naive baseline: one `python -m pytest` process per submission running equivalent checks,
  written here the way a teacher would by hand (on a sample, reported per submission);
- `grade check` on one submission, end to end (the student's wait).
Prints submissions per second, the ratio to the baseline, per-submission latency percentiles
inside a warm worker, and the grader's peak memory (the grader, its workers and zygotes; not the
sandboxes), and writes them as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "submissions"
sys.path.insert(0, str(ROOT))

from grader.course import load_exercises  # noqa: E402

MODULE = {  # one module file per exercise in a synthetic student's folder
    "dot-product": "dot.py", "cosine-similarity": "cosine.py", "l2-normalize": "normalize.py",
    "similarity-matrix": "matrix.py", "attention-scores": "scores.py", "softmax": "softmax_.py",
    "attention": "attention_.py", "top-k-similar": "topk.py",
}
LOOP = "def {name}(*args, **kwargs):\n    while True:\n        pass\n"
CRASH = "import os\n\n\ndef {name}(*args, **kwargs):\n    os._exit(3)\n"


def make_class(folder: Path, n: int, only: list[str], seed: int = 1) -> dict[str, int]:
    """Write n synthetic submissions; returns how many of each kind."""
    rng = random.Random(seed)
    exercises = [ex for ex in load_exercises(ROOT / "exercises") if ex.kind == "code" and (not only or ex.id in only)]
    correct = {ex.id: sorted((CORPUS / ex.id).glob("correct*.py")) for ex in exercises}
    wrong = {ex.id: sorted(p for p in (CORPUS / ex.id).glob("*.py") if not p.stem.startswith("correct")) for ex in exercises}
    quiz = next(ex for ex in load_exercises(ROOT / "exercises") if ex.kind == "quiz")
    counts = {"correct": 0, "mistakes": 0, "timeout": 0, "crash": 0}
    for i in range(n):
        sid = f"student{i:05d}"
        sub = folder / sid
        sub.mkdir(parents=True)
        r = rng.random()
        kind = "correct" if r < 0.70 else "mistakes" if r < 0.95 else "timeout" if r < 0.97 else "crash"
        counts[kind] += 1
        broken = rng.choice(exercises).id
        for ex in exercises:
            if kind == "mistakes" and (ex.id == broken or rng.random() < 0.2):
                source = rng.choice(wrong[ex.id]).read_text()
            elif kind in ("timeout", "crash") and ex.id == broken:
                source = (LOOP if kind == "timeout" else CRASH).format(name=ex.function.name)
            else:
                source = rng.choice(correct[ex.id]).read_text()
            (sub / MODULE[ex.id]).write_text(source)
        if kind == "correct" and (not only or quiz.id in only):
            (sub / "answers.yaml").write_text(json.dumps({quiz.id: quiz_answers(quiz, sid)}))
    return counts


def quiz_answers(quiz, student: str) -> dict:
    """The right answers, worked out the way a student would (choices by id, numbers computed)."""
    import numpy as np

    from grader.quiz import expected_answer

    values = quiz.draw(student)
    answers = {}
    for q in quiz.questions:
        if q.type == "single":
            answers[q.id] = next(c.id for c in q.choices if c.correct)
        elif q.type == "multiple":
            answers[q.id] = [c.id for c in q.choices if c.correct]
        else:
            answers[q.id] = np.asarray(expected_answer(quiz, q, values)).tolist()
    return answers


NAIVE_TEST = '''\
"""Checks a teacher writes by hand: import the student's functions, compare with the reference."""
import importlib
import sys

import numpy as np
import pytest

sys.path.insert(0, {solutions!r})
import {solution_module} as ref

{function} = getattr(importlib.import_module({student_module!r}), {function!r})

CASES = {cases!r}


@pytest.mark.parametrize("case", range(len(CASES)))
def test_case(case):
    args, kwargs, raises = CASES[case]
    args = [np.array(a) if isinstance(a, list) and a and isinstance(a[0], list) else a for a in args]
    if raises:
        with pytest.raises(ValueError):
            {function}(*args, **kwargs)
        return
    expected = getattr(ref, {function!r})(*args, **kwargs)
    got = {function}(*args, **kwargs)
    assert np.allclose(np.asarray(got, dtype=float), np.asarray(expected, dtype=float), rtol=1e-5, atol=1e-8)
'''


def write_naive_tests(folder: Path, only: list[str]) -> list[Path]:
    """One test file per exercise, with the same cases (generated values written out)."""
    import numpy as np

    tests = []
    for ex in load_exercises(ROOT / "exercises"):
        if ex.kind != "code" or (only and ex.id not in only):
            continue
        cases = []
        for case in ex.cases:
            args, kwargs = case.build_arguments()
            plain = [np.asarray(a).tolist() if hasattr(a, "tolist") else a for a in args]
            kw = {k: (np.asarray(v).tolist() if hasattr(v, "tolist") else v) for k, v in kwargs.items()}
            cases.append((plain, kw, case.raises))
        path = folder / f"test_{ex.id.replace('-', '_')}.py"
        path.write_text(NAIVE_TEST.format(solutions=str(ex.solution_path.parent), solution_module=ex.solution_path.stem,
                                          function=ex.function.name, student_module=MODULE[ex.id][:-3], cases=cases))
        tests.append(path)
    return tests


# The grader (and the baseline) run as an installed program does: its bytecode cached after the first run (some
# environments, this one included, set PYTHONDONTWRITEBYTECODE; a user's machine does not).
GRADE_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run_naive(class_dir: Path, tests: list[Path], sample: int, timeout: float) -> list[float]:
    """Seconds per submission, on submissions that end by themselves.

    A teacher's plain pytest run has no per-call timeout: a looping submission hangs it. Those
    are left out of the sample, which flatters the baseline.
    """
    times = []
    finite = [sub for sub in sorted(class_dir.iterdir()) if "while True" not in "".join(
        p.read_text() for p in sub.glob("*.py"))]
    for sub in finite[:sample]:
        start = time.perf_counter()
        try:
            subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(sub),
                            "-c", os.devnull, *map(str, tests)],
                           cwd=sub, env={**GRADE_ENV, "PYTHONPATH": str(sub)}, capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            pass  # a looping submission costs the teacher's whole timeout
        times.append(time.perf_counter() - start)
    return times


class PeakMemory(threading.Thread):
    """Samples the resident memory of a process and its descendants, sandboxes excluded."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0
        self.done = False

    def _tree(self, pid: int) -> list[int]:
        out = [pid]
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as f:
                    for child in f.read().split():
                        out += self._tree(int(child))
        except OSError:
            pass
        return out

    @staticmethod
    def _rss(pid: int) -> tuple[int, bool]:
        try:
            with open(f"/proc/{pid}/status") as f:
                text = f.read()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read()
        except OSError:
            return 0, False
        rss = next((int(line.split()[1]) for line in text.splitlines() if line.startswith("VmRSS:")), 0)
        return rss * 1024, b"grader.sandbox.zygote" in cmd

    def run(self) -> None:
        while not self.done:
            total = 0
            for pid in self._tree(self.pid):
                rss, is_zygote = self._rss(pid)
                # a sandbox is a child of a zygote: count the zygote itself, not what it forks
                total += rss
                if is_zygote:
                    for child in self._tree(pid)[1:]:
                        total -= self._rss(child)[0]
            self.peak = max(self.peak, total)
            time.sleep(0.05)


def run_grade(class_dir: Path, jobs: int, timeout: float, out: Path, only: list[str]) -> dict:
    subprocess.run([sys.executable, "-m", "grader", "--help"], cwd=ROOT, env=GRADE_ENV, capture_output=True)  # caches
    start = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    select = [arg for ex_id in only for arg in ("-e", ex_id)]
    proc = subprocess.Popen([sys.executable, "-m", "grader", str(class_dir), "--jobs", str(jobs), "--timeout", str(timeout),
                             "--format", "json", "-o", str(out), *select], cwd=ROOT, env=GRADE_ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    memory = PeakMemory(proc.pid)
    memory.start()
    _, err = proc.communicate()
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # grade and every process it waited for
    memory.done = True
    memory.join()
    if proc.returncode != 0:
        raise SystemExit(f"grade failed: {err.decode()[-2000:]}")
    doc = json.loads(out.read_text())
    latencies = sorted(s["seconds"] for s in doc["submissions"])
    return {"seconds": elapsed, "submissions": len(doc["submissions"]),
            "per_second": len(doc["submissions"]) / elapsed, "peak_memory_mb": memory.peak / 2**20,
            "cpu_ms_per_submission": 1000 * (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
            / max(1, len(doc["submissions"])),
            "latency_p50_ms": 1000 * percentile(latencies, 50), "latency_p95_ms": 1000 * percentile(latencies, 95),
            "sandbox": doc["grader"]["sandbox"]}


def machine() -> dict:
    """What the figures were measured on. Machines of the same kind differ (about 2× between two
    2-core machines of this project): the ratio to the baseline, measured in the same run, is the
    figure to compare; the loop time says how fast this machine's Python is."""
    model = ""
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    start, total = time.perf_counter(), 0
    for i in range(2_000_000):
        total += i
    return {"cores": os.cpu_count(), "python": sys.version.split()[0], "cpu": model or platform.processor(),
            "python_loop_2M_seconds": round(time.perf_counter() - start, 3)}


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    k = (len(values) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--baseline-sample", type=int, default=20, help="submissions graded by the naive baseline")
    parser.add_argument("--timeout", type=float, default=0.25,
                        help="per-call timeout for grade, seconds (the cases are tiny: the reference takes microseconds)")
    parser.add_argument("--only", nargs="*", default=[], metavar="ID",
                        help="only these exercise ids (e.g. --only dot-product cosine-similarity for the first slice)")
    parser.add_argument("-o", "--output", type=Path, default=ROOT / "benchmarks" / "results.json")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="grader-bench-"))
    try:
        class_dir = work / "class"
        counts = make_class(class_dir, args.submissions, args.only)
        print(f"class: {args.submissions} submissions {counts}", flush=True)
        here = machine()
        print(f"machine: {here['cores']} cores, {here['cpu']}, Python {here['python']}; "
              f"a 2M-step Python loop takes {here['python_loop_2M_seconds']:.2f} s", flush=True)
        grade = run_grade(class_dir, args.jobs, args.timeout, work / "results.json", args.only)
        print(f"grade: {grade['submissions']} in {grade['seconds']:.1f} s = {grade['per_second']:.1f} submissions/s "
              f"(--jobs {args.jobs}); latency p50 {grade['latency_p50_ms']:.0f} ms, p95 {grade['latency_p95_ms']:.0f} ms; "
              f"peak memory {grade['peak_memory_mb']:.0f} MB; CPU {grade['cpu_ms_per_submission']:.0f} ms per submission "
              "(all processes: steadier than the rate for comparing two versions on one machine)", flush=True)

        tests_dir = work / "naive"
        tests_dir.mkdir()
        tests = write_naive_tests(tests_dir, args.only)
        naive = run_naive(class_dir, tests, args.baseline_sample, timeout=60)
        per_sub = statistics.mean(naive)
        naive_rate = args.jobs / per_sub  # the teacher's loop, run on as many cores as grade used
        print(f"naive baseline: {per_sub:.2f} s per submission (mean of {len(naive)}); "
              f"{naive_rate:.2f} submissions/s on {args.jobs} cores", flush=True)

        one = class_dir / sorted(os.listdir(class_dir))[0]
        checks = []
        for _ in range(3):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "grader", "check", str(one), "--format", "json",
                            *[arg for ex_id in args.only for arg in ("-e", ex_id)]], cwd=ROOT, env=GRADE_ENV, capture_output=True)
            checks.append(time.perf_counter() - start)
        check_s = statistics.median(checks)
        print(f"grade check, one submission end to end: {check_s:.2f} s (median of 3)", flush=True)

        result = {
            "machine": here,
            "class": {"submissions": args.submissions, "exercises": args.only or "all", **counts},
            "grade": grade,
            "baseline": {"seconds_per_submission": per_sub, "per_second": naive_rate, "sample": len(naive)},
            "ratio_to_baseline": grade["per_second"] / naive_rate,
            "grade_check_seconds": check_s,
        }
        print(f"ratio to the naive baseline: {result['ratio_to_baseline']:.0f}x", flush=True)
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.output}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
