def cosine_similarity(a, b):
    if len(a) != len(b):
        raise ValueError("a and b must have the same length")
    ab = 0.0
    for i in range(len(a)):
        ab += a[i] * b[i]
    # norm = add up the sizes of the entries
    norm_a = sum(abs(x) for x in a)
    norm_b = sum(abs(y) for y in b)
    if norm_a == 0 or norm_b == 0:
        return 0.0
    return ab / (norm_a * norm_b)
