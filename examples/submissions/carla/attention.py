import numpy as np


def row_softmax(x):
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def attention(Q, K, V, mask=None):
    Q = np.array(Q, dtype=float)
    K = np.array(K, dtype=float)
    V = np.array(V, dtype=float)
    weights = row_softmax(Q @ K.T / np.sqrt(Q.shape[1]))
    if mask is not None:
        # blocked keys get weight 0
        weights = weights * np.array(mask)
    return weights @ V


def top_k_similar(query, keys, k):
    query = np.array(query, dtype=float)
    keys = np.array(keys, dtype=float)
    sims = np.array([np.dot(query, key) / (np.linalg.norm(query) * np.linalg.norm(key)) for key in keys])
    return list(np.argsort(-sims, kind="stable")[:k])
