import math


def _softmax(values):
    exps = [math.exp(v) for v in values]
    total = sum(exps)
    return [e / total for e in exps]


def softmax(x, axis=-1):
    is_matrix = hasattr(x[0], "__len__")
    if not is_matrix:
        return _softmax([float(v) for v in x])
    rows = [[float(v) for v in r] for r in x]
    if axis == 0:
        cols = [_softmax(list(c)) for c in zip(*rows)]
        return [list(r) for r in zip(*cols)]
    return [_softmax(r) for r in rows]
