"""Treats a * b on arrays as the dot product: it is elementwise.

source: https://syntaxfix.com/question/8500/python-numpy-valueerror-operands-could-not-be-broadcast-together-with-shapes
diagnosis: we might confuse ourselves that a * b is a dot product, but it is broadcasting (elementwise); the dot product is a.dot(b)
exercise: dot-product
label: elementwise-product
"""
import numpy as np


def dot(a, b):
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError("a and b must have the same length")
    return a * b
