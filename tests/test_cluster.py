"""Grading on a Dask cluster (`--scheduler`): the same results as a local run, written to the
gradebook as they come (a rerun resumes), and a worker that dies costs nobody their result; a
submission whose worker dies every time ends as an `error` saying so."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

pytest.importorskip("distributed")

from distributed import Client  # noqa: E402
from test_worker_death import (  # noqa: E402
    SLEEPER,
    SLOW,
    STUDENTS,
    _rows,
    _sleeping,
    _write_class,
    needs_proc,
)

from grader.cluster import grade_chunk, local_cluster  # noqa: E402
from grader.errors import GraderError  # noqa: E402
from grader.grading import Options  # noqa: E402
from grader.pool import WORKER_DIED, _chunks  # noqa: E402

from conftest import EXAMPLES, ROOT, grade  # noqa: E402

ARGS = ("-e", "dot-product", "--format", "json")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Two worker processes this test module starts (their sandboxes' folders in a folder of its own)."""
    tmp = tmp_path_factory.mktemp("cluster")
    with local_cluster(2, env={"TMPDIR": str(tmp)}) as cluster, Client(cluster) as client:
        yield cluster.scheduler_address, client, tmp


def _comparable(doc: dict) -> dict[str, dict]:
    """Each student's result, less its timing; its printed lines as a multiset (two local runs
    already print them in different orders: a check's calls made ahead print when they run)."""
    out = {}
    for sub in doc["submissions"]:
        sub = {k: v for k, v in sub.items() if k != "seconds"}
        sub["output"] = {name: sorted(text.splitlines()) for name, text in sub["output"].items()}
        out[sub["id"]] = sub
    return out


def _worker_pids(client: Client) -> dict[str, int]:
    return client.run(os.getpid, on_error="ignore")  # a worker killed a moment ago is left out


@pytest.fixture(scope="module")
def slow_class(tmp_path_factory):
    """A class whose students each take a while (a kill lands mid-batch), and its local results."""
    subs = _write_class(tmp_path_factory.mktemp("slow") / "subs", SLOW)
    baseline = grade(str(subs), *ARGS, "--no-db", "--jobs", "2")
    assert baseline.returncode == 0, baseline.stderr
    return subs, _comparable(json.loads(baseline.stdout))


def _descendants(pid: int) -> list[int]:
    """The processes under one this test started, whichever thread started them (a Dask worker
    starts its zygote from a task's thread)."""
    found, todo = [], [pid]
    while todo:
        for children in Path(f"/proc/{todo.pop()}/task").glob("*/children"):
            try:
                new = [int(c) for c in children.read_text().split()]
            except OSError:
                continue
            found += new
            todo += new
    return found


def _graded(db: Path) -> int:
    try:
        return sum(_rows(db).values()) if db.exists() else 0
    except sqlite3.OperationalError:
        return 0  # the tables do not exist yet


def _no_sandbox_left(folder: Path) -> None:
    """A dead worker's zygote removes its sandboxes' folders when it notices: soon, not at once."""
    deadline = time.monotonic() + 30
    while any(p.name.startswith("grader-sandbox-") for p in folder.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p.name for p in folder.iterdir() if p.name.startswith("grader-sandbox-")]


def test_the_example_class_is_graded_on_the_cluster_as_locally_and_a_rerun_resumes(cluster, tmp_path):
    address, _, _ = cluster
    subs = tmp_path / "submissions"
    shutil.copytree(EXAMPLES, subs)
    local = grade(str(subs), "--format", "json", "--no-db", "--jobs", "2")
    assert local.returncode == 0, local.stderr
    expected = _comparable(json.loads(local.stdout))
    db = tmp_path / "gradebook.sqlite"
    remote = grade(str(subs), "--format", "json", "--db", str(db), "--scheduler", address)
    assert remote.returncode == 0 and "Traceback" not in remote.stderr, remote.stderr
    assert _comparable(json.loads(remote.stdout)) == expected
    assert _rows(db) == Counter(list(expected))

    # a rerun grades only what changed, here on a LocalCluster of its own
    (subs / "zoe.py").write_text((subs / "zoe.py").read_text() + "\n# edited\n")
    again = grade(str(subs), "--format", "json", "--db", str(db), "--scheduler", "local:1")
    assert again.returncode == 0 and "8 submissions unchanged" in again.stderr, again.stderr
    assert _comparable(json.loads(again.stdout)) == expected
    assert _rows(db) == Counter([*expected, "zoe"])


