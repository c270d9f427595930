"""Top-k retrieval with faiss-style inner product on embeddings that were never normalised.

source: https://github.com/Shark-NLP/OpenICL/issues/29
diagnosis: the embeddings are not normalised, so inner-product search is affected by the vector modulus; normalise them (normalize_embeddings=True) for cosine
exercise: top-k-similar
label: dot-ranking
"""
import numpy as np


def top_k_similar(query, keys, k):
    q = np.asarray(query, dtype=float)
    K = np.asarray(keys, dtype=float)
    scores = K @ q
    return list(np.argsort(-scores, kind="stable")[:k])
