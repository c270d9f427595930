import math


def top_k_similar(query, keys, k):
    qn = math.sqrt(sum(float(x) ** 2 for x in query))
    sims = [sum(float(x) * float(y) for x, y in zip(query, row)) / (qn * math.sqrt(sum(float(y) ** 2 for y in row)))
            for row in keys]
    order = sorted(range(len(sims)), key=lambda i: sims[i], reverse=True)
    return order[:k - 1]  # indices 0..k-1
