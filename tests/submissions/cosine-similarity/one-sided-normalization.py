import math


def cosine_similarity(a, b):
    if len(a) != len(b):
        raise ValueError("a and b must have the same length")
    ab = 0.0
    for x, y in zip(a, b):
        ab += x * y
    norm_a = math.sqrt(sum(x * x for x in a))
    norm_b = math.sqrt(sum(y * y for y in b))
    if norm_a == 0 or norm_b == 0:
        return 0.0
    return ab / norm_a
