# Hana - normalising embeddings, then comparing them all at once
import numpy as np


def l2_normalize(x):
    x = np.asarray(x, dtype=float)
    lengths = np.sqrt(np.sum(x * x, axis=-1, keepdims=True))
    lengths[lengths == 0] = 1.0
    return x / lengths


def similarity_matrix(A, B):
    A, B = np.asarray(A, dtype=float), np.asarray(B, dtype=float)
    return np.einsum("ik,jk->ij", A, B)
