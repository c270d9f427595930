import numpy as np


def similarity_matrix(A, B):
    A = np.array(A, dtype=float)
    B = np.array(B, dtype=float)
    return np.dot(A, B)
