"""masked_fill(mask, -inf) on a mask whose True means 'keep': the kept keys are the ones filled.

source: https://github.com/mlwithme/TransformerTranslation/issues/6
diagnosis: the fill must go where the mask is 0 (`== 0` is missing), so the wrong positions get -inf
exercise: attention
label: inverted-mask
"""
import numpy as np


def attention(Q, K, V, mask=None):
    Q = np.asarray(Q, dtype=float)
    K = np.asarray(K, dtype=float)
    V = np.asarray(V, dtype=float)
    weights = Q @ K.T / np.sqrt(Q.shape[1])
    if mask is not None:
        weights = np.where(np.asarray(mask, dtype=bool), -np.inf, weights)
    weights = np.exp(weights - weights.max(axis=-1, keepdims=True))
    weights /= weights.sum(axis=-1, keepdims=True)
    return weights @ V
