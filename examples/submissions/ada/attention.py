"""Week 5: attention and nearest keys (Ada). Plain Python, like my helpers."""
import math


def _dot(u, v):
    total = 0.0
    for i in range(len(u)):
        total += float(u[i]) * float(v[i])
    return total


def attention(Q, K, V, mask=None):
    d_k = len(Q[0])
    output = []
    for i in range(len(Q)):
        # scores of query i against the keys it may look at (None = blocked)
        scores = []
        for j in range(len(K)):
            if mask is not None and not mask[i][j]:
                scores.append(None)
            else:
                scores.append(_dot(Q[i], K[j]) / math.sqrt(d_k))
        # softmax over the keys; subtract the largest score so exp never overflows
        biggest = max(s for s in scores if s is not None)
        exps = [0.0 if s is None else math.exp(s - biggest) for s in scores]
        total = sum(exps)
        weights = [e / total for e in exps]
        # weighted average of the value rows
        row = [0.0] * len(V[0])
        for j in range(len(V)):
            for c in range(len(row)):
                row[c] += weights[j] * float(V[j][c])
        output.append(row)
    return output


def top_k_similar(query, keys, k):
    q_len = math.sqrt(_dot(query, query))
    sims = []
    for row in keys:
        sims.append(_dot(query, row) / (q_len * math.sqrt(_dot(row, row))))
    # sorted() is stable, so equal similarities keep the lower index first
    ranking = sorted(range(len(keys)), key=lambda i: sims[i], reverse=True)
    return ranking[:k]
