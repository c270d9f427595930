"""L2 normalisation along the wrong dimension of a 2-D batch (eps-clamped, like F.normalize).

source: https://github.com/gabeur/mmt/issues/1
diagnosis: maintainer: good catch, the normalisation ran along the token/batch dimension instead of the embedding dimension
exercise: l2-normalize
label: column-wise
"""
import numpy as np


def l2_normalize(x):
    v = np.asarray(x, dtype=float)
    dim = 0
    norms = np.sqrt(np.sum(v * v, axis=dim, keepdims=True))
    return v / np.maximum(norms, 1e-12)
