import numpy as np


def attention(Q, K, V, mask=None):
    Q, K, V = (np.asarray(x, dtype=float) for x in (Q, K, V))
    scores = Q @ K.T / np.sqrt(K.shape[-1])
    if mask is not None:
        scores = np.where(np.asarray(mask, dtype=bool), scores, -np.inf)
    scores = scores - scores.max(axis=-1, keepdims=True)  # stable softmax
    w = np.exp(scores)
    w = w / w.sum(axis=-1, keepdims=True)
    return w @ V


def top_k_similar(query, keys, k):
    q = np.asarray(query, dtype=float)
    K = np.asarray(keys, dtype=float)
    cos = (K @ q) / (np.linalg.norm(K, axis=1) * np.linalg.norm(q))
    return np.argsort(-cos, kind="stable")[:k]
