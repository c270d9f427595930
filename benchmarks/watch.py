"""The student's loop: from saving a file to seeing its result, in a released bundle.

    python benchmarks/watch.py [--saves 30] [--exercise dot-product]

Releases the shipped course's exercise into a temporary bundle, then measures, on this machine:
- cold: `grade check similarity.py` in the bundle, end to end (a new process each time);
- watch: `grade check --watch similarity.py` running; the file is saved (a right and a wrong
  version in turn) and the time from the save's end to the result's score line on the
  watcher's output is taken, for every save.
Prints the medians and the 90th percentiles and writes them to benchmarks/results-watch.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import queue
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

RIGHT = """import numpy as np


def dot(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError("a and b differ in length")
    return float(a @ b)
"""
WRONG = """import numpy as np


def dot(a, b):
    return np.asarray(a, dtype=float) * np.asarray(b, dtype=float)
"""


def grade(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "GRADER_NO_DB": "1"}
    return subprocess.run([sys.executable, "-m", "grader", *args], cwd=cwd, capture_output=True, text=True,
                          env=env, check=False)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def cold(bundle: Path, exercise: str, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        proc = grade("check", "similarity.py", "-e", exercise, cwd=bundle)
        times.append(time.perf_counter() - started)
        if proc.returncode not in (0, 1):
            raise SystemExit(f"grade check failed: {proc.stderr}")
    return times


def score_of(bundle: Path, exercise: str, source: str) -> str:
    """The score `grade check` shows for this version of the file ("7.0" of "Score: 7.0 / 7.0")."""
    (bundle / "similarity.py").write_text(source)
    out = grade("check", "similarity.py", "-e", exercise, cwd=bundle).stdout
    return next(line.split()[1] for line in out.splitlines() if line.startswith("Score:"))


def watch(bundle: Path, exercise: str, saves: int) -> list[float]:
    right, wrong = score_of(bundle, exercise, RIGHT), score_of(bundle, exercise, WRONG)
    if right == wrong:
        raise SystemExit(f"the two versions of {exercise} score alike ({right}): the saves cannot be told apart")
    student = bundle / "similarity.py"
    env = {**os.environ, "GRADER_NO_DB": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "grader", "check", "--watch", "similarity.py", "-e", exercise],
                            cwd=bundle, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
                            start_new_session=True)
    lines: queue.Queue[tuple[float, str]] = queue.Queue()

    def read() -> None:
        for line in proc.stdout or ():
            lines.put((time.perf_counter(), line))

    threading.Thread(target=read, daemon=True).start()

    def score_line(score: str, timeout: float = 60) -> float:
        """When the watcher showed the result of the file as saved (a save that truncates, then
        writes, may be seen half-way and checked twice: the earlier result does not count)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                when, line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line.startswith(f"Score: {score} /"):
                return when
        raise SystemExit("the watcher showed no result in time")

    times = []
    try:
        score_line(wrong)  # the first check, started with the watcher
        for i in range(saves):
            time.sleep(0.3)  # a student's pause between saves
            while not lines.empty():
                lines.get()
            student.write_text(RIGHT if i % 2 == 0 else WRONG)
            saved = time.perf_counter()
            times.append(score_line(right if i % 2 == 0 else wrong) - saved)
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saves", type=int, default=30)
    parser.add_argument("--cold", type=int, default=5, help="runs of the cold `grade check`")
    parser.add_argument("--exercise", default="dot-product")
    parser.add_argument("-o", "--output", type=Path, default=ROOT / "benchmarks" / "results-watch.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="grader-watch-") as tmp:
        bundle = Path(tmp) / "bundle"
        made = grade("release", str(ROOT / "exercises"), "-e", args.exercise, "-o", str(bundle), cwd=ROOT)
        if made.returncode != 0:
            raise SystemExit(made.stderr)
        (bundle / "similarity.py").write_text(RIGHT)
        cold_times = cold(bundle, args.exercise, args.cold)
        watch_times = watch(bundle, args.exercise, args.saves)
    result = {
        "exercise": args.exercise, "machine": {"cpu": platform.processor() or platform.machine(),
                                               "cores": os.cpu_count(), "python": platform.python_version()},
        "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cold_check_s": {"median": statistics.median(cold_times), "p90": percentile(cold_times, 0.9),
                         "runs": len(cold_times)},
        "save_to_result_ms": {"median": 1000 * statistics.median(watch_times),
                              "p90": 1000 * percentile(watch_times, 0.9), "max": 1000 * max(watch_times),
                              "saves": len(watch_times)},
    }
    print(f"cold `grade check` ({args.exercise}): median {result['cold_check_s']['median']:.2f} s, "
          f"p90 {result['cold_check_s']['p90']:.2f} s over {args.cold} runs")
    print(f"--watch, save to result: median {result['save_to_result_ms']['median']:.0f} ms, "
          f"p90 {result['save_to_result_ms']['p90']:.0f} ms, max {result['save_to_result_ms']['max']:.0f} ms "
          f"over {args.saves} saves")
    args.output.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
