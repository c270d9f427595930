def dot(a, b):
    if len(a) != len(b):
        raise ValueError("a and b must have the same length")
    total = 0.0
    for i in range(len(a)):
        total += float(a[i]) * float(b[i])
    return total
