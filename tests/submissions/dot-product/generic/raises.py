def dot(a, b):
    if len(a) != len(b):
        raise ValueError("a and b must have the same length")
    total = 0.0
    # treat a and b as column vectors: one row per entry
    for row_a, row_b in zip(a, b):
        for x, y in zip(row_a, row_b):
            total += x * y
    return total
