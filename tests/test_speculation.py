"""Custom checks' calls answered ahead change no grade.

A grading worker notes the calls a custom check made against a submission that passed it, and
makes them for later submissions in the exercise's batch: a check whose call has exactly the
same arguments takes that answer instead of a round trip of its own. Every test grades through
the real `grade` command and compares a submission graded after others (its checks answered
ahead) with the same submission graded alone (nothing answered ahead).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from conftest import CORPUS, by_id, grade_json

EXERCISES = ("l2-normalize", "attention")

MUTATES_IN_A_CUSTOM_CHECK_ONLY = """
    import numpy as np

    def l2_normalize(x):
        x = np.asarray(x)
        out = x / np.linalg.norm(x, axis=-1, keepdims=True)
        if x.shape == (4, 4):  # only a custom check's input is 4 × 4
            x[...] = 0.0  # harmless to its own result: only the arguments change
        return out
"""

RAISES_ON_SOME_INPUTS = """
    import numpy as np

    def l2_normalize(x):
        x = np.asarray(x, dtype=float)
        if x.ndim == 1 and len(x) == 6:
            raise ValueError("six is too many")
        return x / np.linalg.norm(x, axis=-1, keepdims=True)
"""


def _write(folder: Path, normalize: str, attention: str) -> None:
    folder.mkdir(parents=True)
    (folder / "norm.py").write_text(normalize)
    (folder / "att.py").write_text(attention)


def _checks(sub: dict) -> dict:
    return {e["id"]: (e["status"], e["score"], [(c["name"], c["status"], c["message"]) for c in e["checks"]],
                      [m["id"] for m in e["misconceptions"]]) for e in sub["exercises"]}


def test_a_submission_graded_after_others_gets_what_it_gets_alone(tmp_path):
    correct_n = (CORPUS / "l2-normalize" / "correct_numpy.py").read_text()
    correct_a = (CORPUS / "attention" / "correct_numpy.py").read_text()
    students = {
        "b-loops": ((CORPUS / "l2-normalize" / "correct_loops.py").read_text(),
                    (CORPUS / "attention" / "correct_loops.py").read_text()),
        "c-mutates": ((CORPUS / "l2-normalize" / "mutates-input.py").read_text(), correct_a),
        "d-keepdims": ((CORPUS / "l2-normalize" / "missing-keepdims.py").read_text(),
                       (CORPUS / "attention" / "mask-after-softmax.py").read_text()),
        "e-zero": ((CORPUS / "l2-normalize" / "zero-vector-nan.py").read_text(),
                   (CORPUS / "attention" / "missing-scale.py").read_text()),
        "f-mutates-later": (textwrap.dedent(MUTATES_IN_A_CUSTOM_CHECK_ONLY), correct_a),
        "g-raises": (textwrap.dedent(RAISES_ON_SOME_INPUTS), correct_a),
    }
    together = tmp_path / "together"
    _write(together / "a-first", correct_n, correct_a)  # passes every check: its calls are noted
    for name, (n, a) in students.items():
        _write(together / name, n, a)
    select = [arg for ex in EXERCISES for arg in ("-e", ex)]
    graded = by_id(grade_json(str(together), *select, "--jobs", "1"))
    assert all(e["status"] == "passed" for e in graded["a-first"]["exercises"]), graded["a-first"]
    for name, (n, a) in students.items():
        _write(tmp_path / "alone" / name / name, n, a)
        alone = by_id(grade_json(str(tmp_path / "alone" / name), *select, "--jobs", "1"))[name]
        assert _checks(graded[name]) == _checks(alone), name
    # the class is not trivially the same: its mistakes are told apart, the custom checks included
    mutation = [c for e in graded["f-mutates-later"]["exercises"] for c in e["checks"] if "modif" in c["name"]]
    assert [c["status"] for c in mutation] == ["failed", "passed"], mutation  # l2-normalize's, attention's
    assert any(c["status"] == "error" for e in graded["g-raises"]["exercises"] for c in e["checks"])


def test_a_call_is_answered_ahead_only_for_exactly_the_same_arguments():
    """The identity that lets a check take a batched answer: equal for equal arguments, different
    for any change the sandbox would see (dtype, shape, sign of zero, a nan's bits, a key's type),
    and none at all for an argument the sandbox would get only as a note (an opaque object, long text)."""
    import numpy as np

    from grader.runs import call_key

    x = np.arange(6.0).reshape(2, 3)
    same = call_key([x, 2.0], {"axis": -1})
    assert same is not None and call_key([x.copy(), 2.0], {"axis": -1}) == same
    others = [([x.astype(np.float32), 2.0], {"axis": -1}), ([x.reshape(3, 2), 2.0], {"axis": -1}),
              ([x, -0.0], {"axis": -1}), ([x, 2], {"axis": -1}), ([x, 2.0], {"axis": 1}),
              ([x.tolist(), 2.0], {"axis": -1}), ([(x, 2.0)], {"axis": -1}), ([x, np.float64(2.0)], {"axis": -1})]
    keys = [call_key(a, k) for a, k in others]
    assert None not in keys and len({same, *keys}) == len(keys) + 1
    nan = np.array([np.nan]), np.array([-np.nan])
    assert call_key([nan[0]], {}) != call_key([nan[1]], {})
    assert call_key([object()], {}) is None
    assert call_key(["x" * 100_001], {}) is None
    assert call_key([np.array(["a"])], {}) is None
    assert call_key([[x] * 3], {}) is not None
