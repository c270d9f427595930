import math


def top_k_similar(query, keys, k):
    nq = math.sqrt(sum(x * x for x in query))
    sims = []
    for row in keys:
        nr = math.sqrt(sum(y * y for y in row))
        sims.append(sum(x * y for x, y in zip(query, row)) / (nq * nr))
    sims.sort(reverse=True)
    return sims[:k]
