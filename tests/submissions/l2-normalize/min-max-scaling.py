import numpy as np


def _scale(v):
    lo, hi = v.min(), v.max()
    if hi == lo:
        return np.zeros_like(v)
    return (v - lo) / (hi - lo)


def l2_normalize(x):
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        return _scale(x)
    return np.apply_along_axis(_scale, 1, x)
