"""Top-k by Euclidean distance between unit-normalised embeddings, nearest first.

source: https://theneuralbase.com/sentence-transformers/learn/beginner/top-k-retrieval/
diagnosis: the embeddings are normalised first, so ranking by distance is ranking by cosine
exercise: top-k-similar
label: correct
"""
import numpy as np


def top_k_similar(query, keys, k):
    q = np.asarray(query, dtype=float)
    corpus = np.asarray(keys, dtype=float)
    q = q / np.linalg.norm(q)
    corpus = corpus / np.linalg.norm(corpus, axis=1, keepdims=True)
    distances = np.linalg.norm(corpus - q, axis=1)
    return np.argsort(distances, kind="stable")[:k]
