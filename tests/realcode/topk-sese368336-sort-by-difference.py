"""Closest vectors by cosine, found by sorting the lengths of the vector differences.

source: https://softwareengineering.stackexchange.com/questions/368336/fastest-way-to-find-n-closest-vectors-to-vector-x-in-list
diagnosis: the asker generated vector differences and sorted them; ranking by difference is ranking by Euclidean distance, which agrees with cosine only for unit vectors
exercise: top-k-similar
label: euclidean-ranking
"""
import numpy as np


def top_k_similar(query, keys, k):
    q = np.asarray(query, dtype=float)
    K = np.asarray(keys, dtype=float)
    diffs = np.linalg.norm(K - q, axis=1)
    return np.argsort(diffs, kind="stable")[:k].tolist()
