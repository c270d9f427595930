"""Pairwise scores computed as cosines where the dot product was intended.

source: https://github.com/elastic/rally-tracks/pull/423
diagnosis: the previous change made two mistakes, the first being cosine used instead of dotProduct
exercise: similarity-matrix
label: cosine-instead-of-dot
"""
import numpy as np


def similarity_matrix(A, B):
    A = np.asarray(A, dtype=float)
    B = np.asarray(B, dtype=float)
    na = np.linalg.norm(A, axis=1, keepdims=True)
    nb = np.linalg.norm(B, axis=1, keepdims=True)
    na[na == 0] = 1.0
    nb[nb == 0] = 1.0
    return (A / na) @ (B / nb).T
