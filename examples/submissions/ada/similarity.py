"""Week 3 homework: dot product and cosine similarity.

Ada -- I kept the helpers in vec_helpers.py so I can reuse them next week.
"""
from vec_helpers import length, multiply_and_add


def dot(a, b):
    # both vectors need the same number of entries
    if len(a) != len(b):
        raise ValueError("vectors must have the same length, got %d and %d" % (len(a), len(b)))
    return float(multiply_and_add(a, b))


def cosine_similarity(a, b):
    if len(a) != len(b):
        raise ValueError("vectors must have the same length")
    len_a = length(a)
    len_b = length(b)
    # a zero vector has no direction, the exercise says to return 0 then
    if len_a == 0 or len_b == 0:
        return 0.0
    cos = multiply_and_add(a, b) / (len_a * len_b)
    # rounding can give 1.0000000000000002, keep it inside [-1, 1]
    if cos > 1.0:
        cos = 1.0
    if cos < -1.0:
        cos = -1.0
    return cos
