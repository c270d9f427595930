def l2_normalize(x):
    def scale(v):
        total = 0.0
        for t in v:
            total += abs(t)
        if total == 0:
            return [0.0] * len(v)
        return [t / total for t in v]

    if hasattr(x[0], "__len__"):
        return [scale(row) for row in x]
    return scale(x)
