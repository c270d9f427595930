import math


def _softmax(xs):
    m = max(xs)
    es = [math.exp(x - m) for x in xs]
    s = sum(es)
    return [e / s for e in es]


def attention(Q, K, V, mask=None):
    d_k = len(Q[0])
    out = []
    for i in range(len(Q)):
        scores = [sum(float(Q[i][t]) * float(K[j][t]) for t in range(d_k)) / math.sqrt(d_k) for j in range(len(K))]
        weights = _softmax(scores)
        if mask is not None:
            weights = [w if mask[i][j] else 0.0 for j, w in enumerate(weights)]
        out.append([sum(weights[j] * float(V[j][c]) for j in range(len(K))) for c in range(len(V[0]))])
    return out
