import numpy as np


def attention(Q, K, V, mask=None):
    Q, K, V = np.asarray(Q, float), np.asarray(K, float), np.asarray(V, float)
    scores = np.einsum("ik,jk->ij", Q, K)
    if mask is not None:
        scores = np.where(np.asarray(mask), scores, -1e9)
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    return np.einsum("ij,jv->iv", e / e.sum(axis=1, keepdims=True), V)
