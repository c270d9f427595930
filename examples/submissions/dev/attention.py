import math


def attention(Q, K, V, mask=None):
    d = len(K[0])
    out = []
    for i, q in enumerate(Q):
        s = [sum(a * b for a, b in zip(q, key)) / math.sqrt(d) for key in K]
        if mask is not None:
            s = [x if mask[i][j] else -1e9 for j, x in enumerate(s)]
        m = max(s)
        e = [math.exp(x - m) for x in s]
        z = sum(e)
        out.append([sum(e[j] / z * V[j][c] for j in range(len(V))) for c in range(len(V[0]))])
    return out


def top_k_similar(query, keys, k):
    # same idea as my cosine_similarity: the dot product already says how similar two vectors are
    scores = [(sum(a * b for a, b in zip(query, key)), i) for i, key in enumerate(keys)]
    scores.sort(key=lambda t: (-t[0], t[1]))
    return [i for _, i in scores[:k]]
