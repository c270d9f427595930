"""Two versions of the grader on one class and one course, interleaved: CPU per submission.

    python benchmarks/versions.py OLD_REVISION [NEW_REVISION] --submissions 300 --rounds 5

Checks out both revisions (git worktrees in a temporary folder), builds one synthetic class with
bench.make_class and takes the course (exercises, solutions, checks) of OLD_REVISION for both, so
that only the grading code differs. Each round grades the class once with each version, in
alternating order, with `--jobs 1 --no-db`; the CPU time of the command and all its processes
(the grader, its zygote and every sandbox) is read from the kernel's rusage of children. Reports
the median CPU milliseconds per submission of each version and their ratio (NEW / OLD): a
machine that is busy elsewhere moves both alike, since the rounds interleave. NEW_REVISION
defaults to the working tree.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench import make_class  # noqa: E402

COURSE = ("exercises", "solutions", "checks")


def checkout(revision: str, into: Path) -> Path:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-f", str(into), revision],
                   check=True, capture_output=True)
    return into


def cpu_of(tree: Path, klass: Path, course: Path, timeout: float) -> float:
    """CPU seconds (user + system) of one `grade` run of `tree` and every process it started."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    env = {**os.environ, "PYTHONPATH": str(tree)}
    env.pop("GRADER_NO_DB", None)
    proc = subprocess.run([sys.executable, "-m", "grader", str(klass), "--exercises", str(course / "exercises"),
                           "--jobs", "1", "--no-db", "--timeout", str(timeout), "--format", "json", "-o", os.devnull],
                          cwd=tree, env=env, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):
        sys.exit(f"{tree}: grade failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new", nargs="?", default=None, help="a revision (default: the working tree)")
    parser.add_argument("--submissions", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=0.5)
    parser.add_argument("--only", nargs="*", default=[], help="only these exercise ids")
    parser.add_argument("-o", "--output", type=Path)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="grader-versions-"))
    trees: list[Path] = []
    try:
        old = checkout(args.old, work / "old")
        trees.append(old)
        new = ROOT if args.new is None else checkout(args.new, work / "new")
        if args.new is not None:
            trees.append(new)
        course = work / "course"
        for name in COURSE:
            shutil.copytree(old / name, course / name)
        klass = work / "class"
        make_class(klass, args.submissions, args.only)
        cpu: dict[str, list[float]] = {"old": [], "new": []}
        for r in range(args.rounds):
            order = [("old", old), ("new", new)] if r % 2 == 0 else [("new", new), ("old", old)]
            for name, tree in order:
                cpu[name].append(cpu_of(tree, klass, course, args.timeout) / args.submissions)
        per = {k: statistics.median(v) * 1000 for k, v in cpu.items()}
        report = {"old": args.old, "new": args.new or "working tree", "submissions": args.submissions,
                  "rounds": args.rounds, "only": args.only,
                  "cpu_ms_per_submission": {k: round(v, 2) for k, v in per.items()},
                  "runs_ms": {k: [round(x * 1000, 2) for x in v] for k, v in cpu.items()},
                  "ratio_new_to_old": round(per["new"] / per["old"], 3)}
        print(json.dumps(report, indent=2))
        if args.output:
            args.output.write_text(json.dumps(report, indent=2) + "\n")
    finally:
        for tree in trees:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
