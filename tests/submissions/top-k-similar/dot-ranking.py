def top_k_similar(query, keys, k):
    # the bigger the dot product, the more similar
    scores = [sum(a * b for a, b in zip(query, row)) for row in keys]
    ranked = sorted(range(len(scores)), key=lambda i: -scores[i])
    return ranked[:k]
