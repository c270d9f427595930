import numpy as np


def similarity_matrix(A, B):
    return np.multiply(np.array(A, dtype=float), np.array(B, dtype=float))
