import math


def dot(a, b):
    if len(a) != len(b):
        raise ValueError("a and b must have the same length")
    return math.fsum(a) * math.fsum(b)
