# zoe - dot product + cosine similarity (one file)
import math


def dot(a, b):
    if len(a) != len(b):
        raise ValueError("a and b must have the same length")
    return float(sum(a[i] * b[i] for i in range(len(a))))


def cosine_similarity(a, b):
    if len(a) != len(b):
        raise ValueError("a and b must have the same length")
    norm_a = math.sqrt(sum(float(x) ** 2 for x in a))
    norm_b = math.sqrt(sum(float(x) ** 2 for x in b))
    cos = dot(a, b) / (norm_a * norm_b)
    return max(-1.0, min(1.0, cos))
