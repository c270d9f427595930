"""Reference `top_k_similar(query, keys, k)` and the misconception models of `top-k-similar`.

Trusted, teacher-only code. Each model is the reference with exactly one idea changed. Every
ranking is a stable sort, so equal scores keep the lower row index first (an exact tie needs
identical rows: their cosines are computed by the very same operations). The shipped cases
keep distinct cosines (and distinct dot products and distances) at least 1e-9 apart.
"""

import numpy as np


def _inputs(query, keys, k):
    """query (d,), keys (n, d) as float64 arrays and k as an int with 1 <= k <= n, else ValueError."""
    q = np.asarray(query, dtype=np.float64)
    K = np.asarray(keys, dtype=np.float64)
    if q.ndim != 1 or K.ndim != 2 or K.shape[1] != q.shape[0]:
        raise ValueError(f"expected query (d,) and keys (n, d), got {q.shape} and {K.shape}")
    k = int(k)
    if not 1 <= k <= K.shape[0]:
        raise ValueError(f"k must be between 1 and {K.shape[0]}, got {k}")
    return q, K, k


def _dots(q, K):
    """keys[i] . query, row by row (identical rows give identical values)."""
    return np.sum(K * q, axis=1)


def _cosines(q, K):
    """Cosine similarity of every key row with the query (rows and query are non-zero)."""
    return _dots(q, K) / (np.sqrt(np.sum(K * K, axis=1)) * np.sqrt(np.sum(q * q)))


def _descending(scores):
    """Row indices by descending score; equal scores keep the lower index first."""
    return np.argsort(-scores, kind="stable")


def top_k_similar(query, keys, k):
    """Reference: the k row indices of `keys` with the highest cosine similarity, most similar first."""
    q, K, k = _inputs(query, keys, k)
    return _descending(_cosines(q, K))[:k]


def dot_ranking(query, keys, k):
    """Model dot-ranking: ranks by the raw dot product keys[i] . query, so long keys win."""
    q, K, k = _inputs(query, keys, k)
    return _descending(_dots(q, K))[:k]


def ascending_order(query, keys, k):
    """Model ascending-order: argsort(sims)[:k], the k least similar keys, least similar first."""
    q, K, k = _inputs(query, keys, k)
    return np.argsort(_cosines(q, K), kind="stable")[:k]


def euclidean_ranking(query, keys, k):
    """Model euclidean-ranking: the k keys nearest to the query by Euclidean distance ||keys[i] - query||."""
    q, K, k = _inputs(query, keys, k)
    dist = np.sqrt(np.sum((K - q) ** 2, axis=1))
    return np.argsort(dist, kind="stable")[:k]


def returns_scores(query, keys, k):
    """Model returns-scores: the k highest cosine similarities (descending), not their row indices."""
    q, K, k = _inputs(query, keys, k)
    sims = _cosines(q, K)
    return sims[_descending(sims)[:k]]


def unsorted_by_index(query, keys, k):
    """Model unsorted-top-k: the right k rows, listed by row index instead of by similarity."""
    q, K, k = _inputs(query, keys, k)
    return np.sort(_descending(_cosines(q, K))[:k])


def unsorted_reversed(query, keys, k):
    """Model unsorted-top-k: the right k rows, least similar of them first (the order reversed)."""
    q, K, k = _inputs(query, keys, k)
    return _descending(_cosines(q, K))[:k][::-1]


def off_by_one_fewer(query, keys, k):
    """Model off-by-one-k: k - 1 results (the ranking is right, the slice one short)."""
    q, K, k = _inputs(query, keys, k)
    return _descending(_cosines(q, K))[:k - 1]


def off_by_one_more(query, keys, k):
    """Model off-by-one-k: k + 1 results (the ranking is right, the slice one long; at most n)."""
    q, K, k = _inputs(query, keys, k)
    return _descending(_cosines(q, K))[:k + 1]
