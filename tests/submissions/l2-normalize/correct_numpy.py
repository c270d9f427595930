import numpy as np


def l2_normalize(x):
    x = np.asarray(x, dtype=float)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    norms[norms == 0] = 1.0  # zero rows stay zero
    return x / norms
