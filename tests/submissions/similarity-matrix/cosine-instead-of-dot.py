import math


def similarity_matrix(A, B):
    S = []
    for a in A:
        na = math.sqrt(sum(t * t for t in a))
        row = []
        for b in B:
            nb = math.sqrt(sum(t * t for t in b))
            if na == 0 or nb == 0:
                row.append(0.0)
            else:
                row.append(sum(x * y for x, y in zip(a, b)) / (na * nb))
        S.append(row)
    return S
