import numpy as np

# a = [0.2, 3], b = [0.4, 3]  ->  a @ b = [0.08, 9]


def dot(a, b):
    a = np.array(a, dtype=float)
    b = np.array(b, dtype=float)
    if len(a) != len(b):
        raise ValueError("a and b must be the same length")
    # multiply the numbers at the same position
    result = a * b
    return result


def cosine_similarity(a, b):
    a = np.array(a, dtype=float)
    b = np.array(b, dtype=float)
    if len(a) != len(b):
        raise ValueError("a and b must be the same length")
    na = np.sqrt(np.sum(a ** 2))
    nb = np.sqrt(np.sum(b ** 2))
    if na == 0 or nb == 0:
        return 0.0
    cos = np.sum(a * b) / (na * nb)
    return min(1.0, max(-1.0, float(cos)))
