"""The forward pass never applies the attention mask; padding is only dropped from the loss.

source: https://github.com/jingyaogong/minimind-v/issues/76
diagnosis: no attention mask is set in the forward pass, so padding tokens take part in the attention
exercise: attention
label: mask-ignored
"""
import numpy as np


def attention(Q, K, V, mask=None):
    Q = np.asarray(Q, dtype=float)
    K = np.asarray(K, dtype=float)
    V = np.asarray(V, dtype=float)
    s = Q @ K.T / np.sqrt(Q.shape[-1])
    s = np.exp(s - s.max(axis=-1, keepdims=True))
    return (s / s.sum(axis=-1, keepdims=True)) @ V
