"""The asker's softmax: shifted by the global max and divided by the sum of every element.

source: https://stackoverflow.com/questions/34968722/how-to-implement-the-softmax-function-in-python
diagnosis: e_x.sum() with no axis adds up the whole array, so a 2-D batch of scores is normalised as one distribution
exercise: softmax
label: global-normalization
"""
import numpy as np


def softmax(x, axis=-1):
    x = np.asarray(x, dtype=float)
    shifted = np.exp(x - np.max(x))
    return shifted / shifted.sum()
