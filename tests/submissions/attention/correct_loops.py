import math


def attention(Q, K, V, mask=None):
    d_k = len(Q[0])
    out = []
    for i in range(len(Q)):
        # scores of query i against every key it may see
        scores = []
        for j in range(len(K)):
            if mask is not None and not mask[i][j]:
                scores.append(None)  # blocked
                continue
            s = 0.0
            for t in range(d_k):
                s += float(Q[i][t]) * float(K[j][t])
            scores.append(s / math.sqrt(d_k))
        top = max(s for s in scores if s is not None)
        weights = [0.0 if s is None else math.exp(s - top) for s in scores]
        total = sum(weights)
        row = []
        for c in range(len(V[0])):
            row.append(sum(weights[j] / total * float(V[j][c]) for j in range(len(K))))
        out.append(row)
    return out
