"""Cosine divided by the squared norms (the norm written as a sum of squares, no root).

source: https://github.com/FoundationsMachineLearning-Fa18/LectureNotes/pull/24
diagnosis: the cosine similarity should have the vector norm in the denominator, not the vector norm squared
exercise: cosine-similarity
label: squared-norms
"""
import numpy as np


def cosine_similarity(a, b):
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError("a and b must have the same length")
    sq_a = np.sum(a ** 2)
    sq_b = np.sum(b ** 2)
    if sq_a == 0 or sq_b == 0:
        return 0.0
    return float(np.dot(a, b) / (sq_a * sq_b))
