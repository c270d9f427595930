import math


def cosine_similarity(a, b):
    if len(a) != len(b):
        raise ValueError("a and b must have the same length")
    ab = sum(x * y for x, y in zip(a, b))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(x * x for x in b))
    if na == 0 or nb == 0:
        return 0.0
    return ab / (na * na)
