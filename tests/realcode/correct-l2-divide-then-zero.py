"""Divide by keepdims norms, then replace the nan/inf of zero rows by 0 (on a new array).

source: https://codewithsundeep.com/discussion/solution/17769341
diagnosis: the answer "do the calculation and then modify the results": y = x / norms; y[isnan(y) | isinf(y)] = 0
exercise: l2-normalize
label: correct
"""
import numpy as np


def l2_normalize(x):
    x = np.asarray(x, dtype=float)
    norms = np.sqrt((x ** 2).sum(axis=-1, keepdims=True))
    with np.errstate(divide="ignore", invalid="ignore"):
        y = x / norms
    y[np.isnan(y) | np.isinf(y)] = 0
    return y
