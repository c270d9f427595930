"""Reference `dot(a, b)` and the misconception models of the `dot-product` exercise.

Trusted, teacher-only code. Each model is the reference with exactly one idea changed;
every model except `no_length_check` keeps the length check (ValueError on different lengths).
"""

import numpy as np


def _vector(x):
    """One argument (list or array) as a 1-D float64 array, else ValueError."""
    v = np.asarray(x, dtype=np.float64)
    if v.ndim != 1:
        raise ValueError(f"expected a 1-D vector, got an array of shape {v.shape}")
    return v


def _vectors(a, b):
    """Both arguments as 1-D float64 arrays of equal length, else ValueError."""
    a, b = _vector(a), _vector(b)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same length, got {a.size} and {b.size}")
    return a, b


def dot(a, b):
    """Reference: the dot product sum(a[i] * b[i]) of two equal-length vectors, as a float."""
    a, b = _vectors(a, b)
    return float(np.sum(a * b))


def elementwise_product(a, b):
    """Model elementwise-product: returns the vector a*b, never summed."""
    a, b = _vectors(a, b)
    return a * b


def sum_of_vectors(a, b):
    """Model sum-of-vectors: returns the vector a+b."""
    a, b = _vectors(a, b)
    return a + b


def sum_of_all_elements(a, b):
    """Model sum-of-all-elements: adds every element of both vectors, sum(a) + sum(b)."""
    a, b = _vectors(a, b)
    return float(np.sum(a) + np.sum(b))


def product_of_sums(a, b):
    """Model product-of-sums: sums each vector first, then multiplies, sum(a) * sum(b)."""
    a, b = _vectors(a, b)
    return float(np.sum(a) * np.sum(b))


def mean_instead_of_sum(a, b):
    """Model mean-instead-of-sum: averages the pairwise products, mean(a*b)."""
    a, b = _vectors(a, b)
    return float(np.mean(a * b))


def norm_product(a, b):
    """Model norm-product: multiplies the lengths, ||a|| * ||b||, ignoring the angle."""
    a, b = _vectors(a, b)
    return float(np.linalg.norm(a) * np.linalg.norm(b))


def cosine_instead_of_dot(a, b):
    """Model cosine-instead-of-dot: a.b / (||a|| ||b||), 0.0 when a vector is all zeros."""
    a, b = _vectors(a, b)
    norms = np.linalg.norm(a) * np.linalg.norm(b)
    if norms == 0:
        return 0.0
    return float(np.sum(a * b) / norms)


def outer_product(a, b):
    """Model outer-product: returns the (n, n) matrix of all products a[i] * b[j]."""
    a, b = _vectors(a, b)
    return np.outer(a, b)


def off_by_one_skip_first(a, b):
    """Model off-by-one: the loop starts at index 1, so the first pair is skipped."""
    a, b = _vectors(a, b)
    return float(np.sum(a[1:] * b[1:]))


def off_by_one_skip_last(a, b):
    """Model off-by-one: the loop stops at n - 2, so the last pair is skipped."""
    a, b = _vectors(a, b)
    return float(np.sum(a[:-1] * b[:-1]))


def squared_distance(a, b):
    """Model squared-distance: subtracts instead of multiplying, sum((a - b)**2)."""
    a, b = _vectors(a, b)
    return float(np.sum((a - b) ** 2))


def no_length_check(a, b):
    """Model no-length-check: sum(a*b) with numpy broadcasting, so a length-1 vector is accepted."""
    a, b = _vector(a), _vector(b)
    return float(np.sum(a * b))
