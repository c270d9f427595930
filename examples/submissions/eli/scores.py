import math

import numpy as np


def attention_scores(Q, K):
    d_k = len(Q[0])
    return [[sum(float(a) * float(b) for a, b in zip(q, k)) / math.sqrt(d_k) for k in K] for q in Q]


def softmax(x, axis=-1):
    """Compute softmax values for each sets of scores in x."""
    e_x = np.exp(x - np.max(x))
    return e_x / e_x.sum(axis=0)
