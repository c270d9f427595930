import numpy as np


def attention_scores(Q, K):
    Q = np.asarray(Q, dtype=float)
    K = np.asarray(K, dtype=float)
    return np.matmul(Q, K)
