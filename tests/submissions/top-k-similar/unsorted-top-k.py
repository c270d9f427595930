import numpy as np


def top_k_similar(query, keys, k):
    q = np.asarray(query, dtype=float)
    K = np.asarray(keys, dtype=float)
    sims = (K / np.linalg.norm(K, axis=1, keepdims=True)) @ (q / np.linalg.norm(q))
    # the k largest, as argsort puts them: at the end
    return np.argsort(sims)[-k:]
