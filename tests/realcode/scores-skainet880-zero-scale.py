"""A `scale` parameter defaulting to 0 applied literally: every score is multiplied by 0.

source: https://github.com/SKaiNET-developers/SKaiNET/pull/880
diagnosis: the documented default 1/sqrt(headDim) was never resolved; multiplying by 0 flattened every score, so the softmax became uniform
exercise: attention-scores
label: uncatalogued
"""
import numpy as np


def attention_scores(Q, K, scale=0.0):
    Q = np.asarray(Q, dtype=float)
    K = np.asarray(K, dtype=float)
    return (Q @ K.T) * scale
