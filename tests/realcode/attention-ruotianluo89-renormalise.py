"""Softmax over all keys, then weights times the mask, then each row renormalised by its new sum.

source: https://github.com/ruotianluo/self-critical.pytorch/issues/89
diagnosis: maintainer: renormalising after the masked multiply is equivalent, work it out; it is in exact arithmetic, but when a blocked key dominates the kept weights underflow to 0 and 0/0 follows
exercise: attention
label: uncatalogued
"""
import numpy as np


def attention(Q, K, V, mask=None):
    Q = np.asarray(Q, dtype=float)
    K = np.asarray(K, dtype=float)
    V = np.asarray(V, dtype=float)
    dot = Q @ K.T / np.sqrt(Q.shape[1])
    weight = np.exp(dot - dot.max(axis=1, keepdims=True))
    weight = weight / weight.sum(axis=1, keepdims=True)
    if mask is not None:
        weight = weight * np.asarray(mask, dtype=float)
        with np.errstate(invalid="ignore"):
            weight = weight / weight.sum(axis=1, keepdims=True)
    return weight @ V
