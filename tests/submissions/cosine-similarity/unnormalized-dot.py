def cosine_similarity(a, b):
    if len(a) != len(b):
        raise ValueError("a and b must have the same length")
    if not any(a) or not any(b):
        return 0.0
    # the dot product is already the similarity (big = similar)
    return sum(x * y for x, y in zip(a, b))
