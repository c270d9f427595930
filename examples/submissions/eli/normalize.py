import math


def l2_normalize(x):
    """x / |x| for a vector, row by row for a matrix."""
    def unit(v):
        n = math.sqrt(sum(t * t for t in v))
        return [t / n if n > 0 else 0.0 for t in v]

    if hasattr(x[0], "__len__"):
        return [unit(r) for r in x]
    return unit(x)


def similarity_matrix(A, B):
    """Every pair of rows, dot product."""
    return [[sum(p * q for p, q in zip(b, a)) for a in A] for b in B]
