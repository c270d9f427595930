"""Custom checks for cosine-similarity: properties say more than single values.

Ordinary pytest functions; the grader collects them once per submission. `student` calls the
student's function in the sandbox (each call is recorded for the diagnosis), `rng` is seeded
per check, `tolerance` is the exercise's.
"""

import pytest

from grader.checks import assert_close


@pytest.mark.points(1)
@pytest.mark.visibility("visible")
def test_scale_invariance(student, rng, tolerance):
    """Scaling either vector by a positive number leaves the cosine unchanged"""
    a, b = rng.normal(size=6), rng.uniform(-3, 3, size=6)
    base = student(a, b)
    assert_close(student(4.0 * a, b), base, "cosine(4·a, b) compared with cosine(a, b)", tolerance)
    assert_close(student(a, 0.25 * b), base, "cosine(a, b/4) compared with cosine(a, b)", tolerance)


@pytest.mark.points(1)
def test_symmetry(student, rng, tolerance):
    """The cosine of a and b equals the cosine of b and a"""
    a, b = rng.normal(size=5) * 3, rng.normal(size=5)
    assert_close(student(b, a), student(a, b), "cosine(b, a) compared with cosine(a, b)", tolerance)
