"""Divides by np.linalg.norm(v, ord=1): the L1 norm, so the entries sum (in absolute value) to 1.

source: https://github.com/mk-minchul/AdaFace/issues/54
diagnosis: maintainer: ord=1 is the L1 norm; the Euclidean norm is ord=2
exercise: l2-normalize
label: l1-normalization, zero-vector-nan
"""
import numpy as np


def l2_normalize(x):
    v = np.asarray(x, dtype=float)
    return v / np.linalg.norm(v, ord=1, axis=-1, keepdims=True)
