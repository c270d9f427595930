import numpy as np


def similarity_matrix(A, B):
    return np.einsum("id,jd->ij", np.asarray(A, dtype=np.float64), np.asarray(B, dtype=np.float64))
