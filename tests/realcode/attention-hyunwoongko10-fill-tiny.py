"""masked_fill(mask == 0, -e) with e = 1e-12: blocked scores become almost exactly 0, not -inf.

source: https://github.com/hyunwoongko/transformer/issues/10
diagnosis: the masked inputs should be set to -inf (Vaswani et al. 3.2.3), not to -1e-12; maintainer fixed it
exercise: attention
label: mask-as-multiplier
"""
import math

import numpy as np


def attention(Q, K, V, mask=None, e=1e-12):
    q = np.asarray(Q, dtype=float)
    k = np.asarray(K, dtype=float)
    v = np.asarray(V, dtype=float)
    d_tensor = k.shape[1]
    score = (q @ k.T) / math.sqrt(d_tensor)
    if mask is not None:
        score = np.where(np.asarray(mask, dtype=bool) == 0, -e, score)
    score = np.exp(score - score.max(axis=-1, keepdims=True))
    score = score / score.sum(axis=-1, keepdims=True)
    return score @ v
