import math


def cosine_similarity(a, b):
    if len(a) != len(b):
        raise ValueError("a and b must have the same length")
    if all(x == 0 for x in a) or all(y == 0 for y in b):
        return 0.0
    # how far apart the two vectors are
    return math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b)))
