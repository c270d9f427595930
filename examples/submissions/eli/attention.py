import math


def attention(Q, K, V, mask=None):
    d_k = len(Q[0])
    result = []
    for i in range(len(Q)):
        scores = []
        for j in range(len(K)):
            s = sum(Q[i][t] * K[j][t] for t in range(d_k)) / math.sqrt(d_k)
            if mask is not None and not mask[i][j]:
                s = float("-inf")
            scores.append(s)
        top = max(scores)
        ex = [math.exp(s - top) for s in scores]
        total = sum(ex)
        result.append([sum(ex[j] / total * V[j][c] for j in range(len(K))) for c in range(len(V[0]))])
    return result


def top_k_similar(query, keys, k):
    qn = math.sqrt(sum(x * x for x in query))
    sims = [sum(x * y for x, y in zip(query, key)) / (qn * math.sqrt(sum(y * y for y in key))) for key in keys]
    order = sorted(range(len(keys)), key=lambda i: -sims[i])
    return order[:k]
