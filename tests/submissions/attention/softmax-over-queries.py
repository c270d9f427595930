import math


def attention(Q, K, V, mask=None):
    n_q, n_k, d_k = len(Q), len(K), len(Q[0])
    scale = math.sqrt(d_k)
    S = [[sum(float(a) * float(b) for a, b in zip(Q[i], K[j])) / scale for j in range(n_k)] for i in range(n_q)]
    # softmax, one column at a time
    W = [[0.0] * n_k for _ in range(n_q)]
    for j in range(n_k):
        rows = [i for i in range(n_q) if mask is None or mask[i][j]]
        top = max(S[i][j] for i in rows)
        total = sum(math.exp(S[i][j] - top) for i in rows)
        for i in rows:
            W[i][j] = math.exp(S[i][j] - top) / total
    return [[sum(W[i][j] * float(V[j][c]) for j in range(n_k)) for c in range(len(V[0]))] for i in range(n_q)]
