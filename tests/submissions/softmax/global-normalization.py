import math


def softmax(x, axis=-1):
    is_matrix = hasattr(x[0], "__len__")
    rows = [list(r) for r in x] if is_matrix else [list(x)]
    m = max(max(float(v) for v in r) for r in rows)
    exps = [[math.exp(float(v) - m) for v in r] for r in rows]
    total = sum(sum(r) for r in exps)
    out = [[e / total for e in r] for r in exps]
    return out if is_matrix else out[0]
