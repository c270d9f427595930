import numpy as np


def attention(Q, K, V, mask=None):
    Q, K, V = (np.asarray(x, dtype=float) for x in (Q, K, V))
    scores = np.einsum("qd,kd->qk", Q, K) / np.sqrt(Q.shape[1])
    if mask is not None:
        m = np.asarray(mask, dtype=bool)
        scores = scores.copy()
        scores[m] = -1e9  # masked positions are the True ones
    scores -= scores.max(axis=-1, keepdims=True)
    w = np.exp(scores)
    w /= w.sum(axis=-1, keepdims=True)
    return np.einsum("qk,kv->qv", w, V)
