import numpy as np


def softmax(x, axis=-1):
    x = np.asarray(x, dtype=float)
    top = x.max()  # the largest score, so that no exp overflows

    def normalise(v):
        e = np.exp(v - top)
        return e / e.sum()

    return np.apply_along_axis(normalise, axis, x)
