import numpy as np


def l2_normalize(x):
    x = np.asarray(x, dtype=float)
    norms = np.sqrt((x ** 2).sum(axis=-1))
    norms = np.where(norms == 0, 1, norms)
    return x / norms
