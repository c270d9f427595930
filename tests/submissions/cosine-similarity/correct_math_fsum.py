import math


def cosine_similarity(a, b):
    if len(a) != len(b):
        raise ValueError("a and b must have the same length")
    a = [float(x) for x in a]
    b = [float(y) for y in b]
    na = math.sqrt(math.fsum(x * x for x in a))
    nb = math.sqrt(math.fsum(y * y for y in b))
    if na == 0.0 or nb == 0.0:
        return 0.0
    cos = math.fsum(x * y for x, y in zip(a, b)) / (na * nb)
    return min(1.0, max(-1.0, cos))
