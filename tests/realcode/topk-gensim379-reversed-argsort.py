"""Most similar first by reversing an ascending argsort: argsort(sims)[::-1][:k].

source: https://github.com/piskvorky/gensim/pull/379
diagnosis: review of the ordering logic (reversing an ascending sort, partial argsort); reversing also flips equal scores, so a tie goes to the higher index
exercise: top-k-similar
label: uncatalogued
"""
import numpy as np


def top_k_similar(query, keys, k):
    q = np.asarray(query, dtype=float)
    K = np.asarray(keys, dtype=float)
    sims = (K @ q) / (np.linalg.norm(K, axis=1) * np.linalg.norm(q))
    return np.argsort(sims)[::-1][:k]
