"""exp(x) / exp(x).sum(): overflows on large logits and ignores the axis.

source: https://stackoverflow.com/questions/61567597/how-is-log-softmax-implemented-to-compute-its-value-and-gradient-with-better
diagnosis: np.exp(1000) overflows to inf and inf/inf gives nan; subtract the maximum before exponentiating
exercise: softmax
label: missing-max-subtraction, global-normalization
"""
import numpy as np


def softmax(x, axis=-1):
    x = np.asarray(x, dtype=float)
    return np.exp(x) / np.exp(x).sum()
