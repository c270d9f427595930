def dot(a, b):
    if len(a) != len(b):
        raise ValueError("a and b must have the same length")
    products = [a[i] * b[i] for i in range(len(a))]
    return sum(products) / len(products)
