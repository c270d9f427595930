"""A rerun that keeps every result: time and peak memory of `grade` on a large class whose every
submission is already in the gradebook (reading the class, reading each kept result back, writing
the report), for one grader or two.

    python benchmarks/kept.py --submissions 100000 [OLD_CHECKOUT]

The class is the example class replicated (as `bench.py --replicate`). Its gradebook is made
without grading 100,000 submissions: the nine originals are graded once by this checkout's
grader, and each copy gets its original's rows, with its own id, path and content hash. Before
each grader runs, the rows take that grader's version, so that it keeps them rather than regrade.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import bench  # benchmarks/ is on sys.path when this file runs

from grader.classes import discover
from grader.gradebook import compress, content_hash
from grader.text import safe

EXAMPLES = bench.ROOT / "examples" / "submissions"


def make_gradebook(class_dir: Path, db: Path, work: Path) -> None:
    originals = work / "originals"
    shutil.copytree(EXAMPLES, originals)
    subprocess.run([sys.executable, "-m", "grader", str(originals), "--db", str(db)], cwd=bench.ROOT,
                   capture_output=True, check=False, env=bench.GRADE_ENV)
    with sqlite3.connect(db) as con:
        cols = [r[1] for r in con.execute("PRAGMA table_info(submissions)")]
        rows = {r[cols.index("student")]: r for r in con.execute("SELECT * FROM submissions")}
        latest = {s: json.loads(zlib.decompress(b)) for s, b in con.execute("SELECT student, result FROM latest")}
        for sub in discover(class_dir):
            original = sub.id.rsplit("-", 1)[0]
            doc = {**latest[original], "id": sub.id, "path": safe(sub.path)}
            row = list(rows[original])
            for name, value in (("id", None), ("student", sub.id), ("path", safe(sub.path)),
                                ("content_hash", content_hash(sub))):
                row[cols.index(name)] = value
            cur = con.execute(f"INSERT INTO submissions VALUES ({','.join('?' * len(cols))})", row)
            con.execute("INSERT INTO latest VALUES (?, ?, ?)", (sub.id, cur.lastrowid, compress(json.dumps(doc))))


def run(root: Path, class_dir: Path, db: Path) -> dict:
    version = subprocess.run([sys.executable, "-c", "from grader.gradebook import grader_version; print(grader_version())"],
                             cwd=root, capture_output=True, text=True, check=True).stdout.strip()
    with sqlite3.connect(db) as con:
        con.execute("UPDATE submissions SET grader_version = ?", (version,))
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "grader", str(class_dir), "--db", str(db), "--jobs", "2"], cwd=root,
                            env=bench.GRADE_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    memory = bench.PeakMemory(proc.pid)
    memory.start()
    err = proc.communicate()[1]
    memory.done = True
    memory.join()
    kept = "unchanged since they were graded" in err
    return {"grader": str(root), "seconds": time.perf_counter() - start, "peak_memory_mb": memory.peak / 2**20,
            "exit_code": proc.returncode, "all_kept": kept}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=100_000)
    parser.add_argument("old", nargs="?", type=Path, help="another checkout of the grader to measure the same way")
    parser.add_argument("-o", "--output", type=Path, default=bench.ROOT / "benchmarks" / "results-kept.json")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="grader-kept-"))
    try:
        class_dir, db = work / "class", work / "gradebook.sqlite"
        bench.replicate_class(class_dir, EXAMPLES, args.submissions)
        make_gradebook(class_dir, db, work)
        runs = []
        for root in [bench.ROOT, *([args.old.resolve()] if args.old else [])]:
            runs.append(run(root, class_dir, db))
            r = runs[-1]
            print(f"{r['grader']}: {r['seconds']:.0f} s, peak memory {r['peak_memory_mb']:.0f} MB, "
                  f"{'every result kept' if r['all_kept'] else 'NOT ALL KEPT'}, exit {r['exit_code']}", flush=True)
        args.output.write_text(json.dumps({"machine": bench.machine(), "submissions": args.submissions,
                                           "runs": runs}, indent=2) + "\n")
        print(f"wrote {args.output}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
