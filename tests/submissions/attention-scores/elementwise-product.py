import numpy as np


def attention_scores(Q, K):
    Q = np.asarray(Q, dtype=float)
    K = np.asarray(K, dtype=float)
    # multiply each query with each key, position by position
    return np.einsum("ij,ij->ij", Q, K) / np.sqrt(Q.shape[1])
