def dot(a, b):
    if len(a) != len(b):
        raise ValueError("a and b must have the same length")
    total = 0
    for x, y in zip(a, b):
        total += int(x * y)
    return total
