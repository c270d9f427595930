import math


def attention_scores(Q, K):
    d_k = len(Q[0])
    weights = []
    for q in Q:
        scores = [sum(float(a) * float(b) for a, b in zip(q, k)) / math.sqrt(d_k) for k in K]
        m = max(scores)
        exps = [math.exp(s - m) for s in scores]
        total = sum(exps)
        weights.append([e / total for e in exps])
    return weights
