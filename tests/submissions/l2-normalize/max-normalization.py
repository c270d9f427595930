def l2_normalize(x):
    def by_largest(v):
        m = max(abs(t) for t in v)
        return [float(t) / m if m else 0.0 for t in v]

    try:
        return [by_largest(row) for row in x]
    except TypeError:  # x is a single vector: its entries have no len
        return by_largest(x)
