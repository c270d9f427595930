import numpy as np


def l2_normalize(x):
    x = np.array(x, dtype=float)
    norms = np.linalg.norm(x, axis=-1)
    print("norms:", norms)
    return x / norms


def similarity_matrix(A, B):
    # same thing as dot(), once per pair of rows
    S = []
    for i in range(len(A)):
        S.append([])
        for j in range(len(B)):
            s = 0.0
            for k in range(len(A[i])):
                s += A[i][k] * B[j][k]
            S[i].append(s)
    return S
