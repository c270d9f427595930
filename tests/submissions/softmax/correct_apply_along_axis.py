import numpy as np


def _log_sum_exp(v):
    m = np.max(v)
    return m + np.log(np.sum(np.exp(v - m)))


def softmax(x, axis=-1):
    x = np.array(x, dtype=np.float64)
    lse = np.apply_along_axis(_log_sum_exp, axis, x)
    return np.exp(x - np.expand_dims(lse, axis))
