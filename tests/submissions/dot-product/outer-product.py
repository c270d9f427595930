def dot(a, b):
    if len(a) != len(b):
        raise ValueError("a and b must have the same length")
    # every element of a times every element of b
    return [[x * y for y in b] for x in a]
