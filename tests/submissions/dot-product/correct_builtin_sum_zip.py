def dot(a, b):
    if len(a) != len(b):
        raise ValueError("length mismatch")
    return float(sum(float(x) * float(y) for x, y in zip(a, b)))
