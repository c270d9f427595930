import math


def _exp_shifted(values):
    m = max(values)
    return [math.exp(v - m) for v in values]


def softmax(x, axis=-1):
    is_matrix = hasattr(x[0], "__len__")
    if not is_matrix:
        return _exp_shifted([float(v) for v in x])
    rows = [[float(v) for v in r] for r in x]
    if axis == 0:
        cols = [_exp_shifted(list(c)) for c in zip(*rows)]
        return [list(r) for r in zip(*cols)]
    return [_exp_shifted(r) for r in rows]
