import numpy as np


def attention(Q, K, V, mask=None):
    Q = np.asarray(Q, dtype=float)
    K = np.asarray(K, dtype=float)
    V = np.asarray(V, dtype=float)
    scores = np.dot(Q, K.T) / np.sqrt(Q.shape[1])
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    # softmax
    scores = scores - np.max(scores, axis=0)
    weights = np.exp(scores) / np.sum(np.exp(scores), axis=0)
    return np.dot(weights, V)


def top_k_similar(query, keys, k):
    query = np.asarray(query, dtype=float)
    keys = np.asarray(keys, dtype=float)
    normed = keys / np.linalg.norm(keys, axis=1, keepdims=True)
    sims = normed @ (query / np.linalg.norm(query))
    return np.argsort(-sims, kind="stable")[:k]
