import numpy as np


def similarity_matrix(A, B):
    A = np.asarray(A, dtype=float)
    B = np.asarray(B, dtype=float)
    # (n, 1, d) * (1, m, d) -> (n, m, d), summed over d
    return (A[:, None, :] * B[None, :, :]).sum(axis=-1)
