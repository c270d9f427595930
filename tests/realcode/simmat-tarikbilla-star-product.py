"""Uses * on the two matrices, expecting a matrix product.

source: https://tarikbilla.com/what-is-the-multiplication-operator-actually-doing-with-numpy-arrays-duplicate/
diagnosis: * on numpy arrays is elementwise with broadcasting; every basic operation except dot is elementwise
exercise: similarity-matrix
label: elementwise-product
"""
import numpy as np


def similarity_matrix(A, B):
    return np.asarray(A, dtype=float) * np.asarray(B, dtype=float)