@needs_proc
def test_a_worker_killed_mid_batch_costs_nobody_their_result(cluster, slow_class, tmp_path):
    address, client, tmp = cluster
    subs, baseline = slow_class
    db = tmp_path / "gradebook.sqlite"
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    proc = subprocess.Popen([sys.executable, "-m", "grader", str(subs), *ARGS, "--db", str(db), "--scheduler", address],
                            cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        victim = None
        deadline = time.monotonic() + 120
        while victim is None:  # a worker grading a task, after the first results are in
            assert proc.poll() is None, "the class was graded before a worker could be killed"
            assert time.monotonic() < deadline, "no worker started grading"
            if _graded(db) >= 2:
                busy = [a for a, keys in client.processing().items() if keys]
                victim = _worker_pids(client).get(busy[0]) if busy else None
            time.sleep(0.05)
        os.kill(victim, signal.SIGKILL)  # a worker of the cluster this module started, by its pid
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the group this test started
            proc.communicate()
    assert proc.returncode == 0 and "Traceback" not in err, err
    assert _comparable(json.loads(out)) == baseline
    assert _rows(db) == Counter([*SLOW])  # each graded once
    assert victim not in _worker_pids(client).values()
    _no_sandbox_left(tmp)


@needs_proc
@pytest.mark.skipif(not Path("/proc/self/wchan").exists(), reason="the kernel does not say where a process sleeps")
def test_a_submission_whose_worker_dies_every_time_ends_as_an_error_and_the_batch_finishes(cluster, slow_class,
                                                                                              tmp_path):
    address, client, tmp = cluster
    subs, baseline = slow_class
    (subs / "a-sleeper.py").write_text(SLEEPER)  # first in the class: it shares its chunk with neighbours
    assert len(_chunks(sorted(subs.iterdir()), 2)[0]) > 1
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    db = tmp_path / "gradebook.sqlite"
    killed: list[int] = []
    with open(tmp_path / "out", "w+") as out, open(tmp_path / "err", "w+") as err:
        proc = subprocess.Popen([sys.executable, "-m", "grader", str(subs), *ARGS, "--timeout", "60", "--db", str(db),
                                 "--scheduler", address], cwd=ROOT, env=env, start_new_session=True, stdout=out,
                                stderr=err)
        try:
            deadline = time.monotonic() + 600  # four worker restarts: slow on a busy machine
            asleep: dict[int, float] = {}  # the class's students sleep a quarter second each, the sleeper 30 s
            while proc.poll() is None:
                assert time.monotonic() < deadline, "the class never ended"
                for pid in _worker_pids(client).values():
                    now = time.monotonic()
                    sleepers = [p for p in _descendants(pid) if _sleeping(p)]
                    if pid not in killed and any(now - asleep.setdefault(p, now) > 1.5 for p in sleepers):
                        os.kill(pid, signal.SIGKILL)  # a worker of this module's cluster, by its pid
                        killed.append(pid)
                time.sleep(0.05)
        finally:
            (subs / "a-sleeper.py").unlink()
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)  # the group this test started
                proc.wait()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    assert proc.returncode == 0 and "Traceback" not in stderr, stderr
    # its chunk ran twice (the scheduler's allowed failure), then the sleeper alone, twice
    assert len(killed) == 4
    results = _comparable(json.loads(stdout))
    exercise = results.pop("a-sleeper")["exercises"][0]
    assert (exercise["status"], exercise["message"], exercise["score"]) == ("error", WORKER_DIED.format(n=4), 0)
    assert results == baseline  # every other student, as if it were not there
    assert _rows(db) == Counter([*SLOW, "a-sleeper"])
    _no_sandbox_left(tmp)


def test_a_worker_of_another_grader_version_refuses_to_grade():
    with pytest.raises(GraderError, match="install the same grader on every worker"):
        grade_chunk("course", [], [], Options(), "0.0.0+other")


def test_a_bad_scheduler_is_a_one_line_error(tmp_path):
    subs = _write_class(tmp_path / "subs", dict(list(STUDENTS.items())[:1]))
    proc = grade(str(subs), *ARGS, "--scheduler", "local:0")
    assert proc.returncode == 2 and "expected local:N" in proc.stderr
    assert proc.stderr.strip().count("\n") == 0, proc.stderr
