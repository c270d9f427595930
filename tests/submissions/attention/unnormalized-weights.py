import math


def attention(Q, K, V, mask=None):
    d_k = len(Q[0])
    result = []
    for i, q in enumerate(Q):
        row = [0.0] * len(V[0])
        for j, k in enumerate(K):
            if mask is not None and not mask[i][j]:
                continue  # blocked key: weight 0
            # the score says how similar q and k are, so use it as the weight
            w = sum(float(a) * float(b) for a, b in zip(q, k)) / math.sqrt(d_k)
            for c in range(len(row)):
                row[c] += w * float(V[j][c])
        result.append(row)
    return result
