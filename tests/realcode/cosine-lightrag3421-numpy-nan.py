"""numpy cosine with no zero-vector guard: 0/0 gives nan.

source: https://github.com/HKUDS/LightRAG/pull/3421
diagnosis: cosine_similarity divides by the product of norms, so a zero vector yields NaN; return 0.0 when the denominator is zero
exercise: cosine-similarity
label: zero-vector-nan
"""
import numpy as np


def cosine_similarity(a, b):
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError("a and b must have the same length")
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))
