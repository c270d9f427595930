"""Cosine that divides by L1 norms.

source: https://github.com/snoww/TwitchOverlap/issues/3
diagnosis: the similarity matrix's diagonal was not all ones because the rows were normalised with the L1 norm instead of the L2 norm
exercise: cosine-similarity
label: l1-norms
"""
import numpy as np


def cosine_similarity(a, b):
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError("a and b must have the same length")
    na = np.sum(np.abs(a))
    nb = np.sum(np.abs(b))
    if na == 0 or nb == 0:
        return 0.0
    return float(np.dot(a / na, b / nb))
