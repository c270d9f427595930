"""Reference `similarity_matrix(A, B)` and the misconception models of `similarity-matrix`.

Trusted, teacher-only code. A holds n row vectors and B holds m row vectors, all of length d;
the result S (n × m) holds every pairwise dot product, S[i, j] = A[i]·B[j] = (A Bᵀ)[i, j].
Each model is the reference with exactly one idea changed, computed with the numpy operation
a student would write, so that shapes numpy cannot combine raise numpy's ValueError, as they
would for the student. Every model keeps the argument check (2-D inputs, same d).
"""

import numpy as np


def _matrix(X, name):
    """One argument (nested list or array) as a 2-D float64 array, else ValueError."""
    v = np.asarray(X, dtype=np.float64)
    if v.ndim != 2:
        raise ValueError(f"{name} must be a 2-D matrix (one vector per row), got shape {v.shape}")
    return v


def _matrices(A, B):
    """A (n, d) and B (m, d) as float64 arrays with the same row length d, else ValueError."""
    A, B = _matrix(A, "A"), _matrix(B, "B")
    if A.shape[1] != B.shape[1]:
        raise ValueError(f"the rows of A and B must have the same length, got {A.shape[1]} and {B.shape[1]}")
    return A, B


def similarity_matrix(A, B):
    """Reference: the (n, m) matrix of dot products S[i, j] = A[i]·B[j], i.e. A @ B.T."""
    A, B = _matrices(A, B)
    return A @ B.T


def elementwise_product(A, B):
    """Model elementwise-product: A * B, products of matching entries, never summed; (n, d)
    when n == m, numpy's broadcasting ValueError otherwise."""
    A, B = _matrices(A, B)
    return A * B


def missing_transpose(A, B):
    """Model missing-transpose: A @ B; numpy's ValueError unless d == m, then an (n, d)
    matrix of the wrong numbers."""
    A, B = _matrices(A, B)
    return A @ B


def transposed_result(A, B):
    """Model transposed-result: B @ A.T, the (m, n) transpose of the answer."""
    A, B = _matrices(A, B)
    return B @ A.T


def feature_gram(A, B):
    """Model feature-gram: A.T @ B, a (d, d) matrix over the features; numpy's ValueError
    unless n == m."""
    A, B = _matrices(A, B)
    return A.T @ B


def cosine_instead_of_dot(A, B):
    """Model cosine-instead-of-dot: rows normalised first, so S[i, j] is the cosine of A[i]
    and B[j] (0 for a zero row, as in cosine-similarity)."""
    A, B = _matrices(A, B)
    na = np.linalg.norm(A, axis=1, keepdims=True)
    nb = np.linalg.norm(B, axis=1, keepdims=True)
    An = A / np.where(na == 0, 1.0, na)
    Bn = B / np.where(nb == 0, 1.0, nb)
    return np.clip(An @ Bn.T, -1.0, 1.0)


def row_wise_dot(A, B):
    """Model row-wise-dot: only matching rows, sum(A * B, axis=1) = [A[0]·B[0], A[1]·B[1], ...],
    shape (n,) when n == m; numpy's broadcasting ValueError otherwise."""
    A, B = _matrices(A, B)
    return np.sum(A * B, axis=1)
