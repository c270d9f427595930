import math


def _softmax_1d(values):
    m = max(values)
    exps = [math.exp(v - m) for v in values]
    total = sum(exps)
    return [e / total for e in exps]


def softmax(x, axis=-1):
    if not isinstance(x[0], (list, tuple)) and getattr(x[0], "ndim", 0) == 0:
        return _softmax_1d([float(v) for v in x])  # a vector: axis can only be 0 or -1
    rows = [[float(v) for v in row] for row in x]
    if axis in (-1, 1):
        return [_softmax_1d(row) for row in rows]
    columns = [_softmax_1d(list(col)) for col in zip(*rows)]
    return [list(row) for row in zip(*columns)]
