import math


def attention_scores(Q, K):
    n = len(K)  # sequence length
    out = []
    for i in range(len(Q)):
        out.append([])
        for j in range(n):
            dot = 0.0
            for a, b in zip(Q[i], K[j]):
                dot += float(a) * float(b)
            out[i].append(dot / math.sqrt(n))
    return out
