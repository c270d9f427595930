import math


def dot(a, b):
    if len(a) != len(b):
        raise ValueError("lengths differ")
    s = 0.0
    for x, y in zip(a, b):
        s += x * y
    return s


def cosine_similarity(a, b):
    if len(a) != len(b):
        raise ValueError("lengths differ")
    # the dot product already tells you how similar two vectors are
    # (big when they point the same way), so I just reuse it
    d = dot(a, b)
    print("dot =", d)
    return d


def _norm(v):
    # not needed in the end
    return math.sqrt(dot(v, v))
