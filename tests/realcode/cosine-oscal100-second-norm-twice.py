"""Cosine whose denominator multiplies the second vector's magnitude by itself.

source: https://github.com/usnistgov/oscal-deep-diff/pull/100
diagnosis: the denominator uses |v2| * |v2| instead of |v1| * |v2|: wrong whenever the magnitudes differ, not symmetric, can exceed 1
exercise: cosine-similarity
label: wrong-operand-norm, zero-vector-nan
also: integer-wraparound
"""
import math


def _magnitude(v):
    return math.sqrt(sum(x * x for x in v))


def cosine_similarity(a, b):
    if len(a) != len(b):
        raise ValueError("vectors must have the same length")
    dot = sum(x * y for x, y in zip(a, b))
    return dot / (_magnitude(b) * _magnitude(b))
