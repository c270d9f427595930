import numpy as np


def softmax(x, axis=-1):
    x = np.array(x, dtype=float)
    e = np.exp(np.subtract(x, np.amax(x, axis=axis, keepdims=True)))
    return np.divide(e, np.sum(e, axis))
