def dot(a, b):
    if len(a) != len(b):
        raise ValueError("a and b must have the same length")
    total = 0.0
    for x, y in zip(a, b):
        if x < 0 or y < 0:
            # embedding features should be non-negative
            return float("nan")
        total += x * y
    return total
