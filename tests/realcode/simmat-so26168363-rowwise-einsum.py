"""Row-wise dot products via einsum('ij,ij->i'): only matching rows are compared.

source: http://stackoverflow.com/questions/26168363/elegant-expression-for-row-wise-dot-product-of-two-matrices
diagnosis: einsum('ij,ij->i') equals np.sum(A * B, axis=1): one dot product per matching pair of rows, not every pair
exercise: similarity-matrix
label: row-wise-dot
"""
import numpy as np


def similarity_matrix(A, B):
    return np.einsum("ij,ij->i", np.asarray(A, dtype=float), np.asarray(B, dtype=float))
