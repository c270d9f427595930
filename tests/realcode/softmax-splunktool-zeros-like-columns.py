"""A loop over the slices along the axis, written into np.zeros_like(x), without a max shift.

source: https://splunktool.com/in-python-calculate-the-softmax-of-an-array-columnwise-using-numpy
diagnosis: result = np.zeros_like(x) has the integer dtype of an integer input, so every assigned probability truncates to 0
exercise: softmax
label: integer-truncation, missing-max-subtraction
also: integer-wraparound
"""
import numpy as np


def softmax(x, axis=-1):
    x = np.asarray(x)
    if x.ndim == 1:
        total = np.sum(np.exp(x))
        return np.exp(x) / total
    moved = np.moveaxis(x, axis, -1)
    result = np.zeros_like(moved)
    for i in range(moved.shape[0]):
        row = moved[i]
        result[i] = np.exp(row) / np.sum(np.exp(row))
    return np.moveaxis(result, -1, axis)
