import numpy as np


def attention_scores(Q, K):
    Q = np.asarray(Q, dtype=float)
    K = np.asarray(K, dtype=float)
    d_k = Q.shape[1]
    return Q @ K.T / np.sqrt(d_k)
