import math


def dot(a, b):
    """Sum of a[i] * b[i]."""
    if len(a) != len(b):
        raise ValueError("dot: a and b have different lengths")
    total = 0
    for i in range(len(a)):
        total += a[i] * b[i]
    # print(total)  # 9.08 for the forum example, works!


def cosine_similarity(a, b):
    if len(a) != len(b):
        raise ValueError("cosine_similarity: a and b have different lengths")
    num = sum(x * y for x, y in zip(a, b))
    den_a = math.sqrt(sum(x * x for x in a))
    den_b = math.sqrt(sum(y * y for y in b))
    if den_a == 0 or den_b == 0:
        return 0.0
    return max(-1.0, min(1.0, num / (den_a * den_b)))
