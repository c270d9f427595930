"""Dot attention with nn.Softmax(dim=0): the weights are normalised over the queries; no scale.

source: https://github.com/PetrochukM/PyTorch-NLP/issues/2
diagnosis: Softmax(dim=0) runs along the first dimension (the queries), so with one query every weight is 1; it must run along the last dimension (the keys)
exercise: attention
label: softmax-over-queries, missing-scale
note: the library's dot attention has no 1/sqrt(d_k) factor; the mask is applied as the contract says
"""
import numpy as np


def attention(Q, K, V, mask=None):
    Q = np.asarray(Q, dtype=float)
    K = np.asarray(K, dtype=float)
    V = np.asarray(V, dtype=float)
    scores = Q @ K.T
    if mask is not None:
        scores = np.where(np.asarray(mask, dtype=bool), scores, -np.inf)
    e = np.exp(scores - scores.max(axis=0, keepdims=True))
    weights = e / e.sum(axis=0, keepdims=True)
    return weights @ V
