import math


def attention_scores(Q, K):
    d_k = len(Q[0])
    scale = math.sqrt(d_k)
    scores = []
    for q in Q:
        row = []
        for k in K:
            s = 0.0
            for t in range(d_k):
                s += float(q[t]) * float(k[t])
            row.append(s / scale)
        scores.append(row)
    return scores
