"""Custom checks for l2-normalize: properties of unit-length rows, on random inputs.

Ordinary pytest functions; the grader collects them once per submission. `student` calls the
student's function in the sandbox (each call is recorded for the diagnosis), `rng` is seeded
per check, `tolerance` is the exercise's.
"""

import numpy as np
import pytest

from grader.checks import assert_close


def _numeric(value, shape, what):
    """The student's result as a float array of the given shape, or a failed check saying why."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise AssertionError(f"{what}: expected numbers of shape {shape}, got {type(value).__name__}") from None
    if arr.shape != shape:
        raise AssertionError(f"{what}: expected shape {shape} (the shape of x), got shape {arr.shape}")
    return arr


@pytest.mark.points(1)
@pytest.mark.visibility("visible")
def test_normalizing_twice_changes_nothing(student, rng, tolerance):
    """Normalising an already normalised input changes nothing"""
    for x in (rng.normal(0, 5, size=(4, 4)), rng.uniform(-3, 6, size=6)):
        once = student(x)
        _numeric(once, x.shape, f"l2_normalize(x) for x of shape {x.shape}")
        twice = student(once)
        assert_close(twice, once, f"l2_normalize(l2_normalize(x)) compared with l2_normalize(x), "
                                  f"x of shape {x.shape}", tolerance)


@pytest.mark.points(1)
def test_every_non_zero_row_has_length_one(student, rng, tolerance):
    """Every non-zero row of the result has length 1 and a zero row stays zero"""
    x = rng.normal(0, 3, size=(5, 3))
    x[3] = 0.0
    got = _numeric(student(x), x.shape, "l2_normalize(x) for a 5 × 3 matrix x whose row 3 is zero")
    if not np.all(np.isfinite(got)):
        raise AssertionError(f"l2_normalize(x) for a 5 × 3 matrix x whose row 3 is zero: the result contains "
                             f"nan or inf: {np.array2string(got, precision=4)}")
    lengths = np.sqrt(np.sum(got * got, axis=1))
    expected = np.array([1.0, 1.0, 1.0, 0.0, 1.0])
    assert_close(lengths, expected, "the lengths of the rows of l2_normalize(x), row 3 of x being zero", tolerance)
