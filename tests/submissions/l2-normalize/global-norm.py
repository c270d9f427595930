import numpy as np


def l2_normalize(x):
    x = np.asarray(x, dtype=float)
    n = np.sqrt((x ** 2).sum())
    if n == 0:
        return x.copy()
    return x / n
