"""Top-k by argpartition: the right k keys, returned in partition order, not sorted.

source: https://github.com/Marker-Inc-Korea/AutoRAG/issues/699
diagnosis: with top-k 3 the retrieved ids were not sorted by similarity, so the top-1 result disagreed with the first of the top-3
exercise: top-k-similar
label: unsorted-top-k
"""
import numpy as np


def top_k_similar(query, keys, k):
    q = np.asarray(query, dtype=float)
    K = np.asarray(keys, dtype=float)
    sims = (K @ q) / (np.linalg.norm(K, axis=1) * np.linalg.norm(q))
    if k == len(sims):
        return np.arange(k)
    return np.argpartition(-sims, k)[:k]
