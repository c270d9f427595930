"""Softmax that always sums down axis 0 and never subtracts the maximum.

source: https://stackguides.com/questions/45817372/python-command-np-sumx-axis-0-and-softmax-function
diagnosis: np.sum(..., axis=0) sums down the columns, so a matrix is normalised per column, not per row of scores
exercise: softmax
label: wrong-axis, missing-max-subtraction
"""
import numpy as np


def softmax(x, axis=-1):
    x = np.asarray(x, dtype=float)
    return np.exp(x) / np.sum(np.exp(x), axis=0)
