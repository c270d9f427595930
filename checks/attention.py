"""Custom checks for attention: symmetries that hold whatever the numbers.

Attention treats the queries one by one and the keys as an unordered set: permuting the rows
of Q permutes the rows of the output (equivariance), and permuting the key/value pairs
together (the rows of K and V, and the columns of the mask) leaves the output unchanged
(invariance). A result that depends on where a row sits (a loop over the wrong index, a
mask applied by position) breaks them.

`student` calls the student's function in the sandbox (each call is recorded for the
diagnosis), `rng` is seeded per check, `tolerance` is the exercise's. Every mask drawn here
follows the rule of the shipped cases: each row has a True and a False, each column a True.
"""

import numpy as np
import pytest

from grader.checks import assert_close


def _mask(rng, n_q, n_k):
    """A random boolean (n_q, n_k) mask: every row has a True and a False, every column a True."""
    while True:
        m = rng.random((n_q, n_k)) < 0.55
        if m.any(axis=1).all() and (~m).any(axis=1).all() and m.any(axis=0).all():
            return m


def _output(value, n_q, what):
    """The student's result as a 2-D float array with n_q rows, else a failed check."""
    try:
        out = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        out = None
    if out is None or out.ndim != 2 or out.shape[0] != n_q:
        raise AssertionError(f"{what}: expected an array with {n_q} rows (one per query), got {value!r:.200}")
    return out


@pytest.mark.points(1)
@pytest.mark.visibility("visible")
def test_permuting_the_queries_permutes_the_output(student, rng, tolerance):
    """Permuting the rows of Q (and of the mask) permutes the rows of the output the same way"""
    n_q, n_k, d_k, d_v = 5, 6, 4, 3
    Q, K, V = rng.normal(size=(n_q, d_k)), rng.normal(size=(n_k, d_k)), rng.normal(size=(n_k, d_v))
    mask = _mask(rng, n_q, n_k)
    p = rng.permutation(n_q)
    base = _output(student(Q, K, V, mask), n_q, "attention(Q, K, V, mask)")
    moved = _output(student(Q[p], K, V, mask[p]), n_q, "attention(Q[p], K, V, mask[p])")
    assert_close(moved, base[p], f"attention(Q[p], K, V, mask[p]) for the row order p = {p.tolist()}, "
                                 "compared with attention(Q, K, V, mask)[p]", tolerance)
    plain = _output(student(Q, K, V), n_q, "attention(Q, K, V)")
    plain_moved = _output(student(Q[p], K, V), n_q, "attention(Q[p], K, V)")
    assert_close(plain_moved, plain[p], f"attention(Q[p], K, V) for the row order p = {p.tolist()}, "
                                        "compared with attention(Q, K, V)[p]", tolerance)


@pytest.mark.points(1)
def test_permuting_key_value_pairs_changes_nothing(student, rng, tolerance):
    """Permuting the rows of K and V together (and the mask's columns) leaves the output unchanged"""
    n_q, n_k, d_k, d_v = 4, 7, 3, 2
    Q = rng.normal(size=(n_q, d_k)) * 2
    K, V = rng.normal(size=(n_k, d_k)), rng.uniform(-2, 2, size=(n_k, d_v))
    mask = _mask(rng, n_q, n_k)
    p = rng.permutation(n_k)
    base = _output(student(Q, K, V, mask=mask), n_q, "attention(Q, K, V, mask=mask)")
    moved = _output(student(Q, K[p], V[p], mask=mask[:, p]), n_q, "attention(Q, K[p], V[p], mask=mask[:, p])")
    assert_close(moved, base, f"attention(Q, K[p], V[p], mask=mask[:, p]) for the key order p = {p.tolist()}, "
                              "compared with attention(Q, K, V, mask=mask)", tolerance)
    plain = _output(student(Q, K, V), n_q, "attention(Q, K, V)")
    plain_moved = _output(student(Q, K[p], V[p]), n_q, "attention(Q, K[p], V[p])")
    assert_close(plain_moved, plain, f"attention(Q, K[p], V[p]) for the key order p = {p.tolist()}, "
                                     "compared with attention(Q, K, V)", tolerance)
