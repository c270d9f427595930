"""The scale is stored as d ** -0.5 but then used as a divisor, multiplying by sqrt(d).

source: https://github.com/esceptico/perceiver-io/issues/9
diagnosis: self.scale = head_dim ** -0.5 must be multiplied, not divided: q @ k^T * scale
exercise: attention-scores
label: multiplied-scale
"""
import numpy as np


def attention_scores(Q, K):
    q = np.asarray(Q, dtype=float)
    k = np.asarray(K, dtype=float)
    scale = q.shape[1] ** -0.5
    return q @ k.T / scale
