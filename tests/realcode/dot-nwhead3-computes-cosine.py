"""A 'dot product' kernel that normalises both inputs first, i.e. a cosine.

source: https://github.com/alanqrwang/nwhead/issues/3
diagnosis: the dot-product kernel effectively computes the cosine similarity; removing the two normalisation lines fixes it
exercise: dot-product
label: cosine-instead-of-dot
"""
import numpy as np


def dot(a, b):
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError("lengths differ")
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return 0.0
    a = a / na
    b = b / nb
    return float(np.sum(a * b))
