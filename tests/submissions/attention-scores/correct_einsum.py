import numpy as np


def attention_scores(Q, K):
    Q = np.array(Q, dtype=np.float64)
    K = np.array(K, dtype=np.float64)
    return np.einsum("qd,kd->qk", Q, K) / Q.shape[-1] ** 0.5
