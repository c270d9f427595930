import math


def attention_scores(Q, K):
    d_k = len(Q[0])
    scores = []
    for k in K:
        scores.append([sum(float(a) * float(b) for a, b in zip(k, q)) / math.sqrt(d_k) for q in Q])
    return scores
