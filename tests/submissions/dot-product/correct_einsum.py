import numpy as np


def dot(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if len(a) != len(b):
        raise ValueError("length mismatch")
    return np.einsum("i,i->", a, b)
