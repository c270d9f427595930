import numpy as np


def top_k_similar(query, keys, k):
    q = np.asarray(query, dtype=float)
    K = np.asarray(keys, dtype=float)
    sims = K @ q / (np.linalg.norm(K, axis=1) * np.linalg.norm(q))
    return np.argsort(-sims, kind="stable")[:k]
