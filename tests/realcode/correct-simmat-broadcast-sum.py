"""All-pairs dot products by broadcasting a (n, 1, d) against a (1, m, d) array and summing d.

source: http://pullrequest.ru/10710169/ekvivalent-funktsii-numpy-dot
diagnosis: the answer's "broadcast multiply and sum" form of the matrix product
exercise: similarity-matrix
label: correct
"""
import numpy as np


def similarity_matrix(A, B):
    A = np.asarray(A, dtype=float)
    B = np.asarray(B, dtype=float)
    return (A[:, None, :] * B[None, :, :]).sum(axis=-1)
