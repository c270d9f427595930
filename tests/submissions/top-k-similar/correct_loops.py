import math


def top_k_similar(query, keys, k):
    q_len = math.sqrt(sum(float(x) * float(x) for x in query))
    sims = []
    for row in keys:
        dot = sum(float(x) * float(y) for x, y in zip(query, row))
        r_len = math.sqrt(sum(float(y) * float(y) for y in row))
        sims.append(dot / (q_len * r_len))
    # Python's sort is stable: equal similarities keep the lower index first
    order = sorted(range(len(sims)), key=lambda i: sims[i], reverse=True)
    return order[:k]
