import numpy as np


def similarity_matrix(A, B):
    A = np.asarray(A, dtype=float)
    B = np.asarray(B, dtype=float)
    return A @ B.T
