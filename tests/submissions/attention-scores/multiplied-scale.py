import math


def attention_scores(Q, K):
    d_k = len(Q[0])
    scale = math.sqrt(d_k)
    return [[scale * sum(float(a) * float(b) for a, b in zip(q, k)) for k in K] for q in Q]
