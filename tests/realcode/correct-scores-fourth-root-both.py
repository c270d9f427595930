"""Scores with 1 / d ** 0.25 applied to Q and to K: the product carries 1 / sqrt(d).

source: https://github.com/openai/improved-diffusion/issues/54
diagnosis: the reporter thought the scale was wrong, then: "I was wrong", the scale is applied to both factors
exercise: attention-scores
label: correct
"""
import math

import numpy as np


def attention_scores(Q, K):
    q = np.asarray(Q, dtype=float)
    k = np.asarray(K, dtype=float)
    scale = 1 / math.sqrt(math.sqrt(q.shape[1]))
    return (q * scale) @ (k * scale).T
