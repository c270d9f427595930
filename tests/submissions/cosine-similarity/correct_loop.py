import math


def cosine_similarity(a, b):
    if len(a) != len(b):
        raise ValueError("a and b must have the same length")
    ab = aa = bb = 0.0
    for i in range(len(a)):
        x, y = float(a[i]), float(b[i])
        ab += x * y
        aa += x * x
        bb += y * y
    if aa == 0 or bb == 0:
        return 0.0
    cos = ab / (math.sqrt(aa) * math.sqrt(bb))
    return max(-1.0, min(1.0, cos))
