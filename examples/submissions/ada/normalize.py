"""Week 4: unit-length vectors and the similarity matrix (Ada).

No numpy yet, I want to see every step. length() comes from my helpers.
"""
from vec_helpers import length, multiply_and_add


def _unit(v):
    n = length(v)
    if n == 0:
        # a zero vector has no direction, it stays zero
        return [0.0 for _ in v]
    return [x / n for x in v]


def l2_normalize(x):
    # a matrix is a list of rows: normalise every row on its own
    if len(x) > 0 and hasattr(x[0], "__len__"):
        return [_unit(row) for row in x]
    return _unit(x)


def similarity_matrix(A, B):
    # S[i][j] = A[i] . B[j]: every row of A against every row of B
    S = []
    for a in A:
        S.append([float(multiply_and_add(a, b)) for b in B])
    return S
