"""Blog softmax: one global max for the shift, then rows (axis 1) for matrices, axis 0 for vectors.

source: https://shusei-e.github.io/deep%20learning/softmax_without_overflow/
diagnosis: the blog itself notes np.max(x) should be taken per row (np.max(x, axis=1)[:, np.newaxis]); the axis is fixed by ndim
exercise: softmax
label: global-max-subtraction, ignored-axis-argument
"""
import numpy as np


def softmax(x, axis=-1):
    x = np.asarray(x, dtype=float)
    e = np.exp(x - np.max(x))
    if e.ndim == 1:
        return e / np.sum(e, axis=0)
    return e / np.sum(e, axis=1, keepdims=True)
