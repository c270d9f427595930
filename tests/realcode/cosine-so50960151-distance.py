"""Returns the cosine distance (scipy's definition, 1 - cos) where the similarity is asked.

source: https://example-a.com/answer/50960151
diagnosis: scipy.spatial.distance.cosine is the cosine distance, not the similarity: identical vectors give 0; the formula starts with 1 - (...)
exercise: cosine-similarity
label: cosine-distance
note: scipy is not a course package, so its formula is written out with numpy, zero vectors guarded
"""
import numpy as np


def cosine_similarity(a, b):
    u = np.asarray(a, dtype=float)
    v = np.asarray(b, dtype=float)
    if u.shape != v.shape:
        raise ValueError("a and b must have the same length")
    nu, nv = np.linalg.norm(u), np.linalg.norm(v)
    if nu == 0 or nv == 0:
        return 0.0
    return float(1.0 - np.dot(u, v) / (nu * nv))
