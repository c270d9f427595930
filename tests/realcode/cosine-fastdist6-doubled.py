"""A pairwise cosine that adds each symmetric pair's contribution twice, so values double.

source: https://github.com/talboger/fastdist/issues/6
diagnosis: the matrix version returned twice the cosine (self-similarity 2 instead of 1); dividing by 2 fixes it
exercise: cosine-similarity
label: constant-factor
also: integer-wraparound
note: the doubling comes from filling both triangle halves into one accumulator, as the matrix code did
"""
import math


def cosine_similarity(a, b):
    if len(a) != len(b):
        raise ValueError("vectors must have the same length")
    num = 0.0
    sa = sb = 0.0
    for x, y in zip(a, b):
        num += x * y
        sa += x * x
        sb += y * y
    if sa == 0 or sb == 0:
        return 0.0
    cos = num / math.sqrt(sa * sb)
    return cos + cos
