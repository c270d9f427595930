"""Scaled dot-product scores divided by d_k: the square root was never applied.

source: https://github.com/delzac/cntkx/issues/10
diagnosis: maintainer: you are absolutely right, the sqrt was missing from the scale; fixed in 0.1.33
exercise: attention-scores
label: scale-by-dk
"""
import numpy as np


def attention_scores(Q, K):
    Q = np.asarray(Q, dtype=float)
    K = np.asarray(K, dtype=float)
    dk = Q.shape[-1]
    return Q @ K.T / dk
