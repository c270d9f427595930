"""The benchmark's replicated class (benchmarks/bench.py --replicate): copies of one student are
graded alike by the real `grade` command, whatever their neighbours, and the check that says so
sees a copy that differs."""

from __future__ import annotations

import sys
from pathlib import Path

from grader.course import load_exercises

from conftest import EXAMPLES, EXERCISES, ROOT, grade

sys.path.insert(0, str(ROOT / "benchmarks"))
import bench  # noqa: E402  (benchmarks/ is a folder of scripts, not a package)

QUIZZES = {ex.id for ex in load_exercises(EXERCISES) if ex.kind == "quiz"}


def test_replicas_of_the_example_class_are_graded_alike(tmp_path: Path):
    entries = sorted(p.name for p in EXAMPLES.iterdir())
    counts = bench.replicate_class(tmp_path / "class", EXAMPLES, 2 * len(entries) + 1)
    assert counts == {name: 3 if i == 0 else 2 for i, name in enumerate(entries)}
    first = entries[0]
    assert (tmp_path / "class" / f"{first}-00002").is_dir()

    # one copy of carla gets ada's similarity.py: its signature must differ from the other copy's
    changed = tmp_path / "class" / "carla-00001" / "similarity.py"
    changed.unlink()  # a hard link to the example: replace it, never write through it
    changed.write_bytes((EXAMPLES / "ada" / "similarity.py").read_bytes())
    db = tmp_path / "gradebook.sqlite"
    proc = grade(str(tmp_path / "class"), "--jobs", "2", "--db", str(db))
    assert proc.returncode == 0, proc.stderr
    alike = bench.replicas_alike(db, QUIZZES)
    stems = sorted(Path(name).stem for name in entries)
    assert sorted(alike) == stems
    assert alike.pop("carla") == 2
    assert set(alike.values()) == {1}, alike
    assert (EXAMPLES / "carla" / "similarity.py").read_bytes() != changed.read_bytes()
