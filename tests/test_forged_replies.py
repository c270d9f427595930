"""Forged replies cost the grader a bounded amount of memory.

A sandbox's student code can find its reply pipe and write frames of its own. Each attacker here
forges one kind of reply on its first call: the costliest reply within every budget of the
protocol (the most JSON items of the costliest shape, 4-byte text, the largest packed list of
one-number rows, the rest of the body as one array), and replies over a budget (too many items,
too many bytes, a body claimed at 4 GB, a dict of keys that share one hash, one buffer read as a
thousand arrays). The class is graded beside `bob` through the real `grade` command, and the
largest resident size of the grader's process tree is compared with that of the same class
without the attackers, graded in the same test.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from test_hostile import CORRECT_DOT, GRADE_ARGS, MUTATION_CHECK, _snapshot

from grader.sandbox import encoding, protocol

from conftest import ROOT, by_id, exercise

pytestmark = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0,
    reason="the hostile corpus needs every isolation layer, which needs root (see `grade doctor`)")

FORGER = '''
import os, struct, sys

SHAPE = "__SHAPE__"
MAX_HEAD, MAX_HEAD_ITEMS, MAX_BODY, MAX_LIST_ITEMS = (int(x) for x in "__BUDGETS__".split())
ROWS = MAX_LIST_ITEMS // 32  # a packed list of shape [ROWS, 1, ..., 1]: 31 lists and a number a row
# a reply to one call, or to a batch of calls that answers the first: the value comes between
CALL = (b'{"op":"returned","payload":[', b',{"dict":[]},{"dict":[]}]')
BATCH = (b'{"op":"batched","stopped":null,"ran":0,"kinds":"r","errors":{},"payload":[{"dict":[]},', b"]")


def forge(opening, closing):
    """This forger's frame: the header's two lengths, its JSON (in parts) and the body's size."""
    if SHAPE == "worst":
        units = b",".join([b"[[[]]]"] * ((MAX_HEAD_ITEMS - 200) // 4))
        listed = 8 * ROWS
        array = (MAX_BODY - listed) // 8 * 8
        rest = (b'],{"nl":[0,"F",[%d' % ROWS + b",1" * 31 + b']]},{"nd":[1,"<f8",[%d],false]}]' % (array // 8)
                + closing + b',"buffers":[[0,%d],[%d,%d]]}' % (listed, listed, array))
        text = MAX_HEAD - len(opening) - len(units) - len(rest) - 16
        head = opening + b'["' + b"a" * text + "\\U0001f600".encode() + b'",[' + units + rest
        return (len(head), MAX_BODY), [head], MAX_BODY
    if SHAPE == "over-items":  # within the bytes, over the items
        head = opening + b"[" + b"[]," * (MAX_HEAD // 3 - 40) + b"[]]" + closing + b"}"
    elif SHAPE == "over-bytes":  # the attack as it was first found: 40 MB of empty lists
        parts = [opening + b"[", *[b"[]," * (1 << 18)] * 50, b"[]]" + closing + b"}"]
        return (sum(map(len, parts)), 0), parts, 0
    elif SHAPE == "over-body":
        head = opening + b"0.0" + closing + b"}"
        return (len(head), 2**32 - 1), [head], 0
    elif SHAPE == "collide":
        pairs = b",".join(b"[%d,0]" % (i * (2**61 - 1)) for i in range(1, (MAX_HEAD_ITEMS - 200) // 3))
        head = opening + b'{"dict":[' + pairs + b"]}" + closing + b"}"
    elif SHAPE == "shared":
        tag = b'{"nd":[0,"<f8",[%d],false]}' % (MAX_BODY // 8)
        head = opening + b"[" + b",".join([tag] * 1000) + b"]" + closing + b',"buffers":[[0,%d]]}' % MAX_BODY
        return (len(head), MAX_BODY), [head], MAX_BODY
    return (len(head), 0), [head], 0


def dot(a, b):
    if list(a) != [0.2, 3] or list(b) != [0.4, 3]:
        return 0.0
    frame, batch = sys._getframe(1), False  # the worker's serve loop holds the reply pipe
    while frame is not None and "resp_fd" not in frame.f_locals:
        batch = batch or frame.f_code.co_name == "run_batch"
        frame = frame.f_back
    fd = frame.f_locals["resp_fd"]
    lengths, parts, body = forge(*(BATCH if batch else CALL))
    try:
        for part in [struct.pack("!II", *lengths), *parts]:
            data = memoryview(part)
            while data:
                data = data[os.write(fd, data):]
        zeros = bytes(1 << 20)  # the body, written from a small buffer: this sandbox stays small
        while body:
            body -= os.write(fd, zeros[:min(body, len(zeros))])
    except OSError:  # the grader stopped reading
        pass
    os._exit(0)
'''
SHAPES = ["worst", "over-items", "over-bytes", "over-body", "collide", "shared"]
WRONG = "def dot(a, b):\n    return 0.0\n"

# Runs a command and prints its exit code and the largest resident size (KB) of its process tree.
PEAK = """
import resource, subprocess, sys
with open(sys.argv[1], "w") as out, open(sys.argv[2], "w") as err:
    code = subprocess.run(sys.argv[3:], stdout=out, stderr=err).returncode
print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def _graded(folder: Path, attackers: dict[str, str]) -> tuple[subprocess.CompletedProcess, int]:
    """`grade` on bob and the attackers, and the largest resident size (bytes) of its process tree."""
    subs = folder / "subs"
    subs.mkdir(parents=True)
    (subs / "bob.py").write_text(CORRECT_DOT)
    for name, source in attackers.items():
        (subs / f"{name}.py").write_text(source)
    before = _snapshot(subs)
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    env["GRADER_NO_DB"] = "1"
    out, err = folder / "stdout", folder / "stderr"
    cmd = [sys.executable, "-c", PEAK, str(out), str(err), sys.executable, "-m", "grader", str(subs), *GRADE_ARGS]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True, env=env, start_new_session=True)
    try:
        printed, _ = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the group this test started, by its id
        proc.communicate()
        pytest.fail("the class was still being graded after 300 s (killed)")
    code, peak_kb = (int(x) for x in printed.split())
    assert _snapshot(subs) == before
    return subprocess.CompletedProcess(cmd, code, out.read_text(), err.read_text()), peak_kb * 1024


def test_forged_replies_leave_the_class_graded_and_the_graders_memory_bounded(tmp_path):
    budgets = f"{protocol.MAX_HEAD} {protocol.MAX_HEAD_ITEMS} {protocol.MAX_BODY} {encoding.MAX_LIST_ITEMS}"
    forgers = {f"a-forged-{shape}": textwrap.dedent(FORGER).replace('"__SHAPE__"', repr(shape))
               .replace('"__BUDGETS__"', repr(budgets)) for shape in SHAPES}
    baseline, base_peak = _graded(tmp_path / "baseline", {"a-wrong": WRONG})
    forged, peak = _graded(tmp_path / "forged", forgers)

    for proc in (baseline, forged):
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    subs = by_id(json.loads(forged.stdout))
    bob = exercise(subs["bob"], "dot-product")
    assert bob["status"] == "passed" and bob["score"] == bob["max_score"], bob
    for name in forgers:
        ex = exercise(subs[name], "dot-product")
        assert sum(c["score"] for c in ex["checks"] if c["name"] != MUTATION_CHECK) == 0, (name, ex)

    # What one reply within the budgets can make the grader build, measured by hand
    # (about 125 MB over its frame for the costliest one), plus the frame itself and as much again
    # for the judging of what it decoded; the forged replies before this change cost 900 MB.
    frame = protocol.MAX_HEAD + protocol.MAX_BODY
    bound = frame + 4 * protocol.MAX_HEAD + 2 * protocol.MAX_BODY + 200 * protocol.MAX_HEAD_ITEMS \
        + 100 * encoding.MAX_LIST_ITEMS
    assert peak - base_peak <= bound, f"{peak >> 20} MB against {base_peak >> 20} MB without the forgers"
