"""Reference `attention_scores(Q, K)` and the misconception models of `attention-scores`.

Trusted, teacher-only code. Each model is the reference with exactly one idea changed: all
of them read Q and K as 2-D float64 arrays with the same number of columns d_k (ValueError
otherwise, as the reference does), so that each differs from the reference only by its own
idea. Where a model's operation does not fit the shapes (Q * K, Q @ K), numpy's ValueError
is the model's outcome, as it is a student's.
"""

import math

import numpy as np


def _matrices(Q, K):
    """Q (n_q, d_k) and K (n_k, d_k) as float64 arrays, else ValueError."""
    Q, K = np.asarray(Q, dtype=np.float64), np.asarray(K, dtype=np.float64)
    if Q.ndim != 2 or K.ndim != 2:
        raise ValueError(f"Q and K must be 2-D, got shapes {Q.shape} and {K.shape}")
    if Q.shape[1] != K.shape[1]:
        raise ValueError(f"Q and K need the same number of columns d_k, got {Q.shape[1]} and {K.shape[1]}")
    return Q, K


def attention_scores(Q, K):
    """Reference: Q K^T / sqrt(d_k), an (n_q, n_k) float64 array."""
    Q, K = _matrices(Q, K)
    return Q @ K.T / math.sqrt(Q.shape[1])


def missing_scale(Q, K):
    """Model missing-scale: Q K^T, never divided by sqrt(d_k)."""
    Q, K = _matrices(Q, K)
    return Q @ K.T


def scale_by_dk(Q, K):
    """Model scale-by-dk: Q K^T / d_k, divided by d_k instead of its square root."""
    Q, K = _matrices(Q, K)
    return Q @ K.T / Q.shape[1]


def scale_by_seq_len_keys(Q, K):
    """Model scale-by-seq-len: Q K^T / sqrt(n_k), the number of keys instead of d_k."""
    Q, K = _matrices(Q, K)
    return Q @ K.T / math.sqrt(K.shape[0])


def scale_by_seq_len_queries(Q, K):
    """Model scale-by-seq-len: Q K^T / sqrt(n_q), the number of queries instead of d_k."""
    Q, K = _matrices(Q, K)
    return Q @ K.T / math.sqrt(Q.shape[0])


def multiplied_scale(Q, K):
    """Model multiplied-scale: Q K^T * sqrt(d_k), multiplied instead of divided."""
    Q, K = _matrices(Q, K)
    return Q @ K.T * math.sqrt(Q.shape[1])


def transposed_result(Q, K):
    """Model transposed-result: K Q^T / sqrt(d_k), an (n_k, n_q) array."""
    Q, K = _matrices(Q, K)
    return K @ Q.T / math.sqrt(Q.shape[1])


def elementwise_product(Q, K):
    """Model elementwise-product: Q * K / sqrt(d_k) (ValueError when the shapes do not broadcast)."""
    Q, K = _matrices(Q, K)
    return Q * K / math.sqrt(Q.shape[1])


def elementwise_product_unscaled(Q, K):
    """Model elementwise-product: Q * K, unscaled (ValueError when the shapes do not broadcast)."""
    Q, K = _matrices(Q, K)
    return Q * K


def missing_transpose(Q, K):
    """Model missing-transpose: Q @ K / sqrt(d_k) (ValueError unless n_k == d_k)."""
    Q, K = _matrices(Q, K)
    return Q @ K / math.sqrt(Q.shape[1])


def missing_transpose_unscaled(Q, K):
    """Model missing-transpose: Q @ K, unscaled (ValueError unless n_k == d_k)."""
    Q, K = _matrices(Q, K)
    return Q @ K


def softmax_applied(Q, K):
    """Model softmax-applied: the attention weights softmax(Q K^T / sqrt(d_k)) over the keys."""
    Q, K = _matrices(Q, K)
    scores = Q @ K.T / math.sqrt(Q.shape[1])
    e = np.exp(scores - np.max(scores, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)
