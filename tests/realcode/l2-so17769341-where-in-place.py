"""Answer that normalises with np.where but writes the result back into x in place.

source: https://codewithsundeep.com/discussion/solution/17769341
diagnosis: the answerer notes x is modified in place: the caller's array is overwritten (and an integer array cannot hold the quotients)
exercise: l2-normalize
label: mutates-input, integer-truncation
also: integer-wraparound
"""
import numpy as np


def l2_normalize(x):
    if not isinstance(x, np.ndarray):
        x = np.asarray(x, dtype=float)
    norms = np.sqrt((x ** 2).sum(axis=-1, keepdims=True))
    with np.errstate(divide="ignore", invalid="ignore"):
        x[...] = np.where(norms != 0, x / np.where(norms != 0, norms, 1), 0.0)
    return x
