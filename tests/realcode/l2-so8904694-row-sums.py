"""Row normalisation that divides each row by its sum, filled into a new array in a loop.

source: https://py4u.org/questions/8904694/
diagnosis: commenters: "normalize" usually means unit Euclidean length; dividing by the row sum makes rows sum to 1 (and fails when a sum is 0); use np.linalg.norm
exercise: l2-normalize
label: sum-normalization, zero-vector-nan
"""
import numpy as np


def l2_normalize(x):
    a = np.asarray(x, dtype=float)
    if a.ndim == 1:
        return a / a.sum()
    row_sums = a.sum(axis=1)
    new_matrix = np.zeros(a.shape)
    for i, (row, row_sum) in enumerate(zip(a, row_sums)):
        new_matrix[i, :] = row / row_sum
    return new_matrix
