import math


def _softmax_row(row):
    m = max(row)
    exps = [math.exp(float(v) - m) for v in row]
    s = sum(exps)
    return [e / s for e in exps]


def softmax(x, axis=-1):
    if isinstance(x[0], (int, float)) or getattr(x[0], "ndim", 1) == 0:
        return _softmax_row(list(x))
    return [_softmax_row(list(row)) for row in x]
