def dot(a, b):
    if len(a) != len(b):
        raise ValueError("a and b must have the same length")
    # a @ b = [0.08, 9] for a = [0.2, 3], b = [0.4, 3]
    return [x * y for x, y in zip(a, b)]
