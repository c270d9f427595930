"""The 'naive Python version' of the challenge: for loops over plain lists, math.sqrt.

source: https://gribblelab.org/coding/challenges/cosine_similarity.html
diagnosis: a reference exercise: loops for the dot product and both lengths, then dot / (|A| |B|)
exercise: cosine-similarity
label: correct
note: the zero-vector and length checks and the float() of each element (small integer dtypes wrap) are the course contract's
"""
from math import sqrt


def cosine_similarity(a, b):
    if len(a) != len(b):
        raise ValueError("a and b must have the same length")
    dot = 0.0
    len_a = 0.0
    len_b = 0.0
    for i in range(len(a)):
        x, y = float(a[i]), float(b[i])
        dot += x * y
        len_a += x * x
        len_b += y * y
    if len_a == 0 or len_b == 0:
        return 0.0
    return max(-1.0, min(1.0, dot / (sqrt(len_a) * sqrt(len_b))))
