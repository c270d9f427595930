import math


def attention_scores(Q, K):
    """Scaled dot products: one row per query, one column per key."""
    d_k = len(Q[0])
    scores = []
    for q in Q:
        row = []
        for k in K:
            total = 0.0
            for i in range(d_k):
                total += float(q[i]) * float(k[i])
            row.append(total / math.sqrt(d_k))
        scores.append(row)
    return scores


def _softmax_list(values):
    values = [float(v) for v in values]
    biggest = max(values)  # subtract it so that exp never overflows
    exps = [math.exp(v - biggest) for v in values]
    total = sum(exps)
    return [e / total for e in exps]


def softmax(x, axis=-1):
    if not hasattr(x[0], "__len__"):  # a vector
        return _softmax_list(x)
    if axis in (-1, 1):  # each row
        return [_softmax_list(row) for row in x]
    columns = [_softmax_list(col) for col in zip(*x)]  # axis 0: each column
    return [list(row) for row in zip(*columns)]
