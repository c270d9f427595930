import math


def dot(a, b):
    if len(a) != len(b):
        raise ValueError("a and b need the same length")
    result = 0.0
    for i in range(len(a)):
        result += a[i] * b[i]
    return result


def cosine_similarity(a, b):
    if len(a) != len(b):
        raise ValueError("a and b need the same length")
    dot_ab = 0.0
    sq_a = 0.0
    sq_b = 0.0
    i = 0
    while i < len(a):
        dot_ab += a[i] * b[i]
        sq_a += a[i] * a[i]
        sq_b += b[i] * b[i]
    if sq_a == 0 or sq_b == 0:
        return 0.0
    cos = dot_ab / (math.sqrt(sq_a) * math.sqrt(sq_b))
    print("cos =", cos)
    return max(-1.0, min(1.0, cos))
