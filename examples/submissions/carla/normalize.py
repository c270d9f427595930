import numpy as np


def l2_normalize(x):
    x = np.array(x, dtype=float)
    # normalise = make it add up to 1
    total = x.sum(axis=-1, keepdims=True)
    total[total == 0] = 1
    return x / total


def similarity_matrix(A, B):
    A = np.array(A, dtype=float)
    B = np.array(B, dtype=float)
    # similar entries at the same position get amplified
    return A * B
