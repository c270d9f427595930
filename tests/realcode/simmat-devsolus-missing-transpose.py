"""All-pairs dot products written as A @ B, with B's rows never turned into columns.

source: https://devsolus.com/numpy-and-linear-algebra-how-to-code-ax%ea%9e%8fy/
diagnosis: a product A @ B needs shapes (n, k) and (k, m); with row vectors on both sides one operand must be transposed
exercise: similarity-matrix
label: missing-transpose
"""
import numpy as np


def similarity_matrix(A, B):
    A = np.asarray(A, dtype=float)
    B = np.asarray(B, dtype=float)
    return A @ B
