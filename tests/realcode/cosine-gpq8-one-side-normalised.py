"""Cosine where only the first vector is normalised before the product.

source: https://github.com/youngkyunJang/GPQ/issues/8
diagnosis: one side was intra-normalised and the other was not, so the product is an ordinary inner product scaled by one length, not a cosine
exercise: cosine-similarity
label: one-sided-normalization
"""
import numpy as np


def cosine_similarity(a, b):
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError("a and b must have the same length")
    if not a.any() or not b.any():
        return 0.0
    a_unit = a / np.linalg.norm(a)
    return float(a_unit @ b)
