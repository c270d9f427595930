"""Most similar first by argsort of the negated cosines.

source: https://github.com/nfmcclure/tensorflow_cookbook/issues/122
diagnosis: argsort sorts from least to greatest, so the similarities are negated to get the most similar first
exercise: top-k-similar
label: correct
note: the sort is stable, as the contract breaks ties by the lower index
"""
import numpy as np


def top_k_similar(query, keys, k):
    q = np.asarray(query, dtype=float)
    K = np.asarray(keys, dtype=float)
    sim = K @ q / (np.linalg.norm(K, axis=1) * np.linalg.norm(q))
    nearest = (-sim).argsort(kind="stable")[:k]
    return nearest
