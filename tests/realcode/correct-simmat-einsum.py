"""All-pairs dot products with einsum, the second operand indexed by its rows.

source: http://pullrequest.ru/10710169/ekvivalent-funktsii-numpy-dot
diagnosis: the answer shows dot, @ and einsum('ij,jk') agree; for row vectors on both sides the contraction runs over the shared column index
exercise: similarity-matrix
label: correct
"""
import numpy as np


def similarity_matrix(A, B):
    return np.einsum("ik,jk->ij", np.asarray(A, dtype=float), np.asarray(B, dtype=float))
