import math


def dot(a, b):
    if len(a) != len(b):
        raise ValueError("a and b must have the same length")
    # |a| |b|
    len_a = math.sqrt(sum(x * x for x in a))
    len_b = math.sqrt(sum(y * y for y in b))
    return len_a * len_b
