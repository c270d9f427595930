import math


def l2_normalize(x):
    if not hasattr(x[0], "__len__"):
        return l2_normalize([x])[0]
    out = []
    for row in x:
        n = math.sqrt(sum(v * v for v in row))
        out.append([v / n for v in row])
    return out


def similarity_matrix(A, B):
    n, m = len(A), len(B)
    S = [[0.0] * m for _ in range(n)]
    for i in range(n):
        for j in range(m):
            for k in range(len(A[i])):
                S[i][j] += A[i][k] * B[j][k]
    return S
