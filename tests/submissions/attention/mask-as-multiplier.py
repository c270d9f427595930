import math


def attention(Q, K, V, mask=None):
    n_q, n_k = len(Q), len(K)
    d_k = len(Q[0])
    out = []
    for i in range(n_q):
        scores = []
        for j in range(n_k):
            s = sum(float(x) * float(y) for x, y in zip(Q[i], K[j])) / math.sqrt(d_k)
            if mask is not None:
                s = s * int(mask[i][j])  # 0 for blocked keys
            scores.append(s)
        m = max(scores)
        e = [math.exp(s - m) for s in scores]
        z = sum(e)
        out.append([sum(e[j] / z * float(V[j][c]) for j in range(n_k)) for c in range(len(V[0]))])
    return out
