"""Custom checks for softmax: the two properties that define it, on random inputs.

Ordinary pytest functions; the grader collects them once per submission. `student` calls the
student's function in the sandbox (each call is recorded for the diagnosis), `rng` is seeded
per check, `tolerance` is the exercise's.
"""

import numpy as np
import pytest

from grader.checks import assert_close
from grader.compare import describe_type


def _result(got, x, what):
    """The student's result as a float array of x's shape, else a failure that says why."""
    try:
        out = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        out = None
    if out is None or out.shape != np.shape(x):
        raise AssertionError(f"{what}: expected an array of shape {np.shape(x)}, got {describe_type(got)}")
    return out


@pytest.mark.points(1)
@pytest.mark.visibility("visible")
def test_probabilities_add_up_to_one_along_the_axis(student, rng, tolerance):
    """The values along the axis add up to 1 (rows by default, columns for axis=0)"""
    x = rng.normal(0, 3, size=(4, 6))
    rows = _result(student(x), x, "softmax(x) for a 4×6 matrix x")
    assert_close(np.sum(rows, axis=-1), np.ones(4), "the sums of the rows of softmax(x)", tolerance)
    cols = _result(student(x, axis=0), x, "softmax(x, axis=0) for a 4×6 matrix x")
    assert_close(np.sum(cols, axis=0), np.ones(6), "the sums of the columns of softmax(x, axis=0)", tolerance)
    v = rng.uniform(-5, 5, size=7)
    out = _result(student(v), v, "softmax(v) for a vector v of length 7")
    assert_close(np.sum(out), 1.0, "the sum of softmax(v)", tolerance)


@pytest.mark.points(1)
def test_keeps_the_order_of_its_inputs(student, rng, tolerance):
    """A larger input gives a larger probability: argsort(softmax(x)) == argsort(x) along the axis"""
    v = rng.normal(0, 2, size=9)
    out = _result(student(v), v, "softmax(v) for a vector v of length 9")
    if not np.array_equal(np.argsort(out), np.argsort(v)):
        raise AssertionError(f"softmax(v) does not keep the order of v: for v = {np.round(v, 3).tolist()} "
                             f"the positions from smallest to largest are {np.argsort(v).tolist()}, "
                             f"but in your result {np.argsort(out).tolist()}")
    x = rng.normal(0, 2, size=(3, 5))
    out = _result(student(x, axis=1), x, "softmax(x, axis=1) for a 3×5 matrix x")
    if not np.array_equal(np.argsort(out, axis=1), np.argsort(x, axis=1)):
        raise AssertionError("softmax(x, axis=1) does not keep the order within each row of x: "
                             f"argsort along the rows is {np.argsort(x, axis=1).tolist()} for x, "
                             f"{np.argsort(out, axis=1).tolist()} for your result")
