"""Row norms from a list comprehension (shape (n,)) divide the matrix directly; zero rows give nan.

source: https://codewithsundeep.com/discussion/solution/17769341
diagnosis: answers: x / norms divides by zero for zero rows (nan/inf); compute the norms with keepdims=True and substitute 0 where the norm is 0
exercise: l2-normalize
label: missing-keepdims, zero-vector-nan
"""
import numpy as np


def l2_normalize(x):
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        return x / np.linalg.norm(x)
    norms = np.array([np.linalg.norm(a) for a in x])
    return x / norms
