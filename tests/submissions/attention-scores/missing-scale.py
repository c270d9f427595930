def attention_scores(Q, K):
    # each score is the dot product of a query with a key
    return [[sum(float(a) * float(b) for a, b in zip(q, k)) for k in K] for q in Q]
