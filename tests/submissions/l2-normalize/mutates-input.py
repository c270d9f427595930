import numpy as np


def l2_normalize(x):
    x = np.asarray(x, dtype=float)  # no copy when x is already a float array
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    norms[norms == 0] = 1.0
    x /= norms
    return x
