import numpy as np


def _unit(v):
    n = np.sqrt(np.dot(v, v))
    return v / n if n > 0 else np.zeros_like(v)


def l2_normalize(x):
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        return _unit(x)
    return np.apply_along_axis(_unit, 1, x)
