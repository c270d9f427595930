"""L2-normalises both vectors, but the second line divides the first vector by the second's norm.

source: https://github.com/ai-med/StablePose/issues/9
diagnosis: the line meant to normalise yd normalises xd instead (yd = xd / norm(yd)); it should be yd / norm(yd)
exercise: cosine-similarity
label: uncatalogued, zero-vector-nan
"""
import numpy as np


def cosine_similarity(a, b):
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError("a and b must have the same length")
    xa = a / np.sqrt((a ** 2).sum())
    xb = a / np.sqrt((b ** 2).sum())
    return float(np.sum(xa * xb))
