def dot(a, b):
    if len(a) != len(b):
        raise ValueError("length mismatch")
    return float(sum(x * y for x, y in zip(a, b)))
