"""Grading speed and memory, measured against a naive baseline in the same run.

    python benchmarks/bench.py --submissions 1000

Generates a synthetic class for the whole curriculum (about 70% correct, 25% with catalogued
mistakes, 5% that time out or crash) from the test corpus, then times, on this machine:
- `grade` on the class with --jobs equal to the core count;
- the naive baseline: one `python -m pytest` process per submission running equivalent checks,
  written here the way a teacher would by hand (on a sample, reported per submission);
- `grade check` on one submission, end to end (the student's wait).
Prints submissions per second, the ratio to the baseline, per-submission latency percentiles
inside a warm worker, the grader's peak memory (the grader, its workers and zygotes; not the
sandboxes) and the gradebook's bytes per graded submission, and writes them as JSON.

    python benchmarks/bench.py --submissions 1000 --scheduler local:1 local:2

grades the class locally with --jobs 1 and 2, then on each Dask scheduler given (`local:N`
starts a LocalCluster; an address uses a running cluster), instead of the baseline.

    python benchmarks/bench.py --submissions 20000 --kill-at 0.5

grades the class into one gradebook, kills the batch (SIGKILL, its whole process group) when
half of it is graded, grades it again to the end (the rerun resumes), and reports each run's
time and peak memory and the gradebook's size per submission.

    python benchmarks/bench.py --submissions 100000 --kill-at 0.5 --replicate examples/submissions

does so on a class made by replicating a real-shaped class folder (each entry copied as
`NAME-00001` ...), and then checks that every replica of one entry got the same status and points
on every code exercise (a quiz draws its values per student, so a copied answers.yaml is graded
against another student's numbers and is left out of that check).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import signal
import sqlite3
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


def replicate_class(folder: Path, source: Path, n: int) -> dict[str, int]:
    """Copy the entries of a class folder round-robin into n entries, `ada-00000`, `ben-00000`, ...,
    `ada-00001`, ...; files are hard links when the file system allows (the grader only reads
    them). Returns how many copies of each entry."""
    entries = sorted(p for p in source.iterdir() if not p.name.startswith("."))
    if not entries:
        raise SystemExit(f"{source}: no entries to replicate")
    folder.mkdir(parents=True)
    counts = {e.name: 0 for e in entries}

    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    for i in range(n):
        entry = entries[i % len(entries)]
        target = folder / f"{entry.stem}-{i // len(entries):05d}{entry.suffix if entry.is_file() else ''}"
        if entry.is_dir():
            shutil.copytree(entry, target, copy_function=link)
        else:
            link(str(entry), str(target))
        counts[entry.name] += 1
    return counts


def replicas_alike(db: Path, quiz_ids: set[str]) -> dict:
    """Whether every replica of one entry was graded alike: per original entry, the number of
    distinct (exercise, status, points) signatures over its replicas' latest graded runs, code
    exercises only. One signature per entry means no replica's result depended on its neighbours,
    the kill or the resume."""
    signatures: dict[str, set] = {}
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT s.student, r.exercise, r.status, r.score FROM latest l "
                           "JOIN submissions s ON s.id = l.submission_id "
                           "JOIN exercise_results r ON r.submission_id = s.id ORDER BY s.student, r.exercise")
        per_student: dict[str, list] = {}
        for student, exercise, status, score in rows:
            if exercise not in quiz_ids:
                per_student.setdefault(student, []).append((exercise, status, score))
    for student, sig in per_student.items():
        signatures.setdefault(student.rsplit("-", 1)[0], set()).add(tuple(sig))
    return {original: len(sigs) for original, sigs in sorted(signatures.items())}


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
        self.own_cpu = 0.0  # seconds of CPU of the process itself (not its children), as last seen

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
            try:
                with open(f"/proc/{self.pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                self.own_cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            except (OSError, IndexError, ValueError):
                pass
            time.sleep(0.05)


def gradebook_figures(db: Path) -> dict:
    """The gradebook's size: bytes per graded submission (the file over every graded run), and
    what its latest results (one per student, compressed) and its history rows take."""
    with sqlite3.connect(db) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        graded = con.execute("SELECT COUNT(*) FROM submissions").fetchone()[0]
        students = con.execute("SELECT COUNT(*) FROM latest").fetchone()[0]
        pages = dict(con.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall())
    size = db.stat().st_size
    latest = sum(v for k, v in pages.items() if k == "latest" or k.startswith("sqlite_autoindex_latest"))
    history = sum(pages.get(t, 0) for t in ("submissions", "submissions_student", "exercise_results"))
    return {"bytes": size, "graded": graded, "students": students,
            "bytes_per_graded_submission": size / max(graded, 1),
            "latest_bytes_per_student": latest / max(students, 1), "history_bytes_per_run": history / max(graded, 1)}


def _grade_command(class_dir: Path, jobs: int, timeout: float, only: list[str], scheduler: str | None,
                   db: Path) -> list[str]:
    select = [arg for ex_id in only for arg in ("-e", ex_id)]
    where = ["--scheduler", scheduler] if scheduler else ["--jobs", str(jobs)]
    return [sys.executable, "-m", "grader", str(class_dir), *where, "--timeout", str(timeout), "--db", str(db), *select]


def run_grade(class_dir: Path, jobs: int, timeout: float, out: Path, only: list[str], scheduler: str | None = None,
              db: Path | None = None) -> dict:
    subprocess.run([sys.executable, "-m", "grader", "--help"], cwd=ROOT, env=GRADE_ENV, capture_output=True)  # caches
    db = db or out.with_suffix(".sqlite")
    db.unlink(missing_ok=True)
    start = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen([*_grade_command(class_dir, jobs, timeout, only, scheduler, db), "--format", "json",
                             "-o", str(out)], cwd=ROOT, env=GRADE_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
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
    n = max(1, len(doc["submissions"]))
    return {"seconds": elapsed, "submissions": len(doc["submissions"]),
            "per_second": len(doc["submissions"]) / elapsed, "peak_memory_mb": memory.peak / 2**20,
            "cpu_ms_per_submission": 1000 * (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / n,
            "grader_process_cpu_ms_per_submission": 1000 * memory.own_cpu / n,
            "latency_p50_ms": 1000 * percentile(latencies, 50), "latency_p95_ms": 1000 * percentile(latencies, 95),
            "sandbox": doc["grader"]["sandbox"], "gradebook": gradebook_figures(db)}


def _graded(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as con:
            return con.execute("SELECT COUNT(*) FROM submissions").fetchone()[0]
    except sqlite3.Error:
        return 0  # not made yet


def run_killed_and_resumed(class_dir: Path, n: int, jobs: int, timeout: float, only: list[str],
                           scheduler: str | None, db: Path, kill_at: float) -> dict:
    """Grade into one gradebook, SIGKILL the batch (its process group) once kill_at of the class
    is graded, then grade again to the end; each run's time and peak memory, the gradebook's size."""
    runs = []
    for killed in (True, False):
        start = time.perf_counter()
        proc = subprocess.Popen(_grade_command(class_dir, jobs, timeout, only, scheduler, db), cwd=ROOT, env=GRADE_ENV,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        memory = PeakMemory(proc.pid)
        memory.start()
        before = _graded(db)
        while killed and proc.poll() is None and _graded(db) < kill_at * n:
            time.sleep(1)
        if killed:
            os.killpg(proc.pid, signal.SIGKILL)  # the group this benchmark started: grade, its workers, zygotes
        proc.wait()
        memory.done = True
        memory.join()
        graded = _graded(db) - before
        runs.append({"killed": killed, "seconds": time.perf_counter() - start, "graded": graded,
                     "per_second": graded / (time.perf_counter() - start), "peak_memory_mb": memory.peak / 2**20,
                     "exit_code": proc.returncode})
        print(f"{'killed' if killed else 'resumed'}: {graded} graded in {runs[-1]['seconds']:.0f} s "
              f"({runs[-1]['per_second']:.1f}/s), peak memory {runs[-1]['peak_memory_mb']:.0f} MB", flush=True)
    with sqlite3.connect(db) as con:
        students, rows = con.execute("SELECT COUNT(DISTINCT student), COUNT(*) FROM submissions").fetchone()
    return {"runs": runs, "students_graded": students, "rows": rows, "gradebook": gradebook_figures(db)}


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
    parser.add_argument("--scheduler", nargs="*", default=[], metavar="ADDRESS|local:N",
                        help="grade on these Dask schedulers too (after --jobs 1 and 2 locally), instead of the baseline")
    parser.add_argument("--kill-at", type=float, metavar="FRACTION",
                        help="grade into one gradebook, kill the batch when this fraction is graded, resume it")
    parser.add_argument("--replicate", type=Path, metavar="CLASS_DIR",
                        help="with --kill-at: the class is this folder's entries replicated (e.g. examples/submissions)")
    parser.add_argument("-o", "--output", type=Path, default=ROOT / "benchmarks" / "results.json")
    args = parser.parse_args()
    if args.replicate and args.kill_at is None:
        parser.error("--replicate goes with --kill-at")

    work = Path(tempfile.mkdtemp(prefix="grader-bench-"))
    try:
        class_dir = work / "class"
        counts = (replicate_class(class_dir, args.replicate.resolve(), args.submissions) if args.replicate
                  else make_class(class_dir, args.submissions, args.only))
        print(f"class: {args.submissions} submissions {counts}", flush=True)
        here = machine()
        print(f"machine: {here['cores']} cores, {here['cpu']}, Python {here['python']}; "
              f"a 2M-step Python loop takes {here['python_loop_2M_seconds']:.2f} s", flush=True)
        if args.kill_at is not None:
            where = args.scheduler[0] if args.scheduler else None
            result = {"machine": here, "class": {"submissions": args.submissions, "exercises": args.only or "all", **counts},
                      "scheduler": where, "jobs": args.jobs,
                      **run_killed_and_resumed(class_dir, args.submissions, args.jobs, args.timeout, args.only, where,
                                               work / "gradebook.sqlite", args.kill_at)}
            if args.replicate:
                quizzes = {ex.id for ex in load_exercises(ROOT / "exercises") if ex.kind == "quiz"}
                result["class"]["replicated"] = str(args.replicate)
                result["signatures_per_entry"] = alike = replicas_alike(work / "gradebook.sqlite", quizzes)
                print(f"replicas graded alike (code exercises): {sum(v == 1 for v in alike.values())} of {len(alike)} "
                      f"entries have one signature {alike}", flush=True)
            book = result["gradebook"]
            print(f"gradebook: {result['rows']} rows for {result['students_graded']} students; "
                  f"{book['bytes'] / 2**20:.1f} MB = {book['bytes_per_graded_submission'] / 1000:.2f} kB per graded "
                  f"submission (latest result {book['latest_bytes_per_student'] / 1000:.2f} kB, history row "
                  f"{book['history_bytes_per_run']:.0f} B)", flush=True)
            _save(args.output, result)
            return
        if args.scheduler:
            result = {"machine": here, "class": {"submissions": args.submissions, "exercises": args.only or "all", **counts},
                      "runs": {}}
            for name, jobs, where in [("--jobs 1", 1, None), ("--jobs 2", 2, None),
                                      *((s, 1, s) for s in args.scheduler)]:
                run = run_grade(class_dir, jobs, args.timeout, work / "results.json", args.only, scheduler=where)
                run.pop("sandbox")
                result["runs"][name] = run
                print(f"{name}: {run['per_second']:.1f} submissions/s ({run['seconds']:.1f} s); CPU "
                      f"{run['cpu_ms_per_submission']:.1f} ms per submission (of which the grade process itself "
                      f"{run['grader_process_cpu_ms_per_submission']:.1f}); peak memory {run['peak_memory_mb']:.0f} MB",
                      flush=True)
            _save(args.output, result)
            return
        grade = run_grade(class_dir, args.jobs, args.timeout, work / "results.json", args.only)
        print(f"grade: {grade['submissions']} in {grade['seconds']:.1f} s = {grade['per_second']:.1f} submissions/s "
              f"(--jobs {args.jobs}); latency p50 {grade['latency_p50_ms']:.0f} ms, p95 {grade['latency_p95_ms']:.0f} ms; "
              f"peak memory {grade['peak_memory_mb']:.0f} MB; CPU {grade['cpu_ms_per_submission']:.0f} ms per submission "
              "(all processes: steadier than the rate for comparing two versions on one machine); gradebook "
              f"{grade['gradebook']['bytes_per_graded_submission'] / 1000:.2f} kB per graded submission", flush=True)

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
        _save(args.output, result)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _save(path: Path, result: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
