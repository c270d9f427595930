"""The accepted answer's softmax: global max shift, then a sum along axis 0.

source: https://stackoverflow.com/questions/34968722/how-to-implement-the-softmax-function-in-python
diagnosis: commenters pointed out that sum(axis=0) normalises columns, so a batch of score rows comes out wrong
exercise: softmax
label: wrong-axis
"""
import numpy as np


def softmax(x, axis=-1):
    e_x = np.exp(np.asarray(x, dtype=float) - np.max(x))
    return e_x / e_x.sum(axis=0)
