import numpy as np


def similarity_matrix(A, B):
    return np.einsum("ij,ij->i", np.asarray(A, dtype=float), np.asarray(B, dtype=float))
