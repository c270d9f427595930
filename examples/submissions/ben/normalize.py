import numpy as np


def l2_normalize(x):
    x = np.asarray(x, dtype=float)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)  # (n, 1) for a matrix, (1,) for a vector
    return x / np.where(norms == 0, 1.0, norms)  # zero rows stay zero


def similarity_matrix(A, B):
    A = np.asarray(A, dtype=float)
    B = np.asarray(B, dtype=float)
    return A @ B.T  # rows of A against rows of B
