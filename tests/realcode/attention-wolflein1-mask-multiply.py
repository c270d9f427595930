"""Masked attention that multiplies the scores by the boolean mask before the softmax.

source: https://github.com/georg-wolflein/good-features/pull/1
diagnosis: multiplying by the mask sets masked scores to zero, but the softmax still gives them weight exp(0); fill them with -inf instead
exercise: attention
label: mask-as-multiplier
"""
import numpy as np


def attention(Q, K, V, mask=None):
    Q = np.asarray(Q, dtype=float)
    K = np.asarray(K, dtype=float)
    V = np.asarray(V, dtype=float)
    a = Q @ K.T / np.sqrt(K.shape[1])
    if mask is not None:
        a = a * np.asarray(mask, dtype=bool)
    a = a - a.max(axis=1, keepdims=True)
    w = np.exp(a) / np.exp(a).sum(axis=1, keepdims=True)
    return w @ V
