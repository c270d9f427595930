import numpy as np


def _softmax_rows(x):
    z = x - np.max(x, axis=1, keepdims=True)
    e = np.exp(z)
    return e / np.sum(e, axis=1, keepdims=True)


def attention(Q, K, V, mask=None):
    Q, K, V = (np.array(m, dtype=np.float64) for m in (Q, K, V))
    scores = np.einsum("qd,kd->qk", Q, K) / np.sqrt(K.shape[1])
    if mask is not None:
        # additive mask: 0 where allowed, a huge negative number where blocked
        allowed = np.array(mask, dtype=float)
        scores = scores + (1.0 - allowed) * -1e9
    return np.einsum("qk,kv->qv", _softmax_rows(scores), V)
