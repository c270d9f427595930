def dot(a, b):
    if len(a) != len(b):
        raise ValueError("a and b must have the same length")
    out = []
    for i in range(len(a)):
        out.append(a[i] + b[i])
    return out
